//! Promotion commits against real Git servers, checked with the real `git`.

use std::path::Path;
use std::sync::Arc;

use tack_promotion::git::Target;
use tack_promotion::stage::StageConfig;
use tack_promotion::{Error, Kind, Part, Release};
use tack_testkit::gitserver::{GitRepo, HttpGitServer, git};

const FRONTEND: &str = "gcr.io/google-samples/gb-frontend";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  replicas: 1
  selector:
    matchLabels:
      app: guestbook
  template:
    metadata:
      labels:
        app: guestbook
    spec:
      containers:
      - name: php-redis
        image: gcr.io/google-samples/gb-frontend:v5 # the app
        ports:
        - containerPort: 80
";

fn images() -> Vec<Part> {
    vec![Part {
        kind: Kind::Image,
        name: FRONTEND.into(),
        helm_tag_key: Some("frontend.tag".into()),
    }]
}

fn release(tag: &str) -> Release {
    Release {
        versions: vec![(images()[0].clone(), tag.into())],
    }
}

fn stage(url: &str, branch: &str, path: &str, cache: &Path) -> StageConfig {
    StageConfig {
        target: Target {
            url: url.into(),
            branch: branch.into(),
            credentials: None,
            cache_dir: cache.into(),
            allow_insecure_http_credentials: true,
        },
        path: path.into(),
        helm_values_file: None,
    }
}

/// Folder per environment on one branch: base + overlays qa and e2e.
fn folder_layout(repo: &GitRepo) {
    repo.commit(
        &[
            ("base/frontend.yaml", DEPLOYMENT),
            ("base/kustomization.yaml", "resources:\n- frontend.yaml\n"),
            (
                "envs/qa/kustomization.yaml",
                "# qa\nresources:\n- ../../base\nnamespace: guestbook-qa\nimages:\n- name: gcr.io/google-samples/gb-frontend\n  newTag: v6\n",
            ),
            ("envs/e2e/kustomization.yaml", "# e2e\nresources:\n- ../../base\nnamespace: guestbook-e2e\n"),
        ],
        "config",
    );
}

fn show(bare: &Path, spec: &str) -> String {
    git(bare, &["show", spec])
}

#[test]
fn kustomize_folder_layout_over_file_url() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = GitRepo::create(&tmp.path().join("srv"), &tmp.path().join("work"), "config");
    folder_layout(&repo);
    let url = format!("file://{}", repo.bare.display());
    let cache = tmp.path().join("cache");
    let qa = stage(&url, "main", "envs/qa", &cache);
    let e2e = stage(&url, "main", "envs/e2e", &cache);
    let head = qa.target.read().expect("read");
    assert_eq!(
        qa.release_in(&head.root, &images()).expect("qa"),
        Some(release("v6"))
    );
    assert_eq!(
        e2e.release_in(&head.root, &images()).expect("e2e"),
        Some(release("v5"))
    );

    let done = e2e
        .promote(&release("v6"), "promote v6 to e2e from qa\n\nRelease: v6\n", None)
        .expect("promote");
    let commit = done.commit.expect("a commit");
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]), commit);
    assert_eq!(git(&repo.bare, &["rev-parse", "main^"]), done.parent);
    assert_eq!(
        show(&repo.bare, "main:envs/e2e/kustomization.yaml"),
        "# e2e\nresources:\n- ../../base\nnamespace: guestbook-e2e\nimages:\n- name: gcr.io/google-samples/gb-frontend\n  newTag: v6"
    );
    assert_eq!(
        git(&repo.bare, &["log", "-1", "--format=%s%n%b"]),
        "promote v6 to e2e from qa\nRelease: v6"
    );
    assert_eq!(
        git(&repo.bare, &["log", "-1", "--format=%an <%ae>"]),
        "tack <tack@tack.dev>"
    );
    // Only the stage's file changed; git fsck finds every object.
    assert_eq!(
        git(&repo.bare, &["diff", "--name-only", "main^", "main"]),
        "envs/e2e/kustomization.yaml"
    );
    git(&repo.bare, &["fsck", "--strict"]);

    // The same release again: nothing to write.
    let again = e2e.promote(&release("v6"), "x", None).expect("again");
    assert_eq!(again.commit, None);
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]), commit);
}

