//! Helm chart repository indexes (`index.yaml`) and the choice of a chart version in them, as `helm pull`
//! makes it: an exact version string wins; otherwise the newest version satisfying the constraint (Helm's
//! Masterminds/semver syntax: `^1.2`, `~1.2.3`, `>=1 <2`, `1.x`, `||`), prereleases only when the constraint
//! names one (or with `devel`, as `helm pull --devel`). Pure functions, no I/O.

use std::collections::BTreeMap;

use serde::Deserialize;
use tack_helm::semver::{Constraint, Version};

/// The parts of `index.yaml` tack reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    /// Every chart version of the repository, by chart name.
    #[serde(default)]
    pub entries: BTreeMap<String, Vec<IndexEntry>>,
}

/// One chart version of the index.
#[derive(Debug, Clone, Deserialize)]
pub struct IndexEntry {
    /// The chart's name.
    #[serde(default)]
    pub name: String,
    /// The chart's version, as written in the index.
    pub version: String,
    /// Where the archive is: absolute URLs, or URLs relative to the repository URL.
    #[serde(default)]
    pub urls: Vec<String>,
    /// The archive's SHA-256, in hexadecimal (optional in the format).
    #[serde(default)]
    pub digest: Option<String>,
}

impl Index {
    /// Parses an `index.yaml` document.
    pub fn parse(text: &str) -> Result<Index, String> {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }
}

/// What [`select`] found: the entry, or why none.
#[derive(Debug)]
pub enum Selection<'a, T> {
    /// The entry chosen.
    Found(&'a T),
    /// No version satisfies the constraint: the versions listed nearest to the one asked for (see
    /// [`nearest`]), newest first.
    NoMatch {
        /// The versions, newest first.
        nearest: Vec<String>,
    },
    /// The constraint does not parse.
    BadConstraint,
}

/// Picks a version among `versions` as Helm does: an exact match of the string first, then the newest
/// version satisfying the constraint (`""` means `*`, or `>0.0.0-0` with `devel`).
pub fn select<'a, T>(
    versions: &'a [T],
    version_of: impl Fn(&T) -> &str,
    wanted: &str,
    devel: bool,
) -> Selection<'a, T> {
    if !wanted.is_empty()
        && let Some(e) = versions.iter().find(|e| version_of(e) == wanted)
    {
        return Selection::Found(e);
    }
    let constraint = match wanted {
        "" if devel => ">0.0.0-0",
        "" => "*",
        w => w,
    };
    let Some(constraint) = Constraint::parse(constraint) else {
        return Selection::BadConstraint;
    };
    let mut parsed: Vec<(Version, &T)> = versions
        .iter()
        .filter_map(|e| Version::parse(version_of(e)).map(|v| (v, e)))
        .collect();
    parsed.sort_by(|a, b| b.0.cmp(&a.0));
    match parsed.iter().find(|(v, _)| constraint.check(v)) {
        Some((_, e)) => Selection::Found(e),
        None => Selection::NoMatch {
            nearest: nearest(versions.iter().map(&version_of), wanted),
        },
    }
}

/// How many versions [`nearest`] names.
pub const NEAREST: usize = 5;

/// The versions among `versions` nearest to `wanted`, for an error message: for a version (`1.4.0`), the
/// [`NEAREST`] listed versions around the place it would sort at; for a constraint, the newest ones. Newest
/// first; versions that are not SemVer are left out.
pub fn nearest<'a>(versions: impl IntoIterator<Item = &'a str>, wanted: &str) -> Vec<String> {
    let mut parsed: Vec<(Version, &str)> = versions
        .into_iter()
        .filter_map(|v| Version::parse(v).map(|p| (p, v)))
        .collect();
    parsed.sort_by(|a, b| b.0.cmp(&a.0));
    parsed.dedup_by(|a, b| a.1 == b.1);
    let at = match Version::parse(wanted.trim_start_matches(['v', '='])) {
        // Index of the first version older than `wanted`; the window is centred there.
        Some(w) => parsed.iter().position(|(v, _)| *v < w).unwrap_or(parsed.len()),
        None => 0,
    };
    let start = at
        .saturating_sub(NEAREST / 2)
        .min(parsed.len().saturating_sub(NEAREST));
    parsed
        .iter()
        .skip(start)
        .take(NEAREST)
        .map(|(_, v)| v.to_string())
        .collect()
}

