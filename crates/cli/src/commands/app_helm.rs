//! `tack app create`'s Helm flags: GitOpsConfig `spec.source.helm` (release name, values files, inline
//! values, parameters, a chart from a chart repository or OCI registry, capabilities, what to leave out).
//! The names follow `argocd app create` where it has one (`--values`, `--values-literal-file`, `--helm-set`,
//! `--helm-set-string`, `--release-name`, `--helm-skip-crds`, `--helm-skip-tests`, `--helm-api-versions`,
//! `--helm-kube-version`, `--ignore-missing-value-files`); a chart outside Git has its own three flags, since
//! `--repo` and `--revision` always name the Git repository holding the values files.

use anyhow::{Context, bail};
use clap::Args;
use tack_model::{HelmChartRef, HelmOptions, HelmParameter};

/// `tack app create` flags for a Helm chart.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Helm charts (spec.source.helm)")]
pub struct AppHelmArgs {
    /// The release name (.Release.Name) [default: the application's name]
    #[arg(long, alias = "helm-release-name", value_name = "NAME")]
    pub release_name: Option<String>,
    /// Values file in the Git repository, relative to --path; repeat it, later files win
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<String>,
    /// Skip values files that do not exist instead of failing
    #[arg(long)]
    pub ignore_missing_value_files: bool,
    /// A local YAML file whose content becomes the inline values (spec.source.helm.values), merged after
    /// the values files
    #[arg(long, value_name = "FILE")]
    pub values_literal_file: Option<std::path::PathBuf>,
    /// A parameter, as helm's --set (a.b=c); repeatable, applied last
    #[arg(long, value_name = "K=V")]
    pub helm_set: Vec<String>,
    /// A string parameter, as helm's --set-string; repeatable
    #[arg(long, value_name = "K=V")]
    pub helm_set_string: Vec<String>,
    /// A chart repository (https://…, the folder of index.yaml) or OCI registry path (oci://HOST/PATH) holding
    /// the chart, instead of a chart folder in Git (values files still come from Git); needs --helm-chart
    #[arg(long, value_name = "URL", requires = "helm_chart")]
    pub helm_chart_repo: Option<String>,
    /// The chart's name in --helm-chart-repo
    #[arg(long, value_name = "NAME", requires = "helm_chart_repo")]
    pub helm_chart: Option<String>,
    /// The chart's version or a SemVer constraint (1.2.3, ^1.2) [default: the newest stable version]
    #[arg(long, value_name = "V", requires = "helm_chart_repo")]
    pub helm_chart_version: Option<String>,
    /// A Secret in the application's namespace with --helm-chart-repo's credentials (keys username +
    /// password, or bearerToken)
    #[arg(long, value_name = "SECRET", requires = "helm_chart_repo")]
    pub helm_chart_credentials_secret: Option<String>,
    /// Reach --helm-chart-repo's OCI registry over plain HTTP and allow credentials over plain http://
    #[arg(long, requires = "helm_chart_repo")]
    pub helm_chart_plain_http: bool,
    /// Kubernetes version for .Capabilities.KubeVersion
    #[arg(long, value_name = "V")]
    pub helm_kube_version: Option<String>,
    /// Extra API versions for .Capabilities.APIVersions; repeatable
    #[arg(long, value_name = "GV")]
    pub helm_api_versions: Vec<String>,
    /// Leave the charts' crds/ folders out
    #[arg(long)]
    pub helm_skip_crds: bool,
    /// Leave test hooks out
    #[arg(long)]
    pub helm_skip_tests: bool,
    /// Leave every hook out (needed for charts with hooks until tack runs sync hooks)
    #[arg(long)]
    pub helm_skip_hooks: bool,
}

