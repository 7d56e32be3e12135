//! The `jsonnet` command line of go-jsonnet v0.22.0: the same flags, output and exit codes.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{EvalOptions, Input, VarValue, manifest};

/// What the command line asks for.
#[derive(Debug, Default)]
struct Config {
    options: EvalOptions,
    is_code: bool,
    output_file: Option<String>,
    multi_dir: Option<String>,
    create_dirs: bool,
    stream: bool,
    string: bool,
    newline: bool,
    inputs: Vec<String>,
}

enum Parsed {
    Run(Box<Config>),
    Exit(i32),
}

const USAGE: &str = "\
Usage:
jsonnet [<opt>] <filename>
jsonnet [<opt>] -e <code>

Available options:
  -h / --help                This message
  -e / --exec                Treat filename as code
  -J / --jpath <dir>         Specify an additional library search dir
                             (right-most wins)
  -o / --output-file <file>  Write to the output file rather than stdout
  -m / --multi <dir>         Write multiple files to the directory, list files on stdout
  -c / --create-output-dirs  Automatically creates all parent directories for files
  -y / --yaml-stream         Write output as a YAML stream of JSON documents
  -S / --string              Expect a string, manifest as plain text
  -s / --max-stack <n>       Number of allowed stack frames
  -t / --max-trace <n>       Max length of stack trace before cropping
  --version                  Print version

Available options for specifying values of 'external' variables:
  -V / --ext-str <var>[=<val>]     If <val> is omitted, get from environment var <var>
       --ext-str-file <var>=<file> Read the string from the file
       --ext-code <var>[=<code>]   If <code> is omitted, get from environment var <var>
       --ext-code-file <var>=<file> Read the code from the file
  -A / --tla-str <var>[=<val>]     If <val> is omitted, get from environment var <var>
       --tla-str-file <var>=<file> Read the string from the file
       --tla-code <var>[=<code>]   If <code> is omitted, get from environment var <var>
       --tla-code-file <var>=<file> Read the code from the file
";

/// Marks `--version` among the early exits of [`parse_args`].
const VERSION: i32 = -1;

/// Runs the command with `args` (without the program name); returns the exit code.
pub fn run(args: &[String], stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let config = match parse(args, stdout, stderr) {
        Parsed::Run(config) => config,
        Parsed::Exit(code) => return code,
    };
    match execute(&config, stdout) {
        Ok(()) => 0,
        Err(message) => {
            let _ = writeln!(stderr, "{message}");
            1
        }
    }
}

/// go-jsonnet splits `-abc` into `-a -b -c` (before any `--`).
fn simplify(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if arg == "--" {
            out.extend(args[i..].iter().cloned());
            break;
        }
        let bytes = arg.as_bytes();
        if bytes.len() > 2 && bytes[0] == b'-' && bytes[1] != b'-' {
            out.extend(arg.chars().skip(1).map(|c| format!("-{c}")));
        } else {
            out.push(arg.clone());
        }
    }
    out
}

fn var_val(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) => Ok((k.into(), v.into())),
        None => std::env::var(s)
            .map(|v| (s.to_string(), v))
            .map_err(|_| format!("environment variable {s} was undefined")),
    }
}

fn var_file(s: &str, import: &str) -> Result<(String, VarValue), String> {
    match s.split_once('=') {
        Some((k, f)) => Ok((
            k.into(),
            VarValue::Code(format!("{import} @'{}'", f.replace('\'', "''"))),
        )),
        None => Err(format!("argument not in form <var>=<file> \"{s}\"")),
    }
}

