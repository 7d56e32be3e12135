//! The command line: one table of commands and flags (the command names are fixed; README lists them).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{FlagValues, LogLevel, Output};

/// tack keeps Kubernetes clusters equal to Git and ships releases safely.
#[derive(Debug, Parser)]
// `--version` is tack's own only at the top (`tack --version`); below it, `--version` is a chart's version.
#[command(name = "tack", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalFlags,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted by every command. Precedence: built-in defaults < config file < TACK_* environment
/// variables < these flags.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalFlags {
    /// Path to the kubeconfig file [env: TACK_KUBECONFIG; default: $KUBECONFIG, ~/.kube/config or in-cluster]
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use [env: TACK_CONTEXT; default: the current context]
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace [env: TACK_NAMESPACE; default: the context's namespace]
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// Configuration file (YAML) [env: TACK_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format [env: TACK_OUTPUT; default: text]
    #[arg(short = 'o', long, global = true, value_enum)]
    pub output: Option<Output>,
    /// Log level [env: TACK_LOG_LEVEL; default: info]
    #[arg(long, global = true, value_enum)]
    pub log_level: Option<LogLevel>,
}

impl GlobalFlags {
    pub fn values(&self) -> FlagValues {
        FlagValues {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespace: self.namespace.clone(),
            output: self.output,
            log_level: self.log_level,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print tack's version and the versions it pins.
    Version,
    /// Manage the local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
    /// kube-scheduler and KWOK on 127.0.0.1, no containers).
    Dev(DevArgs),
    /// Guided demo on the local control plane: the narrative on standard output, the in-process controllers'
    /// log lines in a file it names.
    Demo(crate::commands::demo::DemoArgs),
    /// Print the rendered manifests of a directory (plain YAML/JSON or a kustomization) or Git source.
    Render(RenderArgs),
    /// Show how the cluster differs from the manifests (exit 0: equal, 1: different, 2: error).
    Diff(DiffArgs),
    /// Apply the manifests with server-side apply, in order, optionally pruning what left Git.
    Sync(SyncArgs),
    /// Run the GitOpsConfig controller: keep every application synced from Git until SIGINT/SIGTERM.
    Controller(crate::commands::controller::ControllerArgs),
    /// Manage applications (GitOpsConfig resources).
    #[command(subcommand)]
    App(crate::commands::app::AppCommand),
    /// Manage the clusters applications may be deployed to (spec.destination.cluster): add, list, remove.
    #[command(subcommand)]
    Cluster(crate::commands::cluster::ClusterCommand),
    /// Progressive delivery: list, inspect, promote, abort, retry, undo, pause, resume Rollouts (argoproj.io).
    #[command(subcommand)]
    Rollout(crate::commands::rollout::RolloutCommand),
    /// Environments and promotion: list pipelines, show their stages, promote, approve, history, rollback.
    #[command(subcommand)]
    Env(crate::commands::env::EnvCommand),
    /// The web dashboard and HTTP API on 127.0.0.1, with the kubeconfig's rights (prints the URL).
    Dashboard(crate::commands::dashboard::DashboardArgs),
    /// Install tack: CRDs, namespace tack-system, RBAC and the controller Deployment (--print to print them).
    Install(crate::commands::install::InstallArgs),
    /// Evaluate Jsonnet as go-jsonnet's `jsonnet` command does: same flags, byte-identical output.
    Jsonnet(crate::commands::jsonnet::JsonnetArgs),
}

/// Where manifests come from: a local directory, a Git repository, or a Helm chart in a chart repository or an
/// OCI registry.
#[derive(Debug, Args, Clone)]
pub struct SourceArgs {
    /// Directory to render: a Helm chart (Chart.yaml) or chart archive (.tgz), a kustomization, or plain
    /// .yaml/.yml/.json files (recursive). Also oci://HOST/PATH/CHART (a chart in an OCI registry, with
    /// --version) or https://HOST/PATH/CHART.tgz (a chart archive at a URL)
    #[arg(
        value_name = "PATH",
        required_unless_present = "repo",
        conflicts_with = "repo"
    )]
    pub dir: Option<PathBuf>,
    /// Git repository URL (https://, http://, git:// or file://) instead of PATH; with --chart, a Helm chart
    /// repository (the URL of the folder holding index.yaml) or an OCI registry path (oci://HOST/PATH)
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// Branch, tag or commit of --repo [default: the remote's default branch]
    #[arg(long, value_name = "R", requires = "repo", conflicts_with = "chart")]
    pub revision: Option<String>,
    /// Directory inside --repo [default: the repository root]
    #[arg(long, value_name = "P", requires = "repo", conflicts_with = "chart")]
    pub path: Option<String>,
    #[command(flatten)]
    pub chart: ChartArgs,
    #[command(flatten)]
    pub helm: HelmArgs,
    #[command(flatten)]
    pub jsonnet: JsonnetSourceArgs,
    /// An age identity file (as age-keygen writes it) that decrypts the source's SOPS-encrypted files in
    /// memory (repeatable); without it an encrypted file is an error
    #[arg(long, value_name = "FILE")]
    pub decrypt_key: Vec<PathBuf>,
}

