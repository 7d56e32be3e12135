//! Asking registries and chart repositories for new versions of the parts with `discover`
//! ([`crate::discovery`] decides; this module reads the credentials Secret and calls the registry or
//! repository on a blocking thread).

use std::collections::BTreeMap;

use tack_model::{Discovery, Pipeline};
use tack_source::chart::{ChartAuth, ChartError, ChartFetcher, ChartRef};

use super::ControllerConfig;
use crate::discovery::{self, DEFAULT_INTERVAL, MIN_INTERVAL};
use crate::gate::{self, Observation};
use crate::part::Kind;
use crate::release::Release;

/// One part to look for: its kind and name, where its versions are listed, and how.
struct Wanted<'a> {
    kind: Kind,
    name: &'a str,
    chart: ChartRef,
    discovery: &'a Discovery,
}

/// The parts of `p` with `discover`.
fn wanted(p: &Pipeline) -> Vec<Wanted<'_>> {
    let images = p.spec.images.iter().filter_map(|i| {
        let d = i.discover.as_ref()?;
        Some(Wanted {
            kind: Kind::Image,
            name: &i.name,
            chart: ChartRef::Oci {
                reference: discovery::repository_reference(&i.name),
                version: d.semver.clone(),
            },
            discovery: d,
        })
    });
    let charts = p.spec.charts.iter().filter_map(|c| {
        let d = c.discover.as_ref()?;
        Some(Wanted {
            kind: Kind::Chart,
            name: &c.name,
            chart: ChartRef::from_repo(&d.repo_url, &c.name, &d.discovery.semver),
            discovery: &d.discovery,
        })
    });
    images.chain(charts).collect()
}

/// The release to write into the first stage, and what found it, when a registry or repository holds a newer
/// version of a part with `discover`. Errors name the part and the source's answer.
pub(crate) async fn discover(
    client: &kube::Client,
    cfg: &ControllerConfig,
    p: &Pipeline,
    first: &Observation,
) -> Result<Option<(Release, String)>, String> {
    let wanted = wanted(p);
    if wanted.is_empty() {
        return Ok(None);
    }
    let Some(current) = first.head_release.clone().or(first.release.clone()) else {
        return Ok(None);
    };
    let ns = p.metadata.namespace.clone().unwrap_or_default();
    let mut found = BTreeMap::new();
    for w in wanted {
        let interval = w
            .discovery
            .interval
            .as_deref()
            .and_then(gate::parse_duration)
            .unwrap_or(DEFAULT_INTERVAL)
            .max(MIN_INTERVAL);
        let pipeline = p.metadata.name.as_deref().unwrap_or_default();
        let key = format!("{ns}/{pipeline} {} {}", w.kind.noun(), w.name);
        let answer = match cfg.discoveries.fresh(&key, interval) {
            Some(answer) => answer,
            None => {
                let answer = newest(client, cfg, &ns, &w).await;
                cfg.discoveries.store(&key, answer.clone());
                answer
            }
        };
        let version =
            answer.map_err(|e| format!("discovering new versions of {} {}: {e}", w.kind.noun(), w.name))?;
        found.insert((w.kind, w.name.to_string()), version);
    }
    Ok(discovery::next_release(&current, &found))
}

async fn newest(
    client: &kube::Client,
    cfg: &ControllerConfig,
    ns: &str,
    w: &Wanted<'_>,
) -> Result<String, String> {
    let auth = match &w.discovery.credentials_secret {
        Some(s) => {
            let data = super::observe::secret_data(client, ns, &s.name).await?;
            ChartAuth::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.0.as_slice())))
                .map_err(|e| format!("Secret {ns}/{}: {e}", s.name))?
        }
        None => None,
    };
    let fetcher = ChartFetcher::new(cfg.cache_dir.join("registries"))
        .with_auth(auth)
        .plain_http(w.discovery.plain_http)
        .allow_insecure_http_credentials(cfg.allow_insecure_http_credentials);
    let (chart, kind) = (w.chart.clone(), w.kind);
    tokio::task::spawn_blocking(move || match (kind, &chart) {
        // An image's tags are written as the registry has them (`_` is not read as Helm's `+`).
        (Kind::Image, ChartRef::Oci { reference, version }) => fetcher.newest_oci_tag(reference, version),
        _ => fetcher.newest_version(&chart),
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| match e {
        ChartError::NoMatchingVersion {
            url,
            constraint,
            available,
            ..
        } => format!("{url}: no version satisfies {constraint:?} (nearest: {available})"),
        e => e.to_string(),
    })
}
