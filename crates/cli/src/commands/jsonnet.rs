//! `tack jsonnet`: go-jsonnet's `jsonnet` command line (same flags, byte-identical output, same exit codes),
//! evaluated by tack-jsonnet. Its arguments are go-jsonnet's, not tack's: `-o` is the output file, `-J` a
//! library path; `tack jsonnet --help` lists them.

use std::process::ExitCode;

use clap::Args;

/// The arguments, passed to go-jsonnet's command line parser as they are.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct JsonnetArgs {
    /// go-jsonnet's options and the file (or code with -e); see `tack jsonnet --help`
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "ARGS")]
    pub args: Vec<String>,
}

/// Runs `tack jsonnet ARGS...` when the command line starts with it (before tack's own parser, whose global
/// flags `-o` and `-n` mean other things); `None` for every other command.
pub fn run_direct() -> Option<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("jsonnet") {
        return None;
    }
    Some(run(&JsonnetArgs {
        args: args[1..].to_vec(),
    }))
}

/// Evaluates as go-jsonnet's `jsonnet` command does.
pub fn run(args: &JsonnetArgs) -> ExitCode {
    let code = tack_jsonnet::cli::run(&args.args, &mut std::io::stdout().lock(), &mut std::io::stderr());
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// The Jsonnet options of `tack render/diff/sync`; `None` when no Jsonnet flag is given.
pub fn source_options(
    args: &crate::args::JsonnetSourceArgs,
) -> anyhow::Result<Option<tack_jsonnet::JsonnetOptions>> {
    if is_empty(args) {
        return Ok(None);
    }
    let vars =
        |flag: &str, list: &[String], code: bool| -> anyhow::Result<Vec<(String, tack_jsonnet::VarValue)>> {
            list.iter()
                .map(|kv| {
                    let (k, v) = split_var(flag, kv)?;
                    let value = if code {
                        tack_jsonnet::VarValue::Code(v)
                    } else {
                        tack_jsonnet::VarValue::Str(v)
                    };
                    Ok((k, value))
                })
                .collect()
        };
    let mut ext_vars = vars("--ext-str", &args.ext_str, false)?;
    ext_vars.extend(vars("--ext-code", &args.ext_code, true)?);
    let mut tlas = vars("--tla-str", &args.tla_str, false)?;
    tlas.extend(vars("--tla-code", &args.tla_code, true)?);
    for (flag, glob) in [
        ("--jsonnet-include", &args.jsonnet_include),
        ("--jsonnet-exclude", &args.jsonnet_exclude),
    ] {
        if let Some(g) = glob {
            tack_jsonnet::check_glob(g).map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
        }
    }
    Ok(Some(tack_jsonnet::JsonnetOptions {
        ext_vars,
        tlas,
        libs: args.jpath.clone(),
        recurse: args.jsonnet_recurse,
        include: args.jsonnet_include.clone(),
        exclude: args.jsonnet_exclude.clone(),
        extract: match args.jsonnet_extract.as_deref() {
            Some("nested") => tack_jsonnet::Extract::Nested,
            _ => tack_jsonnet::Extract::TopLevel,
        },
        timeout: None,
    }))
}

/// The same flags as a GitOpsConfig's `spec.source.jsonnet` (`tack app create`); `None` when none is given.
pub fn source_spec(
    args: &crate::args::JsonnetSourceArgs,
) -> anyhow::Result<Option<tack_model::JsonnetOptions>> {
    if is_empty(args) {
        return Ok(None);
    }
    let vars = |pairs: [(&str, &[String], bool); 2]| -> anyhow::Result<Vec<tack_model::JsonnetVar>> {
        let mut out = Vec::new();
        for (flag, list, code) in pairs {
            for kv in list {
                let (name, value) = split_var(flag, kv)?;
                out.push(tack_model::JsonnetVar { name, value, code });
            }
        }
        Ok(out)
    };
    let mut libs = Vec::with_capacity(args.jpath.len());
    for p in &args.jpath {
        let text = p
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("--jpath {}: not UTF-8", p.display()))?;
        libs.push(text.to_string());
    }
    Ok(Some(tack_model::JsonnetOptions {
        ext_vars: vars([
            ("--ext-str", &args.ext_str, false),
            ("--ext-code", &args.ext_code, true),
        ])?,
        tlas: vars([
            ("--tla-str", &args.tla_str, false),
            ("--tla-code", &args.tla_code, true),
        ])?,
        libs,
        recurse: args.jsonnet_recurse,
        include: args.jsonnet_include.clone(),
        exclude: args.jsonnet_exclude.clone(),
        extract: args.jsonnet_extract.clone(),
    }))
}

fn is_empty(args: &crate::args::JsonnetSourceArgs) -> bool {
    args.ext_str.is_empty()
        && args.ext_code.is_empty()
        && args.tla_str.is_empty()
        && args.tla_code.is_empty()
        && args.jpath.is_empty()
        && !args.jsonnet_recurse
        && args.jsonnet_include.is_none()
        && args.jsonnet_exclude.is_none()
        && args.jsonnet_extract.is_none()
}

/// `K=V`, or `K` alone for the value of the environment variable `K` (the `jsonnet` command's rule).
fn split_var(flag: &str, kv: &str) -> anyhow::Result<(String, String)> {
    let (k, v) = match kv.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => {
            let v = std::env::var(kv)
                .map_err(|_| anyhow::anyhow!("{flag} {kv}: no `=VALUE` and no environment variable {kv}"))?;
            (kv.to_string(), v)
        }
    };
    if k.is_empty() {
        anyhow::bail!("{flag} {kv}: the name is empty");
    }
    Ok((k, v))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::args::JsonnetSourceArgs;

    #[test]
    fn flags_become_source_options_and_spec() {
        let args = JsonnetSourceArgs {
            ext_str: vec!["region=eu".into()],
            ext_code: vec!["debug=true".into()],
            tla_str: vec!["env=qa".into()],
            tla_code: vec!["replicas=1+1".into()],
            jpath: vec!["vendor".into()],
            jsonnet_extract: Some("nested".into()),
            ..Default::default()
        };
        let o = source_options(&args).unwrap().unwrap();
        assert_eq!(
            o.ext_vars,
            [
                ("region".into(), tack_jsonnet::VarValue::Str("eu".into())),
                ("debug".into(), tack_jsonnet::VarValue::Code("true".into()))
            ]
        );
        assert_eq!(
            o.tlas[1],
            ("replicas".into(), tack_jsonnet::VarValue::Code("1+1".into()))
        );
        assert_eq!(o.extract, tack_jsonnet::Extract::Nested);
        let s = source_spec(&args).unwrap().unwrap();
        assert_eq!(s.libs, ["vendor"]);
        assert!(s.tlas[1].code && s.tlas[1].value == "1+1");
        assert_eq!(s.extract.as_deref(), Some("nested"));
        assert!(source_options(&JsonnetSourceArgs::default()).unwrap().is_none());
        let bad = JsonnetSourceArgs {
            tla_str: vec!["=x".into()],
            ..Default::default()
        };
        assert!(
            source_options(&bad)
                .unwrap_err()
                .to_string()
                .contains("the name is empty")
        );
    }
}
