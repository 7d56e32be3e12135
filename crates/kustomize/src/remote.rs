//! Remote bases: `resources:` entries that name a directory in a Git repository, in the URL
//! forms Kustomize accepts. The engine only parses them; fetching is done by a
//! [`RemoteLoader`] the caller provides (the engine does no network I/O).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A parsed remote base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSpec {
    /// The entry as written in the kustomization.
    pub raw: String,
    /// What to clone: `https://host/org/repo.git`, `ssh://…`, `git@host:org/repo`,
    /// `file:///path/repo.git`, …
    pub repo_url: String,
    /// The directory inside the repository (`""` for its root), without leading or trailing `/`.
    pub path: String,
    /// `?ref=` (or `?version=`): branch, tag or commit; empty for the default branch.
    pub git_ref: String,
    /// `?timeout=` (seconds or a Go duration such as `90s`, `2m`); Kustomize's default is 27 s.
    pub timeout: Duration,
    /// `?submodules=` (default true).
    pub submodules: bool,
}

/// Fetches remote bases for the engine.
pub trait RemoteLoader {
    /// Makes the tree of `spec.repo_url` at `spec.git_ref` available on the file system the
    /// build reads, and returns the directory of the repository's root. The engine then builds
    /// `root/spec.path` as a kustomization directory. Errors are messages naming what failed.
    fn fetch(&self, spec: &RemoteSpec) -> Result<PathBuf, String>;
}

impl fmt::Debug for dyn RemoteLoader + Send + Sync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RemoteLoader")
    }
}

/// Kustomize's default Git timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(27);

/// Whether a `resources:` entry is a remote base rather than a local path.
pub fn is_remote(entry: &str) -> bool {
    let lower = entry.to_ascii_lowercase();
    lower.contains("://")
        || lower.starts_with("git::")
        || lower.starts_with("gh:")
        || lower.starts_with("github.com/")
        || lower.starts_with("github.com:")
        || scp_like(entry).is_some()
}

/// `user@host:path` (SSH in scp syntax): returns (`user@host`, `path`).
fn scp_like(s: &str) -> Option<(&str, &str)> {
    let (head, path) = s.split_once(':')?;
    let (user, host) = head.split_once('@')?;
    if user.is_empty() || host.is_empty() || head.contains('/') || path.starts_with("//") {
        return None;
    }
    Some((head, path))
}

/// Parses a remote base in the forms Kustomize accepts:
///
/// * `https://host/org/repo//path/in/repo?ref=v1` (`//` separates the repository from the path)
/// * `https://host/org/repo.git/path?ref=v1` (a `.git` suffix ends the repository)
/// * `github.com/org/repo/path?ref=v1`, `https://github.com/org/repo/path` and `gh:org/repo/path`
///   (on GitHub the repository is the first two path segments)
/// * `git::https://…` (the prefix is ignored), `http://`, `ssh://`, `file://`
/// * `git@host:org/repo.git//path`, `git@github.com:org/repo/path` (SSH, scp syntax)
/// * query parameters `ref` (or `version`), `timeout` (`60` or `1m`), `submodules` (`true`/`false`)
///
/// Returns an error message for an entry that looks remote but cannot be understood.
pub fn parse(entry: &str) -> Result<RemoteSpec, String> {
    let raw = entry.to_string();
    let mut s = entry.trim();
    if s.len() > 5 && s[..5].eq_ignore_ascii_case("git::") {
        s = &s[5..];
    }
    let (s, query) = match s.split_once('?') {
        Some((a, q)) => (a, q),
        None => (s, ""),
    };
    let mut git_ref = String::new();
    let mut version = String::new();
    let mut timeout = DEFAULT_TIMEOUT;
    let mut submodules = true;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "ref" => git_ref = v,
            "version" => version = v,
            "timeout" => {
                if let Some(d) = parse_timeout(&v) {
                    timeout = d;
                }
            }
            "submodules" => {
                if let Some(b) = parse_go_bool(&v) {
                    submodules = b;
                }
            }
            _ => {}
        }
    }
    if git_ref.is_empty() {
        git_ref = version;
    }

    // Split into the repository prefix (scheme and host) and the path after the host.
    let lower = s.to_ascii_lowercase();
    let (prefix, after_host, github) = if let Some(rest) = strip_prefix_ci(s, "gh:") {
        ("https://github.com/".to_string(), rest, true)
    } else if let Some(rest) = strip_prefix_ci(s, "github.com/").or_else(|| strip_prefix_ci(s, "github.com:"))
    {
        ("https://github.com/".to_string(), rest, true)
    } else if let Some(i) = lower.find("://") {
        let scheme = &lower[..i];
        if !matches!(scheme, "https" | "http" | "ssh" | "file" | "git") {
            return Err(format!(
                "remote resource {entry:?}: unsupported URL scheme {scheme:?}"
            ));
        }
        let rest = &s[i + 3..];
        if scheme == "file" {
            // file:///abs/path: the "host" is empty.
            (format!("{}://", &s[..i]), rest, false)
        } else {
            let slash = rest
                .find('/')
                .ok_or_else(|| format!("remote resource {entry:?}: the URL names no repository"))?;
            let host = &rest[..slash];
            let github =
                host.eq_ignore_ascii_case("github.com") || host.to_ascii_lowercase().ends_with("@github.com");
            (format!("{}://{}/", &s[..i], host), &rest[slash + 1..], github)
        }
    } else if let Some((head, path)) = scp_like(s) {
        let github = head.to_ascii_lowercase().ends_with("@github.com");
        (format!("{head}:"), path, github)
    } else {
        return Err(format!(
            "remote resource {entry:?}: not a URL Kustomize understands"
        ));
    };

    let (repo, path) = split_repo_path(after_host, github)
        .ok_or_else(|| format!("remote resource {entry:?}: the URL names no repository"))?;
    let path = path.trim_matches('/').to_string();
    if path.split('/').any(|c| c == "..") {
        return Err(format!(
            "remote resource {entry:?}: the path may not contain '..'"
        ));
    }
    Ok(RemoteSpec {
        raw,
        repo_url: format!("{prefix}{repo}"),
        path,
        git_ref,
        timeout,
        submodules,
    })
}

