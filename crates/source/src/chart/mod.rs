//! Helm charts from chart repositories, OCI registries and HTTP(S) URLs, fetched into the cache by digest.
//!
//! [`ChartFetcher::fetch`] resolves a [`ChartRef`] to one chart archive (`.tgz`) kept under
//! `<cache>/charts/sha256/<hex>.tgz`; the renderer then reads that file and never touches the network.
//!
//! - [`ChartRef::Repository`]: a Helm chart repository. `index.yaml` is fetched, the version chosen as `helm
//!   pull --version` chooses it (exact string first, then the newest version satisfying Helm's semver
//!   constraint, prereleases only when the constraint names one), the archive downloaded from the entry's
//!   first URL (relative to the repository URL or absolute) and its SHA-256 checked against the index's
//!   `digest`. An archive whose digest the index gives and the cache holds is not downloaded again.
//!   Credentials go only to the repository's own scheme, host and port.
//! - [`ChartRef::Oci`]: `oci://host[:port]/path/chart` with a tag (`:1.2.3` or the version), a digest
//!   (`@sha256:…`, served from the cache without network once fetched), or a semver constraint matched against
//!   the repository's tags. Anonymous, basic, or the registry's Bearer challenge answered at its token
//!   endpoint. The manifest's `application/vnd.cncf.helm.chart.content.v1.tar+gzip` layer is downloaded and
//!   its digest checked. Registries on the loopback interface, or all with [`ChartFetcher::plain_http`], are
//!   reached over plain HTTP.
//! - [`ChartRef::Url`]: a `.tgz` at an HTTP(S) URL, optionally with its expected digest (then served from the
//!   cache without network).
//!
//! Every request has a connect deadline and a whole-request deadline; downloads are bounded by [`Limits`].

mod error;
mod http;
pub mod index;
pub(crate) mod oci;
mod store;

use std::path::{Path, PathBuf};

use reqwest::Url;

pub use error::ChartError;
use http::{Authorization, Http, shown, status_error};
pub use store::sha256;

use crate::Secret;

/// How to authenticate to a chart repository or registry. Values never appear in `Debug` output or errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChartAuth {
    /// HTTP basic authentication (also what a registry's token endpoint receives).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// `Authorization: Bearer <token>`; to a registry that challenges with Bearer, the token is sent as is.
    Bearer(Secret),
}

impl ChartAuth {
    /// HTTP basic authentication with `username` and `password`.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        ChartAuth::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        ChartAuth::Bearer(token.into())
    }

    /// Reads credentials from a Kubernetes Secret's data (values decoded): `username` + `password` → basic,
    /// `bearerToken` (or `token`) → bearer. `None` when none of these keys is present.
    pub fn from_secret_data<'a>(
        data: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Option<ChartAuth>, String> {
        let (mut username, mut password, mut token) = (None, None, None);
        for (key, value) in data {
            let text = || {
                std::str::from_utf8(value)
                    .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                    .map_err(|_| format!("the Secret key {key:?} is not UTF-8 text"))
            };
            match key {
                "username" => username = Some(text()?).filter(|u| !u.is_empty()),
                "password" => password = Some(text()?).filter(|p| !p.is_empty()),
                "bearerToken" | "token" => token = Some(text()?).filter(|t| !t.is_empty()),
                _ => {}
            }
        }
        match (username, password, token) {
            (_, Some(_), Some(_)) => Err("the Secret has both a password and a token; keep one".into()),
            (Some(u), Some(p), None) => Ok(Some(ChartAuth::basic(u, p))),
            (None, Some(_), None) => Err("the Secret has a password but no username".into()),
            (_, None, Some(t)) => Ok(Some(ChartAuth::bearer(t))),
            _ => Ok(None),
        }
    }
}

/// Where a chart comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChartRef {
    /// A Helm chart repository (the URL of the folder holding `index.yaml`), a chart name and a version or
    /// constraint (`""`: the newest stable version).
    Repository {
        /// The repository URL (the folder holding `index.yaml`).
        url: String,
        /// The chart name in the index.
        name: String,
        /// A version or constraint; empty for the newest stable version.
        version: String,
    },
    /// `oci://host/path/chart[:tag|@digest]` and a version, tag or constraint (`""`: the reference's own tag
    /// or digest, else the newest stable version among the tags).
    Oci {
        /// `oci://host/path/chart`, optionally with `:tag` or `@digest`.
        reference: String,
        /// A version, tag or constraint; empty for the default described above.
        version: String,
    },
    /// A chart archive at an HTTP(S) URL, with its `sha256:<hex>` digest when known.
    Url {
        /// The archive URL.
        url: String,
        /// The archive digest, `sha256:<hex>`, checked after the download when given.
        digest: Option<String>,
    },
}

