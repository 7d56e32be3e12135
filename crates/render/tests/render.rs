//! The plain renderer over the repository's examples (`examples/`), and Kustomize
//! remote bases fetched from real local Git servers.

#[path = "render/chart_archive.rs"]
mod chart_archive;
#[path = "render/dispatch.rs"]
mod dispatch;
#[path = "render/kustomize_helm.rs"]
mod kustomize_helm;
#[path = "render/sops.rs"]
mod sops;
use tack_testkit::gitserver as support;

use std::path::{Path, PathBuf};

use tack_render::{Manifest, PlainRenderer, RenderError, RenderOptions, Renderer};

fn seed_examples() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    dir.canonicalize().expect("canonical examples path")
}

fn render(rel: &str) -> Result<Vec<Manifest>, RenderError> {
    let root = seed_examples();
    let opts = RenderOptions {
        display_root: Some(root.clone()),
        ..Default::default()
    };
    PlainRenderer.render(&root.join(rel), &opts)
}

fn summary(manifests: &[Manifest]) -> Vec<String> {
    manifests
        .iter()
        .map(|m| {
            format!(
                "{} {}/{} @ {}",
                m.object["apiVersion"].as_str().unwrap_or("?"),
                m.object["kind"].as_str().unwrap_or("?"),
                m.object["metadata"]["name"].as_str().unwrap_or("?"),
                m.origin
            )
        })
        .collect()
}

#[test]
fn guestbook() {
    let out = render("guestbook").expect("guestbook renders");
    assert_eq!(
        summary(&out),
        [
            "apps/v1 Deployment/frontend @ guestbook/frontend-deployment.yaml:1",
            "v1 Service/frontend @ guestbook/frontend-service.yaml:1",
            "apps/v1 Deployment/redis-follower @ guestbook/redis-follower-deployment.yaml:1",
            "v1 Service/redis-follower @ guestbook/redis-follower-service.yaml:1",
            "apps/v1 Deployment/redis-leader @ guestbook/redis-leader-deployment.yaml:1",
            "v1 Service/redis-leader @ guestbook/redis-leader-service.yaml:1",
        ]
    );
    let frontend = &out[0].object;
    assert_eq!(frontend["spec"]["replicas"], 3);
    assert_eq!(
        frontend["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        80
    );
    assert!(PlainRenderer.detect(&seed_examples().join("guestbook")));
}

#[test]
fn network() {
    let out = render("network").expect("network renders");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].object["kind"], "NetworkPolicy");
    assert_eq!(
        out[0].origin.file,
        Path::new("network/block-other-namespace.yaml")
    );
}

#[test]
fn operator_crd_and_custom_resource() {
    let out = render("operator").expect("operator renders");
    let kinds: Vec<&str> = out.iter().filter_map(|m| m.object["kind"].as_str()).collect();
    assert_eq!(kinds, ["NginxConfig", "CustomResourceDefinition"]);
    assert_eq!(out[0].object["apiVersion"], "example.com/v1");
}

#[test]
fn rollouts_recursive() {
    let out = render("rollouts").expect("rollouts render");
    let s = summary(&out);
    assert_eq!(s.len(), 7, "{s:#?}");
    assert!(
        s.iter()
            .all(|l| l.contains(" @ rollouts/bluegreen/") || l.contains(" @ rollouts/canary/")),
        "{s:#?}"
    );
    // Byte order: bluegreen/ before canary/, files sorted within each.
    assert!(s[0].contains("rollouts/bluegreen/active-service.yaml"), "{s:#?}");
    assert!(s[6].contains("rollouts/canary/service.yaml"), "{s:#?}");
    let rollouts = out.iter().filter(|m| m.object["kind"] == "Rollout").count();
    assert_eq!(rollouts, 3);
    assert!(
        out.iter()
            .all(|m| m.object["apiVersion"] != "" && m.object["metadata"]["name"] != "")
    );
}

#[test]
fn kustomization_directory_is_refused_with_a_hint() {
    let err = render("kustomize-nginx/base").expect_err("plain cannot render a kustomization");
    let text = err.to_string();
    assert!(
        text.contains("kustomize-nginx/base/kustomization.yaml:1: this is a Kustomize file"),
        "{text}"
    );
}

