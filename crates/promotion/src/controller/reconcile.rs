//! One reconcile of a Pipeline: validate, observe, decide, act, write the status.

use std::collections::BTreeSet;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Resource};
use serde_json::json;
use tack_model::{Condition, PROMOTE_ANNOTATION_PREFIX, Pipeline, PipelineStatus, StageStatus};

use super::identity::Acting;
use super::observe::{self, ResolvedStage};
use super::{ControllerConfig, analysis};
use crate::gate::{self, Action, Observation};
use crate::message::{Promotion, commit_message};
use crate::metrics::Outcome;
use crate::part::Part;
use crate::release::Release;

/// The field manager of everything the controller applies.
const MANAGER: &str = "tack-promotion";
/// The name of the stage namespaces' NetworkPolicy (the seeds' policy).
pub const NETWORK_POLICY_NAME: &str = "block-other-namespace";

/// Reconciles one Pipeline.
pub async fn reconcile(
    client: &kube::Client,
    cfg: &ControllerConfig,
    p: &Pipeline,
) -> Result<(), kube::Error> {
    let ns = p.metadata.namespace.clone().unwrap_or_default();
    let mut status = p.status.clone().unwrap_or_default();
    status.observed_generation = p.metadata.generation;
    if let Some(problem) = validate(p) {
        set_ready(&mut status, "False", "InvalidSpec", &problem);
        return write_status(client, p, &status).await;
    }
    let mut resolved = Vec::new();
    let mut problems = Vec::new();
    for stage in &p.spec.stages {
        match observe::resolve(client, cfg, &ns, stage).await {
            Ok(r) => resolved.push(Some(r)),
            Err(e) => {
                problems.push(e);
                resolved.push(None);
            }
        }
    }
    if let Some(problem) = shared_configuration(p, &resolved) {
        set_ready(&mut status, "False", "InvalidSpec", &problem);
        return write_status(client, p, &status).await;
    }
    let mut observed = Vec::new();
    for (i, r) in resolved.iter().enumerate() {
        let obs = match r {
            Some(r) => observe::observe(client, p, i, r).await.unwrap_or_else(|e| {
                problems.push(format!("stage {}: {e}", p.spec.stages[i].name));
                Observation::default()
            }),
            None => Observation::default(),
        };
        observed.push(obs);
    }
    if resolved.first().is_some_and(Option::is_some) && !p.spec.suspend {
        match super::discover::discover(client, cfg, p, &observed[0]).await {
            Ok(found) => observed[0].discovered = found,
            Err(e) => problems.push(e),
        }
    }
    for (i, r) in resolved.iter().enumerate() {
        if let Some(r) = r
            && p.spec.stages[i].review
        {
            match observe::open_reviews(p, i, r, &observed).await {
                Ok(open) => observed[i].open_reviews = open,
                Err(e) => problems.push(format!("stage {}: {e}", p.spec.stages[i].name)),
            }
        }
    }
    for (stage, r) in p.spec.stages.iter().zip(&resolved) {
        if let Some(r) = r {
            problems.extend(isolate(&r.acting, stage, &r.namespace).await);
        }
    }
    let decision = gate::next(&p.spec, &status.stages, &observed, Timestamp::now());
    status.stages = decision.stages;
    if !p.spec.suspend {
        let ctx = ActContext {
            client,
            cfg,
            p,
            resolved: &resolved,
            observed: &observed,
        };
        act(&ctx, &decision.actions, &mut status, &mut problems).await;
    }
    status.summary = Some(summary(&status.stages));
    let waiting = status.stages.iter().filter(|s| s.pending.is_some()).count();
    cfg.metrics.set_waiting(&super::key(p), waiting);
    match problems.first() {
        Some(_) => set_ready(&mut status, "False", "StageError", &problems.join("; ")),
        None => set_ready(&mut status, "True", "Reconciled", "every stage observed"),
    }
    write_status(client, p, &status).await
}

