//! What a person asks of a Pipeline (promote a release into a stage, approve one waiting at a stage, roll a stage
//! back) and how the request is written: an annotation on the Pipeline that the controller acts on. Pure; used
//! by `tack env` and by the HTTP API alike, so both decide the default release the same way.

use serde_json::{Value, json};
use tack_model::{APPROVE_ANNOTATION_PREFIX, PROMOTE_ANNOTATION_PREFIX, Pipeline, StageStatus};

use crate::part::Part;
use crate::release::Release;

/// A request that cannot be made as asked; the message says what to give instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RequestError(pub String);

/// One request: which annotation, for which stage, with which release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The annotation prefix (promote or approve).
    pub prefix: &'static str,
    /// The stage.
    pub stage: String,
    /// The release.
    pub release: String,
}

impl Request {
    /// The merge patch that records the request on the Pipeline.
    pub fn patch(&self) -> Value {
        json!({"metadata": {"annotations": {format!("{}{}", self.prefix, self.stage): self.release}}})
    }
}

/// The position of `stage` in the pipeline, or an error listing the stages.
pub fn stage_index(p: &Pipeline, stage: &str) -> Result<usize, RequestError> {
    p.spec.stages.iter().position(|s| s.name == stage).ok_or_else(|| {
        let names: Vec<&str> = p.spec.stages.iter().map(|s| s.name.as_str()).collect();
        RequestError(format!(
            "the pipeline has no stage {stage:?} (stages: {})",
            names.join(", ")
        ))
    })
}

/// A release a person gave, checked against the pipeline's parts and written in its canonical text form (so
/// that `gb-frontend:v6` and `v6` name one release of a one-image pipeline).
fn given(p: &Pipeline, text: &str) -> Result<String, RequestError> {
    Release::parse(&Part::of(&p.spec), text)
        .map(|r| r.to_string())
        .map_err(|e| RequestError(e.to_string()))
}

fn stage_status<'a>(p: &'a Pipeline, stage: &str) -> Option<&'a StageStatus> {
    p.status.as_ref()?.stages.iter().find(|s| s.name == stage)
}

/// Promote `release` into stage `to`; by default the release running in the stage before it.
pub fn promote(p: &Pipeline, to: &str, release: Option<String>) -> Result<Request, RequestError> {
    let idx = stage_index(p, to)?;
    let release = match release {
        Some(r) => given(p, &r)?,
        None if idx == 0 => {
            return Err(RequestError(format!("{to} is the first stage: give the release")));
        }
        None => {
            let before = &p.spec.stages[idx - 1].name;
            stage_status(p, before)
                .and_then(|s| s.release.clone())
                .ok_or_else(|| RequestError(format!("no release known in {before} yet; give one")))?
        }
    };
    Ok(Request {
        prefix: PROMOTE_ANNOTATION_PREFIX,
        stage: to.to_string(),
        release,
    })
}

/// Approve `release` to enter `stage`; by default the release waiting there.
pub fn approve(p: &Pipeline, stage: &str, release: Option<String>) -> Result<Request, RequestError> {
    stage_index(p, stage)?;
    let release = match release {
        Some(r) => given(p, &r)?,
        None => stage_status(p, stage)
            .and_then(|s| s.pending.as_ref().map(|x| x.release.clone()))
            .ok_or_else(|| RequestError(format!("no release waits to enter {stage}; give one")))?,
    };
    Ok(Request {
        prefix: APPROVE_ANNOTATION_PREFIX,
        stage: stage.to_string(),
        release,
    })
}

/// Roll `stage` back to `to`; by default the release its last promotion replaced. A rollback is a promotion
/// of that release (a Git commit).
pub fn rollback(p: &Pipeline, stage: &str, to: Option<String>) -> Result<Request, RequestError> {
    stage_index(p, stage)?;
    let release = match to {
        Some(r) => given(p, &r)?,
        None => stage_status(p, stage)
            .ok_or_else(|| RequestError(format!("{stage} has no status yet")))?
            .history
            .last()
            .and_then(|h| h.replaced.clone())
            .ok_or_else(|| RequestError(format!("no earlier release in {stage}'s history; give one")))?,
    };
    Ok(Request {
        prefix: PROMOTE_ANNOTATION_PREFIX,
        stage: stage.to_string(),
        release,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pipeline() -> Pipeline {
        serde_json::from_value(json!({
            "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "Pipeline",
            "metadata": {"name": "guestbook", "namespace": "apps"},
            "spec": {"images": [{"name": "gb"}], "stages": [
                {"name": "qa", "application": {"name": "gb-qa"}},
                {"name": "e2e", "application": {"name": "gb-e2e"}}
            ]},
            "status": {"stages": [
                {"name": "qa", "release": "gb:v7"},
                {"name": "e2e", "release": "gb:v6", "pending": {"release": "gb:v7", "reason": "approval"},
                 "history": [{"release": "gb:v6", "time": "t", "commit": "c", "by": "auto", "replaced": "gb:v5"}]}
            ]}
        }))
        .unwrap()
    }

    #[test]
    fn default_releases() {
        let p = pipeline();
        assert_eq!(promote(&p, "e2e", None).unwrap().release, "gb:v7");
        assert!(promote(&p, "qa", None).unwrap_err().0.contains("first stage"));
        // A given release is checked and written in its canonical form (the tag alone for one image).
        assert_eq!(promote(&p, "qa", Some("gb:v8".into())).unwrap().release, "v8");
        assert_eq!(approve(&p, "e2e", Some("v7".into())).unwrap().release, "v7");
        let err = promote(&p, "e2e", Some("nginx:1".into())).unwrap_err().0;
        assert!(
            err.contains("\"nginx\" is not one of the pipeline's images"),
            "{err}"
        );
        assert!(rollback(&p, "e2e", Some("gb:".into())).is_err());
        assert!(
            promote(&p, "prod", None)
                .unwrap_err()
                .0
                .contains("stages: qa, e2e")
        );
        let a = approve(&p, "e2e", None).unwrap();
        assert_eq!(
            (a.prefix, a.release.as_str()),
            (APPROVE_ANNOTATION_PREFIX, "gb:v7")
        );
        assert!(approve(&p, "qa", None).is_err());
        assert_eq!(rollback(&p, "e2e", None).unwrap().release, "gb:v5");
        assert_eq!(
            promote(&p, "e2e", None).unwrap().patch()["metadata"]["annotations"]
                [format!("{PROMOTE_ANNOTATION_PREFIX}e2e")],
            "gb:v7"
        );
    }
}
