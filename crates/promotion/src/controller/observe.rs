//! What the controller reads for one stage: its application, its configuration in Git, its test Job.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use tack_model::{
    APPROVE_ANNOTATION_PREFIX, GitOpsConfig, PROMOTE_ANNOTATION_PREFIX, Pipeline, Stage,
    StageConfig as ConfigSpec,
};
use tack_source::Credentials;

use super::identity::{self, Acting};
use super::{ControllerConfig, analysis};
use crate::gate::{JobOutcome, Observation};
use crate::git::Target;
use crate::history;
use crate::part::Part;
use crate::release::Release;
use crate::stage::StageConfig;

/// A stage resolved against the cluster: its application and where its configuration lives.
pub(crate) struct ResolvedStage {
    pub app: GitOpsConfig,
    /// Who writes the stage's objects (its application's ServiceAccount, or the controller).
    pub acting: Acting,
    pub config: StageConfig,
    /// The namespace the stage runs in (the application's destination).
    pub namespace: String,
}

/// Refuses a stage that would create its test Job or isolation objects for an application deployed to another
/// cluster: they are made in the cluster the controller runs in, so they would land in a namespace of that
/// name here instead of beside the application. Analysis gates and promotions work for any cluster.
fn local_objects_only(stage: &Stage, cluster: Option<&str>) -> Result<(), String> {
    let Some(cluster) = cluster.filter(|c| !c.is_empty() && *c != tack_gitops::policy::IN_CLUSTER) else {
        return Ok(());
    };
    let mut made_here = Vec::new();
    if stage.gates.test_job.is_some() {
        made_here.push("gates.testJob");
    }
    if !stage.isolation.disable_network_policy {
        made_here.push("the NetworkPolicy (set isolation.disableNetworkPolicy: true)");
    }
    if stage.isolation.resource_quota.is_some() {
        made_here.push("isolation.resourceQuota");
    }
    if stage.isolation.limit_range.is_some() {
        made_here.push("isolation.limitRange");
    }
    if made_here.is_empty() {
        return Ok(());
    }
    Err(format!(
        "stage {}: its application deploys to cluster {cluster:?}, but test Jobs and isolation objects are made \
         only in the cluster the controller runs in; remove {} for this stage (an analysis gate can verify it)",
        stage.name,
        made_here.join(", ")
    ))
}

/// The stage's configuration: `spec.stages[].config`, or the application's source.
pub(crate) async fn resolve(
    client: &kube::Client,
    cfg: &ControllerConfig,
    ns: &str,
    stage: &Stage,
) -> Result<ResolvedStage, String> {
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns);
    let app = apps
        .get_opt(&stage.application.name)
        .await
        .map_err(|e| format!("reading GitOpsConfig {ns}/{}: {e}", stage.application.name))?
        .ok_or_else(|| {
            format!(
                "stage {}: GitOpsConfig {ns}/{} not found",
                stage.name, stage.application.name
            )
        })?;
    local_objects_only(stage, app.spec.destination.cluster.as_deref())?;
    let spec = stage.config.clone().unwrap_or_else(|| ConfigSpec {
        repo_url: app.spec.source.repo_url.clone(),
        branch: app.spec.source.revision.clone(),
        path: app.spec.source.path.clone(),
        credentials_secret: app.spec.source.credentials_secret.clone(),
        helm_values_file: None,
    });
    let credentials = match &spec.credentials_secret {
        Some(r) => read_credentials(client, ns, &r.name).await?,
        None => None,
    };
    let namespace = app
        .spec
        .destination
        .namespace
        .clone()
        .unwrap_or_else(|| ns.to_string());
    let acting = identity::acting_for(client, cfg.default_service_account.as_deref(), ns, &app)
        .map_err(|e| format!("stage {}: {e}", stage.name))?;
    Ok(ResolvedStage {
        acting,
        config: StageConfig {
            target: Target {
                url: spec.repo_url,
                branch: spec.branch.unwrap_or_else(|| "main".into()),
                credentials,
                cache_dir: cfg.cache_dir.clone(),
                allow_insecure_http_credentials: cfg.allow_insecure_http_credentials,
            },
            path: spec.path.unwrap_or_default(),
            helm_values_file: spec.helm_values_file,
        },
        app,
        namespace,
    })
}