/// A problem that makes the whole spec unusable.
fn validate(p: &Pipeline) -> Option<String> {
    if p.spec.stages.is_empty() {
        return Some("a pipeline needs at least one stage".into());
    }
    if Part::of(&p.spec).is_empty() {
        return Some("a pipeline needs at least one image, chart or base (spec.images, spec.charts, spec.bases): they are what a release is".into());
    }
    let mut parts = BTreeSet::new();
    for part in Part::of(&p.spec) {
        let noun = part.kind.noun();
        if part.name.trim().is_empty() {
            return Some(format!("an entry of spec.{noun}s has an empty name"));
        }
        if !parts.insert(part.short_name()) {
            return Some(format!(
                "{:?} names two {noun}s of the release; give each {noun} a distinct name",
                part.short_name()
            ));
        }
    }
    let discovered = p
        .spec
        .images
        .iter()
        .filter_map(|i| i.discover.as_ref().map(|d| (format!("image {}", i.name), d)))
        .chain(p.spec.charts.iter().filter_map(|c| {
            c.discover
                .as_ref()
                .map(|d| (format!("chart {}", c.name), &d.discovery))
        }));
    for (what, d) in discovered {
        if let Some(i) = &d.interval
            && gate::parse_duration(i).is_none_or(|i| i < crate::discovery::MIN_INTERVAL)
        {
            return Some(format!(
                "{what}: discover.interval {i:?} is not a Go duration of at least 10s"
            ));
        }
        if tack_source::chart::index::is_exact_version(&d.semver) {
            return Some(format!(
                "{what}: discover.semver {:?} names one version; give a range (e.g. \">={}\")",
                d.semver, d.semver
            ));
        }
    }
    let mut names = BTreeSet::new();
    let mut apps = BTreeSet::new();
    for s in &p.spec.stages {
        if !names.insert(&s.name) {
            return Some(format!("stage {:?} appears twice", s.name));
        }
        if !apps.insert(&s.application.name) {
            return Some(format!(
                "application {:?} is the application of two stages (a promotion would loop onto itself)",
                s.application.name
            ));
        }
        if let Err(e) = crate::window::parse(&s.promotion_windows) {
            return Some(format!("stage {}: {e}", s.name));
        }
        if let Some(t) = &s.gates.soak_time
            && gate::parse_duration(t).is_none()
        {
            return Some(format!(
                "stage {}: soakTime {t:?} is not a duration such as 30s or 5m",
                s.name
            ));
        }
    }
    None
}

/// Two stages writing to one configuration (same repository, branch and folder) would promote into their own
/// source: a cycle. Returns the problem.
fn shared_configuration(p: &Pipeline, resolved: &[Option<ResolvedStage>]) -> Option<String> {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (stage, r) in p.spec.stages.iter().zip(resolved) {
        let Some(r) = r else { continue };
        let t = &r.config.target;
        let location = format!(
            "{} {} {}",
            tack_source::normalize_repo_url(&t.url),
            t.branch,
            r.config.path.trim_matches('/')
        );
        if let Some((_, other)) = seen.iter().find(|(l, _)| *l == location) {
            return Some(format!(
                "stages {other} and {} share one configuration ({} branch {} folder {:?}): a promotion into \
                 {} would change {other} too, a cycle; give each stage its own folder, branch or repository",
                stage.name, t.url, t.branch, r.config.path, stage.name
            ));
        }
        seen.push((location, &stage.name));
    }
    None
}

/// What [`act`] works on.
struct ActContext<'a> {
    client: &'a kube::Client,
    cfg: &'a ControllerConfig,
    p: &'a Pipeline,
    resolved: &'a [Option<ResolvedStage>],
    observed: &'a [Observation],
}