/// A Helm chart from a chart repository (`--repo URL --chart NAME`) or an OCI registry (`oci://…` as PATH, or
/// `--repo oci://HOST/PATH --chart NAME`), fetched into tack's cache by digest before rendering.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Helm charts from a chart repository or OCI registry")]
pub struct ChartArgs {
    /// The chart's name in the chart repository or registry path given by --repo
    #[arg(long, value_name = "NAME", requires = "repo")]
    pub chart: Option<String>,
    /// The chart version or a SemVer constraint (1.2.3, ^1.2, ~1.2.3, ">=1 <2") [default: the newest stable
    /// version]
    #[arg(long = "version", value_name = "V")]
    pub chart_version: Option<String>,
    /// Also consider prerelease versions when --version is empty or a constraint
    #[arg(long)]
    pub devel: bool,
    /// User name for the chart repository or registry
    #[arg(long, value_name = "USER", env = "TACK_HELM_USERNAME", requires = "password")]
    pub username: Option<String>,
    /// Password or token for the chart repository or registry (prefer the environment variable: command
    /// lines are visible to other users)
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "TACK_HELM_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Reach OCI registries over plain HTTP (loopback registries always are) and allow credentials over
    /// plain http://
    #[arg(long)]
    pub plain_http: bool,
}

/// `helm template`'s flags, for a source that is a Helm chart (a folder with Chart.yaml, or a .tgz).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Helm charts")]
pub struct HelmArgs {
    /// Values file (YAML), relative to the chart folder unless absolute; repeat it, later files win
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<String>,
    /// Set values (a.b=c, list[0]=x, a=1,b=2), as helm's --set
    #[arg(long, value_name = "K=V")]
    pub set: Vec<String>,
    /// Set string values, as helm's --set-string
    #[arg(long, value_name = "K=V")]
    pub set_string: Vec<String>,
    /// Set values from files (K=PATH), as helm's --set-file
    #[arg(long, value_name = "K=PATH")]
    pub set_file: Vec<String>,
    /// Set JSON values (K=JSON), as helm's --set-json
    #[arg(long, value_name = "K=JSON")]
    pub set_json: Vec<String>,
    /// Set literal string values (no parsing of commas or dots in the value), as helm's --set-literal
    #[arg(long, value_name = "K=V")]
    pub set_literal: Vec<String>,
    /// The release name (.Release.Name) [default: release-name, as helm template]
    #[arg(long, value_name = "NAME")]
    pub release_name: Option<String>,
    /// Include the charts' crds/ folders in the output
    #[arg(long)]
    pub include_crds: bool,
    /// Kubernetes version for .Capabilities.KubeVersion and kubeVersion constraints
    #[arg(long, value_name = "V")]
    pub kube_version: Option<String>,
    /// Extra API versions for .Capabilities.APIVersions (group/version or group/version/Kind); repeatable
    #[arg(long = "api-versions", value_name = "GV")]
    pub api_versions: Vec<String>,
    /// Leave Helm hooks out of the output
    #[arg(long)]
    pub no_hooks: bool,
    /// Leave test hooks (helm.sh/hook: test) out of the output
    #[arg(long)]
    pub skip_tests: bool,
    /// Only the documents of these templates (path inside the chart, e.g. templates/deployment.yaml)
    #[arg(long, value_name = "PATH")]
    pub show_only: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// With --decrypt-key, print Secrets' data and stringData as decrypted (they are masked otherwise)
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Application name: objects of its inventory (from `tack sync --name`) that left Git show as deletions
    #[arg(long, value_name = "APP")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Application name; the inventory is the ConfigMap tack-inventory-APP in the namespace
    #[arg(long, value_name = "APP", value_parser = parse_app_name)]
    pub name: String,
    /// Delete objects of the previous sync that are no longer in the manifests (not those annotated tack.dev/prune: disabled)
    #[arg(long)]
    pub prune: bool,
    /// Create the namespace if it does not exist
    #[arg(long)]
    pub create_namespace: bool,
    /// Take over fields owned by other field managers (server-side apply force)
    #[arg(long)]
    pub force: bool,
    /// After applying, wait until every object is healthy
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, each wave may take to become healthy, and each hook to complete (e.g. 90s, 5m)
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// Plan and validate with a server-side dry run; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Requests in flight at once
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
    /// With --prune: also prune Namespaces, CRDs, objects marked Prune=confirm, and more than --max-prune-percent of the application at once
    #[arg(long, requires = "prune")]
    pub confirm: bool,
    /// The share of the application's objects one sync may prune without --confirm
    #[arg(long, default_value_t = 50, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_prune_percent: u8,
    /// How the dependents of pruned objects are deleted: background, foreground or orphan
    #[arg(long, default_value = "background", value_parser = ["background", "foreground", "orphan"])]
    pub prune_propagation: String,
}

