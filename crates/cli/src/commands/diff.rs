//! `tack diff`: live vs desired, as unified diffs with Secret values masked. Exit 0 when equal, 1 when they
//! differ, 2 on errors (like `kubectl diff`).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use tack_apply::DiffOptions;

use crate::args::DiffArgs;
use crate::config::{Output, Settings};

pub async fn run(args: &DiffArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    match diff(args, settings).await {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

async fn diff(args: &DiffArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let rendered = super::render::load(&args.source, settings.namespace.as_deref()).await?;
    let cluster = settings.connect().await?;
    let namespace = settings
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let opts = DiffOptions {
        namespace,
        app: args.name.clone(),
        ignore: Vec::new(),
        color,
        context: None,
    };
    let report = tack_apply::diff(&cluster, rendered.manifests, &opts).await?;
    let mut out = std::io::stdout().lock();
    if settings.output == Output::Json {
        let items: Vec<serde_json::Value> = report
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({"object": e.id.to_string(), "origin": e.origin.as_ref().map(ToString::to_string), "diff": e.text})
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"differs": !report.entries.is_empty(), "objects": items})
            )?
        )?;
    } else {
        for e in &report.entries {
            out.write_all(e.text.as_bytes())?;
        }
    }
    out.flush()?;
    if report.entries.is_empty() {
        eprintln!("no differences ({} objects compared)", report.compared);
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{} of {} objects differ", report.entries.len(), report.compared);
        Ok(ExitCode::from(1))
    }
}