impl AppHelmArgs {
    /// `spec.source.helm` from the flags; `None` when no Helm flag was given.
    pub fn options(&self) -> anyhow::Result<Option<HelmOptions>> {
        let mut parameters = Vec::new();
        for (list, force_string, flag) in [
            (&self.helm_set, false, "--helm-set"),
            (&self.helm_set_string, true, "--helm-set-string"),
        ] {
            for p in list {
                let Some((name, value)) = p.split_once('=') else {
                    bail!("{flag} {p}: expected NAME=VALUE");
                };
                if name.is_empty() {
                    bail!("{flag} {p}: the name is empty");
                }
                parameters.push(HelmParameter {
                    name: name.to_string(),
                    value: value.to_string(),
                    force_string,
                });
            }
        }
        let values = match &self.values_literal_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("--values-literal-file {}", path.display()))?;
                tack_yaml::parse_documents(&text, &path.display().to_string())
                    .map_err(|e| anyhow::anyhow!("--values-literal-file: {e}"))?;
                Some(text)
            }
            None => None,
        };
        let chart = match (&self.helm_chart_repo, &self.helm_chart) {
            (Some(repo_url), Some(name)) => Some(HelmChartRef {
                repo_url: repo_url.clone(),
                name: name.clone(),
                version: self.helm_chart_version.clone(),
                credentials_secret: self
                    .helm_chart_credentials_secret
                    .clone()
                    .map(|name| tack_model::LocalObjectReference { name }),
                plain_http: self.helm_chart_plain_http,
            }),
            _ => None,
        };
        let h = HelmOptions {
            release_name: self.release_name.clone(),
            value_files: self.values.clone(),
            ignore_missing_value_files: self.ignore_missing_value_files,
            values,
            values_object: None,
            parameters,
            chart,
            kube_version: self.helm_kube_version.clone(),
            api_versions: self.helm_api_versions.clone(),
            skip_crds: self.helm_skip_crds,
            skip_tests: self.helm_skip_tests,
            skip_hooks: self.helm_skip_hooks,
        };
        Ok((h != HelmOptions::default()).then_some(h))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        helm: AppHelmArgs,
    }

    fn options(args: &[&str]) -> anyhow::Result<Option<HelmOptions>> {
        let cli = Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))?;
        cli.helm.options()
    }

    #[test]
    fn no_helm_flag_no_helm_field() {
        assert_eq!(options(&[]).unwrap(), None);
    }

    #[test]
    fn flags_become_spec_source_helm() {
        let h = options(&[
            "--release-name",
            "gb",
            "-f",
            "values-qa.yaml",
            "--values",
            "../envs/extra.yaml",
            "--helm-set",
            "image.tag=v6",
            "--helm-set-string",
            "port=80",
            "--helm-chart-repo",
            "oci://registry.local/charts",
            "--helm-chart",
            "web",
            "--helm-chart-version",
            "^1.2",
            "--helm-skip-crds",
            "--helm-api-versions",
            "monitoring.coreos.com/v1",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(h.release_name.as_deref(), Some("gb"));
        assert_eq!(h.value_files, ["values-qa.yaml", "../envs/extra.yaml"]);
        assert_eq!(
            h.parameters,
            [
                HelmParameter {
                    name: "image.tag".into(),
                    value: "v6".into(),
                    force_string: false
                },
                HelmParameter {
                    name: "port".into(),
                    value: "80".into(),
                    force_string: true
                },
            ]
        );
        assert_eq!(
            h.chart,
            Some(HelmChartRef {
                repo_url: "oci://registry.local/charts".into(),
                name: "web".into(),
                version: Some("^1.2".into()),
                ..Default::default()
            })
        );
        assert!(h.skip_crds && !h.skip_tests);
        assert_eq!(h.api_versions, ["monitoring.coreos.com/v1"]);
        // The argocd-style alias.
        let h = options(&["--helm-release-name", "x"]).unwrap().unwrap();
        assert_eq!(h.release_name.as_deref(), Some("x"));
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(options(&["--helm-set", "novalue"]).is_err());
        assert!(
            options(&["--helm-chart", "web"]).is_err(),
            "needs --helm-chart-repo"
        );
        assert!(
            options(&["--helm-chart-repo", "https://charts.example.com"]).is_err(),
            "needs --helm-chart"
        );
        assert!(options(&["--values-literal-file", "/nonexistent/values.yaml"]).is_err());
    }

    #[test]
    fn values_literal_file_is_inline_values() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.yaml");
        std::fs::write(&file, "replicaCount: 3\n").unwrap();
        let h = options(&["--values-literal-file", file.to_str().unwrap()])
            .unwrap()
            .unwrap();
        assert_eq!(h.values.as_deref(), Some("replicaCount: 3\n"));
        std::fs::write(&file, "a: [\n").unwrap();
        assert!(options(&["--values-literal-file", file.to_str().unwrap()]).is_err());
    }
}
