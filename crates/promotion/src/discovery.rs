//! Releases found upstream: for each image or chart with `discover`, the newest version satisfying its semver
//! constraint (asked of the registry or chart repository at most once per interval, [`Discoveries`]); the
//! first stage gets it by a commit when it is newer than the version its configuration holds. The calls are
//! [`tack_source::chart::ChartFetcher::newest_oci_tag`] (the OCI distribution API's tag list, with the
//! registry's token exchange) and [`tack_source::chart::ChartFetcher::newest_version`] (a chart repository's
//! index); the decisions here are pure.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tack_source::chart::index::{self, Selection};

use crate::part::Kind;
use crate::release::Release;

/// How often a registry is asked when the spec says nothing.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// The shortest interval a spec may ask for.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);

/// The `oci://` reference of an image's repository: the registry host when the first path segment names one
/// (it has a `.` or a `:`, or is `localhost`), else Docker Hub (`registry-1.docker.io`, `library/` for an
/// image of one segment).
pub fn repository_reference(image: &str) -> String {
    const HUB: &str = "registry-1.docker.io";
    let (first, rest) = image.split_once('/').unwrap_or(("", image));
    let names_host = first.contains('.') || first.contains(':') || first == "localhost";
    let (host, path) = match (names_host, first) {
        (true, "docker.io" | "index.docker.io") => (HUB, rest),
        (true, host) => (host, rest),
        (false, _) => (HUB, image),
    };
    if host == HUB && !path.contains('/') {
        format!("oci://{HUB}/library/{path}")
    } else {
        format!("oci://{host}/{path}")
    }
}

/// Whether the tag `found` is newer than `current` (a current tag that is not a version is replaced by a
/// found version; pre-releases order before their release).
pub fn is_newer(current: Option<&str>, found: &str) -> bool {
    match current {
        None => true,
        Some(c) if c == found => false,
        Some(c) => {
            let both = [c.to_string(), found.to_string()];
            matches!(index::select(&both, |t| t.as_str(), "", true), Selection::Found(t) if t == found)
        }
    }
}

/// The release the first stage should get: `current` with each found part's version where it is newer
/// (`found`: (kind, name) → version), and a description of what was found for the commit (`discovered
/// gb-frontend v1.3.0`); `None` when nothing is newer.
pub fn next_release(
    current: &Release,
    found: &BTreeMap<(Kind, String), String>,
) -> Option<(Release, String)> {
    let mut next = current.clone();
    let mut news = Vec::new();
    for (part, version) in &mut next.versions {
        if let Some(new) = found.get(&(part.kind, part.name.clone()))
            && is_newer(Some(version), new)
        {
            news.push(format!("{} {new}", part.short_name()));
            *version = new.clone();
        }
    }
    (!news.is_empty()).then(|| (next, format!("discovered {}", news.join(", "))))
}

/// A registry's answer: the newest tag satisfying the constraint, or why there is none.
pub type Answer = Result<String, String>;

/// The registries' last answers, by pipeline and image, so that each is asked at most once per interval.
#[derive(Debug, Default)]
pub struct Discoveries {
    last: Mutex<HashMap<String, (Instant, Answer)>>,
}

impl Discoveries {
    /// The answer for `key` if one was stored less than `interval` ago.
    pub fn fresh(&self, key: &str, interval: Duration) -> Option<Answer> {
        let last = self.last.lock().ok()?;
        let (at, answer) = last.get(key)?;
        (at.elapsed() < interval).then(|| answer.clone())
    }

    /// Stores the answer for `key`.
    pub fn store(&self, key: &str, answer: Answer) {
        if let Ok(mut last) = self.last.lock() {
            last.insert(key.to_string(), (Instant::now(), answer));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_to_registry_repositories() {
        assert_eq!(
            repository_reference("nginx"),
            "oci://registry-1.docker.io/library/nginx"
        );
        assert_eq!(
            repository_reference("bitnami/redis"),
            "oci://registry-1.docker.io/bitnami/redis"
        );
        assert_eq!(
            repository_reference("docker.io/library/redis"),
            "oci://registry-1.docker.io/library/redis"
        );
        assert_eq!(
            repository_reference("docker.io/redis"),
            "oci://registry-1.docker.io/library/redis"
        );
        assert_eq!(
            repository_reference("us-docker.pkg.dev/google-samples/containers/gke/gb-frontend"),
            "oci://us-docker.pkg.dev/google-samples/containers/gke/gb-frontend"
        );
        assert_eq!(
            repository_reference("localhost:5000/app"),
            "oci://localhost:5000/app"
        );
        assert_eq!(
            repository_reference("127.0.0.1:5000/team/app"),
            "oci://127.0.0.1:5000/team/app"
        );
    }

    #[test]
    fn newer_tags_only() {
        assert!(is_newer(Some("1.2.0"), "1.3.0"));
        assert!(is_newer(Some("v1.2.0"), "v1.10.0"));
        assert!(!is_newer(Some("1.3.0"), "1.2.0"));
        assert!(!is_newer(Some("1.3.0"), "1.3.0"));
        assert!(is_newer(Some("1.3.0-rc.1"), "1.3.0"));
        assert!(is_newer(Some("latest"), "1.0.0"));
        assert!(is_newer(None, "1.0.0"));
    }

    #[test]
    fn the_next_release_moves_only_newer_images() {
        let current = Release::of_images([("gcr.io/x/gb-frontend", "v1.2.0"), ("redis", "7.2.0")]);
        let found = BTreeMap::from([
            (
                (Kind::Image, "gcr.io/x/gb-frontend".to_string()),
                "v1.3.0".to_string(),
            ),
            ((Kind::Image, "redis".to_string()), "7.0.0".to_string()),
        ]);
        let (next, why) = next_release(&current, &found).expect("newer");
        assert_eq!(next.to_string(), "gb-frontend:v1.3.0,redis:7.2.0");
        assert_eq!(why, "discovered gb-frontend v1.3.0");
        let same = BTreeMap::from([((Kind::Image, "redis".to_string()), "7.2.0".to_string())]);
        assert!(next_release(&current, &same).is_none());
    }

    #[test]
    fn answers_are_kept_for_an_interval() {
        let d = Discoveries::default();
        assert!(d.fresh("p app", Duration::from_secs(60)).is_none());
        d.store("p app", Ok("1.0.0".into()));
        assert_eq!(
            d.fresh("p app", Duration::from_secs(60)),
            Some(Ok("1.0.0".into()))
        );
        assert!(d.fresh("p app", Duration::ZERO).is_none());
    }
}