#[test]
fn unknown_image_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = GitRepo::create(&tmp.path().join("srv"), &tmp.path().join("work"), "config");
    folder_layout(&repo);
    let before = git(&repo.bare, &["rev-parse", "main"]);
    let url = format!("file://{}", repo.bare.display());
    let e2e = stage(&url, "main", "envs/e2e", &tmp.path().join("cache"));
    let r = Release::of_images([("docker.io/library/nginx", "1.27")]);
    let err = e2e.promote(&r, "x", None).expect_err("unknown image");
    assert!(matches!(err, Error::UnknownImage { .. }), "{err}");
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]), before);
}

/// A chart or a base the configuration does not reference is refused, and nothing is written: a chart in
/// a stage of plain manifests without a GitOpsConfig of that chart, a base in a kustomization without a remote
/// entry of that repository, a base in a stage of plain manifests.
#[test]
fn unknown_chart_or_base_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = GitRepo::create(&tmp.path().join("srv"), &tmp.path().join("work"), "config");
    folder_layout(&repo);
    repo.commit(&[("plain/frontend.yaml", DEPLOYMENT)], "plain");
    let before = git(&repo.bare, &["rev-parse", "main"]);
    let url = format!("file://{}", repo.bare.display());
    let cache = tmp.path().join("cache");
    let chart = Release {
        versions: vec![(Part::new(Kind::Chart, "web"), "0.2.0".into())],
    };
    let base = Release {
        versions: vec![(
            Part::new(Kind::Base, "https://github.com/org/platform"),
            "v2".into(),
        )],
    };
    for (path, release, words) in [
        ("envs/e2e", &chart, "chart \"web\" does not appear"),
        ("plain", &chart, "chart \"web\" does not appear"),
        (
            "envs/e2e",
            &base,
            "base \"https://github.com/org/platform\" does not appear",
        ),
        (
            "plain",
            &base,
            "base \"https://github.com/org/platform\" does not appear",
        ),
    ] {
        let err = stage(&url, "main", path, &cache)
            .promote(release, "x", None)
            .expect_err("unknown part");
        assert!(matches!(err, Error::UnknownPart { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(words) && text.contains("nothing was written"),
            "{path}: {text}"
        );
    }
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]), before);
}

/// A stage whose applications are kept in Git as GitOpsConfig manifests: the chart's version in
/// `spec.source.helm.chart` is promoted, every other byte of the file kept, and read back as the release.
#[test]
fn a_gitopsconfig_manifests_chart_version_is_promoted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = GitRepo::create(&tmp.path().join("srv"), &tmp.path().join("work"), "apps");
    let app = |version: &str| {
        format!(
            "# prod's podinfo\napiVersion: gitops.tack.dev/v1alpha1\nkind: GitOpsConfig\nmetadata:\n  name: podinfo\nspec:\n  source:\n    repoURL: https://example.com/values.git\n    helm:\n      chart:\n        repoURL: oci://ghcr.io/stefanprodan/charts\n        name: podinfo\n        version: {version} # promoted by tack\n  destination:\n    namespace: podinfo\n"
        )
    };
    repo.commit(&[("prod/podinfo.yaml", &app("6.5.0"))], "apps");
    let url = format!("file://{}", repo.bare.display());
    let prod = stage(&url, "main", "prod", &tmp.path().join("cache"));
    let parts = [Part::new(Kind::Chart, "podinfo")];
    let head = prod.target.read().expect("read");
    let running = prod
        .release_in(&head.root, &parts)
        .expect("release")
        .expect("a version");
    assert_eq!(running.to_string(), "6.5.0");
    let next = Release::parse(&parts, "6.7.1").expect("parse");
    let done = prod
        .promote(&next, "promote 6.7.1 to prod\n", None)
        .expect("promote");
    let commit = done.commit.expect("a commit");
    assert_eq!(
        show(&repo.bare, &format!("{commit}:prod/podinfo.yaml")),
        app("6.7.1").trim_end()
    );
    let head = prod.target.read().expect("read");
    assert_eq!(prod.release_in(&head.root, &parts).expect("release"), Some(next));
}

