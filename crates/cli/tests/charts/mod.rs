//! `tack render` of Helm charts from a chart repository (an HTTP server on 127.0.0.1) and an OCI registry (the
//! CNCF Distribution registry on 127.0.0.1, charts pushed by the reference helm), compared byte for byte with
//! what the reference `helm template` (v4.3.2) prints for the same chart and flags. No cluster needed.

use std::path::Path;
use std::process::{Command, Output};

use tack_testkit::charts::{Registry, oracle, repository_server};

/// The tack binary with its own cache directory and no configuration from the environment.
fn tack(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tack"))
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .env_remove("TACK_CONFIG")
        .env_remove("TACK_NAMESPACE")
        .env_remove("TACK_HELM_USERNAME")
        .env_remove("TACK_HELM_PASSWORD")
        .output()
        .expect("tack runs")
}

/// The reference `helm template`, with a scratch configuration.
fn helm_template(home: &Path, args: &[&str]) -> String {
    let out = Command::new(oracle("helm", "HELM_VERSION"))
        .arg("template")
        .args(args)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "helm template {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "tack failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("utf-8")
}

fn stderr(o: &Output) -> String {
    assert!(!o.status.success(), "tack succeeded where it must fail");
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn render_a_chart_from_a_chart_repository_as_helm_template() {
    let server = repository_server();
    let scratch = tempfile::tempdir().expect("tempdir");
    let values = scratch.path().join("values-prod.yaml");
    std::fs::write(&values, "replicaCount: 3\nimage:\n  tag: \"1.27\"\n").expect("write");
    let values = values.to_str().expect("utf-8");
    let repo = server.url("/repo");
    let want = helm_template(
        scratch.path(),
        &[
            "web",
            "--repo",
            &repo,
            "web",
            "--version",
            "~1.0",
            "-f",
            values,
            "-n",
            "prod",
        ],
    );
    let got = stdout(&tack(
        scratch.path(),
        &[
            "render",
            "--repo",
            &repo,
            "--chart",
            "web",
            "--version",
            "~1.0",
            "-f",
            values,
            "-n",
            "prod",
            "--release-name",
            "web",
        ],
    ));
    assert_eq!(got, want);
    // Cached by digest in tack's source cache.
    let cached: Vec<_> = std::fs::read_dir(scratch.path().join("tack/sources/charts/sha256"))
        .expect("chart cache")
        .collect();
    assert_eq!(cached.len(), 1);

    // A version the repository does not have names the nearest ones.
    let err = stderr(&tack(
        scratch.path(),
        &["render", "--repo", &repo, "--chart", "web", "--version", "1.0.5"],
    ));
    assert!(
        err.contains("no version of chart \"web\" matches \"1.0.5\" (nearest available: 1.2.0-rc.1, 1.1.0, 1.0.0, 0.2.0, 0.1.0)"),
        "{err}"
    );
    // `--version` belongs to charts from a repository; `tack --version` is still tack's.
    let err = stderr(&tack(scratch.path(), &["render", ".", "--version", "1.0.0"]));
    assert!(
        err.contains("--version and --devel choose the version of a chart"),
        "{err}"
    );
    let version = stdout(&tack(scratch.path(), &["--version"]));
    assert!(version.starts_with("tack "), "{version}");
}

#[test]
fn chart_repository_credentials_come_from_the_flags_and_failures_say_which() {
    let server = repository_server();
    let scratch = tempfile::tempdir().expect("tempdir");
    let private = server.url("/private");
    let base = [
        "render",
        "--repo",
        private.as_str(),
        "--chart",
        "web",
        "--version",
        "0.1.0",
    ];
    let err = stderr(&tack(scratch.path(), &base));
    assert!(err.contains("authentication failed (401)"), "{err}");
    assert!(err.contains("--username and --password"), "{err}");
    let mut wrong = base.to_vec();
    wrong.extend(["--username", "user", "--password", "not-it"]);
    let err = stderr(&tack(scratch.path(), &wrong));
    assert!(err.contains("pass --plain-http"), "{err}");
    wrong.push("--plain-http");
    let err = stderr(&tack(scratch.path(), &wrong));
    assert!(
        err.contains("--username/--password (TACK_HELM_USERNAME/TACK_HELM_PASSWORD) were refused"),
        "{err}"
    );
    assert!(!err.contains("not-it"), "a secret in an error: {err}");
    let mut good = base.to_vec();
    good.extend([
        "--username",
        "user",
        "--password",
        "pass",
        "--plain-http",
        "--release-name",
        "web",
    ]);
    let got = stdout(&tack(scratch.path(), &good));
    let want = helm_template(
        scratch.path(),
        &[
            "web",
            "--repo",
            &private,
            "web",
            "--version",
            "0.1.0",
            "--username",
            "user",
            "--password",
            "pass",
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn render_a_chart_from_an_oci_registry_as_helm_template() {
    let registry = Registry::start(false);
    for chart in ["web-1.0.0.tgz", "web-1.1.0.tgz"] {
        registry.push(chart, None);
    }
    let scratch = tempfile::tempdir().expect("tempdir");
    let reference = format!("oci://{}/charts/web", registry.addr);
    let want = helm_template(
        scratch.path(),
        &[
            "r2",
            &reference,
            "--version",
            "^1",
            "--plain-http",
            "--set",
            "service.port=8080",
            "--include-crds",
        ],
    );
    let got = stdout(&tack(
        scratch.path(),
        &[
            "render",
            &reference,
            "--version",
            "^1",
            "--release-name",
            "r2",
            "--set",
            "service.port=8080",
            "--include-crds",
        ],
    ));
    assert_eq!(got, want);
    assert!(got.contains("helm.sh/chart: web-1.1.0"), "{got}");
    // The same chart named as --repo oci://HOST/PATH --chart NAME.
    let parent = format!("oci://{}/charts", registry.addr);
    let got = stdout(&tack(
        scratch.path(),
        &[
            "render",
            "--repo",
            &parent,
            "--chart",
            "web",
            "--version",
            "1.0.0",
            "--release-name",
            "r2",
        ],
    ));
    let want = helm_template(
        scratch.path(),
        &["r2", &reference, "--version", "1.0.0", "--plain-http"],
    );
    assert_eq!(got, want);
    let err = stderr(&tack(
        scratch.path(),
        &["render", &reference, "--version", "2.0.0"],
    ));
    assert!(err.contains("(nearest available: 1.1.0, 1.0.0)"), "{err}");
}

#[test]
fn values_files_given_as_helm_takes_them_from_the_current_directory() {
    // `helm template NAME ./chart -f ./chart/values.yaml`: the values file is relative to the current
    // directory. tack takes it from there when the chart folder has no such file, and from the chart folder
    // (Argo CD's valueFiles) otherwise.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let chart = "crates/helm/tests/charts/webapp";
    let values = "crates/helm/tests/charts/webapp/ci/prod-values.yaml";
    let scratch = tempfile::tempdir().expect("tempdir");
    let helm = Command::new(oracle("helm", "HELM_VERSION"))
        .current_dir(&root)
        .args([
            "template",
            "web",
            chart,
            "-f",
            values,
            "-a",
            "monitoring.coreos.com/v1",
        ])
        .env("HELM_CONFIG_HOME", scratch.path().join("config"))
        .env("HELM_CACHE_HOME", scratch.path().join("cache"))
        .env("HELM_DATA_HOME", scratch.path().join("data"))
        .output()
        .expect("helm runs");
    assert!(helm.status.success(), "{}", String::from_utf8_lossy(&helm.stderr));
    let want = String::from_utf8(helm.stdout).expect("utf-8");
    assert!(want.contains("ServiceMonitor"), "prod values used: {want}");
    let render = |values: &str| {
        Command::new(env!("CARGO_BIN_EXE_tack"))
            .current_dir(&root)
            .args(["render", chart, "--release-name", "web", "-f", values])
            .args(["--api-versions", "monitoring.coreos.com/v1"])
            .env("XDG_CACHE_HOME", scratch.path())
            .env_remove("TACK_CONFIG")
            .output()
            .expect("tack runs")
    };
    assert_eq!(stdout(&render(values)), want, "relative to the current directory");
    assert_eq!(
        stdout(&render("ci/prod-values.yaml")),
        want,
        "relative to the chart folder"
    );
}