/// An application name becomes part of a ConfigMap name: a DNS label of at most 48 characters.
fn parse_app_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 48
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not a valid application name: use 1-48 lowercase letters, digits and '-'"
        ))
    }
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Act on the independent control plane NAME (its own ports and state directory, `.../tack/dev-NAME`)
    /// instead of the default one: for a second cluster, e.g. a remote destination (docs/clusters.md)
    #[arg(long, global = true, value_name = "NAME")]
    pub name: Option<String>,
    #[command(subcommand)]
    pub command: DevCommand,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Build the control plane if needed, start it, create KWOK nodes and write a kubeconfig.
    Up(DevUpArgs),
    /// Stop every process `up` started and remove the state (kubeconfig, logs, data).
    Down(DevDownArgs),
    /// Show each component's pid, port and health.
    Status,
    /// Print `export KUBECONFIG=...` for the local control plane.
    Env,
}

#[derive(Debug, Args)]
pub struct DevUpArgs {
    /// Serve the API on this port instead of a free one
    #[arg(long, value_name = "PORT")]
    pub apiserver_port: Option<u16>,
    /// Number of KWOK nodes to create
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// How long to wait for the control plane once its binaries exist (e.g. 120s, 3m)
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct DevDownArgs {
    /// Keep the state directory (logs, kubeconfig, etcd data) after stopping
    #[arg(long)]
    pub keep_state: bool,
}

/// The `jsonnet` command's variables and library paths, for a source holding `*.jsonnet` files (Argo CD's
/// directory source: every `*.jsonnet` file of the directory is evaluated).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Jsonnet")]
pub struct JsonnetSourceArgs {
    /// External variable as a string (std.extVar); K alone takes the environment variable K; repeatable
    #[arg(long, value_name = "K=V")]
    pub ext_str: Vec<String>,
    /// External variable as Jsonnet code; repeatable
    #[arg(long, value_name = "K=CODE")]
    pub ext_code: Vec<String>,
    /// Top-level argument as a string (when a file evaluates to a function); repeatable
    #[arg(long, value_name = "K=V")]
    pub tla_str: Vec<String>,
    /// Top-level argument as Jsonnet code; repeatable
    #[arg(long, value_name = "K=CODE")]
    pub tla_code: Vec<String>,
    /// Library search path (e.g. vendor); relative to the current directory, or to the repository root with
    /// --repo; repeatable, the last one is searched first
    #[arg(long, value_name = "DIR")]
    pub jpath: Vec<std::path::PathBuf>,
    /// Also evaluate *.jsonnet files in subdirectories
    #[arg(long)]
    pub jsonnet_recurse: bool,
    /// Only *.jsonnet files whose path (relative to the directory) matches this glob
    #[arg(long, value_name = "GLOB")]
    pub jsonnet_include: Option<String>,
    /// Leave out *.jsonnet files whose path matches this glob
    #[arg(long, value_name = "GLOB")]
    pub jsonnet_exclude: Option<String>,
    /// nested: deploy every Kubernetes object found in nested objects and arrays (Tanka) [default: topLevel,
    /// an object is one manifest, an array a list of them (Argo CD)]
    #[arg(long, value_name = "MODE", value_parser = ["topLevel", "nested"])]
    pub jsonnet_extract: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over every command and flag (no flag defined twice, no short option
    /// clash between flattened groups, defaults that parse).
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