impl ChartRef {
    /// The chart of a GitOpsConfig's `chart: {repoURL, name, version}`: `oci://` repository URLs name a
    /// registry path under which the chart `name` lives; others are chart repositories.
    pub fn from_repo(repo_url: &str, name: &str, version: &str) -> ChartRef {
        match repo_url.strip_prefix("oci://") {
            Some(rest) => ChartRef::Oci {
                reference: format!("oci://{}/{name}", rest.trim_end_matches('/')),
                version: version.to_string(),
            },
            None => ChartRef::Repository {
                url: repo_url.to_string(),
                name: name.to_string(),
                version: version.to_string(),
            },
        }
    }
}

/// Deadlines of every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the connection (TCP connect, and for HTTPS the TLS handshake).
    pub connect: std::time::Duration,
    /// One whole request, the download included.
    pub total: std::time::Duration,
}

impl Default for Timeouts {
    /// 15 s to connect, 5 min per request.
    fn default() -> Self {
        Timeouts {
            connect: std::time::Duration::from_secs(15),
            total: std::time::Duration::from_secs(300),
        }
    }
}

/// Size bounds of downloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `index.yaml` (public repositories' indexes reach tens of MiB).
    pub index: u64,
    /// One chart archive.
    pub archive: u64,
    /// One OCI manifest.
    pub manifest: u64,
}

impl Default for Limits {
    /// 100 MiB index, 50 MiB archive, 4 MiB manifest.
    fn default() -> Self {
        Limits {
            index: 100 << 20,
            archive: 50 << 20,
            manifest: 4 << 20,
        }
    }
}

/// A chart in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedChart {
    /// The archive: `<cache>/charts/sha256/<hex>.tgz`.
    pub path: PathBuf,
    /// `sha256:<hex>` of the archive.
    pub digest: String,
    /// The chart version chosen (the tag for OCI, empty for a URL).
    pub version: String,
    /// Whether the archive came from the cache without being downloaded.
    pub cached: bool,
}

/// Fetches charts into the cache. Blocking; async callers use `tokio::task::spawn_blocking`.
#[derive(Clone, Debug)]
pub struct ChartFetcher {
    cache_dir: PathBuf,
    auth: Option<ChartAuth>,
    timeouts: Timeouts,
    limits: Limits,
    plain_http: bool,
    insecure_credentials: bool,
    devel: bool,
}

