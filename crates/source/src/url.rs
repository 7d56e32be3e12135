//! Repository URLs: parsing, stripping credentials, and the normal form used to match webhooks.

use std::fmt;

use crate::credentials::{Credentials, Secret};

/// The transports tack speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `file://` or a local path: a repository on this machine.
    File,
    /// `git://`: the Git daemon protocol, unauthenticated.
    Git,
    /// `http://`: smart HTTP, unencrypted.
    Http,
    /// `https://`: smart HTTP over TLS.
    Https,
}

/// A repository URL without credentials. Credentials written in the URL (`https://user:pass@host/repo`) are
/// split off into [`RepoUrl::embedded_credentials`] and never shown.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RepoUrl {
    url: String,
    scheme: Scheme,
    embedded: Option<(String, String)>,
}

impl fmt::Debug for RepoUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RepoUrl({:?})", self.url)
    }
}

impl fmt::Display for RepoUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl RepoUrl {
    /// Parses `https://`, `http://`, `git://` and `file://` URLs, and absolute local paths (taken as
    /// `file://`). SSH URLs (`ssh://`, `git@host:path`) are refused: tack does not speak SSH yet.
    pub fn parse(input: &str) -> Result<RepoUrl, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("the URL is empty".into());
        }
        if s.starts_with('/') {
            return Ok(RepoUrl {
                url: format!("file://{s}"),
                scheme: Scheme::File,
                embedded: None,
            });
        }
        let Some((scheme, rest)) = s.split_once("://") else {
            if is_scp_like(s) {
                return Err("SSH URLs are not supported yet; use an https:// URL with a token".into());
            }
            return Err("expected a URL starting with https://, http://, git:// or file://".into());
        };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            "git" => Scheme::Git,
            "file" => Scheme::File,
            "ssh" | "git+ssh" | "ssh+git" => {
                return Err("SSH URLs are not supported yet; use an https:// URL with a token".into());
            }
            other => return Err(format!("unsupported URL scheme {other:?}")),
        };
        if scheme == Scheme::File {
            if !rest.starts_with('/') {
                return Err("file:// URLs need an absolute path (file:///path/to/repo)".into());
            }
            return Ok(RepoUrl {
                url: format!("file://{rest}"),
                scheme,
                embedded: None,
            });
        }
        let authority_end = userinfo_with_slash_end(rest).or_else(|| rest.find('/'));
        let (authority, path) = match authority_end {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (userinfo, host) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        if path.len() <= 1 {
            return Err("the URL has no repository path".into());
        }
        let embedded = userinfo.map(|u| match u.split_once(':') {
            Some((user, pass)) => (percent_decode(user), percent_decode(pass)),
            None => (percent_decode(u), String::new()),
        });
        let scheme_str = match scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
            Scheme::Git => "git",
            Scheme::File => "file",
        };
        Ok(RepoUrl {
            url: format!("{scheme_str}://{host}{path}"),
            scheme,
            embedded,
        })
    }

    /// The URL, without credentials.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The transport the URL names.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Credentials written in the URL itself, if any.
    pub fn embedded_credentials(&self) -> Option<Credentials> {
        let (user, pass) = self.embedded.as_ref()?;
        if pass.is_empty() {
            // `https://TOKEN@host/...` is the usual way to put a token in a URL.
            return Some(Credentials::Token {
                username: None,
                token: Secret::new(user.clone()),
            });
        }
        Some(Credentials::Basic {
            username: user.clone(),
            password: Secret::new(pass.clone()),
        })
    }

    /// The form used to match webhook payloads against configured URLs: see [`normalize_repo_url`].
    pub fn normalized(&self) -> String {
        normalize_repo_url(&self.url)
    }
}

/// Where the authority ends when a pasted password or token holds a raw `/` (`user:pa/ss@host/repo`): the
/// text before the first `@` has a `:` before its first `/`, and what follows that `:` is not a port number.
fn userinfo_with_slash_end(rest: &str) -> Option<usize> {
    let at = rest.find('@')?;
    let before = &rest[..at];
    let slash = before.find('/')?;
    let colon = before.find(':')?;
    if colon > slash || before[colon + 1..slash].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let after = &rest[at + 1..];
    Some(at + 1 + after.find('/').unwrap_or(after.len()))
}

