//! Layered configuration: built-in defaults < YAML config file (`--config FILE` or `$TACK_CONFIG`) <
//! `TACK_*` environment variables < command-line flags.
//!
//! Resolution is a pure function of its inputs (file text, an environment lookup, the parsed flags), so
//! every level and their interplay are tested without touching the process environment.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

/// Output format of commands that print objects or tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// Human-readable text and tables.
    #[default]
    Text,
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

impl FromStr for Output {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Output::Text),
            "yaml" => Ok(Output::Yaml),
            "json" => Ok(Output::Json),
            other => Err(format!(
                "`{other}` is not an output format; use text, yaml or json"
            )),
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Output::Text => "text",
            Output::Yaml => "yaml",
            Output::Json => "json",
        })
    }
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// The default.
    #[default]
    Info,
    /// Detail for troubleshooting.
    Debug,
    /// Everything.
    Trace,
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "error" => Ok(LogLevel::Error),
            "warn" => Ok(LogLevel::Warn),
            "info" => Ok(LogLevel::Info),
            "debug" => Ok(LogLevel::Debug),
            "trace" => Ok(LogLevel::Trace),
            other => Err(format!(
                "`{other}` is not a log level; use error, warn, info, debug or trace"
            )),
        }
    }
}

impl LogLevel {
    /// The `tracing` filter directive.
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// The configuration file: every key optional; unknown keys are errors.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileConfig {
    /// Path of the kubeconfig to use.
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context.
    pub context: Option<String>,
    /// Default namespace.
    pub namespace: Option<String>,
    /// Output format.
    pub output: Option<Output>,
    /// Log level.
    pub log_level: Option<LogLevel>,
}

/// The global flags as parsed (all optional; `None` means "not given").
#[derive(Debug, Default, Clone)]
pub struct FlagValues {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub output: Option<Output>,
    pub log_level: Option<LogLevel>,
}

/// The effective settings after all layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// kubeconfig path; `None` means the usual inference ($KUBECONFIG, ~/.kube/config, in-cluster).
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context; `None` means the current context.
    pub context: Option<String>,
    /// Namespace; `None` means the kubeconfig context's namespace, else `default`.
    pub namespace: Option<String>,
    /// Output format.
    pub output: Output,
    /// Log level.
    pub log_level: LogLevel,
    /// The configuration file that was read, if any.
    pub config_file: Option<PathBuf>,
}

impl Settings {
    /// A cluster client from these settings (kubeconfig, context).
    pub async fn connect(&self) -> anyhow::Result<tack_cluster::Cluster> {
        let opts = tack_cluster::ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        };
        Ok(tack_cluster::Cluster::connect(&opts).await?)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            kubeconfig: None,
            context: None,
            namespace: None,
            output: Output::Text,
            log_level: LogLevel::Info,
            config_file: None,
        }
    }
}

/// The configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The file is not valid: unknown key, wrong type or bad YAML.
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: u64,
        message: String,
    },
    /// A `TACK_*` variable holds an invalid value.
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
}

/// Parses configuration file text. `path` is only used in errors.
pub fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    serde_saphyr::from_str::<FileConfig>(text).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(0);
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            message: clean_message(&e.to_string()),
        }
    })
}

/// The library's message carries a rendered snippet after the first line; keep the first line, which
/// names the key and what was expected.
fn clean_message(full: &str) -> String {
    let first = full.lines().next().unwrap_or(full).trim();
    first.to_string()
}

/// Reads the configuration file (if one is named) and applies every layer.
pub fn load(
    config_flag: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    flags: &FlagValues,
) -> Result<Settings, ConfigError> {
    let path = config_flag
        .map(Path::to_path_buf)
        .or_else(|| env("TACK_CONFIG").filter(|s| !s.is_empty()).map(PathBuf::from));
    let file = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.clone(),
                source,
            })?;
            Some(parse_file(p, &text)?)
        }
        None => None,
    };
    let mut settings = resolve(file.unwrap_or_default(), env, flags)?;
    settings.config_file = path;
    Ok(settings)
}

