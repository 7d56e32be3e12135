//! `tack rollout`: Argo Rollouts compatible Rollouts (list, get [--watch], promote [--full], abort, retry, undo,
//! pause, resume, set-image), through the functions of `tack_delivery::rollout::commands`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;
use tack_delivery::rollout::commands::{self, RolloutInfo};

use crate::config::{Output, Settings};

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// List the Rollouts of the namespace (-A for all namespaces): phase, step, weights, replicas.
    List(ListArgs),
    /// Show a Rollout: strategy, steps (the current one marked), weights, ReplicaSets, AnalysisRuns,
    /// Experiments, message.
    Get(GetArgs),
    /// Continue a paused Rollout (ends the current pause; skips the current step when nothing is paused).
    Promote(PromoteArgs),
    /// Abort the update: all traffic back to stable, the canary/preview scaled down, phase Degraded.
    Abort(NameArg),
    /// Start an aborted update again from the first step.
    Retry(NameArg),
    /// Roll back: put the pod template of an earlier revision back (default: the previous one).
    Undo(UndoArgs),
    /// Pause the Rollout (spec.paused: true) until `resume` or `promote`.
    Pause(NameArg),
    /// Resume a Rollout paused with `pause` (spec.paused: false).
    Resume(NameArg),
    /// Change a container's image in the pod template, which starts an update.
    SetImage(SetImageArgs),
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// The Rollout name
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// List the Rollouts of every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The Rollout name
    pub name: String,
    /// Refresh the view in place until interrupted (Ctrl-C)
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// How often --watch refreshes (e.g. 1s, 500ms)
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration, value_name = "D")]
    pub interval: Duration,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The Rollout name
    pub name: String,
    /// Skip all remaining steps and analyses and go to 100 %
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The Rollout name
    pub name: String,
    /// The revision to go back to (see the REVISION column of `tack rollout get`) [default: the previous one]
    #[arg(long, value_name = "N")]
    pub to_revision: Option<i64>,
}

#[derive(Debug, Args)]
pub struct SetImageArgs {
    /// The Rollout name
    pub name: String,
    /// CONTAINER=IMAGE, e.g. web=registry.example/web:1.2.3
    #[arg(value_name = "CONTAINER=IMAGE", value_parser = parse_container_image)]
    pub image: (String, String),
}

fn parse_container_image(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((c, i)) if !c.is_empty() && !i.is_empty() => Ok((c.to_string(), i.to_string())),
        _ => Err(format!(
            "`{s}`: write CONTAINER=IMAGE, e.g. web=registry.example/web:1.2.3"
        )),
    }
}