/// `nearest` as an error message names them: `1.1.0, 1.0.0` or `none`.
pub fn list(nearest: &[String]) -> String {
    if nearest.is_empty() {
        "none".into()
    } else {
        nearest.join(", ")
    }
}

/// Whether `s` is one exact version (`1.2.3`, `1.2.3-rc.1+build`), not a range.
pub fn is_exact_version(s: &str) -> bool {
    let core = s.split(['-', '+']).next().unwrap_or("");
    core.split('.').count() == 3
        && core
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pick(versions: &[&str], wanted: &str, devel: bool) -> Option<String> {
        match select(versions, |v| v, wanted, devel) {
            Selection::Found(v) => Some(v.to_string()),
            _ => None,
        }
    }

    #[test]
    fn newest_matching_version() {
        let vs = ["1.2.0", "1.10.1", "2.0.0", "1.3.0-rc.1", "0.9.0", "not-semver"];
        assert_eq!(pick(&vs, "", false).as_deref(), Some("2.0.0"));
        assert_eq!(pick(&vs, "^1.2", false).as_deref(), Some("1.10.1"));
        assert_eq!(pick(&vs, "~1.2.0", false).as_deref(), Some("1.2.0"));
        assert_eq!(pick(&vs, ">=1 <2", false).as_deref(), Some("1.10.1"));
        assert_eq!(pick(&vs, "1.x", false).as_deref(), Some("1.10.1"));
        assert_eq!(pick(&vs, "0.x || >=2", false).as_deref(), Some("2.0.0"));
        assert_eq!(pick(&vs, "<1", false).as_deref(), Some("0.9.0"));
        assert_eq!(pick(&vs, "1.2.0", false).as_deref(), Some("1.2.0"));
        assert_eq!(pick(&vs, "not-semver", false).as_deref(), Some("not-semver"));
        assert_eq!(pick(&vs, "^3", false), None);
    }

    #[test]
    fn prereleases_only_when_asked() {
        let vs = ["1.2.0", "1.3.0-rc.1"];
        assert_eq!(pick(&vs, "^1", false).as_deref(), Some("1.2.0"));
        assert_eq!(pick(&vs, ">=1.3.0-0", false).as_deref(), Some("1.3.0-rc.1"));
        assert_eq!(pick(&vs, "", true).as_deref(), Some("1.3.0-rc.1"));
        assert_eq!(pick(&vs, "1.3.0-rc.1", false).as_deref(), Some("1.3.0-rc.1"));
    }

    #[test]
    fn nearest_versions_around_the_one_asked_for() {
        let vs = [
            "0.1.0", "0.2.0", "1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0", "2.1.0", "bad",
        ];
        assert_eq!(
            nearest(vs, "1.2.5"),
            ["2.0.0", "1.3.0", "1.2.0", "1.1.0", "1.0.0"]
        );
        assert_eq!(
            nearest(vs, "9.0.0"),
            ["2.1.0", "2.0.0", "1.3.0", "1.2.0", "1.1.0"]
        );
        assert_eq!(
            nearest(vs, "0.0.1"),
            ["1.2.0", "1.1.0", "1.0.0", "0.2.0", "0.1.0"]
        );
        assert_eq!(nearest(vs, "^3"), ["2.1.0", "2.0.0", "1.3.0", "1.2.0", "1.1.0"]);
        assert_eq!(nearest(["1.0.0"], "2.0.0"), ["1.0.0"]);
        assert!(nearest([], "1.0.0").is_empty());
        assert_eq!(list(&[]), "none");
    }

    #[test]
    fn exact_versions() {
        assert!(is_exact_version("1.2.3"));
        assert!(is_exact_version("1.2.3-rc.1+b"));
        assert!(!is_exact_version("^1.2.3"));
        assert!(!is_exact_version("1.2"));
        assert!(!is_exact_version("1.x.0"));
    }

    #[test]
    fn parses_helm_index() {
        let text = "apiVersion: v1\nentries:\n  web:\n  - name: web\n    version: 0.1.0\n    urls: [web-0.1.0.tgz]\n    digest: abc\n    created: \"2026-01-01T00:00:00Z\"\ngenerated: \"2026-01-01T00:00:00Z\"\n";
        let i = Index::parse(text).unwrap();
        assert_eq!(i.entries["web"][0].urls, ["web-0.1.0.tgz"]);
        assert_eq!(i.entries["web"][0].digest.as_deref(), Some("abc"));
    }
}
