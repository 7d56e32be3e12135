//! `helm template`'s command line (`[NAME] CHART` and its flags), for tools and tests that take Helm's own
//! arguments.

use crate::Options;
use crate::error::{Error, Result};

/// A parsed `helm template` command line.
#[derive(Debug, Clone)]
pub struct TemplateArgs {
    /// The chart path as given.
    pub chart: String,
    /// The rendering options the flags set.
    pub options: Options,
}

/// Parses the arguments after `helm template`.
pub fn parse_template_args(args: &[String]) -> Result<TemplateArgs> {
    let mut opts = Options::default();
    let mut positional = Vec::new();
    let mut name_given = false;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if !a.starts_with('-') || a == "-" {
            positional.push(a.clone());
            continue;
        }
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if a.starts_with("--") || f.len() == 2 => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let bool_flag = |inline: &Option<String>| -> Result<bool> {
            match inline.as_deref() {
                None | Some("true") => Ok(true),
                Some("false") => Ok(false),
                Some(v) => Err(Error::Args(format!("invalid argument {v:?} for {flag:?} flag"))),
            }
        };
        match flag.as_str() {
            "--include-crds" => opts.include_crds = bool_flag(&inline)?,
            "--no-hooks" => opts.no_hooks = bool_flag(&inline)?,
            "--skip-tests" => opts.skip_tests = bool_flag(&inline)?,
            "--is-upgrade" => opts.is_upgrade = bool_flag(&inline)?,
            "--skip-schema-validation" => opts.skip_schema_validation = bool_flag(&inline)?,
            _ => {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        let Some(v) = args.get(i) else {
                            return Err(Error::Args(format!("flag needs an argument: {flag}")));
                        };
                        i += 1;
                        v.clone()
                    }
                };
                match flag.as_str() {
                    "-f" | "--values" => opts.value_files.extend(value.split(',').map(str::to_string)),
                    "--set" => opts.set.push(value),
                    "--set-string" => opts.set_string.push(value),
                    "--set-json" => opts.set_json.push(value),
                    "--set-file" => opts.set_file.push(value),
                    "--set-literal" => opts.set_literal.push(value),
                    "-n" | "--namespace" => opts.namespace = value,
                    "--kube-version" => opts.kube_version = Some(value),
                    "-a" | "--api-versions" => opts.api_versions.extend(value.split(',').map(str::to_string)),
                    "-s" | "--show-only" => opts.show_only.push(value),
                    "--release-name" | "--name" => {
                        opts.release_name = value;
                        name_given = true;
                    }
                    _ => return Err(Error::Args(format!("unknown flag: {flag}"))),
                }
            }
        }
    }
    let chart = match positional.len() {
        1 => positional.remove(0),
        2 => {
            opts.release_name = positional.remove(0);
            name_given = true;
            positional.remove(0)
        }
        0 => return Err(Error::Args("requires at least 1 arg(s), only received 0".into())),
        _ => {
            return Err(Error::Args(format!(
                "expected at most two arguments, unexpected arguments: {}",
                positional[2..].join(", ")
            )));
        }
    };
    let _ = name_given;
    Ok(TemplateArgs { chart, options: opts })
}
