//! The commit message of a promotion: the release, where it comes from, and the evidence that let it through.

use tack_model::GateStatus;

use crate::release::Release;

/// What a promotion commit records.
#[derive(Clone, Debug, Default)]
pub struct Promotion<'a> {
    /// `namespace/name` of the pipeline.
    pub pipeline: &'a str,
    /// The stage written to.
    pub to: &'a str,
    /// The stage the release was verified in, if any (none for a rollback or a manual promotion).
    pub from: Option<&'a str>,
    /// The release.
    pub release: Option<&'a Release>,
    /// The gate results of the source stage.
    pub evidence: &'a [GateStatus],
    /// Who or what decided: `auto`, `tack env promote`, `tack env rollback`; with the approval if any.
    pub by: &'a str,
    /// The release the stage held before.
    pub replaced: Option<&'a str>,
    /// The review branch the commit is pushed to, for a stage with `review: true`.
    pub review_branch: Option<&'a str>,
}

/// A promotion commit read back from Git: the `Key: value` lines of [`commit_message`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    /// `namespace/name` of the pipeline.
    pub pipeline: String,
    /// The stage written to.
    pub stage: String,
    /// The release.
    pub release: String,
    /// The image references (`Image:` lines).
    pub images: Vec<String>,
    /// The chart references (`Chart:` lines).
    pub charts: Vec<String>,
    /// The base references (`Base:` lines).
    pub bases: Vec<String>,
    /// The source stage.
    pub from: Option<String>,
    /// Who decided.
    pub by: String,
    /// The release replaced.
    pub replaced: Option<String>,
    /// The review branch.
    pub review_branch: Option<String>,
}

/// Reads a promotion commit's message; `None` for any other commit (no `Pipeline`, `Stage` and `Release`).
pub fn parse(message: &str) -> Option<Recorded> {
    let mut r = Recorded::default();
    for line in message.lines().skip(1) {
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        let value = value.trim().to_string();
        match key {
            "Pipeline" => r.pipeline = value,
            "Stage" => r.stage = value,
            "Release" => r.release = value,
            "Image" => r.images.push(value),
            "Chart" => r.charts.push(value),
            "Base" => r.bases.push(value),
            "Source-Stage" => r.from = Some(value),
            "Promoted-By" => r.by = value,
            "Replaced" => r.replaced = Some(value),
            "Review-Branch" => r.review_branch = Some(value),
            _ => {}
        }
    }
    (!r.pipeline.is_empty() && !r.stage.is_empty() && !r.release.is_empty()).then_some(r)
}

/// The commit message: a subject line, then `Key: value` lines a person and a script can read.
pub fn commit_message(p: &Promotion<'_>) -> String {
    let release = p.release.map(|r| r.to_string()).unwrap_or_default();
    let mut m = match p.from {
        Some(from) => format!("promote {release} to {} from {from}\n\n", p.to),
        None => format!("promote {release} to {}\n\n", p.to),
    };
    m.push_str(&format!("Pipeline: {}\n", p.pipeline));
    m.push_str(&format!("Stage: {}\n", p.to));
    m.push_str(&format!("Release: {release}\n"));
    if let Some(r) = p.release {
        for (label, reference) in r.references() {
            m.push_str(&format!("{label}: {reference}\n"));
        }
    }
    if let Some(from) = p.from {
        m.push_str(&format!("Source-Stage: {from}\n"));
    }
    m.push_str(&format!("Promoted-By: {}\n", p.by));
    if let Some(r) = p.replaced {
        m.push_str(&format!("Replaced: {r}\n"));
    }
    if let Some(b) = p.review_branch {
        m.push_str(&format!("Review-Branch: {b}\n"));
    }
    for g in p.evidence {
        m.push_str(&format!("Gate: {} {}: {}\n", g.name, g.phase, g.message));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_release_source_and_evidence() {
        let release = Release::of_images([("gcr.io/x/gb-frontend", "v5")]);
        let evidence = [GateStatus {
            name: "TestJob".into(),
            phase: "Passed".into(),
            message: "Job guestbook-qa-test succeeded".into(),
        }];
        let m = commit_message(&Promotion {
            pipeline: "apps/guestbook",
            to: "e2e",
            from: Some("qa"),
            release: Some(&release),
            evidence: &evidence,
            by: "auto",
            replaced: Some("v4"),
            review_branch: None,
        });
        assert_eq!(
            m,
            "promote v5 to e2e from qa\n\nPipeline: apps/guestbook\nStage: e2e\nRelease: v5\n\
             Image: gcr.io/x/gb-frontend:v5\nSource-Stage: qa\nPromoted-By: auto\n\
             Replaced: v4\nGate: TestJob Passed: Job guestbook-qa-test succeeded\n"
        );
    }
}