async fn act(
    ctx: &ActContext<'_>,
    actions: &[Action],
    status: &mut PipelineStatus,
    problems: &mut Vec<String>,
) {
    let ActContext {
        client,
        p,
        resolved,
        observed,
        ..
    } = *ctx;
    let recorder = recorder(client);
    for action in actions {
        match action {
            Action::RunTestJob { stage, release } => {
                let Some(r) = &resolved[*stage] else { continue };
                let name = observe::job_name(p, &p.spec.stages[*stage].name, release);
                if let Err(e) = create_job(p, *stage, r, &name, release).await {
                    let why = r
                        .acting
                        .refusal("create", &format!("the test Job {name}"), &r.namespace, &e);
                    refuse_gate(status, *stage, "TestJob", &why);
                    problems.push(format!("stage {}: {why}", p.spec.stages[*stage].name));
                }
                status.stages[*stage].test_job_name = Some(name);
            }
            Action::RunAnalysis { stage, release } => {
                let Some(r) = &resolved[*stage] else { continue };
                let stage_name = &p.spec.stages[*stage].name;
                let Some(spec) = &p.spec.stages[*stage].gates.analysis else {
                    continue;
                };
                let name = observe::analysis_run_name(p, stage_name, release);
                let pipeline = p.metadata.name.as_deref().unwrap_or_default();
                let args = analysis::arguments(pipeline, stage_name, &r.namespace, release, spec);
                let run = analysis::Run {
                    stage: stage_name,
                    name: &name,
                    analysis: spec,
                    args: &args,
                };
                if let Err(e) = analysis::create_run(client, &r.acting, p, &run).await {
                    let ns = p.metadata.namespace.as_deref().unwrap_or_default();
                    let why = r
                        .acting
                        .refusal("create", &format!("the AnalysisRun {name}"), ns, &e);
                    refuse_gate(status, *stage, "Analysis", &why);
                    problems.push(format!("stage {stage_name}: {why}"));
                }
                status.stages[*stage].analysis_run_name = Some(name);
            }
            Action::Promote {
                to,
                from,
                release,
                by,
            } => {
                let Some(r) = &resolved[*to] else { continue };
                let replaced = observed[*to].head_release.as_ref();
                let step = Step {
                    to: *to,
                    from: *from,
                    release,
                    by,
                    replaced,
                };
                let outcome = promote(ctx, r, status, step).await;
                let stage_name = p.spec.stages[*to].name.clone();
                let metrics = &ctx.cfg.metrics;
                match outcome {
                    Ok(Pushed::Branch(commit)) => {
                        metrics.promotion(&super::key(p), &stage_name, Outcome::Promoted);
                        let note = format!("promoted {release} to {stage_name} in commit {}", short(&commit));
                        publish(&recorder, p, EventType::Normal, "Promoted", &note).await;
                        refresh_application(client, &r.app, &commit).await;
                        if observed[*to].requested.is_some() {
                            clear_request(client, p, &stage_name).await;
                        }
                    }
                    Ok(Pushed::Review(branch)) => {
                        metrics.promotion(&super::key(p), &stage_name, Outcome::Review);
                        let note = format!("pushed {release} for {stage_name} to the review branch {branch}");
                        publish(&recorder, p, EventType::Normal, "PromotionInReview", &note).await;
                        status.stages[*to].pending = Some(tack_model::PendingPromotion {
                            release: release.to_string(),
                            reason: format!(
                                "waiting for review: merge branch {branch} into the stage's branch"
                            ),
                        });
                    }
                    Err(e) => {
                        metrics.promotion(&super::key(p), &stage_name, Outcome::Failed);
                        status.stages[*to].pending = Some(tack_model::PendingPromotion {
                            release: release.to_string(),
                            reason: format!("promotion failed: {e}"),
                        });
                        let note = format!("promoting {release} to {stage_name}: {e}");
                        publish(&recorder, p, EventType::Warning, "PromotionFailed", &note).await;
                        problems.push(note);
                    }
                }
            }
        }
    }
    for (i, obs) in observed.iter().enumerate() {
        // A requested release that is already at the head: the request is done.
        if obs.requested.is_some() && obs.requested == obs.head_release {
            clear_request(client, p, &p.spec.stages[i].name).await;
        }
    }
}

/// One promotion to write.
struct Step<'a> {
    to: usize,
    from: Option<usize>,
    release: &'a Release,
    by: &'a str,
    /// What the target's configuration holds now.
    replaced: Option<&'a Release>,
}

/// Where a promotion was pushed.
enum Pushed {
    /// The commit on the stage's branch.
    Branch(String),
    /// The review branch holding the commit.
    Review(String),
}