async fn read_credentials(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<Option<Credentials>, String> {
    let data = secret_data(client, ns, name).await?;
    Credentials::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.0.as_slice())))
        .map_err(|e| format!("Secret {ns}/{name}: {e}"))
}

/// The data of the Secret `ns/name` (credentials for Git, registries and chart repositories); errors name it.
pub(crate) async fn secret_data(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<BTreeMap<String, k8s_openapi::ByteString>, String> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = secrets
        .get_opt(name)
        .await
        .map_err(|e| format!("reading Secret {ns}/{name}: {e}"))?
        .ok_or_else(|| format!("Secret {ns}/{name} not found"))?;
    Ok(secret.data.unwrap_or_default())
}

/// The observation of one resolved stage (Git reads run on a blocking thread).
pub(crate) async fn observe(
    client: &kube::Client,
    p: &Pipeline,
    idx: usize,
    stage: &ResolvedStage,
) -> Result<Observation, String> {
    let status = stage.app.status.clone().unwrap_or_default();
    let revision = status
        .sync
        .as_ref()
        .and_then(|s| s.revision.clone())
        .filter(|r| r.len() == 40);
    let parts = Part::of(&p.spec);
    let config = stage.config.clone();
    let rev = revision.clone();
    let name = p.spec.stages[idx].name.clone();
    let key = super::key(p);
    let known: BTreeSet<String> = p
        .status
        .as_ref()
        .and_then(|s| s.stages.iter().find(|s| s.name == name))
        .map(|s| s.history.iter().map(|h| h.commit.clone()).collect())
        .unwrap_or_default();
    let (release, head_release, recorded) = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let head = config.target.read_recent().map_err(|e| e.to_string())?;
        let log = config
            .target
            .log(&head.commit, &known, history::LOG_LIMIT)
            .map_err(|e| e.to_string())?;
        let recorded = history::from_log(&log, &key, &name);
        let head_release = config.release_in(&head.root, &parts).map_err(|e| e.to_string())?;
        let release = match rev {
            Some(r) if r == head.commit => head_release.clone(),
            Some(r) => {
                let at = config.target.read_commit(&r).map_err(|e| e.to_string())?;
                config.release_in(&at.root, &parts).map_err(|e| e.to_string())?
            }
            None => None,
        };
        Ok((release, head_release, recorded))
    })
    .await
    .map_err(|e| format!("reading the configuration: {e}"))??;
    let annotations = p.metadata.annotations.clone().unwrap_or_default();
    let name = &p.spec.stages[idx].name;
    let requested = annotations
        .get(&format!("{PROMOTE_ANNOTATION_PREFIX}{name}"))
        .map(|r| {
            Release::parse(&Part::of(&p.spec), r)
                .map_err(|e| format!("annotation {PROMOTE_ANNOTATION_PREFIX}{name}: {e}"))
        })
        .transpose()?;
    let test_job = match (&release, &p.spec.stages[idx].gates.test_job) {
        (Some(r), Some(_)) => job_outcome(client, &stage.namespace, &job_name(p, name, r)).await?,
        _ => None,
    };
    let analysis = match (&release, &p.spec.stages[idx].gates.analysis) {
        (Some(r), Some(_)) => {
            let ns = p.metadata.namespace.as_deref().unwrap_or_default();
            analysis::outcome(client, ns, &analysis_run_name(p, name, r)).await?
        }
        _ => None,
    };
    Ok(Observation {
        release,
        revision,
        head_release,
        sync: status.sync.map(|s| format!("{:?}", s.status)),
        health: status.health.map(|h| h.status),
        test_job,
        approved: annotations
            .get(&format!("{APPROVE_ANNOTATION_PREFIX}{name}"))
            .cloned(),
        requested,
        analysis,
        open_reviews: Default::default(),
        recorded,
        discovered: None,
    })
}

