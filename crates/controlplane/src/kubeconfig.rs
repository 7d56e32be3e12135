//! The kubeconfig `up` writes for the local control plane.

use base64::Engine;

use crate::pki::Pki;

/// Renders a kubeconfig for the local cluster with the admin client certificate embedded.
pub(crate) fn render(server: &str, pki: &Pki) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: tack-dev\n  cluster:\n    server: {server}\n    \
         certificate-authority-data: {ca}\nusers:\n- name: tack-dev-admin\n  user:\n    client-certificate-data: {cert}\n    \
         client-key-data: {key}\ncontexts:\n- name: tack-dev\n  context:\n    cluster: tack-dev\n    user: tack-dev-admin\n    \
         namespace: default\ncurrent-context: tack-dev\n",
        ca = b64(&pki.ca_cert),
        cert = b64(&pki.admin_cert),
        key = b64(&pki.admin_key),
    )
}