/// Writes the commit (to the stage's branch, or to a review branch for a stage with `review: true`). The
/// history is not written here: it is read back from the commit on the next reconcile
/// ([`crate::history`]), so a stop between the push and the status write loses nothing.
async fn promote(
    ctx: &ActContext<'_>,
    r: &ResolvedStage,
    status: &mut PipelineStatus,
    step: Step<'_>,
) -> Result<Pushed, String> {
    let Step {
        to,
        from,
        release,
        by,
        replaced,
    } = step;
    let p = ctx.p;
    let key = super::key(p);
    let to_name = p.spec.stages[to].name.clone();
    let from_name = from.map(|f| p.spec.stages[f].name.clone());
    let evidence = from.map(|f| status.stages[f].gates.clone()).unwrap_or_default();
    let review = p.spec.stages[to]
        .review
        .then(|| observe::review_branch(p, &to_name, release));
    let replaced = replaced.map(|r| r.to_string());
    let message = commit_message(&Promotion {
        pipeline: &key,
        to: &to_name,
        from: from_name.as_deref(),
        release: Some(release),
        evidence: &evidence,
        by,
        replaced: replaced.as_deref(),
        review_branch: review.as_deref(),
    });
    let (config, rel, branch) = (r.config.clone(), release.clone(), review.clone());
    let done = tokio::task::spawn_blocking(move || config.promote(&rel, &message, branch.as_deref()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if let Some(hook) = &ctx.cfg.after_push {
        // Test hook: the controller "stops" between the push and the status write.
        hook.notify_one();
        std::future::pending::<()>().await;
    }
    status.stages[to].pending = None;
    Ok(match review {
        Some(branch) => Pushed::Review(branch),
        None => Pushed::Branch(done.commit.unwrap_or(done.parent)),
    })
}

/// A gate of stage `i` whose object could not be created: Failed with `why` (the stage is not verified), and
/// the release waiting to enter the next stage says so.
fn refuse_gate(status: &mut PipelineStatus, i: usize, name: &str, why: &str) {
    let Some(stage) = status.stages.get_mut(i) else {
        return;
    };
    for g in stage.gates.iter_mut().filter(|g| g.name == name) {
        g.phase = gate::FAILED.into();
        g.message = why.to_string();
    }
    stage.verified = false;
    let reason = gate::blocked_reason(stage);
    if let Some(pending) = status.stages.get_mut(i + 1).and_then(|s| s.pending.as_mut())
        && pending.reason.starts_with(gate::BLOCKED)
    {
        pending.reason = reason;
    }
}

/// Creates the stage's test Job as the stage's identity (AlreadyExists is success).
async fn create_job(
    p: &Pipeline,
    stage: usize,
    r: &ResolvedStage,
    name: &str,
    release: &Release,
) -> Result<(), kube::Error> {
    let Some(test) = &p.spec.stages[stage].gates.test_job else {
        return Ok(());
    };
    let job: Job = serde_json::from_value(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": r.namespace,
            "labels": {
                analysis::PIPELINE_LABEL: p.metadata.name,
                analysis::PIPELINE_NAMESPACE_LABEL: p.metadata.namespace,
                analysis::STAGE_LABEL: p.spec.stages[stage].name,
            },
            "annotations": {"gitops.tack.dev/release": release.to_string()},
        },
        "spec": test.spec,
    }))
    .map_err(kube::Error::SerdeError)?;
    let jobs: Api<Job> = Api::namespaced(r.acting.client.clone(), &r.namespace);
    match jobs.create(&PostParams::default(), &job).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// The stage namespace's isolation, applied as the stage's identity: the NetworkPolicy (unless disabled), the
/// ResourceQuota and the LimitRange when given. Returns the problems.
async fn isolate(acting: &Acting, stage: &tack_model::Stage, ns: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let client = &acting.client;
    if !stage.isolation.disable_network_policy
        && let Err(e) = network_policy(client, ns).await
    {
        let what = format!("the NetworkPolicy {NETWORK_POLICY_NAME}");
        problems.push(format!(
            "stage {}: {}",
            stage.name,
            acting.refusal("apply", &what, ns, &e)
        ));
    }
    let iso = &stage.isolation;
    let quota = iso
        .resource_quota
        .as_ref()
        .map(|s| ("v1", "ResourceQuota", "resourcequotas", s));
    let limits = iso
        .limit_range
        .as_ref()
        .map(|s| ("v1", "LimitRange", "limitranges", s));
    for (version, kind, plural, spec) in quota.into_iter().chain(limits) {
        if let Err(e) = apply_namespaced(client, ns, (version, kind, plural), spec).await {
            let what = format!("the {kind} {ISOLATION_NAME}");
            problems.push(format!(
                "stage {}: {}",
                stage.name,
                acting.refusal("apply", &what, ns, &e)
            ));
        }
    }
    problems
}

/// The name of the ResourceQuota and the LimitRange of a stage namespace.
pub const ISOLATION_NAME: &str = "tack-stage";