/// Applies defaults < file < environment < flags.
pub fn resolve(
    file: FileConfig,
    env: &dyn Fn(&str) -> Option<String>,
    flags: &FlagValues,
) -> Result<Settings, ConfigError> {
    let mut s = Settings::default();
    // file
    s.kubeconfig = file.kubeconfig.or(s.kubeconfig);
    s.context = file.context.or(s.context);
    s.namespace = file.namespace.or(s.namespace);
    s.output = file.output.unwrap_or(s.output);
    s.log_level = file.log_level.unwrap_or(s.log_level);
    // environment
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(v) = var("TACK_KUBECONFIG") {
        s.kubeconfig = Some(PathBuf::from(v));
    }
    if let Some(v) = var("TACK_CONTEXT") {
        s.context = Some(v);
    }
    if let Some(v) = var("TACK_NAMESPACE") {
        s.namespace = Some(v);
    }
    if let Some(v) = var("TACK_OUTPUT") {
        s.output = v.parse().map_err(|message| ConfigError::Env {
            name: "TACK_OUTPUT",
            message,
        })?;
    }
    if let Some(v) = var("TACK_LOG_LEVEL") {
        s.log_level = v.parse().map_err(|message| ConfigError::Env {
            name: "TACK_LOG_LEVEL",
            message,
        })?;
    }
    // flags
    if let Some(v) = &flags.kubeconfig {
        s.kubeconfig = Some(v.clone());
    }
    if let Some(v) = &flags.context {
        s.context = Some(v.clone());
    }
    if let Some(v) = &flags.namespace {
        s.namespace = Some(v.clone());
    }
    if let Some(v) = flags.output {
        s.output = v;
    }
    if let Some(v) = flags.log_level {
        s.log_level = v;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn file(text: &str) -> FileConfig {
        parse_file(Path::new("tack.yaml"), text).expect("valid file")
    }

    #[test]
    fn defaults_alone() {
        let s = resolve(FileConfig::default(), &env_of(&[]), &FlagValues::default()).expect("resolve");
        assert_eq!(s, Settings::default());
        assert_eq!(s.output, Output::Text);
        assert_eq!(s.log_level, LogLevel::Info);
    }

    #[test]
    fn file_overrides_defaults() {
        let f = file("namespace: team-a\noutput: json\nlogLevel: debug\ncontext: prod\nkubeconfig: /k\n");
        let s = resolve(f, &env_of(&[]), &FlagValues::default()).expect("resolve");
        assert_eq!(s.namespace.as_deref(), Some("team-a"));
        assert_eq!(s.output, Output::Json);
        assert_eq!(s.log_level, LogLevel::Debug);
        assert_eq!(s.context.as_deref(), Some("prod"));
        assert_eq!(s.kubeconfig, Some(PathBuf::from("/k")));
    }

    #[test]
    fn environment_overrides_file() {
        let f = file("namespace: team-a\noutput: json\n");
        let s = resolve(
            f,
            &env_of(&[("TACK_NAMESPACE", "team-b"), ("TACK_LOG_LEVEL", "warn")]),
            &FlagValues::default(),
        )
        .expect("resolve");
        assert_eq!(s.namespace.as_deref(), Some("team-b"));
        assert_eq!(
            s.output,
            Output::Json,
            "a key the environment does not set keeps the file's value"
        );
        assert_eq!(s.log_level, LogLevel::Warn);
    }

    #[test]
    fn flags_override_everything() {
        let f = file("namespace: team-a\noutput: json\n");
        let env = env_of(&[("TACK_NAMESPACE", "team-b"), ("TACK_OUTPUT", "yaml")]);
        let flags = FlagValues {
            namespace: Some("team-c".into()),
            ..Default::default()
        };
        let s = resolve(f, &env, &flags).expect("resolve");
        assert_eq!(s.namespace.as_deref(), Some("team-c"));
        assert_eq!(
            s.output,
            Output::Yaml,
            "no flag given: the environment wins over the file"
        );
    }

    #[test]
    fn empty_environment_values_are_ignored() {
        let s = resolve(
            file("namespace: a\n"),
            &env_of(&[("TACK_NAMESPACE", "")]),
            &FlagValues::default(),
        )
        .expect("resolve");
        assert_eq!(s.namespace.as_deref(), Some("a"));
    }

    #[test]
    fn bad_environment_value_names_the_variable() {
        let err = resolve(
            FileConfig::default(),
            &env_of(&[("TACK_OUTPUT", "xml")]),
            &FlagValues::default(),
        )
        .expect_err("invalid");
        let msg = err.to_string();
        assert!(msg.contains("TACK_OUTPUT") && msg.contains("xml"), "{msg}");
    }

    #[test]
    fn unknown_key_names_key_file_and_line() {
        let err = parse_file(Path::new("/etc/tack.yaml"), "namespace: a\n\nnamspace: b\n")
            .expect_err("unknown key");
        let msg = err.to_string();
        assert!(msg.starts_with("/etc/tack.yaml:3:"), "{msg}");
        assert!(msg.contains("namspace"), "{msg}");
    }

    #[test]
    fn wrong_type_names_key_file_and_line() {
        let err = parse_file(Path::new("c.yaml"), "namespace: a\noutput: [json]\n").expect_err("wrong type");
        let msg = err.to_string();
        assert!(msg.starts_with("c.yaml:2:"), "{msg}");
        let err = parse_file(Path::new("c.yaml"), "logLevel: loud\n").expect_err("bad enum");
        assert!(err.to_string().starts_with("c.yaml:1:"), "{err}");
        assert!(err.to_string().contains("loud"), "{err}");
    }

    #[test]
    fn config_file_from_flag_or_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        std::fs::write(&a, "namespace: from-a\n").expect("write");
        std::fs::write(&b, "namespace: from-b\n").expect("write");
        let b_str = b.display().to_string();
        let env = env_of(&[("TACK_CONFIG", b_str.as_str())]);
        let s = load(None, &env, &FlagValues::default()).expect("load");
        assert_eq!(s.namespace.as_deref(), Some("from-b"));
        assert_eq!(s.config_file.as_deref(), Some(b.as_path()));
        let s = load(Some(&a), &env, &FlagValues::default()).expect("load");
        assert_eq!(
            s.namespace.as_deref(),
            Some("from-a"),
            "--config wins over $TACK_CONFIG"
        );
        let err = load(
            Some(&dir.path().join("missing.yaml")),
            &env,
            &FlagValues::default(),
        )
        .expect_err("missing");
        assert!(err.to_string().contains("missing.yaml"), "{err}");
    }
}
