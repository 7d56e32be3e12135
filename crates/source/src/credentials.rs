//! Credentials for Git servers. Values never appear in `Debug` output, logs or errors.

use std::fmt;

/// A secret string (password or token). `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret value. Call it only where the value is sent to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether the value is the empty string.
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
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An access token. `username` defaults to [`Credentials::TOKEN_USERNAME`]; GitHub and GitLab accept any
    /// non-empty username with a token, Bitbucket wants `x-token-auth`.
    Token {
        /// The user name sent with it; `None`: [`Credentials::TOKEN_USERNAME`].
        username: Option<String>,
        /// The token.
        token: Secret,
    },
}

impl Credentials {
    /// The username sent with a token when none is given.
    pub const TOKEN_USERNAME: &'static str = "x-access-token";

    /// A user name and a password.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// An access token, sent with [`Credentials::TOKEN_USERNAME`].
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

    /// Reads credentials from the data of a Kubernetes Secret (values already base64-decoded), with the keys
    /// Argo CD and Flux use: `username` + `password` → basic; `password` alone or `token` → token (with
    /// `username` if present). `None` when the Secret holds none of these keys. `bearerToken` (an
    /// `Authorization: Bearer` header) is refused: the Git transport sends basic authentication only.
    pub fn from_secret_data<'a>(
        data: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Option<Credentials>, String> {
        let mut username = None;
        let mut password = None;
        let mut token = None;
        for (key, value) in data {
            let text = || {
                std::str::from_utf8(value)
                    .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                    .map_err(|_| format!("the Secret key {key:?} is not UTF-8 text"))
            };
            match key {
                "username" => username = Some(text()?),
                "password" => password = Some(Secret::new(text()?)),
                "token" => token = Some(Secret::new(text()?)),
                "bearerToken" => {
                    return Err("the Secret key \"bearerToken\" is not supported; store the token under \"password\" \
                                or \"token\" (it is sent as basic authentication)"
                        .into());
                }
                _ => {}
            }
        }
        let username = username.filter(|u| !u.is_empty());
        Ok(match (username, password, token) {
            (_, Some(p), Some(_)) if !p.is_empty() => {
                return Err("the Secret has both \"password\" and \"token\"; keep one".into());
            }
            (Some(u), Some(p), None) if !p.is_empty() => Some(Credentials::Basic {
                username: u,
                password: p,
            }),
            (u, Some(p), None) if !p.is_empty() => Some(Credentials::Token {
                username: u,
                token: p,
            }),
            (u, _, Some(t)) if !t.is_empty() => Some(Credentials::Token {
                username: u,
                token: t,
            }),
            (Some(_), _, _) => {
                return Err("the Secret has a \"username\" but no \"password\" or \"token\"".into());
            }
            _ => None,
        })
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
    fn from_secret_data() {
        let basic = Credentials::from_secret_data([("username", &b"alice"[..]), ("password", &b"pw\n"[..])]);
        assert_eq!(basic, Ok(Some(Credentials::basic("alice", "pw"))));
        let token = Credentials::from_secret_data([("token", &b"ghp_x"[..])]);
        assert_eq!(token, Ok(Some(Credentials::token("ghp_x"))));
        let pw_only = Credentials::from_secret_data([("password", &b"glpat"[..]), ("other", &b"x"[..])]);
        assert_eq!(pw_only, Ok(Some(Credentials::token("glpat"))));
        assert_eq!(Credentials::from_secret_data([("ca.crt", &b"x"[..])]), Ok(None));
        assert!(Credentials::from_secret_data([("bearerToken", &b"x"[..])]).is_err());
        assert!(Credentials::from_secret_data([("username", &b"u"[..])]).is_err());
        assert!(Credentials::from_secret_data([("password", &b"a"[..]), ("token", &b"b"[..])]).is_err());
        let err = Credentials::from_secret_data([("password", &[0xff, 0xfe][..])]).expect_err("not utf-8");
        assert!(!err.contains('\u{fffd}'));
    }

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