impl ChartFetcher {
    /// A fetcher keeping charts under `<cache_dir>/charts/`.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        ChartFetcher {
            cache_dir: cache_dir.into(),
            auth: None,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            plain_http: false,
            insecure_credentials: false,
            devel: false,
        }
    }
    /// Authenticates with `auth` (`None`: anonymously).
    pub fn with_auth(mut self, auth: Option<ChartAuth>) -> Self {
        self.auth = auth;
        self
    }
    /// Uses `timeouts` for connecting and for each whole request.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
    /// Bounds downloads by `limits` (sizes of indexes, manifests and archives).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Reach every OCI registry over plain HTTP (as `helm --plain-http`); loopback registries always are.
    pub fn plain_http(mut self, yes: bool) -> Self {
        self.plain_http = yes;
        self
    }
    /// Allow credentials over plain `http://` (refused by default).
    pub fn allow_insecure_http_credentials(mut self, yes: bool) -> Self {
        self.insecure_credentials = yes;
        self
    }
    /// With no version given, take prereleases too (as `helm pull --devel`).
    pub fn devel(mut self, yes: bool) -> Self {
        self.devel = yes;
        self
    }

    fn store(&self) -> store::Store {
        store::Store::new(&self.cache_dir)
    }

    /// Resolves `chart` to an archive in the cache, downloading it when the cache does not hold it.
    pub fn fetch(&self, chart: &ChartRef) -> Result<FetchedChart, ChartError> {
        match chart {
            ChartRef::Repository { url, name, version } => self.fetch_repository(url, name, version),
            ChartRef::Oci { reference, version } => self.fetch_oci(reference, version),
            ChartRef::Url { url, digest } => self.fetch_url(url, digest.as_deref()),
        }
    }

    fn http(&self) -> Result<Http, ChartError> {
        Http::new(self.timeouts, self.insecure_credentials)
    }

    /// The version `chart` resolves to now: the newest satisfying its constraint in the repository's
    /// `index.yaml`, or among the registry's tags (`_` read as `+`, as Helm stores them). Nothing is
    /// downloaded but the index or the tag list: how new chart versions are discovered.
    pub fn newest_version(&self, chart: &ChartRef) -> Result<String, ChartError> {
        match chart {
            ChartRef::Repository { url, name, version } => {
                let (_, entry) = self.repository_entry(url, name, version)?;
                Ok(entry.version)
            }
            ChartRef::Oci { reference, version } => {
                Ok(self.newest_oci_tag(reference, version)?.replace('_', "+"))
            }
            ChartRef::Url { url, .. } => Err(ChartError::InvalidReference {
                reference: url.clone(),
                reason: "an archive URL has no versions to choose from; name a chart repository or registry"
                    .into(),
            }),
        }
    }

    /// The repository's base URL (ending in `/`) and the `index.yaml` entry of `name` that `version` selects.
    fn repository_entry(
        &self,
        repo: &str,
        name: &str,
        version: &str,
    ) -> Result<(Url, index::IndexEntry), ChartError> {
        let mut base = parse_http_url(repo)?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = self.http()?;
        let auth_for = |u: &Url| match &self.auth {
            Some(a) if u.origin() == base.origin() => Authorization::Auth(a),
            _ => Authorization::None,
        };
        let index_url = join(&base, "index.yaml")?;
        let a = http.get(
            &index_url,
            auth_for(&index_url),
            &[],
            self.limits.index,
            "index.yaml",
        )?;
        if !(200..300).contains(&a.status) {
            return Err(status_error(&index_url, &a));
        }
        let invalid = |reason: String| ChartError::Invalid {
            url: shown(&index_url),
            what: "index.yaml",
            reason,
        };
        let text = std::str::from_utf8(&a.body).map_err(|e| invalid(e.to_string()))?;
        let idx = index::Index::parse(text).map_err(invalid)?;
        let versions = idx.entries.get(name).ok_or_else(|| ChartError::ChartNotFound {
            url: shown(&base),
            name: name.to_string(),
        })?;
        let entry = match index::select(versions, |e| &e.version, version, self.devel) {
            index::Selection::Found(e) => e.clone(),
            index::Selection::BadConstraint => {
                return Err(ChartError::InvalidReference {
                    reference: version.to_string(),
                    reason: "not a version nor a semver constraint".into(),
                });
            }
            index::Selection::NoMatch { nearest } => {
                return Err(ChartError::NoMatchingVersion {
                    url: shown(&base),
                    name: name.to_string(),
                    constraint: version.to_string(),
                    available: index::list(&nearest),
                });
            }
        };
        Ok((base, entry))
    }

    fn fetch_repository(&self, repo: &str, name: &str, version: &str) -> Result<FetchedChart, ChartError> {
        let (base, entry) = self.repository_entry(repo, name, version)?;
        let http = self.http()?;
        let auth_for = |u: &Url| match &self.auth {
            Some(a) if u.origin() == base.origin() => Authorization::Auth(a),
            _ => Authorization::None,
        };
        let index_url = join(&base, "index.yaml")?;
        let invalid = |reason: String| ChartError::Invalid {
            url: shown(&index_url),
            what: "index.yaml",
            reason,
        };
        let entry = &entry;
        let expected = match &entry.digest {
            Some(d) if !d.is_empty() => Some(store::hex_of(d).ok_or_else(|| {
                invalid(format!(
                    "chart {name} {}: digest {d:?} is not a SHA-256",
                    entry.version
                ))
            })?),
            _ => None,
        };
        if let Some(hex) = &expected
            && let Some(path) = self.store().archive(hex)
        {
            return Ok(FetchedChart {
                path,
                digest: format!("sha256:{hex}"),
                version: entry.version.clone(),
                cached: true,
            });
        }
        let first = entry
            .urls
            .first()
            .ok_or_else(|| invalid(format!("chart {name} {} has no urls", entry.version)))?;
        let url = join(&base, first)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "chart URL scheme {} is not http(s)",
                url.scheme()
            )));
        }
        let mut fetched = self.download(&http, &url, auth_for(&url), expected.as_deref())?;
        fetched.version = entry.version.clone();
        Ok(fetched)
    }

    fn fetch_url(&self, url: &str, digest: Option<&str>) -> Result<FetchedChart, ChartError> {
        let u = parse_http_url(url)?;
        let expected = match digest {
            Some(d) => Some(store::hex_of(d).ok_or_else(|| ChartError::InvalidReference {
                reference: d.to_string(),
                reason: "a digest is sha256:<64 hex digits>".into(),
            })?),
            None => None,
        };
        if let Some(hex) = &expected
            && let Some(path) = self.store().archive(hex)
        {
            return Ok(FetchedChart {
                path,
                digest: format!("sha256:{hex}"),
                version: String::new(),
                cached: true,
            });
        }
        let http = self.http()?;
        let auth = match &self.auth {
            Some(a) => Authorization::Auth(a),
            None => Authorization::None,
        };
        self.download(&http, &u, auth, expected.as_deref())
    }

    /// Downloads an archive, checks its digest against `expected` (hex) and keeps it.
    fn download(
        &self,
        http: &Http,
        url: &Url,
        auth: Authorization<'_>,
        expected: Option<&str>,
    ) -> Result<FetchedChart, ChartError> {
        let a = http.get(url, auth, &[], self.limits.archive, "chart archive")?;
        if !(200..300).contains(&a.status) {
            return Err(status_error(url, &a));
        }
        self.keep(&shown(url), &a.body, expected, String::new())
    }

    fn keep(
        &self,
        shown_url: &str,
        bytes: &[u8],
        expected: Option<&str>,
        version: String,
    ) -> Result<FetchedChart, ChartError> {
        let digest = sha256(bytes);
        let hex = store::hex_of(&digest).unwrap_or_default();
        if let Some(e) = expected
            && e != hex
        {
            return Err(ChartError::DigestMismatch {
                url: shown_url.to_string(),
                expected: format!("sha256:{e}"),
                actual: digest,
            });
        }
        let path = self.store().put_archive(&hex, bytes)?;
        tracing::debug!(url = shown_url, %digest, "chart archive cached");
        Ok(FetchedChart {
            path,
            digest,
            version,
            cached: false,
        })
    }

    fn fetch_oci(&self, reference: &str, version: &str) -> Result<FetchedChart, ChartError> {
        let r = oci::OciRef::parse(reference)?;
        let store = self.store();
        // By digest: the cached manifest and archive answer without network.
        if let Some(d) = &r.digest {
            let hex = store::hex_of(d).unwrap_or_default();
            if let Some(m) = store.manifest(&hex)
                && let Ok((layer, v)) = oci::chart_layer(&m, reference)
                && let Some(lh) = store::hex_of(&layer.digest)
                && let Some(path) = store.archive(&lh)
            {
                return Ok(FetchedChart {
                    path,
                    digest: format!("sha256:{lh}"),
                    version: v.or(r.tag.clone()).unwrap_or_default(),
                    cached: true,
                });
            }
        }
        let http = self.http()?;
        let session = oci::Session::new(&http, self.auth.as_ref(), &r, self.plain_http || r.is_loopback())?;
        let target = match (&r.digest, &r.tag) {
            (Some(d), _) => d.clone(),
            (None, Some(t)) => {
                if !version.is_empty() && version != t && version.replace('+', "_") != *t {
                    return Err(ChartError::InvalidReference {
                        reference: reference.to_string(),
                        reason: format!("the reference's tag {t} and the version {version} differ; give one"),
                    });
                }
                t.clone()
            }
            (None, None) if index::is_exact_version(version) => version.replace('+', "_"),
            (None, None) => self.oci_tag(&session, reference, version)?,
        };
        let (murl, manifest) = match session.manifest(&target, self.limits.manifest) {
            // An exact version the registry does not have: say which versions it has.
            Err(ChartError::Status { status: 404, .. })
                if r.digest.is_none() && r.tag.is_none() && !version.is_empty() =>
            {
                let tags: Vec<String> = session.tags()?.into_iter().map(|t| t.replace('_', "+")).collect();
                return Err(ChartError::NoMatchingVersion {
                    url: reference.to_string(),
                    name: reference.rsplit('/').next().unwrap_or(reference).to_string(),
                    constraint: version.to_string(),
                    available: index::list(&index::nearest(tags.iter().map(String::as_str), version)),
                });
            }
            other => other?,
        };
        let mdigest = sha256(&manifest);
        if let Some(d) = &r.digest
            && *d != mdigest
        {
            return Err(ChartError::DigestMismatch {
                url: shown(&murl),
                expected: d.clone(),
                actual: mdigest,
            });
        }
        let (layer, annotated) = oci::chart_layer(&manifest, &shown(&murl))?;
        store.put_manifest(&store::hex_of(&mdigest).unwrap_or_default(), &manifest)?;
        let lhex = store::hex_of(&layer.digest).ok_or_else(|| ChartError::Invalid {
            url: shown(&murl),
            what: "OCI manifest",
            reason: format!("the chart layer's digest {:?} is not a SHA-256", layer.digest),
        })?;
        let version = annotated.unwrap_or_else(|| {
            if r.digest.is_some() {
                String::new()
            } else {
                target.replace('_', "+")
            }
        });
        if let Some(path) = store.archive(&lhex) {
            return Ok(FetchedChart {
                path,
                digest: format!("sha256:{lhex}"),
                version,
                cached: true,
            });
        }
        if layer.size > self.limits.archive {
            return Err(ChartError::TooLarge {
                url: shown(&murl),
                what: "chart archive",
                limit: self.limits.archive,
            });
        }
        let (burl, bytes) = session.blob(&format!("sha256:{lhex}"), self.limits.archive)?;
        self.keep(&shown(&burl), &bytes, Some(&lhex), version)
    }

    /// The newest tag of the OCI repository `reference` (`oci://host/path`, an image's or a chart's) that
    /// satisfies the semver `constraint` (an exact tag is taken as it is; tags that are not versions are
    /// ignored): how new versions are discovered in a registry.
    pub fn newest_oci_tag(&self, reference: &str, constraint: &str) -> Result<String, ChartError> {
        let r = oci::OciRef::parse(reference)?;
        let http = self.http()?;
        let session = oci::Session::new(&http, self.auth.as_ref(), &r, self.plain_http || r.is_loopback())?;
        self.oci_tag(&session, reference, constraint)
    }

    /// The newest tag satisfying `version` (Helm stores `+` in versions as `_` in tags).
    fn oci_tag(
        &self,
        session: &oci::Session<'_>,
        reference: &str,
        version: &str,
    ) -> Result<String, ChartError> {
        let tags: Vec<String> = session.tags()?.into_iter().map(|t| t.replace('_', "+")).collect();
        match index::select(&tags, |t| t, version, self.devel) {
            index::Selection::Found(t) => Ok(t.replace('+', "_")),
            index::Selection::BadConstraint => Err(ChartError::InvalidReference {
                reference: version.to_string(),
                reason: "not a version nor a semver constraint".into(),
            }),
            index::Selection::NoMatch { nearest } => Err(ChartError::NoMatchingVersion {
                url: reference.to_string(),
                name: reference.rsplit('/').next().unwrap_or(reference).to_string(),
                constraint: version.to_string(),
                available: index::list(&nearest),
            }),
        }
    }

    /// The cache directory.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }
}