pub async fn run(cmd: RolloutCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let cluster = settings.connect().await?;
    let client = cluster.client().clone();
    let ns = settings
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    let hint = |name: &str| format!("Rollout {ns}/{name}");
    match cmd {
        RolloutCommand::List(a) => {
            let items = commands::list(&client, (!a.all_namespaces).then_some(ns.as_str()))
                .await
                .map_err(crd_hint)?;
            match settings.output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&items)?),
                Output::Yaml => print!("{}", tack_yaml::to_yaml_stream(items.iter())),
                Output::Text if items.is_empty() => println!("no Rollouts in namespace {ns}"),
                Output::Text => print!("{}", render_list(&items)),
            }
        }
        RolloutCommand::Get(a) => {
            if !a.watch || settings.output != Output::Text {
                let info = commands::inspect(&client, &ns, &a.name).await.map_err(crd_hint)?;
                match settings.output {
                    Output::Json => println!("{}", serde_json::to_string_pretty(&info.raw)?),
                    Output::Yaml => print!("{}", tack_yaml::to_yaml_stream(std::iter::once(&info.raw))),
                    Output::Text => print!("{}", render(&info)),
                }
                return Ok(ExitCode::SUCCESS);
            }
            let watch = async {
                loop {
                    let text = match commands::inspect(&client, &ns, &a.name).await {
                        Ok(info) => render(&info),
                        Err(e) => format!("error: {e}\n"),
                    };
                    // Clear the screen and draw again from the top.
                    print!("\x1b[2J\x1b[H{text}");
                    use std::io::Write as _;
                    let _ = std::io::stdout().flush();
                    tokio::time::sleep(a.interval).await;
                }
            };
            tokio::select! {
                () = watch => {}
                r = tokio::signal::ctrl_c() => { r.context("waiting for Ctrl-C")?; }
            }
        }
        RolloutCommand::Promote(a) => {
            if a.full {
                commands::promote_full(&client, &ns, &a.name).await?;
                println!("{}: promoted fully (remaining steps skipped)", hint(&a.name));
            } else {
                commands::promote(&client, &ns, &a.name).await?;
                println!("{}: promoted", hint(&a.name));
            }
        }
        RolloutCommand::Abort(a) => {
            commands::abort(&client, &ns, &a.name).await?;
            println!(
                "{}: aborted; traffic goes back to stable (`tack rollout retry {}` starts the update again)",
                hint(&a.name),
                a.name
            );
        }
        RolloutCommand::Retry(a) => {
            commands::retry(&client, &ns, &a.name).await?;
            println!("{}: retrying from the first step", hint(&a.name));
        }
        RolloutCommand::Undo(a) => {
            let rev = commands::undo(&client, &ns, &a.name, a.to_revision).await?;
            println!(
                "{}: rolling back to the template of revision {rev}",
                hint(&a.name)
            );
        }
        RolloutCommand::Pause(a) => {
            commands::pause(&client, &ns, &a.name).await?;
            println!("{}: paused", hint(&a.name));
        }
        RolloutCommand::Resume(a) => {
            commands::resume(&client, &ns, &a.name).await?;
            println!("{}: resumed", hint(&a.name));
        }
        RolloutCommand::SetImage(a) => {
            let (container, image) = &a.image;
            commands::set_image(&client, &ns, &a.name, container, image).await?;
            println!("{}: container {container} set to {image}", hint(&a.name));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A missing CRD is the most common first error: say how to fix it.
fn crd_hint(e: commands::CommandError) -> anyhow::Error {
    let text = e.to_string();
    let err = anyhow::Error::new(e);
    if text.contains("404") || text.contains("the server could not find the requested resource") {
        err.context(
            "the argoproj.io CRDs are not installed: run `tack install --crds-only` (or `tack install`)",
        )
    } else {
        err
    }
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

fn i(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn strategy(v: &Value) -> &'static str {
    if v.pointer("/spec/strategy/canary").is_some() {
        "Canary"
    } else if v.pointer("/spec/strategy/blueGreen").is_some() {
        "BlueGreen"
    } else {
        "-"
    }
}

fn step_of(v: &Value) -> String {
    match v.pointer("/spec/strategy/canary/steps").and_then(Value::as_array) {
        Some(steps) => format!(
            "{}/{}",
            i(v, "/status/currentStepIndex").min(steps.len() as i64),
            steps.len()
        ),
        None => "-".into(),
    }
}

fn weights(v: &Value) -> String {
    match v.pointer("/status/canary/weights") {
        Some(w) => format!("{}/{}", i(w, "/canary/weight"), i(w, "/stable/weight")),
        None => "-".into(),
    }
}

fn render_list(items: &[Value]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|r| {
            vec![
                s(r, "/metadata/namespace").to_string(),
                s(r, "/metadata/name").to_string(),
                strategy(r).to_string(),
                s(r, "/status/phase").to_string(),
                step_of(r),
                weights(r),
                format!(
                    "{}/{}/{}",
                    i(r, "/spec/replicas").max(if r.pointer("/spec/replicas").is_none() {
                        1
                    } else {
                        0
                    }),
                    i(r, "/status/updatedReplicas"),
                    i(r, "/status/availableReplicas")
                ),
            ]
        })
        .collect();
    table(
        &[
            "NAMESPACE",
            "NAME",
            "STRATEGY",
            "PHASE",
            "STEP",
            "CANARY/STABLE",
            "DESIRED/UPDATED/AVAILABLE",
        ],
        &rows,
    )
}

fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut l = String::new();
        for (n, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if n + 1 == cells.len() {
                l.push_str(c);
            } else {
                let _ = write!(l, "{c:<w$}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(headers.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

fn step_text(step: &Value) -> String {
    let Some(m) = step.as_object() else {
        return String::new();
    };
    m.iter()
        .map(|(k, v)| match (k.as_str(), v) {
            ("setWeight", w) => format!("setWeight: {w}"),
            ("pause", p) => match p.get("duration") {
                Some(Value::String(d)) => format!("pause: {d}"),
                Some(d) => format!("pause: {d}s"),
                None => "pause: until promoted".into(),
            },
            ("analysis", a) => {
                let names: Vec<&str> = a
                    .get("templates")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.get("templateName").and_then(Value::as_str))
                    .collect();
                format!("analysis: {}", names.join(", "))
            }
            (k, v) => format!("{k}: {v}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn images(template: Option<&Value>) -> String {
    template
        .and_then(|t| t.pointer("/spec/containers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(",")
}

/// The text of `tack rollout get`.
pub fn render(info: &RolloutInfo) -> String {
    let r = &info.raw;
    let mut out = String::new();
    let phase = s(r, "/status/phase");
    let _ = writeln!(out, "Name:       {}", s(r, "/metadata/name"));
    let _ = writeln!(out, "Namespace:  {}", s(r, "/metadata/namespace"));
    let _ = writeln!(
        out,
        "Status:     {}",
        if phase.is_empty() {
            "(not reconciled yet)"
        } else {
            phase
        }
    );
    if let Some(rev) = r
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(tack_delivery::rollout::REVISION_ANNOTATION))
        .and_then(Value::as_str)
    {
        let _ = writeln!(out, "Revision:   {rev}");
    }
    if let Some(m) = r.pointer("/status/message").and_then(Value::as_str) {
        let _ = writeln!(out, "Message:    {}", with_revisions(m, &info.replica_sets));
    }
    if r.pointer("/spec/paused") == Some(&Value::Bool(true)) {
        let _ = writeln!(out, "Paused:     by the user (`tack rollout resume` continues)");
    }
    let _ = writeln!(out, "Strategy:   {}", strategy(r));
    let stable = s(r, "/status/stableRS");
    let current = s(r, "/status/currentPodHash");
    if let Some(steps) = r.pointer("/spec/strategy/canary/steps").and_then(Value::as_array) {
        write_steps(&mut out, r, steps, stable, current);
    }
    if r.pointer("/spec/strategy/blueGreen").is_some() {
        let _ = writeln!(
            out,
            "Services:   active → {}, preview → {}",
            or_dash(s(r, "/status/blueGreen/activeSelector")),
            or_dash(s(r, "/status/blueGreen/previewSelector"))
        );
    }
    let _ = writeln!(
        out,
        "Replicas:   desired {}, current {}, updated {}, ready {}, available {}",
        r.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1),
        i(r, "/status/replicas"),
        i(r, "/status/updatedReplicas"),
        i(r, "/status/readyReplicas"),
        i(r, "/status/availableReplicas"),
    );
    let active = s(r, "/status/blueGreen/activeSelector");
    let rows: Vec<Vec<String>> = info
        .replica_sets
        .iter()
        .map(|rs| replica_set_row(rs, r, stable, current, active))
        .collect();
    let _ = writeln!(out, "\nReplicaSets:");
    if rows.is_empty() {
        let _ = writeln!(out, "  (none yet)");
    } else {
        for line in table(&["REVISION", "HASH", "ROLE", "READY/DESIRED", "IMAGES"], &rows).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !info.analysis_runs.is_empty() {
        let rows: Vec<Vec<String>> = info.analysis_runs.iter().map(analysis_run_row).collect();
        let _ = writeln!(out, "\nAnalysisRuns:");
        for line in table(&["NAME", "PHASE", "LAST MEASURED", "MESSAGE"], &rows).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !info.experiments.is_empty() {
        let rows: Vec<Vec<String>> = info.experiments.iter().map(experiment_row).collect();
        let _ = writeln!(out, "\nExperiments:");
        for line in table(&["NAME", "PHASE", "TEMPLATES", "ANALYSES", "MESSAGE"], &rows).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// One row of the Experiments table: name, phase, each template's available/desired pods, each analysis's
/// phase, message.
fn experiment_row(x: &Value) -> Vec<String> {
    let list = |path: &str| {
        x.pointer(path)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let templates: Vec<String> = list("/status/templateStatuses")
        .iter()
        .map(|t| {
            format!(
                "{} {}/{}",
                s(t, "/name"),
                t.get("availableReplicas").and_then(Value::as_i64).unwrap_or(0),
                t.get("replicas").and_then(Value::as_i64).unwrap_or(0)
            )
        })
        .collect();
    let analyses: Vec<String> = list("/status/analysisRuns")
        .iter()
        .map(|a| format!("{}={}", s(a, "/name"), or_dash(s(a, "/phase"))))
        .collect();
    vec![
        s(x, "/metadata/name").to_string(),
        or_dash(s(x, "/status/phase")).to_string(),
        templates.join(" "),
        analyses.join(" "),
        s(x, "/status/message").to_string(),
    ]
}

/// The canary steps of `r`, the current one marked.
fn write_steps(out: &mut String, r: &Value, steps: &[Value], stable: &str, current: &str) {
    let idx = i(r, "/status/currentStepIndex");
    let _ = writeln!(out, "Step:       {}", step_of(r));
    if let Some(w) = r.pointer("/status/canary/weights") {
        let _ = writeln!(
            out,
            "Weights:    canary {} %, stable {} %",
            i(w, "/canary/weight"),
            i(w, "/stable/weight")
        );
    } else if stable != current && !current.is_empty() {
        // Without traffic routing the weight is the share of pods.
        let upto = usize::try_from(idx)
            .unwrap_or(0)
            .saturating_add(1)
            .min(steps.len());
        let set = steps[..upto]
            .iter()
            .rev()
            .find_map(|st| st.get("setWeight").and_then(Value::as_i64));
        let _ = writeln!(
            out,
            "Weights:    setWeight {} %, by pods: canary {} of {}",
            set.unwrap_or(0),
            i(r, "/status/updatedReplicas"),
            i(r, "/status/replicas"),
        );
    }
    let _ = writeln!(out, "Steps:");
    for (n, step) in steps.iter().enumerate() {
        let n = n as i64;
        let mark = if n == idx && stable != current {
            "▶"
        } else if n < idx || stable == current {
            "✔"
        } else {
            " "
        };
        let _ = writeln!(out, "  {mark} {n}  {}", step_text(step));
    }
}

/// One row of the ReplicaSets table: revision, hash, role, readiness, images.
fn replica_set_row(
    rs: &k8s_openapi::api::apps::v1::ReplicaSet,
    r: &Value,
    stable: &str,
    current: &str,
    active: &str,
) -> Vec<String> {
    let hash = rs
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(tack_rollout::POD_TEMPLATE_HASH_LABEL))
        .cloned()
        .unwrap_or_default();
    let role = if hash == stable {
        if strategy(r) == "BlueGreen" {
            "active"
        } else {
            "stable"
        }
    } else if hash == current {
        if strategy(r) == "BlueGreen" {
            "preview"
        } else {
            "canary"
        }
    } else if hash == active {
        "active"
    } else {
        "old"
    };
    let spec = rs.spec.as_ref();
    let template = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| serde_json::to_value(t).ok());
    vec![
        rs.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(tack_delivery::rollout::REVISION_ANNOTATION))
            .cloned()
            .unwrap_or_default(),
        hash,
        role.to_string(),
        format!(
            "{}/{}",
            rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0),
            spec.and_then(|s| s.replicas).unwrap_or(0)
        ),
        images(template.as_ref()),
    ]
}

/// One row of the AnalysisRuns table: name, phase, the last value of each metric, message.
fn analysis_run_row(a: &Value) -> Vec<String> {
    let measured: Vec<String> = a
        .pointer("/status/metricResults")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let last = m.get("measurements")?.as_array()?.last()?;
            Some(format!(
                "{}={}",
                m.get("name")?.as_str()?,
                last.get("value").and_then(Value::as_str).unwrap_or("-")
            ))
        })
        .collect();
    vec![
        s(a, "/metadata/name").to_string(),
        or_dash(s(a, "/status/phase")).to_string(),
        measured.join(" "),
        s(a, "/status/message").to_string(),
    ]
}

/// `text` with every ReplicaSet hash it mentions followed by that ReplicaSet's revision, as `kubectl argo
/// rollouts get` speaks of revisions: `… update to revision 5d8f7c6b9` → `… update to revision 5d8f7c6b9
/// (revision 3)`.
fn with_revisions(text: &str, replica_sets: &[k8s_openapi::api::apps::v1::ReplicaSet]) -> String {
    let mut out = text.to_string();
    for rs in replica_sets {
        let hash = rs
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(tack_rollout::POD_TEMPLATE_HASH_LABEL));
        let rev = rs
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(tack_delivery::rollout::REVISION_ANNOTATION));
        if let (Some(hash), Some(rev)) = (hash, rev)
            && !hash.is_empty()
        {
            let hash = hash.as_str();
            out = out
                .replace(&format!("revision {hash}"), &format!("revision {rev}"))
                .replace(&format!("{hash:?}"), &format!("{hash:?} (revision {rev})"));
        }
    }
    out
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn get_marks_the_current_step_and_lists_replica_sets_and_runs() {
        let raw = json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"replicas": 4, "strategy": {"canary": {"steps": [
                {"setWeight": 20}, {"pause": {"duration": "48h"}}, {"setWeight": 50}, {"pause": {}}]}}},
            "status": {"phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": 1,
                       "stableRS": "aaa", "currentPodHash": "bbb",
                       "canary": {"weights": {"canary": {"weight": 20}, "stable": {"weight": 80}}}}
        });
        let rs = |hash: &str, rev: &str, image: &str, replicas: i32| {
            serde_json::from_value(json!({
                "metadata": {"name": hash, "labels": {"rollouts-pod-template-hash": hash},
                             "annotations": {"rollout.argoproj.io/revision": rev}},
                "spec": {"replicas": replicas, "selector": {},
                         "template": {"spec": {"containers": [{"name": "web", "image": image}]}}},
                "status": {"replicas": replicas, "readyReplicas": replicas}
            }))
            .expect("rs")
        };
        let info = RolloutInfo {
            rollout: serde_json::from_value(raw.clone()).expect("rollout"),
            raw,
            replica_sets: vec![rs("bbb", "2", "web:2", 1), rs("aaa", "1", "web:1", 3)],
            analysis_runs: vec![json!({"metadata": {"name": "web-bbb-2"},
                "status": {"phase": "Running", "metricResults": [
                    {"name": "success-rate", "measurements": [{"value": "[0.99]"}]}]}})],
            experiments: vec![json!({"metadata": {"name": "web-bbb-2-1"},
                "status": {"phase": "Running", "templateStatuses": [
                    {"name": "baseline", "replicas": 1, "availableReplicas": 1},
                    {"name": "canary", "replicas": 1, "availableReplicas": 0}],
                    "analysisRuns": [{"name": "compare", "analysisRun": "web-bbb-2-1-compare", "phase": "Running"}]}})],
        };
        let text = render(&info);
        assert!(text.contains("Step:       1/4"), "{text}");
        assert!(text.contains("▶ 1  pause: 48h"), "{text}");
        assert!(text.contains("✔ 0  setWeight: 20"), "{text}");
        assert!(text.contains("canary 20 %, stable 80 %"), "{text}");
        assert!(text.contains("bbb   canary"), "{text}");
        assert!(text.contains("web:1"), "{text}");
        assert!(text.contains("success-rate=[0.99]"), "{text}");
        assert!(
            text.contains("web-bbb-2-1  Running  baseline 1/1 canary 0/1  compare=Running"),
            "{text}"
        );
    }

    #[test]
    fn messages_speak_of_revisions() {
        let rs: k8s_openapi::api::apps::v1::ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "web-bbb", "labels": {"rollouts-pod-template-hash": "bbb"},
                         "annotations": {"rollout.argoproj.io/revision": "3"}}
        }))
        .expect("rs");
        let rs = [rs];
        assert_eq!(
            with_revisions("RolloutAborted: Rollout aborted update to revision bbb", &rs),
            "RolloutAborted: Rollout aborted update to revision 3"
        );
        assert_eq!(
            with_revisions(
                "ProgressDeadlineExceeded: ReplicaSet \"bbb\" has timed out progressing.",
                &rs
            ),
            "ProgressDeadlineExceeded: ReplicaSet \"bbb\" (revision 3) has timed out progressing."
        );
        assert_eq!(with_revisions("nothing to say", &rs), "nothing to say");
    }

    #[test]
    fn container_image_argument() {
        assert_eq!(
            parse_container_image("web=img:2"),
            Ok(("web".to_string(), "img:2".to_string()))
        );
        assert!(parse_container_image("web").is_err());
    }
}
