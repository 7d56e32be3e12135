//! OCI registries: `oci://host[:port]/path/chart[:tag|@sha256:…]` references, the registry's authentication
//! challenge (anonymous, Basic, or Bearer through the token endpoint it names), and the download of Helm's
//! chart layer (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`) from the manifest.

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::Url;
use serde::Deserialize;

use super::http::{Answer, Authorization, Http, shown, status_error};
use super::{ChartAuth, ChartError};

/// The media type of a Helm chart's content layer.
pub const CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// A parsed `oci://` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    /// `host` or `host:port`.
    pub registry: String,
    /// The repository path inside the registry (`path/chart`).
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<hex>`.
    pub digest: Option<String>,
}

impl OciRef {
    pub fn parse(reference: &str) -> Result<OciRef, ChartError> {
        let bad = |reason: &str| ChartError::InvalidReference {
            reference: reference.to_string(),
            reason: reason.to_string(),
        };
        let rest = reference
            .strip_prefix("oci://")
            .ok_or_else(|| bad("an OCI chart reference starts with oci://"))?;
        let (rest, digest) = match rest.split_once('@') {
            Some((r, d)) => {
                let hex = super::store::hex_of(d)
                    .filter(|_| d.starts_with("sha256:"))
                    .ok_or_else(|| bad("the digest after @ must be sha256:<64 hex digits>"))?;
                (r, Some(format!("sha256:{hex}")))
            }
            None => (rest, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("expected oci://HOST/PATH/CHART"))?;
        if registry.is_empty() || registry.contains(['@', '?', '#']) {
            return Err(bad("the registry host is missing or invalid"));
        }
        // A tag follows the last ':' of the last path segment.
        let (repository, tag) = match path.rsplit_once('/').map_or(path, |(_, last)| last).rfind(':') {
            Some(_) => {
                let (r, t) = path.rsplit_once(':').unwrap_or((path, ""));
                (r, Some(t.to_string()))
            }
            None => (path, None),
        };
        let valid = |s: &str| {
            !s.is_empty()
                && s.split('/').all(|seg| {
                    !seg.is_empty()
                        && seg != "."
                        && seg != ".."
                        && seg
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                })
        };
        if !valid(repository) {
            return Err(bad(
                "the repository path must be lowercase letters, digits, '.', '_', '-' and '/'",
            ));
        }
        if let Some(t) = &tag
            && (t.is_empty()
                || t.len() > 128
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b)))
        {
            return Err(bad("invalid tag"));
        }
        Ok(OciRef {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// The chart's name: the last path segment.
    #[cfg(test)]
    pub(crate) fn chart_name(&self) -> &str {
        self.repository.rsplit('/').next().unwrap_or(&self.repository)
    }

    /// Whether the registry is on the loopback interface (reached over plain HTTP, as Docker does).
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.strip_prefix('[') {
            Some(r) => r.split(']').next().unwrap_or(r),
            None => self.registry.split(':').next().unwrap_or(&self.registry),
        };
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer { params: BTreeMap<String, String> },
}

/// Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.insert(key, value.to_string());
        s = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge::Bearer { params })
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, Clone)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// The chart layer of a manifest and the version it announces.
pub fn chart_layer(manifest: &[u8], url: &str) -> Result<(Descriptor, Option<String>), ChartError> {
    let m: Manifest = serde_json::from_slice(manifest).map_err(|e| ChartError::Invalid {
        url: url.to_string(),
        what: "OCI manifest",
        reason: e.to_string(),
    })?;
    let version = m.annotations.get("org.opencontainers.image.version").cloned();
    match m.layers.iter().find(|l| l.media_type == CHART_LAYER) {
        Some(l) => Ok((l.clone(), version)),
        None => Err(ChartError::Invalid {
            url: url.to_string(),
            what: "OCI manifest",
            reason: format!(
                "no layer of media type {CHART_LAYER} (layers: {}); is this a Helm chart?",
                m.layers
                    .iter()
                    .map(|l| l.media_type.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// A session with one registry repository: it remembers the token it obtained.
pub struct Session<'a> {
    http: &'a Http,
    auth: Option<&'a ChartAuth>,
    base: Url,
    repository: String,
    token: Mutex<Option<String>>,
}

impl<'a> Session<'a> {
    pub fn new(
        http: &'a Http,
        auth: Option<&'a ChartAuth>,
        r: &OciRef,
        plain_http: bool,
    ) -> Result<Self, ChartError> {
        let scheme = if plain_http { "http" } else { "https" };
        let base =
            Url::parse(&format!("{scheme}://{}/", r.registry)).map_err(|e| ChartError::InvalidReference {
                reference: r.registry.clone(),
                reason: e.to_string(),
            })?;
        Ok(Session {
            http,
            auth,
            base,
            repository: r.repository.clone(),
            token: Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> Result<Url, ChartError> {
        self.base
            .join(&format!("v2/{}/{path}", self.repository))
            .map_err(|e| ChartError::InvalidReference {
                reference: self.repository.clone(),
                reason: e.to_string(),
            })
    }

    /// GET with the session's credentials; on a 401 challenge, authenticates once and retries.
    pub fn get(
        &self,
        path: &str,
        accept: &[&str],
        limit: u64,
        what: &'static str,
    ) -> Result<(Url, Answer), ChartError> {
        let url = self.url(path)?;
        let token = self.token.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let first = match &token {
            Some(t) => Authorization::Token(t),
            None => Authorization::None,
        };
        let a = self.http.get(&url, first, accept, limit, what)?;
        if a.status != 401 {
            return Ok((url, a));
        }
        let challenge = a.header("www-authenticate").and_then(parse_challenge);
        let retry = match (challenge, self.auth) {
            (Some(Challenge::Bearer { params }), auth) => {
                let t = self.token_for(&params, auth)?;
                *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(t.clone());
                return Ok((
                    url.clone(),
                    self.http
                        .get(&url, Authorization::Token(&t), accept, limit, what)?,
                ));
            }
            (_, Some(auth)) => Authorization::Auth(auth),
            (_, None) => return Err(status_error(&url, &a)),
        };
        Ok((url.clone(), self.http.get(&url, retry, accept, limit, what)?))
    }

    /// Asks the challenge's token endpoint for a pull token (with basic credentials when given).
    fn token_for(
        &self,
        params: &BTreeMap<String, String>,
        auth: Option<&ChartAuth>,
    ) -> Result<String, ChartError> {
        if let Some(ChartAuth::Bearer(t)) = auth {
            return Ok(t.expose().to_string());
        }
        let realm = params.get("realm").ok_or_else(|| ChartError::Invalid {
            url: shown(&self.base),
            what: "authentication challenge",
            reason: "Bearer challenge without realm".into(),
        })?;
        let mut url = Url::parse(realm).map_err(|e| ChartError::Invalid {
            url: shown(&self.base),
            what: "authentication challenge",
            reason: format!("realm: {e}"),
        })?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = params.get("service") {
                q.append_pair("service", s);
            }
            let scope = params
                .get("scope")
                .cloned()
                .unwrap_or_else(|| format!("repository:{}:pull", self.repository));
            q.append_pair("scope", &scope);
        }
        let how = match auth {
            Some(a) => Authorization::Auth(a),
            None => Authorization::None,
        };
        let a = self
            .http
            .get(&url, how, &["application/json"], 1 << 20, "token answer")?;
        if !(200..300).contains(&a.status) {
            return Err(status_error(&url, &a));
        }
        let t: TokenAnswer = serde_json::from_slice(&a.body).map_err(|e| ChartError::Invalid {
            url: shown(&url),
            what: "token answer",
            reason: e.to_string(),
        })?;
        t.token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ChartError::Invalid {
                url: shown(&url),
                what: "token answer",
                reason: "no token in the answer".into(),
            })
    }

    /// The manifest at `reference` (tag or digest): its bytes.
    pub fn manifest(&self, reference: &str, limit: u64) -> Result<(Url, Vec<u8>), ChartError> {
        let (url, a) = self.get(
            &format!("manifests/{reference}"),
            MANIFEST_TYPES,
            limit,
            "OCI manifest",
        )?;
        if !(200..300).contains(&a.status) {
            return Err(status_error(&url, &a));
        }
        Ok((url, a.body))
    }

    pub fn blob(&self, digest: &str, limit: u64) -> Result<(Url, Vec<u8>), ChartError> {
        let (url, a) = self.get(&format!("blobs/{digest}"), &[], limit, "chart archive")?;
        if !(200..300).contains(&a.status) {
            return Err(status_error(&url, &a));
        }
        Ok((url, a.body))
    }

    /// Every tag of the repository (following `Link` pagination, at most 100 pages).
    pub fn tags(&self) -> Result<Vec<String>, ChartError> {
        let mut out = Vec::new();
        let mut path = "tags/list".to_string();
        for _ in 0..100 {
            let (url, a) = self.get(&path, &["application/json"], 8 << 20, "tag list")?;
            if !(200..300).contains(&a.status) {
                return Err(status_error(&url, &a));
            }
            let list: TagList = serde_json::from_slice(&a.body).map_err(|e| ChartError::Invalid {
                url: shown(&url),
                what: "tag list",
                reason: e.to_string(),
            })?;
            out.extend(list.tags.unwrap_or_default());
            // Link: </v2/<name>/tags/list?n=…&last=…>; rel="next"
            match a.header("link").and_then(|l| l.split(';').next()) {
                Some(next) => {
                    let next = next.trim().trim_start_matches('<').trim_end_matches('>');
                    match next.split_once("/tags/list") {
                        Some((_, q)) => path = format!("tags/list{q}"),
                        None => break,
                    }
                }
                None => break,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = OciRef::parse("oci://127.0.0.1:5000/charts/web:1.2.3").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "charts/web");
        assert_eq!(r.tag.as_deref(), Some("1.2.3"));
        assert!(r.is_loopback());
        assert_eq!(r.chart_name(), "web");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = OciRef::parse(&format!("oci://ghcr.io/acme/web@{d}")).unwrap();
        assert_eq!((r.tag, r.digest), (None, Some(d)));
        let r = OciRef::parse("oci://registry:5000/web").unwrap();
        assert_eq!((r.repository.as_str(), r.tag.as_deref()), ("web", None));
        assert!(!r.is_loopback());
        assert!(OciRef::parse("https://ghcr.io/acme/web").is_err());
        assert!(OciRef::parse("oci://ghcr.io").is_err());
        assert!(OciRef::parse("oci://ghcr.io/acme/../web").is_err());
        assert!(OciRef::parse("oci://ghcr.io/Acme/web").is_err());
        assert!(OciRef::parse("oci://ghcr.io/acme/web@sha256:zz").is_err());
    }

    #[test]
    fn challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull""#,
        )
        .unwrap();
        let Challenge::Bearer { params } = c else { panic!() };
        assert_eq!(params["realm"], "https://auth.example.com/token");
        assert_eq!(params["service"], "registry.example.com");
        assert_eq!(params["scope"], "repository:a/b:pull");
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn chart_layers() {
        let m = format!(
            r#"{{"schemaVersion":2,"layers":[{{"mediaType":"{CHART_LAYER}","digest":"sha256:{}","size":10}}],"annotations":{{"org.opencontainers.image.version":"1.0.0"}}}}"#,
            "b".repeat(64)
        );
        let (l, v) = chart_layer(m.as_bytes(), "u").unwrap();
        assert_eq!((l.size, v.as_deref()), (10, Some("1.0.0")));
        assert!(chart_layer(br#"{"layers":[{"mediaType":"x","digest":"d"}]}"#, "u").is_err());
    }
}