fn parse(given: &[String], stdout: &mut dyn Write, stderr: &mut dyn Write) -> Parsed {
    let mut config = Config {
        newline: true,
        ..Config::default()
    };
    if let Ok(path) = std::env::var("JSONNET_PATH") {
        config
            .options
            .jpath
            .extend(std::env::split_paths(&path).collect::<Vec<_>>().into_iter().rev());
    }
    match parse_args(&simplify(given), &mut config) {
        Ok(Some(code)) => {
            if code == VERSION {
                let _ = writeln!(
                    stdout,
                    "Jsonnet commandline interpreter (tack, compatible with go-jsonnet v0.22.0)"
                );
                return Parsed::Exit(0);
            }
            if code == 0 {
                let _ = stdout.write_all(USAGE.as_bytes());
            }
            Parsed::Exit(code)
        }
        Ok(None) if config.inputs.is_empty() => {
            let want = if config.is_code { "code" } else { "filename" };
            let _ = writeln!(stderr, "ERROR: must give {want}\n");
            let _ = stderr.write_all(USAGE.as_bytes());
            Parsed::Exit(1)
        }
        Ok(None) if config.inputs.len() > 1 => {
            let want = if config.is_code { "code" } else { "filename" };
            let _ = writeln!(stderr, "ERROR: only one {want} is allowed");
            Parsed::Exit(1)
        }
        Ok(None) => Parsed::Run(Box::new(config)),
        Err(message) => {
            let _ = writeln!(stderr, "ERROR: {message}");
            Parsed::Exit(1)
        }
    }
}

/// Fills `config`; `Ok(Some(code))` means exit at once (help, version).
fn parse_args(args: &[String], config: &mut Config) -> Result<Option<i32>, String> {
    let mut i = 0;
    let next = |i: &mut usize| -> String {
        *i += 1;
        args.get(*i).cloned().unwrap_or_default()
    };
    while i < args.len() {
        let arg = args[i].as_str();
        match arg {
            "-h" | "--help" => return Ok(Some(0)),
            "-v" | "--version" => return Ok(Some(VERSION)),
            "-e" | "--exec" => config.is_code = true,
            "-o" | "--output-file" => {
                let file = next(&mut i);
                if file.is_empty() {
                    return Err("-o argument was empty string".into());
                }
                config.output_file = Some(file);
            }
            "--" => {
                config.inputs.extend(args[i + 1..].iter().cloned());
                break;
            }
            "-s" | "--max-stack" => {
                let n: i64 = next(&mut i).parse().unwrap_or(0);
                if n < 1 {
                    return Err(format!("invalid --max-stack value: {n}"));
                }
                config.options.max_stack = usize::try_from(n).unwrap_or(usize::MAX);
            }
            "-J" | "--jpath" => {
                let dir = next(&mut i);
                if dir.is_empty() {
                    return Err("-J argument was empty string".into());
                }
                config.options.jpath.push(PathBuf::from(dir));
            }
            "-V" | "--ext-str" => {
                let (k, v) = var_val(&next(&mut i))?;
                config.options.ext_vars.push((k, VarValue::Str(v)));
            }
            "--ext-code" => {
                let (k, v) = var_val(&next(&mut i))?;
                config.options.ext_vars.push((k, VarValue::Code(v)));
            }
            "--ext-str-file" => config
                .options
                .ext_vars
                .push(var_file(&next(&mut i), "importstr")?),
            "--ext-code-file" => config.options.ext_vars.push(var_file(&next(&mut i), "import")?),
            "-A" | "--tla-str" => {
                let (k, v) = var_val(&next(&mut i))?;
                config.options.tlas.push((k, VarValue::Str(v)));
            }
            "--tla-code" => {
                let (k, v) = var_val(&next(&mut i))?;
                config.options.tlas.push((k, VarValue::Code(v)));
            }
            "--tla-str-file" => config.options.tlas.push(var_file(&next(&mut i), "importstr")?),
            "--tla-code-file" => config.options.tlas.push(var_file(&next(&mut i), "import")?),
            "-t" | "--max-trace" => {
                let n: i64 = next(&mut i).parse().unwrap_or(0);
                if n < 0 {
                    return Err(format!("invalid --max-trace value: {n}"));
                }
            }
            "-m" | "--multi" => {
                let mut dir = next(&mut i);
                if dir.is_empty() {
                    return Err("-m argument was empty string".into());
                }
                if !dir.ends_with('/') {
                    dir.push('/');
                }
                config.multi_dir = Some(dir);
            }
            "-c" | "--create-output-dirs" => config.create_dirs = true,
            "-y" | "--yaml-stream" => config.stream = true,
            "-S" | "--string" => config.string = true,
            "--no-trailing-newline" => config.newline = false,
            _ if arg.len() > 1 && arg.starts_with('-') => {
                return Err(format!("unrecognized argument: {arg}"));
            }
            _ => config.inputs.push(arg.to_string()),
        }
        i += 1;
    }
    if config.stream && !config.newline {
        return Err("cannot use --no-trailing-newline with --yaml-stream".into());
    }
    Ok(None)
}

