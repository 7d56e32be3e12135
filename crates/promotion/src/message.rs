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
        for reference in r.references() {
            m.push_str(&format!("Image: {reference}\n"));
        }
    }
    if let Some(from) = p.from {
        m.push_str(&format!("Source-Stage: {from}\n"));
    }
    m.push_str(&format!("Promoted-By: {}\n", p.by));
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
        let release = Release {
            tags: vec![("gcr.io/x/gb-frontend".into(), "v5".into())],
        };
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
        });
        assert_eq!(
            m,
            "promote v5 to e2e from qa\n\nPipeline: apps/guestbook\nStage: e2e\nRelease: v5\n\
             Image: gcr.io/x/gb-frontend:v5\nSource-Stage: qa\nPromoted-By: auto\n\
             Gate: TestJob Passed: Job guestbook-qa-test succeeded\n"
        );
    }
}