fn parse_http_url(url: &str) -> Result<Url, ChartError> {
    let u = Url::parse(url).map_err(|e| ChartError::InvalidReference {
        reference: redact_text(url),
        reason: e.to_string(),
    })?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(ChartError::InvalidReference {
            reference: shown(&u),
            reason: "a chart repository or chart URL is http:// or https://".into(),
        });
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(ChartError::InvalidReference {
            reference: shown(&u),
            reason: "credentials in the URL are not accepted; give them separately".into(),
        });
    }
    Ok(u)
}

fn join(base: &Url, rel: &str) -> Result<Url, ChartError> {
    base.join(rel).map_err(|e| ChartError::InvalidReference {
        reference: rel.to_string(),
        reason: e.to_string(),
    })
}

/// A URL that did not parse, with anything between `//` and `@` removed.
fn redact_text(url: &str) -> String {
    match (url.find("//"), url.rfind('@')) {
        (Some(s), Some(a)) if a > s => format!("{}{}", &url[..s + 2], &url[a + 1..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secret_data() {
        let basic =
            ChartAuth::from_secret_data([("username", &b"u"[..]), ("password", &b"p\n"[..])]).unwrap();
        assert_eq!(basic, Some(ChartAuth::basic("u", "p")));
        let bearer = ChartAuth::from_secret_data([("bearerToken", &b"t"[..])]).unwrap();
        assert_eq!(bearer, Some(ChartAuth::bearer("t")));
        assert_eq!(ChartAuth::from_secret_data([("other", &b"x"[..])]).unwrap(), None);
        assert!(ChartAuth::from_secret_data([("password", &b"p"[..])]).is_err());
        assert!(format!("{:?}", ChartAuth::basic("u", "hunter2")).contains("redacted"));
    }

    #[test]
    fn repo_refs() {
        assert_eq!(
            ChartRef::from_repo("oci://ghcr.io/acme/charts/", "web", "1.0.0"),
            ChartRef::Oci {
                reference: "oci://ghcr.io/acme/charts/web".into(),
                version: "1.0.0".into()
            }
        );
        assert!(matches!(
            ChartRef::from_repo("https://charts.example.com", "web", ""),
            ChartRef::Repository { .. }
        ));
        assert!(parse_http_url("https://u:p@charts.example.com").is_err());
        assert_eq!(redact_text("https://u:p@x y"), "https://x y");
    }
}
