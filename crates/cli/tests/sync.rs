//! `tack render`, `tack diff` and `tack sync` as a user runs them: the built binary, on the local control
//! plane (render tests need no cluster).

use std::path::Path;
use std::process::{Command, Output};

use anyhow::Result;
use tack_testkit::TestNamespace;

mod charts;
mod cluster;
mod controller;
mod env;
mod faults;
mod gitops;
mod sops;

const KUSTOMIZE_PROD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/kustomize-nginx/overlays/prod"
);
const GUESTBOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/guestbook");

fn tack(args: &[&str]) -> Result<Output> {
    let kubeconfig = tack_testkit::kubeconfig()?;
    Ok(Command::new(env!("CARGO_BIN_EXE_tack"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("TACK_NAMESPACE")
        .env_remove("TACK_CONFIG")
        .output()?)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn render_of_a_kustomization_is_exactly_the_kustomize_output() -> Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_tack"))
        .args(["render", KUSTOMIZE_PROD])
        .output()?;
    assert!(out.status.success(), "{}", text(&out));
    let expected = tack_kustomize::build(
        &tack_kustomize::DiskFs,
        Path::new(KUSTOMIZE_PROD),
        &tack_kustomize::Options::default(),
    )?;
    assert_eq!(String::from_utf8(out.stdout)?, expected.to_yaml());
    Ok(())
}

#[test]
fn render_of_plain_manifests_prints_documents() -> Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_tack"))
        .args(["render", GUESTBOOK])
        .output()?;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout)?;
    assert_eq!(stdout.matches("\n---\n").count(), 5, "{stdout}");
    assert!(stdout.contains("name: redis-leader"));
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn diff_exit_codes_and_secret_values_never_printed() -> Result<()> {
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, "cli-diff").await?;
    let dir = tempfile::tempdir()?;
    let d = dir.path().to_str().unwrap_or_default().to_string();
    let write_secret = |v: &str| {
        std::fs::write(
            dir.path().join("secret.yaml"),
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {v}\n"),
        )
    };
    write_secret("first-s3cret-value")?;
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: blue\n",
    )?;

    let out = tack(&["diff", &d, "-n", ns.name()])?;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains("first-s3cret"), "{}", text(&out));

    let out = tack(&["sync", &d, "--name", "app", "-n", ns.name()])?;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("app: created 2, configured 0, unchanged 0, pruned 0"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("first-s3cret"));

    let out = tack(&["diff", &d, "-n", ns.name()])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    write_secret("second-s3cret-value")?;
    let out = tack(&["diff", &d, "-n", ns.name()])?;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    for leak in [
        "first-s3cret",
        "second-s3cret",
        "Zmlyc3QtczNjcmV0LXZhbHVl",
        "c2Vjb25kLXMzY3JldC12YWx1ZQ==",
    ] {
        assert!(!all.contains(leak), "diff printed a secret value: {all}");
    }
    assert!(all.contains("password:") && all.contains("++++++++"), "{all}");

    let out = tack(&["sync", &d, "--name", "app", "-n", ns.name(), "--dry-run"])?;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("dry run"),
        "{}",
        text(&out)
    );
    let out = tack(&["diff", &d, "-n", ns.name()])?;
    assert_eq!(
        out.status.code(),
        Some(1),
        "--dry-run must not write: {}",
        text(&out)
    );

    let out = tack(&["diff", "/nonexistent/dir", "-n", ns.name()])?;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn sync_of_an_invalid_object_fails_naming_file_and_line_and_applies_nothing() -> Result<()> {
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, "cli-invalid").await?;
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n",
    )?;
    std::fs::write(
        dir.path().join("b.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports:\n  - port: \"not-a-port\"\n",
    )?;
    let d = dir.path().to_str().unwrap_or_default().to_string();
    let out = tack(&["sync", &d, "--name", "bad", "-n", ns.name(), "--wait"])?;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("b.yaml:6") && all.contains("Service/bad") && all.contains("nothing was applied"),
        "{all}"
    );
    // Nothing was applied: diff still shows the valid ConfigMap as to be created.
    let out = tack(&["diff", &d, "-n", ns.name()])?;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains(&format!(
            "+++ desired/core.ConfigMap.{}.fine\n@@ -0,0 ",
            ns.name()
        )),
        "{all}"
    );
    Ok(())
}

#[test]
fn render_from_a_git_repository() -> Result<()> {
    let repo = tempfile::tempdir()?;
    let app = repo.path().join("deploy/guestbook");
    std::fs::create_dir_all(&app)?;
    for e in std::fs::read_dir(GUESTBOOK)? {
        let e = e?;
        std::fs::copy(e.path(), app.join(e.file_name()))?;
    }
    let git = |args: &[&str]| -> Result<()> {
        let st = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.invalid",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(repo.path())
            .status()?;
        anyhow::ensure!(st.success(), "git {args:?} failed");
        Ok(())
    };
    git(&["init", "-q"])?;
    git(&["add", "."])?;
    git(&["commit", "-qm", "guestbook"])?;
    let cache = tempfile::tempdir()?;
    let url = format!("file://{}", repo.path().display());
    let out = Command::new(env!("CARGO_BIN_EXE_tack"))
        .args([
            "render",
            "--repo",
            &url,
            "--revision",
            "main",
            "--path",
            "deploy/guestbook",
        ])
        .env("XDG_CACHE_HOME", cache.path())
        .output()?;
    assert!(out.status.success(), "{}", text(&out));
    let local = Command::new(env!("CARGO_BIN_EXE_tack"))
        .args(["render", GUESTBOOK])
        .output()?;
    assert_eq!(String::from_utf8(out.stdout)?, String::from_utf8(local.stdout)?);
    Ok(())
}

/// Output piped into a reader that stops early (`tack install --print | head -1`) ends tack quietly with the
/// status of a closed pipe, not with a panic message. (The manifests, ~100 KB, do not fit in the pipe's buffer.)
#[test]
fn a_closed_output_pipe_ends_tack_quietly() -> Result<()> {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_tack"))
        .args(["install", "--print"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first)?;
    // The reader is gone: the rest of the manifests cannot be written.
    let out = child.wait_with_output()?;
    assert!(!first.is_empty(), "the first line of the manifests");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    Ok(())
}