fn is_scp_like(s: &str) -> bool {
    // user@host:path, the scp-like SSH syntax.
    match s.split_once(':') {
        Some((left, right)) => !left.contains('/') && left.contains('@') && !right.starts_with("//"),
        None => false,
    }
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Normalises the common spellings of one repository URL to one string, so that a webhook's
/// `https://github.com/org/repo`, `https://github.com/org/repo.git`, `git@github.com:org/repo.git`,
/// `ssh://git@github.com/org/repo` and `git://github.com/org/repo.git` all compare equal to the configured
/// repository URL: scheme, credentials, port-less default, a trailing `/` and a trailing `.git` are dropped and
/// the host is lower-cased. The path keeps its case (GitHub is case-insensitive, other servers are not).
pub fn normalize_repo_url(url: &str) -> String {
    let s = url.trim();
    let (host_and_path, _had_scheme) = match s.split_once("://") {
        Some((_, rest)) => (rest.to_string(), true),
        None => match s.split_once(':') {
            Some((left, right)) if !left.contains('/') => {
                (format!("{left}/{}", right.trim_start_matches('/')), false)
            }
            _ => (s.to_string(), false),
        },
    };
    let (authority, path) = match host_and_path.find('/') {
        Some(i) => (&host_and_path[..i], &host_and_path[i..]),
        None => (host_and_path.as_str(), ""),
    };
    let host = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority)
        .to_ascii_lowercase();
    let host = host
        .strip_suffix(":443")
        .or_else(|| host.strip_suffix(":80"))
        .unwrap_or(&host)
        .to_string();
    let mut path = path.trim_end_matches('/').to_string();
    if let Some(p) = path.strip_suffix(".git") {
        path = p.to_string();
    }
    format!("{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_strips_credentials() {
        let u = RepoUrl::parse("https://alice:s%40cret@Example.com/org/repo.git").expect("parse");
        assert_eq!(u.as_str(), "https://Example.com/org/repo.git");
        assert!(!format!("{u} {u:?}").contains("cret"));
        match u.embedded_credentials() {
            Some(Credentials::Basic { username, password }) => {
                assert_eq!(username, "alice");
                assert_eq!(password.expose(), "s@cret");
            }
            other => panic!("{other:?}"),
        }
        let t = RepoUrl::parse("https://ghp_x@github.com/o/r").expect("parse");
        assert!(matches!(
            t.embedded_credentials(),
            Some(Credentials::Token { .. })
        ));
    }

    #[test]
    fn raw_slash_in_a_password_does_not_leak() {
        let u = RepoUrl::parse("https://bot:ab/c+d=@git.example.com/org/repo.git").expect("parse");
        assert_eq!(u.as_str(), "https://git.example.com/org/repo.git");
        match u.embedded_credentials() {
            Some(Credentials::Basic { username, password }) => {
                assert_eq!(username, "bot");
                assert_eq!(password.expose(), "ab/c+d=");
            }
            other => panic!("{other:?}"),
        }
        // An `@` in the path of a URL with a port is not userinfo.
        let p = RepoUrl::parse("https://host:8443/scope/@pkg/repo.git").expect("parse");
        assert_eq!(p.as_str(), "https://host:8443/scope/@pkg/repo.git");
        assert!(p.embedded_credentials().is_none());
        let q = RepoUrl::parse("https://host/path@x/repo.git").expect("parse");
        assert_eq!(q.as_str(), "https://host/path@x/repo.git");
    }

    #[test]
    fn parse_schemes() {
        assert_eq!(
            RepoUrl::parse("/srv/git/r.git").map(|u| u.scheme()),
            Ok(Scheme::File)
        );
        assert_eq!(
            RepoUrl::parse("file:///srv/git/r.git").map(|u| u.scheme()),
            Ok(Scheme::File)
        );
        assert_eq!(
            RepoUrl::parse("git://127.0.0.1:9418/r.git").map(|u| u.scheme()),
            Ok(Scheme::Git)
        );
        assert_eq!(
            RepoUrl::parse("http://127.0.0.1:8080/r.git").map(|u| u.scheme()),
            Ok(Scheme::Http)
        );
        assert!(
            RepoUrl::parse("git@github.com:o/r.git")
                .expect_err("ssh is refused")
                .contains("SSH")
        );
        assert!(
            RepoUrl::parse("ssh://git@github.com/o/r.git")
                .expect_err("ssh is refused")
                .contains("SSH")
        );
        assert!(RepoUrl::parse("ftp://x/y").is_err());
        assert!(RepoUrl::parse("https://host").is_err());
        assert!(RepoUrl::parse("file://relative").is_err());
    }

    #[test]
    fn normalization() {
        let want = "github.com/org/repo";
        for u in [
            "https://github.com/org/repo",
            "https://github.com/org/repo.git",
            "https://GitHub.com/org/repo/",
            "https://token@github.com/org/repo.git",
            "git@github.com:org/repo.git",
            "ssh://git@github.com/org/repo.git",
            "git://github.com/org/repo.git",
            "https://github.com:443/org/repo",
        ] {
            assert_eq!(normalize_repo_url(u), want, "{u}");
        }
        assert_ne!(normalize_repo_url("https://github.com/org/other"), want);
    }
}