#[test]
fn whole_tree_is_deterministic() {
    // kustomize-nginx holds kustomization files, so render the plain folders one by one, twice.
    for dir in [
        "guestbook",
        "network",
        "operator",
        "rollouts",
        "plain-canary",
        "plain-bluegreen",
    ] {
        let a = render(dir).expect("renders");
        let b = render(dir).expect("renders");
        assert_eq!(a, b, "{dir}");
        assert!(!a.is_empty(), "{dir}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Remote bases. `tests/remote-base/` holds a repository's content at two commits (`v1/`, tagged `v1`, and
// `main/`), an overlay whose `REPO` placeholder becomes the repository URL, and `expected.yaml`: what
// `kubectl kustomize` (v1.32, Kustomize v5.5.0) printed for that overlay with the repository served as
// `file://` (the output does not depend on the URL). Regenerate it with kubectl only.

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/remote-base")
}

fn files_of(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).expect("fixture directory") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&p).expect("fixture file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The catalog repository (tag `v1`, then `main` one commit later) under `root`.
fn catalog_repo(root: &Path, scratch: &Path) -> support::GitRepo {
    let repo = support::GitRepo::create(root, scratch, "catalog");
    for (stage, tag) in [("v1", Some("v1")), ("main", None)] {
        let files = files_of(&fixture_dir().join(stage));
        let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
        repo.commit(&refs, stage);
        if let Some(t) = tag {
            repo.tag(t, false);
        }
    }
    repo
}

/// Writes the overlay with `REPO` replaced by `url`; returns its directory.
fn overlay(dir: &Path, url: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir overlay");
    let text = std::fs::read_to_string(fixture_dir().join("overlay.yaml")).expect("overlay fixture");
    std::fs::write(dir.join("kustomization.yaml"), text.replace("REPO", url)).expect("write overlay");
    std::fs::copy(fixture_dir().join("local.yaml"), dir.join("local.yaml")).expect("copy local.yaml");
    dir.to_path_buf()
}

fn build_with_remote(dir: &Path, cache: &Path) -> Result<String, tack_kustomize::Error> {
    let opts = tack_render::GitRemoteBases::new(cache).options();
    tack_kustomize::build(&tack_kustomize::DiskFs, dir, &opts).map(|o| o.to_yaml())
}

#[test]
fn remote_bases_over_http_and_file_match_kubectl() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let srv = tmp.path().join("srv");
    let repo = catalog_repo(&srv, &tmp.path().join("scratch"));
    let expected = std::fs::read_to_string(fixture_dir().join("expected.yaml")).expect("expected.yaml");
    let http = support::HttpGitServer::start(&srv, None);
    let http_url = http.url("catalog");
    let file_url = format!("file://{}", repo.bare.display());
    for (name, url) in [
        ("http", http_url.clone()),
        ("file", file_url.clone()),
        ("git-prefix", format!("git::{http_url}")),
    ] {
        let dir = overlay(&tmp.path().join(format!("overlay-{name}")), &url);
        let cache = tmp.path().join(format!("cache-{name}"));
        let got = build_with_remote(&dir, &cache).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, expected, "{name}: output differs from kubectl's");
        // A second build reuses the commit-keyed tree cache and gives the same bytes.
        let again = build_with_remote(&dir, &cache).unwrap_or_else(|e| panic!("{name} (cached): {e}"));
        assert_eq!(again, expected, "{name} (cached)");
    }
    // Where kubectl is installed, it agrees on the same overlay served over HTTP by the same server.
    if let Ok(out) = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(tmp.path().join("overlay-http"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        && out.status.success()
    {
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected,
            "kubectl over http"
        );
    }
}

#[test]
fn remote_base_errors_name_the_entry_and_the_cause() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let srv = tmp.path().join("srv");
    let repo = catalog_repo(&srv, &tmp.path().join("scratch"));
    let url = format!("file://{}", repo.bare.display());
    let cache = tmp.path().join("cache");

    // An unknown ref.
    let dir = tmp.path().join("bad-ref");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!("resources:\n- {url}//base?ref=v9\n"),
    )
    .expect("write");
    let err = build_with_remote(&dir, &cache)
        .expect_err("unknown ref fails")
        .to_string();
    assert!(err.contains("?ref=v9") && err.contains("v9"), "{err}");

    // A path that is not in the repository.
    let dir = tmp.path().join("bad-path");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!("resources:\n- {url}//nowhere?ref=v1\n"),
    )
    .expect("write");
    let err = build_with_remote(&dir, &cache)
        .expect_err("missing path fails")
        .to_string();
    assert!(err.contains("'nowhere' not found in the repository"), "{err}");

    // Without a loader, remote entries are refused with the reason.
    let err = tack_kustomize::build(&tack_kustomize::DiskFs, &dir, &tack_kustomize::Options::default())
        .expect_err("no loader")
        .to_string();
    assert!(err.contains("no Git access"), "{err}");
}

#[test]
fn a_remote_base_with_submodules_is_refused_unless_the_url_opts_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let srv = tmp.path().join("srv");
    let repo = support::GitRepo::create(&srv, &tmp.path().join("scratch"), "with-submodules");
    repo.commit(
        &[
            (
                ".gitmodules",
                "[submodule \"vendor\"]\n\tpath = vendor\n\turl = https://example.invalid/vendor.git\n",
            ),
            ("base/kustomization.yaml", "resources:\n- cm.yaml\n"),
            (
                "base/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"1\"\n",
            ),
        ],
        "base",
    );
    let url = format!("file://{}", repo.bare.display());
    let cache = tmp.path().join("cache");
    let write = |name: &str, entry: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("kustomization.yaml"), format!("resources:\n- {entry}\n")).expect("write");
        dir
    };
    let err = build_with_remote(&write("default", &format!("{url}//base")), &cache)
        .expect_err("submodules are not fetched")
        .to_string();
    assert!(
        err.contains("submodules") && err.contains("?submodules=false"),
        "{err}"
    );
    let out = build_with_remote(
        &write("opted-out", &format!("{url}//base?submodules=false")),
        &cache,
    )
    .expect("builds without submodules");
    assert!(out.contains("name: settings"), "{out}");
}
