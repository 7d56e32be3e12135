//! Analysis gates: an AnalysisRun built from the stage's AnalysisTemplates (read and merged as the Rollout
//! controller does, [`tack_delivery::rollout::analysis::load_templates`] and
//! [`tack_analysis::run::build_run_spec`]) with the stage's arguments, measured by the AnalysisRun controller;
//! the gate reads its `status.phase`.

use kube::Resource;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;
use tack_analysis::spec::{AnalysisRunStatus, AnalysisTemplateRef, Argument};
use tack_model::{Pipeline, StageAnalysis};

use super::identity::Acting;
use crate::gate::AnalysisOutcome;
use crate::release::Release;

/// The label naming the pipeline of a test Job or an AnalysisRun.
pub const PIPELINE_LABEL: &str = "gitops.tack.dev/pipeline";
/// The label naming the namespace of the pipeline of a test Job (which runs in the stage's namespace).
pub const PIPELINE_NAMESPACE_LABEL: &str = "gitops.tack.dev/pipeline-namespace";
/// The label naming the stage of a test Job or an AnalysisRun.
pub const STAGE_LABEL: &str = "gitops.tack.dev/stage";

/// The arguments of the run: `pipeline`, `stage`, `namespace`, `release`, then the stage's own (which win).
pub(crate) fn arguments(
    pipeline: &str,
    stage: &str,
    namespace: &str,
    release: &Release,
    analysis: &StageAnalysis,
) -> Vec<Argument> {
    let arg = |name: &str, value: String| Argument {
        name: name.into(),
        value: Some(value),
        value_from: None,
    };
    let mut args = vec![
        arg("pipeline", pipeline.into()),
        arg("stage", stage.into()),
        arg("namespace", namespace.into()),
        arg("release", release.to_string()),
    ];
    for a in &analysis.args {
        args.retain(|x| x.name != a.name);
        args.push(arg(&a.name, a.value.clone()));
    }
    args
}

/// The AnalysisRun of a stage to create.
pub(crate) struct Run<'a> {
    /// The stage's name.
    pub stage: &'a str,
    /// The run's name.
    pub name: &'a str,
    /// The stage's analysis gate.
    pub analysis: &'a StageAnalysis,
    /// The run's arguments ([`arguments`]).
    pub args: &'a [Argument],
}

/// Creates the AnalysisRun in the pipeline's namespace, owned by the Pipeline (AlreadyExists is success): the
/// templates are read and the run created as the stage's identity (`acting`); `client` (the controller's)
/// looks for an existing run and marks a run `Error`. When the templates cannot be read or merged, the run is
/// created `Error` with the reason, so the gate fails and says why.
pub(crate) async fn create_run(
    client: &kube::Client,
    acting: &Acting,
    p: &Pipeline,
    run: &Run<'_>,
) -> Result<(), kube::Error> {
    let Run {
        stage,
        name,
        analysis,
        args,
    } = *run;
    let ns = p.metadata.namespace.as_deref().unwrap_or_default();
    let resource = tack_delivery::analysis_run::resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    if api.get_metadata_opt(name).await?.is_some() {
        return Ok(());
    }
    let as_stage: Api<DynamicObject> = Api::namespaced_with(acting.client.clone(), ns, &resource);
    let refs: Vec<AnalysisTemplateRef> = analysis
        .templates
        .iter()
        .map(|t| AnalysisTemplateRef {
            template_name: t.template_name.clone(),
            cluster_scope: t.cluster_scope,
        })
        .collect();
    let built = async {
        let templates = tack_delivery::rollout::analysis::load_templates(&acting.client, ns, &refs).await?;
        let spec = tack_analysis::run::build_run_spec(&templates, args).map_err(|e| e.to_string())?;
        serde_json::to_value(&spec).map_err(|e| e.to_string())
    }
    .await;
    let (spec, failure) = match built {
        Ok(spec) => (spec, None),
        Err(why) => (json!({"metrics": []}), Some(why)),
    };
    let owner = p.controller_owner_ref(&());
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {PIPELINE_LABEL: p.metadata.name, STAGE_LABEL: stage},
            "ownerReferences": owner.into_iter().collect::<Vec<_>>(),
        },
        "spec": spec,
    }))
    .map_err(kube::Error::SerdeError)?;
    match as_stage.create(&PostParams::default(), &obj).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => return Ok(()),
        Err(e) => return Err(e),
    }
    if let Some(message) = failure {
        let patch = json!({"status": {"phase": "Error", "message": message}});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    Ok(())
}

/// The outcome of the AnalysisRun `name`, `None` when it does not exist.
pub(crate) async fn outcome(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<Option<AnalysisOutcome>, String> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &tack_delivery::analysis_run::resource());
    let Some(run) = api
        .get_opt(name)
        .await
        .map_err(|e| format!("reading AnalysisRun {ns}/{name}: {e}"))?
    else {
        return Ok(None);
    };
    let status: AnalysisRunStatus = run
        .data
        .get("status")
        .cloned()
        .and_then(|s| serde_json::from_value(s).ok())
        .unwrap_or_default();
    let message = status.message.unwrap_or_default();
    Ok(Some(match status.phase.as_deref() {
        Some("Successful") => AnalysisOutcome::Successful(name.into()),
        Some(phase @ ("Failed" | "Error" | "Inconclusive")) => {
            AnalysisOutcome::Failed(name.into(), phase.into(), message)
        }
        _ => AnalysisOutcome::Running(name.into()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tack_model::AnalysisArgument;

    #[test]
    fn stage_arguments_override_the_built_in_ones() {
        let release = Release::of_images([("app", "v2")]);
        let analysis = StageAnalysis {
            templates: vec![],
            args: vec![
                AnalysisArgument {
                    name: "namespace".into(),
                    value: "elsewhere".into(),
                },
                AnalysisArgument {
                    name: "url".into(),
                    value: "http://frontend/".into(),
                },
            ],
        };
        let args = arguments("guestbook", "qa", "guestbook-qa", &release, &analysis);
        let pairs: Vec<(&str, &str)> = args
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("pipeline", "guestbook"),
                ("stage", "qa"),
                ("release", "v2"),
                ("namespace", "elsewhere"),
                ("url", "http://frontend/"),
            ]
        );
    }
}
