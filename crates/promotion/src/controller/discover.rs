//! Asking registries for new tags of the images with `discover` ([`crate::discovery`] decides; this module
//! reads the credentials Secret and calls the registry on a blocking thread).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use tack_model::{ImageDiscovery, Pipeline};
use tack_source::chart::{ChartAuth, ChartError, ChartFetcher};

use super::ControllerConfig;
use crate::discovery::{self, DEFAULT_INTERVAL, MIN_INTERVAL};
use crate::gate::{self, Observation};
use crate::release::Release;

/// The release to write into the first stage, and what found it, when a registry holds a newer tag of an
/// image with `discover`. Errors name the image and the registry's answer.
pub(crate) async fn discover(
    client: &kube::Client,
    cfg: &ControllerConfig,
    p: &Pipeline,
    first: &Observation,
) -> Result<Option<(Release, String)>, String> {
    let images: Vec<(&str, &ImageDiscovery)> = p
        .spec
        .images
        .iter()
        .filter_map(|i| i.discover.as_ref().map(|d| (i.name.as_str(), d)))
        .collect();
    if images.is_empty() {
        return Ok(None);
    }
    let Some(current) = first.head_release.clone().or(first.release.clone()) else {
        return Ok(None);
    };
    let ns = p.metadata.namespace.clone().unwrap_or_default();
    let mut found = BTreeMap::new();
    for (image, d) in images {
        let interval = d
            .interval
            .as_deref()
            .and_then(gate::parse_duration)
            .unwrap_or(DEFAULT_INTERVAL)
            .max(MIN_INTERVAL);
        let key = format!(
            "{}/{} {image}",
            ns,
            p.metadata.name.as_deref().unwrap_or_default()
        );
        let answer = match cfg.discoveries.fresh(&key, interval) {
            Some(answer) => answer,
            None => {
                let answer = newest_tag(client, cfg, &ns, image, d).await;
                cfg.discoveries.store(&key, answer.clone());
                answer
            }
        };
        let tag = answer.map_err(|e| format!("discovering new tags of {image}: {e}"))?;
        found.insert(image.to_string(), tag);
    }
    Ok(discovery::next_release(&current, &found))
}

async fn newest_tag(
    client: &kube::Client,
    cfg: &ControllerConfig,
    ns: &str,
    image: &str,
    d: &ImageDiscovery,
) -> Result<String, String> {
    let auth = match &d.credentials_secret {
        Some(s) => {
            let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
            let secret = secrets
                .get_opt(&s.name)
                .await
                .map_err(|e| format!("reading Secret {ns}/{}: {e}", s.name))?
                .ok_or_else(|| format!("Secret {ns}/{} not found", s.name))?;
            let data = secret.data.unwrap_or_default();
            ChartAuth::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.0.as_slice())))
                .map_err(|e| format!("Secret {ns}/{}: {e}", s.name))?
        }
        None => None,
    };
    let fetcher = ChartFetcher::new(cfg.cache_dir.join("registries"))
        .with_auth(auth)
        .plain_http(d.plain_http)
        .allow_insecure_http_credentials(cfg.allow_insecure_http_credentials);
    let (reference, constraint) = (discovery::repository_reference(image), d.semver.clone());
    tokio::task::spawn_blocking(move || fetcher.newest_oci_tag(&reference, &constraint))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| match e {
            ChartError::NoMatchingVersion {
                url,
                constraint,
                available,
                ..
            } => format!("{url}: no tag satisfies {constraint:?} (nearest: {available})"),
            e => e.to_string(),
        })
}
