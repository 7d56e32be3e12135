//! Impersonation: the requests of an application that names a ServiceAccount (`spec.serviceAccountName`, or the
//! controller's `--default-service-account`) are made as `system:serviceaccount:<namespace>:<name>`, through the
//! controller's own connection with the `Impersonate-User` header (Kubernetes then adds the groups
//! `system:serviceaccounts`, `system:serviceaccounts:<namespace>` and `system:authenticated`, as for a token of
//! that ServiceAccount). One [`Cluster`] per ServiceAccount is kept, with its own discovery cache.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use kube::client::Body;
use tack_cluster::Cluster;

/// The Kubernetes user name of ServiceAccount `name` in `namespace`.
pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// Whether `name` can be a ServiceAccount's name (a DNS subdomain: lowercase letters, digits, `-` and `.`, at
/// most 253 characters, starting and ending with a letter or digit).
pub fn valid_service_account_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    !name.is_empty()
        && name.len() <= 253
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// A `tower` service sending every request through `client` with `Impersonate-User: user`.
#[derive(Clone)]
struct Impersonating {
    client: kube::Client,
    user: HeaderValue,
}

impl tower_service::Service<Request<Body>> for Impersonating {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, kube::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let headers = request.headers_mut();
        // Never pass on an impersonation the caller set: this identity is the only one.
        headers.remove("impersonate-group");
        headers.remove("impersonate-uid");
        headers.insert("impersonate-user", self.user.clone());
        let client = self.client.clone();
        Box::pin(async move { client.send(request).await })
    }
}

/// The clusters of each impersonated ServiceAccount, made on first use.
pub struct Identities {
    client: kube::Client,
    by_user: Mutex<HashMap<String, Cluster>>,
}

impl Identities {
    /// Identities impersonated through `client` (the controller's own connection).
    pub fn new(client: kube::Client) -> Self {
        Identities {
            client,
            by_user: Mutex::new(HashMap::new()),
        }
    }

    /// The cluster acting as ServiceAccount `name` of `namespace`. `None` when the name cannot be a header value
    /// (it is checked as a ServiceAccount name before).
    pub fn service_account(&self, namespace: &str, name: &str) -> Option<Cluster> {
        let user = service_account_user(namespace, name);
        let mut map = match self.by_user.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(c) = map.get(&user) {
            return Some(c.clone());
        }
        let header = HeaderValue::from_str(&user).ok()?;
        let service = Impersonating {
            client: self.client.clone(),
            user: header,
        };
        let client = kube::Client::new(service, namespace.to_string());
        let cluster = Cluster::from_client(client, namespace.to_string());
        map.insert(user, cluster.clone());
        Some(cluster)
    }
}

/// Refreshes the discovery cache of `cluster` when it does not know the kind of one of `objects`: each
/// ServiceAccount has a cache of its own, which the syncs of other identities do not refresh after applying
/// CustomResourceDefinitions (and a kind the dry run does not know is not dry-run).
pub async fn refresh_if_unknown(
    cluster: &Cluster,
    objects: &[tack_render::PackedManifest],
) -> Result<(), tack_cluster::ClusterError> {
    for m in objects {
        let head = m.object.head();
        if cluster.resolve(&head.api_version, &head.kind).await?.is_none() {
            return cluster.refresh_discovery().await.map(|_| ());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_account_users_and_names() {
        assert_eq!(
            service_account_user("team-a", "deployer"),
            "system:serviceaccount:team-a:deployer"
        );
        assert!(valid_service_account_name("deployer"));
        assert!(valid_service_account_name("team-a.deployer-1"));
        for bad in ["", "Deployer", "-a", "a-", "a:b", "a/b", "a b", "a\nb"] {
            assert!(!valid_service_account_name(bad), "{bad:?}");
        }
        assert!(!valid_service_account_name(&"a".repeat(254)));
    }
}