/// The review branches that exist for the releases that may enter stage `idx` (the previous stage's release,
/// a requested one) and are not at the head of its branch yet.
pub(crate) async fn open_reviews(
    p: &Pipeline,
    idx: usize,
    stage: &ResolvedStage,
    observed: &[Observation],
) -> Result<BTreeMap<String, String>, String> {
    let obs = &observed[idx];
    let mut candidates: Vec<Release> = obs.requested.iter().cloned().collect();
    candidates.extend(obs.discovered.iter().map(|(r, _)| r.clone()));
    if let Some(r) = idx.checked_sub(1).and_then(|u| observed[u].release.clone()) {
        candidates.push(r);
    }
    candidates.retain(|r| obs.head_release.as_ref() != Some(r));
    let names: Vec<(String, String)> = candidates
        .iter()
        .map(|r| {
            let branch = review_branch(p, &p.spec.stages[idx].name, r);
            (r.to_string(), branch)
        })
        .collect();
    let target = stage.config.target.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = BTreeMap::new();
        for (release, branch) in names {
            if target.branch_exists(&branch).map_err(|e| e.to_string())? {
                out.insert(release, branch);
            }
        }
        Ok(out)
    })
    .await
    .map_err(|e| format!("looking for review branches: {e}"))?
}

/// The review branch of a promotion: `tack/promote/<pipeline>/<stage>/<release>` (characters a branch name
/// cannot hold become `-`).
pub(crate) fn review_branch(p: &Pipeline, stage: &str, release: &Release) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .trim_matches(['.', '-'])
            .to_string()
    };
    format!(
        "tack/promote/{}/{}/{}",
        clean(p.metadata.name.as_deref().unwrap_or("pipeline")),
        clean(stage),
        clean(&release.to_string())
    )
}

/// The test Job's name for a release: the pipeline, the stage and a hash of the release (names are at most
/// 63 characters).
pub(crate) fn job_name(p: &Pipeline, stage: &str, release: &Release) -> String {
    object_name(p, stage, "test", release)
}

/// The AnalysisRun's name for a release, as [`job_name`].
pub(crate) fn analysis_run_name(p: &Pipeline, stage: &str, release: &Release) -> String {
    object_name(p, stage, "analysis", release)
}

fn object_name(p: &Pipeline, stage: &str, kind: &str, release: &Release) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in release.to_string().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    let base: String = format!("{}-{stage}", p.metadata.name.as_deref().unwrap_or("pipeline"))
        .chars()
        .take(40)
        .collect();
    format!("{}-{kind}-{:08x}", base.trim_end_matches('-'), h as u32)
}

async fn job_outcome(client: &kube::Client, ns: &str, name: &str) -> Result<Option<JobOutcome>, String> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), ns);
    let Some(job) = jobs
        .get_opt(name)
        .await
        .map_err(|e| format!("reading Job {ns}/{name}: {e}"))?
    else {
        return Ok(None);
    };
    let conditions = job.status.and_then(|s| s.conditions).unwrap_or_default();
    let by_type: BTreeMap<&str, _> = conditions.iter().map(|c| (c.type_.as_str(), c)).collect();
    if by_type.get("Complete").is_some_and(|c| c.status == "True") {
        return Ok(Some(JobOutcome::Succeeded(name.to_string())));
    }
    if let Some(c) = by_type.get("Failed").filter(|c| c.status == "True") {
        let why = format!(
            "{} {}",
            c.reason.clone().unwrap_or_default(),
            c.message.clone().unwrap_or_default()
        );
        return Ok(Some(JobOutcome::Failed(name.to_string(), why.trim().to_string())));
    }
    Ok(Some(JobOutcome::Running(name.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_stage_may_not_make_local_objects() {
        let mut stage = Stage {
            name: "prod".into(),
            ..Default::default()
        };
        assert!(local_objects_only(&stage, None).is_ok());
        assert!(local_objects_only(&stage, Some("in-cluster")).is_ok());
        let refused = local_objects_only(&stage, Some("east")).err().unwrap_or_default();
        assert!(refused.contains("cluster \"east\""), "{refused}");
        assert!(refused.contains("isolation.disableNetworkPolicy"), "{refused}");
        stage.isolation.disable_network_policy = true;
        assert!(local_objects_only(&stage, Some("east")).is_ok());
        stage.gates.test_job = Some(Default::default());
        let refused = local_objects_only(&stage, Some("east")).err().unwrap_or_default();
        assert!(refused.contains("gates.testJob"), "{refused}");
        assert!(!refused.contains("NetworkPolicy"), "{refused}");
    }
}
