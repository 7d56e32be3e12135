//! The diff view's endpoint: an application rendered from a real Git repository as the controller renders it,
//! compared with the live objects; Secret values masked; kinds the caller may not read listed without content.

use anyhow::{Result, ensure};
use axum::http::StatusCode;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use tack_api::{Mode, Options, Stores};
use tack_model::GitOpsConfig;
use tack_testkit::{GitRepo, TestNamespace};

use crate::endpoints::{account, call, install_crds, read_rules, rule};

fn manifests(ns: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n  colour: blue\n  \
         size: large\n  shape: round\n  speed: fast\n  taste: sweet\n  weight: light\n---\napiVersion: v1\nkind: \
         ConfigMap\nmetadata:\n  name: added\n  namespace: {ns}\ndata:\n  new: \"yes\"\n---\napiVersion: v1\nkind: \
         Secret\nmetadata:\n  name: creds\n  namespace: {ns}\nstringData:\n  password: from-git-5e1f\n"
    )
}

fn objects(body: &Value) -> Vec<Value> {
    body["objects"].as_array().cloned().unwrap_or_default()
}

fn named<'a>(objects: &'a [Value], name: &str) -> Option<&'a Value> {
    objects.iter().find(|o| o["name"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn the_diff_shows_what_a_sync_would_change_with_secrets_masked_and_unreadable_kinds_hidden()
-> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crds(&client).await?;
    let ns = TestNamespace::new(&client, "api-diff").await?;
    let ns = ns.name().to_string();
    let repo = GitRepo::new()?;
    std::fs::create_dir_all(repo.work().join("app"))?;
    std::fs::write(repo.work().join("app/objects.yaml"), manifests(&ns))?;
    let commit = repo.commit("main", "settings")?;

    // The cluster: `settings` with one value changed, `creds` with another password, `added` missing.
    let pp = PostParams::default();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    config_maps
        .create(
            &pp,
            &serde_json::from_value(json!({
                "metadata": {"name": "settings"},
                "data": {"colour": "blue", "size": "large", "shape": "round", "speed": "slow",
                         "taste": "sweet", "weight": "light"}
            }))?,
        )
        .await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    secrets
        .create(
            &pp,
            &serde_json::from_value(json!({
                "metadata": {"name": "creds"}, "stringData": {"password": "in-cluster-9c2d"}
            }))?,
        )
        .await?;
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), &ns);
    apps.create(
        &pp,
        &serde_json::from_value(json!({
            "apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
            "metadata": {"name": "shop", "namespace": ns},
            "spec": {
                "source": {"repoURL": repo.url(), "path": "app", "revision": "main"},
                "destination": {"namespace": ns},
                "suspend": true
            }
        }))?,
    )
    .await?;
    let cache = tempfile::tempdir()?;
    let options = |mode| Options {
        mode,
        read_only: false,
        gitops: tack_gitops::ControllerConfig {
            cache_dir: cache.path().to_path_buf(),
            ..Default::default()
        },
    };
    let uri = format!("/api/v1/namespaces/{ns}/applications/shop/diff");

    // With the kubeconfig's rights: every object, with every line.
    let api = tack_api::router(
        client.clone(),
        Stores::start(&client, Some(&ns)),
        options(Mode::Kubeconfig),
    );
    let (s, body) = call(&api, "GET", &uri, None, &[], None).await?;
    ensure!(s == StatusCode::OK, "{s} {body}");
    ensure!(
        body["revision"] == commit.as_str() && body["error"].is_null(),
        "{body}"
    );
    let text = body.to_string();
    ensure!(
        !text.contains("from-git-5e1f")
            && !text.contains("in-cluster-9c2d")
            && !text.contains("aW4tY2x1c3Rlci"),
        "a Secret value left the server: {body}"
    );
    let all = objects(&body);
    ensure!(all.len() == 3, "settings, added and creds differ: {body}");
    let settings = named(&all, "settings").cloned().unwrap_or_default();
    ensure!(
        settings["change"] == "update" && settings["origin"] == "app/objects.yaml:1",
        "{settings}"
    );
    let lines: Vec<String> = serde_json::from_value(settings["lines"].clone())?;
    ensure!(
        lines.iter().any(|l| l == "-  speed: slow") && lines.iter().any(|l| l == "+  speed: fast"),
        "{lines:?}"
    );
    // Every unchanged line is there (the page folds them): the whole object, not three lines of context.
    ensure!(
        lines.iter().any(|l| l == "   colour: blue") && lines.iter().any(|l| l == "   weight: light"),
        "{lines:?}"
    );
    let added = named(&all, "added").cloned().unwrap_or_default();
    ensure!(added["change"] == "create", "{added}");
    let creds = named(&all, "creds").cloned().unwrap_or_default();
    ensure!(
        creds["change"] == "update" && creds["kind"] == "Secret",
        "{creds}"
    );
    ensure!(
        creds["lines"].to_string().contains("++++++++"),
        "the values show as masks: {creds}"
    );

    // A token that may read applications but not ConfigMaps or Secrets: the objects are named, not shown.
    let viewer = account(&client, &ns, "viewer", read_rules()).await?;
    let api = tack_api::router(
        client.clone(),
        Stores::start(&client, Some(&ns)),
        options(Mode::Token),
    );
    let (s, body) = call(&api, "GET", &uri, Some(&viewer), &[], None).await?;
    ensure!(s == StatusCode::OK, "{s} {body}");
    let all = objects(&body);
    ensure!(
        all.len() == 3 && all.iter().all(|o| o["lines"].is_null()),
        "{body}"
    );
    let hidden = named(&all, "settings")
        .map(|o| o["hidden"].to_string())
        .unwrap_or_default();
    ensure!(
        hidden.contains("may not get configmaps") && hidden.contains(&ns),
        "{hidden}"
    );
    // One that may read ConfigMaps sees them, and still not the Secret.
    let mut rules = read_rules();
    rules.push(rule("", &["configmaps"], &["get"]));
    let reader = account(&client, &ns, "reader", rules).await?;
    let (s, body) = call(&api, "GET", &uri, Some(&reader), &[], None).await?;
    ensure!(s == StatusCode::OK, "{s} {body}");
    let all = objects(&body);
    ensure!(
        named(&all, "settings").is_some_and(|o| o["lines"].is_array()),
        "{body}"
    );
    ensure!(
        named(&all, "creds").is_some_and(|o| o["hidden"].is_string()),
        "{body}"
    );
    // Without the right to read the application, nothing.
    let stranger = account(
        &client,
        &ns,
        "stranger",
        vec![rule("", &["configmaps"], &["get"])],
    )
    .await?;
    let (s, body) = call(&api, "GET", &uri, Some(&stranger), &[], None).await?;
    ensure!(s == StatusCode::FORBIDDEN, "{s} {body}");

    // A render error is the answer's error, naming the file; nothing is applied by asking.
    std::fs::write(repo.work().join("app/objects.yaml"), "kind: [unclosed\n")?;
    let broken = repo.commit("main", "broken")?;
    let api = tack_api::router(
        client.clone(),
        Stores::start(&client, Some(&ns)),
        options(Mode::Kubeconfig),
    );
    let (s, body) = call(&api, "GET", &uri, None, &[], None).await?;
    ensure!(
        s == StatusCode::OK && body["revision"] == broken.as_str(),
        "{s} {body}"
    );
    ensure!(
        body["error"]["message"].to_string().contains("objects.yaml"),
        "{body}"
    );
    ensure!(
        config_maps.get_opt("added").await?.is_none(),
        "the diff applied nothing"
    );
    Ok(())
}
