//! Credentials for Git servers. Values never appear in `Debug` output, logs or errors.

use std::fmt;

/// A secret string (password or token). `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret value. Call it only where the value is sent to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}

/// How to authenticate to an HTTP(S) Git server. The caller reads them from a Secret or from CLI flags.
///
/// Both forms are sent as HTTP basic authentication, which is what GitHub, GitLab, Gitea and Bitbucket accept
/// for personal access tokens. `git://` and `file://` take no credentials; they are ignored there.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A username and a password (or an app password).
    Basic { username: String, password: Secret },
    /// An access token. `username` defaults to [`Credentials::TOKEN_USERNAME`]; GitHub and GitLab accept any
    /// non-empty username with a token, Bitbucket wants `x-token-auth`.
    Token { username: Option<String>, token: Secret },
}

impl Credentials {
    /// The username sent with a token when none is given.
    pub const TOKEN_USERNAME: &'static str = "x-access-token";

    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    pub fn token(token: impl Into<Secret>) -> Self {
        Credentials::Token {
            username: None,
            token: token.into(),
        }
    }

    /// The username and secret sent as HTTP basic authentication.
    pub fn username_and_secret(&self) -> (&str, &Secret) {
        match self {
            Credentials::Basic { username, password } => (username, password),
            Credentials::Token { username, token } => {
                (username.as_deref().unwrap_or(Self::TOKEN_USERNAME), token)
            }
        }
    }

    /// The secret part, for scrubbing it out of error messages.
    pub(crate) fn secret(&self) -> &Secret {
        self.username_and_secret().1
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Token { username, .. } => f
                .debug_struct("Token")
                .field("username", username)
                .field("token", &"<redacted>")
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let c = Credentials::basic("alice", "hunter2");
        let d = format!("{c:?}");
        assert!(
            d.contains("alice") && d.contains("<redacted>") && !d.contains("hunter2"),
            "{d}"
        );
        let t = Credentials::token("ghp_secret");
        let d = format!("{t:?} {}", t.username_and_secret().1);
        assert!(!d.contains("ghp_secret"), "{d}");
        assert_eq!(t.username_and_secret().0, "x-access-token");
        assert_eq!(t.username_and_secret().1.expose(), "ghp_secret");
    }
}