/// Branch per environment, plain manifests, smart HTTP with basic authentication.
#[test]
fn plain_branch_layout_over_http_with_credentials() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("srv");
    let repo = GitRepo::create(&root, &tmp.path().join("work"), "config");
    repo.commit(&[("frontend.yaml", DEPLOYMENT)], "qa config");
    repo.push_branch("env/qa");
    repo.push_branch("env/e2e");
    let server = HttpGitServer::start(&root, Some(("promoter", "s3cret")));
    let mut e2e = stage(&server.url("config"), "env/e2e", "", &tmp.path().join("cache"));
    e2e.target.credentials = Some(tack_source::Credentials::basic("promoter", "s3cret"));
    let done = e2e
        .promote(&release("v7"), "promote v7 to e2e\n", None)
        .expect("promote");
    let commit = done.commit.expect("commit");
    assert_eq!(git(&repo.bare, &["rev-parse", "env/e2e"]), commit);
    assert_eq!(
        show(&repo.bare, "env/e2e:frontend.yaml"),
        DEPLOYMENT.replace("gb-frontend:v5", "gb-frontend:v7").trim_end()
    );
    // The other environment's branch is untouched.
    assert_eq!(
        git(&repo.bare, &["rev-parse", "env/qa"]),
        git(&repo.bare, &["rev-parse", "main"])
    );
    git(&repo.bare, &["fsck", "--strict"]);

    // Wrong credentials: refused, nothing written.
    e2e.target.credentials = Some(tack_source::Credentials::basic("promoter", "wrong"));
    e2e.target.cache_dir = tmp.path().join("cache2");
    let err = e2e.promote(&release("v8"), "x", None).expect_err("refused");
    assert!(!err.to_string().contains("wrong"), "{err}");
    assert_eq!(git(&repo.bare, &["rev-parse", "env/e2e"]), commit);
}

/// Repository per environment, Helm values, HTTP without authentication (receive-pack enabled by config).
#[test]
fn helm_repository_layout_and_server_rejection() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("srv");
    let repo = GitRepo::create(&root, &tmp.path().join("work"), "guestbook-e2e");
    git(&repo.bare, &["config", "http.receivepack", "true"]);
    let values = "# e2e values\nfrontend:\n  image: gcr.io/google-samples/gb-frontend\n  tag: v5 # set by promotion\nreplicas: 2\n";
    repo.commit(&[("chart/values-e2e.yaml", values)], "values");
    let server = HttpGitServer::start(&root, None);
    let mut e2e = stage(
        &server.url("guestbook-e2e"),
        "main",
        "chart",
        &tmp.path().join("cache"),
    );
    e2e.helm_values_file = Some("values-e2e.yaml".into());
    let done = e2e
        .promote(&release("v6"), "promote v6\n", None)
        .expect("promote");
    assert!(done.commit.is_some());
    assert_eq!(
        show(&repo.bare, "main:chart/values-e2e.yaml"),
        values.replace("tag: v5 #", "tag: v6 #").trim_end()
    );

    // A server-side hook refuses every update: a clear error, the branch unchanged.
    let before = git(&repo.bare, &["rev-parse", "main"]);
    let hook = repo.bare.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'frozen for the release' >&2\nexit 1\n").expect("hook");
    let mut perms = std::fs::metadata(&hook).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&hook, perms).expect("chmod");
    let err = e2e.promote(&release("v7"), "x", None).expect_err("rejected");
    assert!(matches!(err, Error::Rejected { .. }), "{err}");
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]), before);
}

/// Two promotions of different stages racing on one branch (folder layout): both commits land.
fn race(url: String, repo: &GitRepo, tmp: &Path) {
    let e2e = Arc::new(stage(&url, "main", "envs/e2e", &tmp.join("cache-a")));
    let qa = Arc::new(stage(&url, "main", "envs/qa", &tmp.join("cache-b")));
    let base = git(&repo.bare, &["rev-parse", "main"]);
    let mut handles = Vec::new();
    for (s, tag) in [(e2e, "v9"), (qa, "v10")] {
        handles.push(std::thread::spawn(move || {
            s.promote(&release(tag), &format!("promote {tag}\n"), None)
                .expect("promote")
        }));
    }
    let results: Vec<_> = handles.into_iter().map(|h| h.join().expect("thread")).collect();
    assert!(results.iter().all(|r| r.commit.is_some()));
    assert_eq!(
        git(&repo.bare, &["rev-list", "--count", &format!("{base}..main")]),
        "2"
    );
    assert!(show(&repo.bare, "main:envs/e2e/kustomization.yaml").contains("newTag: v9"));
    assert!(show(&repo.bare, "main:envs/qa/kustomization.yaml").contains("newTag: v10"));
    git(&repo.bare, &["fsck", "--strict"]);
}

#[test]
fn racing_promotions_both_land_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = GitRepo::create(&tmp.path().join("srv"), &tmp.path().join("work"), "config");
    folder_layout(&repo);
    race(format!("file://{}", repo.bare.display()), &repo, tmp.path());
}