fn strip_prefix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    (s.len() > p.len() && s[..p.len()].eq_ignore_ascii_case(p)).then(|| &s[p.len()..])
}

/// Splits the part after the host into the repository and the path inside it.
fn split_repo_path(after_host: &str, github: bool) -> Option<(String, String)> {
    // `//` ends the repository (the leading `/` of absolute file:// paths excluded).
    let search_from = usize::from(after_host.starts_with('/'));
    if let Some(i) = after_host[search_from..].find("//") {
        let i = i + search_from;
        let repo = &after_host[..i];
        return (!repo.trim_matches('/').is_empty())
            .then(|| (repo.to_string(), after_host[i + 2..].to_string()));
    }
    // A `.git` suffix on a path segment ends the repository.
    let mut offset = 0;
    for seg in after_host.split('/') {
        offset += seg.len();
        if seg.len() > 4 && seg.ends_with(".git") {
            let rest = after_host.get(offset..).unwrap_or("");
            return Some((after_host[..offset].to_string(), rest.to_string()));
        }
        offset += 1;
    }
    if github {
        let mut parts = after_host.splitn(3, '/');
        let org = parts.next().filter(|p| !p.is_empty())?;
        let repo = parts.next().filter(|p| !p.is_empty())?;
        return Some((format!("{org}/{repo}"), parts.next().unwrap_or("").to_string()));
    }
    let repo = after_host.trim_end_matches('/');
    (!repo.trim_matches('/').is_empty()).then(|| (repo.to_string(), String::new()))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `?timeout=`: whole seconds (`61`) or a Go duration (`61s`, `1m30s`, `500ms`); invalid or
/// non-positive values keep the default, like Kustomize.
fn parse_timeout(s: &str) -> Option<Duration> {
    if let Ok(n) = s.parse::<u64>() {
        return (n > 0).then(|| Duration::from_secs(n));
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * unit;
        rest = &rest[unit_len..];
    }
    (total > 0.0).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (String, String, String) {
        let r = parse(s).unwrap_or_else(|e| panic!("{e}"));
        (r.repo_url, r.path, r.git_ref)
    }

    #[test]
    fn url_forms() {
        let t = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(
            p("https://example.com/org/repo//deploy/base?ref=v1"),
            t("https://example.com/org/repo", "deploy/base", "v1")
        );
        assert_eq!(
            p("https://example.com/org/repo.git/deploy?ref=main"),
            t("https://example.com/org/repo.git", "deploy", "main")
        );
        assert_eq!(
            p("git::https://example.com/org/repo.git//deploy?ref=main&timeout=30s&submodules=false"),
            t("https://example.com/org/repo.git", "deploy", "main")
        );
        assert_eq!(
            p("github.com/org/repo/deploy/base?ref=v2"),
            t("https://github.com/org/repo", "deploy/base", "v2")
        );
        assert_eq!(
            p("https://github.com/org/repo/x"),
            t("https://github.com/org/repo", "x", "")
        );
        assert_eq!(
            p("gh:org/repo?version=v3"),
            t("https://github.com/org/repo", "", "v3")
        );
        assert_eq!(
            p("git@github.com:org/repo.git/deploy?ref=v1"),
            t("git@github.com:org/repo.git", "deploy", "v1")
        );
        assert_eq!(
            p("git@gitlab.example.com:org/repo//a/b"),
            t("git@gitlab.example.com:org/repo", "a/b", "")
        );
        assert_eq!(
            p("ssh://git@example.com/org/repo.git//base"),
            t("ssh://git@example.com/org/repo.git", "base", "")
        );
        assert_eq!(
            p("file:///srv/git/repo.git//base?ref=v1"),
            t("file:///srv/git/repo.git", "base", "v1")
        );
        assert_eq!(
            p("file:///srv/git/repo.git/base"),
            t("file:///srv/git/repo.git", "base", "")
        );
        assert_eq!(
            p("http://127.0.0.1:8080/repo.git//base?ref=v1"),
            t("http://127.0.0.1:8080/repo.git", "base", "v1")
        );
    }

    #[test]
    fn query_parameters() {
        let r = parse("https://example.com/r.git//b?ref=x&version=y&timeout=90&submodules=0")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.git_ref.as_str(), r.timeout, r.submodules),
            ("x", Duration::from_secs(90), false)
        );
        let r = parse("https://example.com/r.git?timeout=1m30s").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.timeout, r.submodules), (Duration::from_secs(90), true));
        let r = parse("https://example.com/r.git?timeout=bogus").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn remote_detection() {
        for r in [
            "https://x/y",
            "git::https://x/y",
            "github.com/a/b",
            "gh:a/b",
            "git@github.com:a/b",
            "file:///x/y.git",
        ] {
            assert!(is_remote(r), "{r}");
        }
        for l in ["../base", "deployment.yaml", "a:b/c.yaml", "dir/with@at/x.yaml"] {
            assert!(!is_remote(l), "{l}");
        }
        assert!(parse("ftp://x/y").is_err());
        assert!(parse("https://example.com/a.git//../etc").is_err());
    }
}
