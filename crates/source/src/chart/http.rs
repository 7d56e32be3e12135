//! The HTTP(S) client of chart fetching: deadlines on connecting and on each whole request, bodies read up to
//! a size limit, credentials attached only where the caller says and never over plain `http://` unless
//! allowed.

use std::io::Read;

use reqwest::Url;
use reqwest::blocking::Client;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};

use super::{ChartAuth, ChartError, Timeouts};

/// A URL as shown in errors and logs: without user information and query.
pub fn shown(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// What one request sends as `Authorization`.
#[derive(Clone, Copy)]
pub enum Authorization<'a> {
    None,
    Auth(&'a ChartAuth),
    /// A registry token obtained from a token endpoint.
    Token(&'a str),
}

/// An answer: status, headers and the body (read up to the limit).
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub struct Http {
    client: Client,
    deadlines: Timeouts,
    insecure_credentials: bool,
}

/// The longest error body read (it is only used for messages).
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

impl Http {
    pub fn new(deadlines: Timeouts, insecure_credentials: bool) -> Result<Http, ChartError> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Another thread may win the race; either way a provider is installed afterwards.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = Client::builder()
            .connect_timeout(deadlines.connect)
            .timeout(deadlines.total)
            .user_agent(concat!("tack/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ChartError::Unreachable {
                url: String::new(),
                cause: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Http {
            client,
            deadlines,
            insecure_credentials,
        })
    }

    /// GETs `url`. A 2xx body longer than `limit` fails with [`ChartError::TooLarge`]; other statuses are
    /// returned with at most 64 KiB of body for the caller to judge.
    pub fn get(
        &self,
        url: &Url,
        auth: Authorization<'_>,
        accept: &[&str],
        limit: u64,
        what: &'static str,
    ) -> Result<Answer, ChartError> {
        let mut req = self.client.get(url.clone());
        if !accept.is_empty()
            && let Ok(v) = HeaderValue::from_str(&accept.join(", "))
        {
            req = req.header(ACCEPT, v);
        }
        let sends_secret = !matches!(auth, Authorization::None);
        if sends_secret && url.scheme() == "http" && !self.insecure_credentials {
            return Err(ChartError::InsecureCredentials { url: shown(url) });
        }
        req = match auth {
            Authorization::None => req,
            Authorization::Auth(ChartAuth::Basic { username, password }) => {
                req.basic_auth(username, Some(password.expose()))
            }
            Authorization::Auth(ChartAuth::Bearer(token)) => bearer(req, token.expose()),
            Authorization::Token(token) => bearer(req, token),
        };
        let resp = req.send().map_err(|e| self.failure(url, &e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let ok = resp.status().is_success();
        let cap = if ok { limit } else { ERROR_BODY_LIMIT };
        if ok && resp.content_length().is_some_and(|n| n > limit) {
            return Err(ChartError::TooLarge {
                url: shown(url),
                what,
                limit,
            });
        }
        let mut body = Vec::new();
        resp.take(cap + 1).read_to_end(&mut body).map_err(|e| {
            match e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>()) {
                Some(r) => self.failure(url, r),
                None => ChartError::Unreachable {
                    url: shown(url),
                    cause: e.to_string(),
                },
            }
        })?;
        if ok && body.len() as u64 > limit {
            return Err(ChartError::TooLarge {
                url: shown(url),
                what,
                limit,
            });
        }
        body.truncate(cap as usize);
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    fn failure(&self, url: &Url, e: &reqwest::Error) -> ChartError {
        if e.is_timeout() {
            let (phase, after) = if e.is_connect() {
                ("connecting", self.deadlines.connect)
            } else {
                ("downloading", self.deadlines.total)
            };
            return ChartError::Stalled {
                url: shown(url),
                phase,
                after,
            };
        }
        let mut cause = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            cause = format!("{cause}: {s}");
            src = s.source();
        }
        // reqwest names the URL in its messages; drop it, the error carries the shown URL.
        let cause = cause.replace(url.as_str(), "");
        ChartError::Unreachable {
            url: shown(url),
            cause,
        }
    }
}

fn bearer(req: reqwest::blocking::RequestBuilder, token: &str) -> reqwest::blocking::RequestBuilder {
    match HeaderValue::from_str(&format!("Bearer {token}")) {
        Ok(mut v) => {
            v.set_sensitive(true);
            req.header(AUTHORIZATION, v)
        }
        Err(_) => req,
    }
}

/// A short hint for an error status, from its body (first line, bounded).
pub fn status_error(url: &Url, a: &Answer) -> ChartError {
    let text = String::from_utf8_lossy(&a.body);
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let line: String = line.chars().take(200).collect();
    if a.status == 401 || a.status == 403 {
        return ChartError::Unauthorized {
            url: shown(url),
            status: a.status,
            reason: if line.is_empty() {
                "the server refused the request; check the credentials".into()
            } else {
                line
            },
        };
    }
    ChartError::Status {
        url: shown(url),
        status: a.status,
        hint: if line.is_empty() {
            String::new()
        } else {
            format!(": {line}")
        },
    }
}