#[test]
fn racing_promotions_both_land_http() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("srv");
    let repo = GitRepo::create(&root, &tmp.path().join("work"), "config");
    git(&repo.bare, &["config", "http.receivepack", "true"]);
    folder_layout(&repo);
    let server = HttpGitServer::start(&root, None);
    race(server.url("config"), &repo, tmp.path());
}

/// A stage with `review: true`: the promotion goes to a new branch, the stage's branch is untouched until a
/// person merges it; the merged commit is then found in the branch's history with its review branch.
fn review(url: &str, repo: &GitRepo, tmp: &Path) {
    let e2e = stage(url, "main", "envs/e2e", &tmp.join("cache"));
    let branch = "tack/promote/gb/e2e/v6";
    let main_before = git(&repo.bare, &["rev-parse", "main"]);
    assert!(!e2e.target.branch_exists(branch).expect("ls"));
    let message = tack_promotion::message::commit_message(&tack_promotion::message::Promotion {
        pipeline: "apps/gb",
        to: "e2e",
        from: Some("qa"),
        release: Some(&release("v6")),
        evidence: &[],
        by: "auto",
        replaced: Some("v5"),
        review_branch: Some(branch),
    });
    let done = e2e
        .promote(&release("v6"), &message, Some(branch))
        .expect("review push");
    let commit = done.commit.expect("a commit");
    assert_eq!(
        git(&repo.bare, &["rev-parse", "main"]),
        main_before,
        "main untouched"
    );
    assert_eq!(git(&repo.bare, &["rev-parse", branch]), commit);
    assert_eq!(
        git(&repo.bare, &["rev-parse", &format!("{branch}^")]),
        main_before
    );
    assert!(show(&repo.bare, &format!("{branch}:envs/e2e/kustomization.yaml")).contains("newTag: v6"));
    assert!(e2e.target.branch_exists(branch).expect("ls"));
    // Pushing the review again after the branch moved is refused; nothing moves.
    git(&repo.work, &["fetch", "-q", "origin"]);
    git(
        &repo.work,
        &["checkout", "-q", "-b", "fixup", &format!("origin/{branch}")],
    );
    let fixed = repo.commit(&[("envs/e2e/notes.txt", "reviewed\n")], "review note");
    git(
        &repo.work,
        &["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")],
    );
    git(&repo.bare, &["update-ref", "refs/heads/main", &main_before]);
    git(&repo.work, &["checkout", "-q", "main"]);
    git(&repo.work, &["reset", "-q", "--hard", &main_before]);
    let err = e2e
        .promote(&release("v6"), "again\n", Some(branch))
        .expect_err("exists");
    assert!(err.to_string().contains("exists already"), "{err}");
    assert_eq!(git(&repo.bare, &["rev-parse", branch]), fixed);
    // Not merged yet: the stage's branch still holds v5.
    let head = e2e.target.read().expect("read");
    assert_eq!(
        e2e.release_in(&head.root, &images()).expect("rel"),
        Some(release("v5"))
    );

    // A person merges the review branch (a merge commit).
    git(&repo.work, &["fetch", "-q", "origin"]);
    git(
        &repo.work,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge review",
            &format!("origin/{branch}"),
        ],
    );
    git(&repo.work, &["push", "-q", "origin", "HEAD:refs/heads/main"]);
    let head = e2e.target.read().expect("read");
    assert_eq!(
        e2e.release_in(&head.root, &images()).expect("rel"),
        Some(release("v6"))
    );
    let log = e2e
        .target
        .log(&head.commit, &Default::default(), 10)
        .expect("log");
    let found = tack_promotion::history::from_log(&log, "apps/gb", "e2e");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].commit, commit);
    assert_eq!(git(&repo.bare, &["rev-parse", "main^2^"]), commit);
    assert_eq!(found[0].release, "v6");
    assert_eq!(found[0].review_branch.as_deref(), Some(branch));
    assert_eq!(found[0].replaced.as_deref(), Some("v5"));
}

#[test]
fn review_branch_then_merge_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = GitRepo::create(&tmp.path().join("srv"), &tmp.path().join("work"), "config");
    folder_layout(&repo);
    review(&format!("file://{}", repo.bare.display()), &repo, tmp.path());
}

#[test]
fn review_branch_then_merge_http() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("srv");
    let repo = GitRepo::create(&root, &tmp.path().join("work"), "config");
    git(&repo.bare, &["config", "http.receivepack", "true"]);
    folder_layout(&repo);
    let server = HttpGitServer::start(&root, None);
    review(&server.url("config"), &repo, tmp.path());
}