fn execute(config: &Config, stdout: &mut dyn Write) -> Result<(), String> {
    let first = config.inputs.first().cloned().unwrap_or_default();
    let input = if config.is_code {
        Input::Snippet {
            name: "<cmdline>".into(),
            code: first,
        }
    } else if first == "-" {
        let mut code = String::new();
        std::io::stdin()
            .read_to_string(&mut code)
            .map_err(|e| e.to_string())?;
        Input::Snippet {
            name: "<stdin>".into(),
            code,
        }
    } else {
        Input::File(PathBuf::from(first))
    };
    // One evaluation, then the process exits: on this thread (the allocator's main arena), memory left to the exit.
    let options = crate::EvalOptions {
        leave_allocated: true,
        ..config.options.clone()
    };
    let nl = if config.newline { "\n" } else { "" };
    if config.multi_dir.is_none() && !config.stream && !config.string {
        let mut json = crate::evaluate_here_json(&input, &options).map_err(|e| e.to_string())?;
        json.push_str(nl);
        return write_output(&json, config, stdout);
    }
    let value = crate::evaluate_here(&input, &options).map_err(|e| e.to_string())?;
    let value = std::mem::ManuallyDrop::new(value);
    if let Some(dir) = &config.multi_dir {
        let files = multi(&value, config.string, nl)?;
        return write_multi(&files, dir, config, stdout);
    }
    let text = if config.stream {
        manifest::to_yaml_stream(&value)?
    } else if config.string {
        format!("{}{nl}", manifest::to_string_output(&value)?)
    } else {
        format!("{}{nl}", manifest::to_json(&value))
    };
    write_output(&text, config, stdout)
}

/// `-m`: file name to content, in sorted order.
fn multi(value: &Value, string: bool, nl: &str) -> Result<Vec<(String, String)>, String> {
    let Value::Object(map) = value else {
        return Err(format!(
            "RUNTIME ERROR: multi mode: top-level object was a {}, should be an object whose keys are filenames and values hold the JSON for that file.\n\tDuring manifestation\t\n",
            manifest::type_name(value)
        ));
    };
    let mut files = Vec::new();
    for (name, v) in map {
        let body = if string {
            match v {
                Value::String(s) => s.clone(),
                other => {
                    return Err(format!(
                        "RUNTIME ERROR: multi mode: top-level object's key {name} has a value of type {}, should be a string\n\tDuring manifestation\t\n",
                        go_type(other)
                    ));
                }
            }
        } else {
            manifest::to_json(v)
        };
        files.push((name.clone(), format!("{body}{nl}")));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// Go's `%T` of a decoded JSON value.
fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn write_multi(
    files: &[(String, String)],
    dir: &str,
    config: &Config,
    stdout: &mut dyn Write,
) -> Result<(), String> {
    if files.is_empty() {
        return Ok(());
    }
    let dir = crate::import::clean(dir);
    if !Path::new(&dir).is_dir() {
        if config.create_dirs {
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        } else {
            return Err(format!("openat {dir}: no such file or directory"));
        }
    }
    let mut listing = String::new();
    for (name, content) in files {
        let rel = crate::import::clean(name.trim_start_matches('/'));
        if rel == ".." || rel.starts_with("../") {
            return Err(format!("openat {name}: path escapes from parent"));
        }
        let path = Path::new(&dir).join(&rel);
        listing.push_str(&format!("{}\n", path.display()));
        if std::fs::read(&path).is_ok_and(|old| old == content.as_bytes()) {
            continue;
        }
        if config.create_dirs
            && let Some(parent) = path.parent()
        {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, content).map_err(|e| format!("open {}: {e}", path.display()))?;
    }
    write_output(&listing, config, stdout)
}

fn write_output(text: &str, config: &Config, stdout: &mut dyn Write) -> Result<(), String> {
    match &config.output_file {
        None => stdout.write_all(text.as_bytes()).map_err(|e| e.to_string()),
        Some(file) => {
            if config.create_dirs
                && let Some(parent) = Path::new(file).parent()
            {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(file, text).map_err(|e| format!("open {file}: {e}"))
        }
    }
}