async fn apply_namespaced(
    client: &kube::Client,
    ns: &str,
    (version, kind, plural): (&str, &str, &str),
    spec: &serde_json::Value,
) -> Result<(), kube::Error> {
    let gvk = kube::api::GroupVersionKind::gvk("", version, kind);
    let resource = kube::api::ApiResource::from_gvk_with_plural(&gvk, plural);
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    let object = json!({
        "apiVersion": version, "kind": kind,
        "metadata": {"name": ISOLATION_NAME, "namespace": ns, "labels": {"app.kubernetes.io/managed-by": "tack"}},
        "spec": spec,
    });
    match api
        .patch(
            ISOLATION_NAME,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&object),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// The seeds' policy: pods of the namespace accept traffic from pods of the same namespace only.
async fn network_policy(client: &kube::Client, ns: &str) -> Result<(), kube::Error> {
    let api: Api<NetworkPolicy> = Api::namespaced(client.clone(), ns);
    let policy = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": NETWORK_POLICY_NAME, "namespace": ns,
                     "labels": {"app.kubernetes.io/managed-by": "tack"}},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]},
    });
    match api
        .patch(
            NETWORK_POLICY_NAME,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&policy),
        )
        .await
    {
        Ok(_) => Ok(()),
        // The namespace does not exist yet (the application has not synced): next time.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Asks the stage's application to fetch the promotion's commit now, as a webhook would: the promotion reaches
/// the stage at once instead of with the application's interval.
async fn refresh_application(client: &kube::Client, app: &tack_model::GitOpsConfig, commit: &str) {
    let at = (
        app.metadata.namespace.as_deref().unwrap_or_default(),
        app.metadata.name.as_deref().unwrap_or_default(),
    );
    let patch = tack_gitops::refresh_patch(&format!("promoted {commit}"));
    if let Err(e) = tack_gitops::request_refresh(client, at, &patch, MANAGER).await {
        tracing::warn!(error = %e, "asking the stage's application to refresh failed; it fetches the promotion at its interval");
    }
}

async fn clear_request(client: &kube::Client, p: &Pipeline, stage: &str) {
    let api: Api<Pipeline> = Api::namespaced(
        client.clone(),
        p.metadata.namespace.as_deref().unwrap_or_default(),
    );
    let patch = json!({"metadata": {"annotations": {format!("{PROMOTE_ANNOTATION_PREFIX}{stage}"): null}}});
    if let Err(e) = api
        .patch(
            p.metadata.name.as_deref().unwrap_or_default(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        tracing::warn!(error = %e, "removing the promotion request annotation failed");
    }
}

fn recorder(client: &kube::Client) -> Recorder {
    Recorder::new(
        client.clone(),
        Reporter {
            controller: MANAGER.into(),
            instance: None,
        },
    )
}

async fn publish(recorder: &Recorder, p: &Pipeline, type_: EventType, reason: &str, note: &str) {
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note.chars().take(1000).collect()),
        action: "Promote".into(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&event, &p.object_ref(&())).await {
        tracing::debug!(error = %e, "publishing an Event failed");
    }
}

fn summary(stages: &[StageStatus]) -> String {
    stages
        .iter()
        .map(|s| format!("{}={}", s.name, s.release.as_deref().unwrap_or("-")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn set_ready(status: &mut PipelineStatus, value: &str, reason: &str, message: &str) {
    let now = Timestamp::now().to_string();
    let previous = status.conditions.iter().find(|c| c.type_ == "Ready").cloned();
    let changed = previous.as_ref().is_none_or(|c| c.status != value);
    status.conditions.retain(|c| c.type_ != "Ready");
    status.conditions.push(Condition {
        type_: "Ready".into(),
        status: value.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: if changed {
            Some(now)
        } else {
            previous.and_then(|c| c.last_transition_time)
        },
        observed_generation: status.observed_generation,
    });
}

async fn write_status(
    client: &kube::Client,
    p: &Pipeline,
    status: &PipelineStatus,
) -> Result<(), kube::Error> {
    if p.status.as_ref() == Some(status) {
        return Ok(());
    }
    let api: Api<Pipeline> = Api::namespaced(
        client.clone(),
        p.metadata.namespace.as_deref().unwrap_or_default(),
    );
    let patch = json!({"status": status});
    api.patch_status(
        p.metadata.name.as_deref().unwrap_or_default(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}
