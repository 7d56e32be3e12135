//! What to check out: a branch, a tag, a commit, or the remote's default branch.

use std::fmt;

/// A revision of a Git repository, as written in a GitOpsConfig (`revision:`) or on the command line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Revision {
    /// The remote's default branch (its `HEAD`).
    Head,
    /// A branch, without `refs/heads/`.
    Branch(String),
    /// A tag, without `refs/tags/`. Annotated tags are peeled to their commit.
    Tag(String),
    /// A full 40-character commit SHA (lowercase hex).
    Commit(String),
    /// A name that may be a branch, a tag, or an abbreviated commit SHA; resolved in that order.
    Name(String),
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Revision {
    /// Reads a revision the way users write it: empty or `HEAD` → [`Revision::Head`];
    /// `refs/heads/x` → branch; `refs/tags/x` → tag; 40 hex digits → commit; anything else → [`Revision::Name`].
    pub fn parse(s: &str) -> Revision {
        let s = s.trim();
        if s.is_empty() || s == "HEAD" {
            Revision::Head
        } else if let Some(b) = s.strip_prefix("refs/heads/") {
            Revision::Branch(b.to_string())
        } else if let Some(t) = s.strip_prefix("refs/tags/") {
            Revision::Tag(t.to_string())
        } else if s.len() == 40 && is_hex(s) {
            Revision::Commit(s.to_ascii_lowercase())
        } else {
            Revision::Name(s.to_string())
        }
    }

    /// Whether a name could be an abbreviated commit SHA (7 to 39 hex digits).
    pub(crate) fn short_sha(&self) -> Option<String> {
        match self {
            Revision::Name(n) if (7..40).contains(&n.len()) && is_hex(n) => Some(n.to_ascii_lowercase()),
            _ => None,
        }
    }

    /// Rejects names that cannot be Git references (and could smuggle refspec syntax).
    pub(crate) fn validate(&self) -> Result<(), String> {
        let name = match self {
            Revision::Head => return Ok(()),
            Revision::Commit(c) => {
                return if c.len() == 40 && is_hex(c) {
                    Ok(())
                } else {
                    Err("a commit must be the full 40-character SHA".into())
                };
            }
            Revision::Branch(n) | Revision::Tag(n) | Revision::Name(n) => n,
        };
        let bad = name.is_empty()
            || name.starts_with('-')
            || name.starts_with('/')
            || name.ends_with('/')
            || name.ends_with(".lock")
            || name.ends_with('.')
            || name.contains("..")
            || name.contains("@{")
            || name.contains("//")
            || name
                .bytes()
                .any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b));
        if bad {
            Err(format!("{name:?} is not a valid branch or tag name"))
        } else {
            Ok(())
        }
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Revision::Head => f.write_str("HEAD"),
            Revision::Branch(b) => write!(f, "branch {b}"),
            Revision::Tag(t) => write!(f, "tag {t}"),
            Revision::Commit(c) => write!(f, "commit {c}"),
            Revision::Name(n) => f.write_str(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(Revision::parse(""), Revision::Head);
        assert_eq!(Revision::parse("HEAD"), Revision::Head);
        assert_eq!(
            Revision::parse("refs/heads/main"),
            Revision::Branch("main".into())
        );
        assert_eq!(Revision::parse("refs/tags/v1.0"), Revision::Tag("v1.0".into()));
        let sha = "0123456789ABCDEF0123456789abcdef01234567";
        assert_eq!(Revision::parse(sha), Revision::Commit(sha.to_ascii_lowercase()));
        assert_eq!(Revision::parse("main"), Revision::Name("main".into()));
        assert_eq!(Revision::parse("abc1234").short_sha(), Some("abc1234".into()));
        assert_eq!(Revision::parse("release-1").short_sha(), None);
    }

    #[test]
    fn validate() {
        assert!(Revision::Branch("feature/x".into()).validate().is_ok());
        for bad in [
            "a..b",
            "-x",
            "a:b",
            "x.lock",
            "a b",
            "a*",
            "refs/../x",
            "",
            "a@{1}",
        ] {
            assert!(Revision::Branch(bad.into()).validate().is_err(), "{bad}");
        }
        assert!(Revision::Commit("abc".into()).validate().is_err());
    }
}
