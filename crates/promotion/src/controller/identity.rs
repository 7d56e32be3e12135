//! The identity a stage's objects are written with: what the controller creates on behalf of a stage (its test
//! Job, its AnalysisRun and the AnalysisTemplates it is built from, its namespace's NetworkPolicy, ResourceQuota
//! and LimitRange) is written as the ServiceAccount the stage's application acts as — the GitOpsConfig's
//! `spec.serviceAccountName`, else the controller's `--default-service-account` — through Kubernetes
//! impersonation, by the same rule and the same impersonating client as the GitOps controller
//! ([`tack_gitops::application_service_account`], [`tack_gitops::Identities`]). Without either, the controller's
//! own identity. The status, the Events and the reads of Jobs and AnalysisRuns stay with the controller.

use tack_model::GitOpsConfig;

/// Who writes a stage's objects.
#[derive(Clone)]
pub(crate) struct Acting {
    /// The client to write with (impersonating, or the controller's).
    pub client: kube::Client,
    /// `namespace/name` of the impersonated ServiceAccount; `None`: the controller's identity.
    pub service_account: Option<String>,
}

impl Acting {
    /// The controller acting with its own identity.
    pub fn controller(client: &kube::Client) -> Acting {
        Acting {
            client: client.clone(),
            service_account: None,
        }
    }

    /// How a refusal of `verb` on `what` in `namespace` reads: names the ServiceAccount and the API server's words
    /// (`jobs.batch is forbidden: User "system:serviceaccount:…" cannot create resource "jobs" …`).
    pub fn refusal(&self, verb: &str, what: &str, namespace: &str, error: &kube::Error) -> String {
        match (&self.service_account, error) {
            (Some(sa), kube::Error::Api(e)) if e.code == 403 => format!(
                "ServiceAccount {sa} may not {verb} {what} in namespace {namespace} (grant it with a Role and \
                 RoleBinding there): {}",
                e.message
            ),
            (None, kube::Error::Api(e)) if e.code == 403 => {
                format!(
                    "the controller may not {verb} {what} in namespace {namespace}: {}",
                    e.message
                )
            }
            _ => format!("{verb} {what} in namespace {namespace}: {error}"),
        }
    }
}

/// The identity of `app`'s stage (`app` is in `namespace`): its ServiceAccount through an impersonating client,
/// or the controller's own (`client`). An invalid ServiceAccount name is an error naming the field.
pub(crate) fn acting_for(
    client: &kube::Client,
    default_service_account: Option<&str>,
    namespace: &str,
    app: &GitOpsConfig,
) -> Result<Acting, String> {
    let lockdown = tack_gitops::Lockdown {
        default_service_account: default_service_account.map(str::to_string),
        ..Default::default()
    };
    let name = tack_gitops::application_service_account(app, &lockdown).map_err(|e| {
        format!(
            "GitOpsConfig {namespace}/{}: {e}",
            app.metadata.name.as_deref().unwrap_or_default()
        )
    })?;
    let Some(name) = name else {
        return Ok(Acting::controller(client));
    };
    let cluster = tack_gitops::Identities::new(client.clone())
        .service_account(namespace, &name)
        .ok_or_else(|| {
            let user = tack_gitops::service_account_user(namespace, &name);
            format!("{user} cannot be sent as an impersonation header")
        })?;
    Ok(Acting {
        client: cluster.client().clone(),
        service_account: Some(format!("{namespace}/{name}")),
    })
}
