//! The files a push changed, from its webhook payload, and which applications they concern. Pure.
//!
//! GitHub, Gitea and GitLab list the commits of a push with the files each one `added`, `modified` and
//! `removed`. When the list is complete, the webhook receiver refreshes first the applications whose source path
//! holds a changed file, so that in a monorepo of a thousand applications the one a commit touched is applied
//! first; the others follow (their sources may read files outside their path, such as Kustomize bases in
//! `../`). An application that names the paths it reads in the annotation [`REFRESH_PATHS_ANNOTATION`] is not
//! refreshed at all by a push that changed none of them, as Argo CD's `manifest-generate-paths`.
//!
//! The list is taken as unknown (every application is refreshed, in the usual order) when the payload has no
//! commit list, when it may have left commits out (GitLab's `total_commits_count` above the commits listed,
//! GitHub's limit of 2 048 commits), or for a push that created or force-moved the reference (the commits listed
//! do not then tell everything that differs from what was there).

use std::collections::BTreeSet;

/// Paths an application reads, separated by `;`, for the webhook receiver: relative to `spec.source.path`
/// (`.` is the path itself, `../base` a sibling), or from the repository's root when they begin with `/`. A
/// push whose commit list is complete and changes none of them does not refresh the application (it still
/// reconciles at its interval).
pub const REFRESH_PATHS_ANNOTATION: &str = "tack.dev/refresh-paths";

/// GitHub lists at most this many commits in a push payload.
const GITHUB_COMMIT_LIMIT: usize = 2048;

/// The repository-relative files a push changed, or `None` when the payload does not tell them all.
pub fn changed_files(payload: &[u8]) -> Option<BTreeSet<String>> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    if v.get("created").and_then(|c| c.as_bool()) == Some(true)
        || v.get("forced").and_then(|c| c.as_bool()) == Some(true)
    {
        return None;
    }
    let commits = v.get("commits")?.as_array()?;
    if commits.is_empty() || commits.len() >= GITHUB_COMMIT_LIMIT {
        return None;
    }
    if let Some(total) = v.get("total_commits_count").and_then(|t| t.as_u64())
        && total > commits.len() as u64
    {
        return None;
    }
    let mut files = BTreeSet::new();
    for commit in commits {
        for list in ["added", "modified", "removed"] {
            // A commit without its file lists leaves the change unknown.
            let entries = commit.get(list)?.as_array()?;
            for f in entries {
                files.insert(f.as_str()?.trim_start_matches('/').to_string());
            }
        }
    }
    Some(files)
}

/// The repository-relative directories an application reads: its source path, or those of its
/// [`REFRESH_PATHS_ANNOTATION`] resolved against it. `..` is resolved; a path that climbs above the root is the
/// root.
pub fn watched_dirs(source_path: &str, annotation: Option<&str>) -> Vec<String> {
    let base = normalise("", source_path);
    match annotation {
        None => vec![base],
        Some(list) => list
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.strip_prefix('/') {
                Some(abs) => normalise("", abs),
                None => normalise(&base, p),
            })
            .collect(),
    }
}

/// Whether a changed file lies in one of `dirs` (the empty directory is the whole repository).
pub fn touches(files: &BTreeSet<String>, dirs: &[String]) -> bool {
    dirs.iter().any(|d| {
        d.is_empty()
            || files.iter().any(|f| {
                f == d
                    || f.strip_prefix(d.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
    })
}

fn normalise(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn files(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_files_of_every_commit_are_collected() {
        // The shape of GitHub's and Gitea's push payloads (GitLab's is the same for these fields).
        let payload = json!({
            "ref": "refs/heads/main", "created": false, "forced": false,
            "commits": [
                {"added": ["apps/a/new.yaml"], "modified": ["apps/b/cm.yaml"], "removed": []},
                {"added": [], "modified": [], "removed": ["base/old.yaml"]},
            ],
        });
        assert_eq!(
            changed_files(payload.to_string().as_bytes()),
            Some(files(&["apps/a/new.yaml", "apps/b/cm.yaml", "base/old.yaml"]))
        );
    }

    #[test]
    fn an_incomplete_list_is_unknown() {
        let commit = json!({"added": [], "modified": ["a/x"], "removed": []});
        for payload in [
            json!({"created": true, "commits": [commit]}),
            json!({"forced": true, "commits": [commit]}),
            json!({"commits": []}),
            json!({"ref": "refs/heads/main"}),
            json!({"commits": [commit], "total_commits_count": 21}),
            json!({"commits": [{"id": "abc"}]}),
        ] {
            assert_eq!(changed_files(payload.to_string().as_bytes()), None, "{payload}");
        }
        assert_eq!(changed_files(b"not json"), None);
        let gitlab = json!({"commits": [commit], "total_commits_count": 1});
        assert_eq!(
            changed_files(gitlab.to_string().as_bytes()),
            Some(files(&["a/x"]))
        );
    }

    #[test]
    fn applications_are_matched_by_directory() {
        let changed = files(&["apps/a/cm.yaml", "base/deploy.yaml"]);
        assert!(touches(&changed, &watched_dirs("apps/a", None)));
        assert!(touches(&changed, &watched_dirs("./apps/a/", None)));
        assert!(!touches(&changed, &watched_dirs("apps/b", None)));
        // A prefix of a name is not its directory.
        assert!(!touches(
            &files(&["apps/ab/cm.yaml"]),
            &watched_dirs("apps/a", None)
        ));
        // The whole repository.
        assert!(touches(&changed, &watched_dirs("", None)));
        assert!(touches(&changed, &watched_dirs(".", None)));
        // The annotation: relative to the source path, or from the root.
        assert_eq!(
            watched_dirs("apps/b", Some(".; ../../base")),
            vec!["apps/b", "base"]
        );
        assert_eq!(
            watched_dirs("apps/b", Some("/base;/apps/b")),
            vec!["base", "apps/b"]
        );
        assert!(touches(&changed, &watched_dirs("apps/b", Some(".;../../base"))));
        assert!(!touches(&changed, &watched_dirs("apps/b", Some("."))));
        // Climbing above the root is the root.
        assert_eq!(watched_dirs("a", Some("../../..")), vec![""]);
    }
}
