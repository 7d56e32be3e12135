//! tack-source against real Git servers on 127.0.0.1: bare repositories over file://, `git daemon` over
//! git://, and `git http-backend` over smart HTTP (with and without basic auth).

use tack_testkit::gitserver as support;

use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use support::{GitDaemon, GitRepo, HttpGitServer, TestTls, free_port};
use tack_source::{Credentials, Error, Repository, Revision};

struct Env {
    _tmp: tempfile::TempDir,
    srv: std::path::PathBuf,
    scratch: std::path::PathBuf,
    cache: std::path::PathBuf,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().expect("tempdir");
    let srv = tmp.path().join("srv");
    let scratch = tmp.path().join("scratch");
    let cache = tmp.path().join("cache");
    for d in [&srv, &scratch, &cache] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    Env {
        srv,
        scratch,
        cache,
        _tmp: tmp,
    }
}

const DEPLOY: &str =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: frontend\nspec:\n  replicas: 1\n";

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{}: {e}", root.join(rel).display()))
}

/// Runs `f` on a thread and fails the test if it takes longer than `secs` (a hang is a failure).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("did not finish within {secs} s"))
}

#[test]
fn file_branch_tag_commit_and_head() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    let c1 = repo.commit(
        &[("guestbook/frontend.yaml", DEPLOY), ("README.md", "v1\n")],
        "first",
    );
    repo.tag("v1.0.0", true);
    repo.tag("light", false);
    let c2 = repo.commit(&[("README.md", "v2\n")], "second");
    repo.push_branch("release");

    let url = format!("file://{}", repo.bare.display());
    let r = Repository::new(&url, &e.cache).expect("repository");

    let main = r.checkout(&Revision::Branch("main".into())).expect("branch main");
    assert_eq!(main.commit, c2);
    assert_eq!(read(&main.root, "README.md"), "v2\n");
    assert_eq!(read(&main.root, "guestbook/frontend.yaml"), DEPLOY);
    assert_eq!(main.root, e.cache.join("trees").join(&c2));

    let tag = r
        .checkout(&Revision::Tag("v1.0.0".into()))
        .expect("annotated tag");
    assert_eq!(tag.commit, c1, "an annotated tag is peeled to its commit");
    assert_eq!(read(&tag.root, "README.md"), "v1\n");
    assert_eq!(
        r.resolve(&Revision::parse("light"))
            .expect("lightweight tag by name"),
        c1
    );
    assert_eq!(
        r.resolve(&Revision::parse("release")).expect("branch by name"),
        c2
    );
    assert_eq!(r.resolve(&Revision::Head).expect("default branch"), c2);

    // A full SHA, then an abbreviated one that the mirror already holds.
    let by_sha = r.checkout(&Revision::parse(&c1)).expect("commit");
    assert_eq!(by_sha.commit, c1);
    assert_eq!(r.resolve(&Revision::parse(&c2[..10])).expect("short sha"), c2);

    // Absolute paths are accepted as file:// URLs.
    let plain = Repository::new(repo.bare.to_str().expect("utf-8"), &e.cache).expect("path url");
    assert_eq!(plain.resolve(&Revision::parse("main")).expect("main"), c2);
}

#[test]
fn commit_not_at_a_tip_is_fetched_by_sha() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    let c1 = repo.commit(&[("a.yaml", "a: 1\n")], "first");
    let c2 = repo.commit(&[("a.yaml", "a: 2\n")], "second");
    let daemon = GitDaemon::start(&e.srv);
    let r = Repository::new(&daemon.url("app"), &e.cache).expect("repository");
    let old = r
        .checkout(&Revision::Commit(c1.clone()))
        .expect("older commit by full sha");
    assert_eq!(read(&old.root, "a.yaml"), "a: 1\n");
    let new = r
        .checkout(&Revision::Commit(c2.clone()))
        .expect("tip by full sha");
    assert_eq!(read(&new.root, "a.yaml"), "a: 2\n");
}

#[test]
fn revision_not_found_is_clear() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    repo.commit(&[("a.yaml", "a: 1\n")], "first");
    let daemon = GitDaemon::start(&e.srv);
    let url = daemon.url("app");
    let r = Repository::new(&url, &e.cache).expect("repository");
    for rev in [
        Revision::Branch("nope".into()),
        Revision::Tag("v9".into()),
        Revision::parse("nope"),
    ] {
        let err = r.checkout(&rev).expect_err("must fail");
        assert!(matches!(err, Error::RevisionNotFound { .. }), "{rev}: {err:?}");
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("{url}: revision ")), "{msg}");
        assert!(msg.contains("not found"), "{msg}");
    }
    let err = r
        .checkout(&Revision::parse("deadbee"))
        .expect_err("unknown short sha");
    assert!(err.to_string().contains("use the full 40-character SHA"), "{err}");
    let err = r
        .checkout(&Revision::Commit(
            "0123456789012345678901234567890123456789".into(),
        ))
        .expect_err("unknown sha");
    assert!(
        matches!(err, Error::RevisionNotFound { .. } | Error::Fetch { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&url), "{err}");
    let err = r
        .checkout(&Revision::Branch("a..b".into()))
        .expect_err("invalid name");
    assert!(matches!(err, Error::InvalidRevision { .. }), "{err:?}");
}

#[test]
fn git_daemon_incremental_shallow_fetches() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    let mut history = Vec::new();
    for i in 0..5 {
        history.push(repo.commit(&[(&format!("f{i}.yaml"), "x: 1\n")], &format!("c{i}")));
    }
    let daemon = GitDaemon::start(&e.srv);
    let r = Repository::new(&daemon.url("app"), &e.cache).expect("repository");
    let first = r.checkout(&Revision::Branch("main".into())).expect("first fetch");
    assert_eq!(first.commit, history[4]);

    // Shallow: the mirror knows the fetched commit only, not its parents.
    let mirror = r.mirror_dir();
    let shallow = std::fs::read_to_string(mirror.join("shallow")).expect("the mirror is shallow");
    assert!(shallow.contains(&history[4]), "{shallow}");
    let objects = support::git(&mirror, &["rev-list", "--all", "--count"]);
    assert_eq!(objects, "1", "only one commit of five was fetched");

    let c5 = repo.commit(&[("f0.yaml", "x: 2\n"), ("new/g.yaml", "y: 1\n")], "c5");
    let second = r
        .checkout(&Revision::Branch("main".into()))
        .expect("second fetch");
    assert_eq!(second.commit, c5);
    assert_eq!(read(&second.root, "f0.yaml"), "x: 2\n");
    assert_eq!(read(&second.root, "new/g.yaml"), "y: 1\n");
    // The earlier tree stays in the cache, untouched.
    assert_eq!(read(&first.root, "f0.yaml"), "x: 1\n");
    // Nothing new: same commit, served from the existing tree.
    let third = r.checkout(&Revision::Branch("main".into())).expect("no-op fetch");
    assert_eq!(third, second);
}

#[test]
fn path_inside_the_repository() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    repo.commit(
        &[
            ("apps/guestbook/a.yaml", DEPLOY),
            ("apps/other/b.yaml", DEPLOY),
            ("top.txt", "x"),
        ],
        "c",
    );
    let r = Repository::new(&format!("file://{}", repo.bare.display()), &e.cache).expect("repository");
    let c = r.checkout(&Revision::Branch("main".into())).expect("checkout");
    let dir = c.path("apps/guestbook").expect("subdir");
    assert_eq!(read(&dir, "a.yaml"), DEPLOY);
    assert_eq!(c.path("./apps/guestbook/").expect("with ./"), dir);
    assert_eq!(
        c.path("").expect("root"),
        c.root.canonicalize().expect("canonical")
    );
    for (bad, want) in [
        ("../trees", "must not contain `..`"),
        ("apps/../../x", "must not contain `..`"),
        ("/etc", "must be relative"),
        ("apps/missing", "does not exist"),
        ("top.txt", "is not a directory"),
    ] {
        let err = c.path(bad).expect_err(bad);
        assert!(err.to_string().contains(want), "{bad}: {err}");
        assert!(err.to_string().contains(&c.commit), "{err}");
    }
}

#[cfg(unix)]
#[test]
fn modes_and_links_are_kept_and_escaping_links_rejected() {
    use std::os::unix::fs::PermissionsExt;
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    repo.commit(
        &[("bin/run.sh", "#!/bin/sh\necho hi\n"), ("base/a.yaml", DEPLOY)],
        "c1",
    );
    std::fs::set_permissions(
        repo.work.join("bin/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    std::os::unix::fs::symlink("../base", repo.work.join("bin/base-link")).expect("symlink");
    std::os::unix::fs::symlink("/etc", repo.work.join("escape")).expect("symlink");
    let sha = repo.commit(&[], "c2");
    let r = Repository::new(&format!("file://{}", repo.bare.display()), &e.cache).expect("repository");
    let c = r.checkout(&Revision::Commit(sha)).expect("checkout");
    let mode = std::fs::metadata(c.root.join("bin/run.sh"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "executable bit kept");
    assert_eq!(read(&c.root, "bin/base-link/a.yaml"), DEPLOY);
    let err = c.path("escape").expect_err("link out of the checkout");
    assert!(err.to_string().contains("outside the repository"), "{err}");
}

#[test]
fn smart_http_anonymous() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    let c1 = repo.commit(&[("a.yaml", "a: 1\n")], "first");
    repo.tag("v1", true);
    let server = HttpGitServer::start(&e.srv, None);
    let r = Repository::new(&server.url("app"), &e.cache).expect("repository");
    let c = within(60, move || r.checkout(&Revision::Tag("v1".into()))).expect("fetch over http");
    assert_eq!(c.commit, c1);
    assert_eq!(read(&c.root, "a.yaml"), "a: 1\n");
    assert!(server.requests.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}

#[test]
fn smart_http_basic_auth() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "private");
    let c1 = repo.commit(&[("a.yaml", "a: 1\n")], "first");
    let server = HttpGitServer::start(&e.srv, Some(("alice", "s3cret-pw")));
    let url = server.url("private");
    let base = Repository::new(&url, &e.cache)
        .expect("repository")
        .allow_insecure_http_credentials(true);

    // Right credentials.
    let ok = base
        .clone()
        .with_credentials(Some(Credentials::basic("alice", "s3cret-pw")));
    let c = within(60, move || ok.checkout(&Revision::Branch("main".into()))).expect("authenticated fetch");
    assert_eq!(c.commit, c1);

    // A token is sent as basic auth with its username.
    let token = base.clone().with_credentials(Some(Credentials::Token {
        username: Some("alice".into()),
        token: "s3cret-pw".into(),
    }));
    within(60, move || token.resolve(&Revision::Branch("main".into()))).expect("token fetch");

    // Wrong password: a clear error, quickly, and the password is not in it.
    let wrong = base
        .clone()
        .with_credentials(Some(Credentials::basic("alice", "wrong-password")));
    let err =
        within(60, move || wrong.resolve(&Revision::Branch("main".into()))).expect_err("wrong password");
    assert!(matches!(err, Error::AuthenticationFailed { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("{url}: authentication failed")), "{msg}");
    assert!(
        !msg.contains("wrong-password") && !format!("{err:?}").contains("wrong-password"),
        "{msg}"
    );

    // No credentials at all.
    let anonymous = base.clone().with_credentials(None);
    let err =
        within(60, move || anonymous.resolve(&Revision::Branch("main".into()))).expect_err("no credentials");
    assert!(matches!(err, Error::AuthenticationFailed { .. }), "{err:?}");
    assert!(err.to_string().contains("requires credentials"), "{err}");

    // Credentials over plain http are refused unless allowed.
    let strict = Repository::new(&url, &e.cache)
        .expect("repository")
        .with_credentials(Some(Credentials::basic("alice", "s3cret-pw")));
    let err = strict
        .resolve(&Revision::Branch("main".into()))
        .expect_err("insecure");
    assert!(matches!(err, Error::InsecureCredentials { .. }), "{err:?}");

    // Credentials in the URL are split off, used, and never shown.
    let with_userinfo = format!("http://alice:s3cret-pw@127.0.0.1:{}/private.git", server.port);
    let embedded = Repository::new(&with_userinfo, &e.cache)
        .expect("repository")
        .allow_insecure_http_credentials(true);
    assert_eq!(embedded.url().as_str(), url);
    assert!(!format!("{embedded:?}").contains("s3cret"), "{embedded:?}");
    within(60, move || embedded.resolve(&Revision::Branch("main".into()))).expect("userinfo credentials");
}

#[test]
fn server_down_names_the_url() {
    let e = env();
    let port = free_port();
    for url in [
        format!("git://127.0.0.1:{port}/app.git"),
        format!("http://127.0.0.1:{port}/app.git"),
    ] {
        let r = Repository::new(&url, &e.cache).expect("repository");
        let err = within(60, move || r.checkout(&Revision::Branch("main".into()))).expect_err("server down");
        assert!(matches!(err, Error::Unreachable { .. }), "{url}: {err:?}");
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("{url}: server unreachable")), "{msg}");
        assert!(err.is_transient());
    }
    let missing = format!("file://{}/missing.git", e.srv.display());
    let err = Repository::new(&missing, &e.cache)
        .expect("repository")
        .checkout(&Revision::Head)
        .expect_err("no repo");
    assert!(err.to_string().contains(&missing), "{err}");
}

#[test]
fn cache_hit_without_network() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    let c1 = repo.commit(&[("a.yaml", "a: 1\n")], "first");
    let daemon = GitDaemon::start(&e.srv);
    let url = daemon.url("app");
    let r = Repository::new(&url, &e.cache).expect("repository");
    let first = r.checkout(&Revision::Branch("main".into())).expect("online");
    drop(daemon);

    let offline = Repository::new(&url, &e.cache).expect("repository");
    assert_eq!(offline.cached_checkout(&c1), Some(first.clone()));
    let again = offline
        .checkout(&Revision::Commit(c1.clone()))
        .expect("served from the cache");
    assert_eq!(again, first);
    // The tree was removed, but the mirror still holds the commit: checked out again without network.
    std::fs::remove_dir_all(&first.root).expect("rm tree");
    let rebuilt = offline
        .checkout(&Revision::Commit(c1.clone()))
        .expect("from the mirror");
    assert_eq!(read(&rebuilt.root, "a.yaml"), "a: 1\n");
    // A branch needs the server.
    let err = offline
        .checkout(&Revision::Branch("main".into()))
        .expect_err("branch needs network");
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
}

#[test]
fn concurrent_checkouts_of_one_commit() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    let files: Vec<(String, String)> = (0..200)
        .map(|i| (format!("d{}/f{i}.yaml", i % 10), format!("n: {i}\n")))
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let sha = repo.commit(&refs, "many files");
    let url = format!("file://{}", repo.bare.display());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (url, cache, sha) = (url.clone(), e.cache.clone(), sha.clone());
            thread::spawn(move || {
                let r = Repository::new(&url, &cache).expect("repository");
                r.checkout(&Revision::Commit(sha))
            })
        })
        .collect();
    let mut roots = Vec::new();
    for h in handles {
        let c = h.join().expect("thread").expect("checkout");
        assert_eq!(std::fs::read_dir(c.root.join("d3")).expect("dir").count(), 20);
        roots.push(c.root);
    }
    roots.dedup();
    assert_eq!(roots.len(), 1);
    // No temporary directories are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(e.cache.join("trees"))
        .expect("trees")
        .filter_map(Result::ok)
        .filter(|d| d.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn interrupted_fetch_fails_and_the_next_one_succeeds() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    let c1 = repo.commit(&[("a.yaml", "a: 1\n")], "first");
    let daemon = GitDaemon::start(&e.srv);
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let r = Repository::new(&daemon.url("app"), &e.cache)
        .expect("repository")
        .with_interrupt(flag.clone());
    let err = r
        .checkout(&Revision::Branch("main".into()))
        .expect_err("interrupted");
    // The error names the phase the fetch was in when it was interrupted.
    assert!(
        matches!(&err, Error::Stalled { phase, .. } if phase.contains("interrupted")),
        "{err:?}"
    );
    flag.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        r.checkout(&Revision::Branch("main".into()))
            .expect("after the interrupt")
            .commit,
        c1
    );
}

#[test]
fn https_with_a_private_ca_and_basic_auth() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "secure");
    let c1 = repo.commit(&[("a.yaml", "a: 1\n")], "first");
    let tls = TestTls::new();
    let server = HttpGitServer::start_tls(&e.srv, Some(("bob", "tok")), &tls);
    let url = server.https_url("secure");

    // Without the CA, the server's certificate is not trusted.
    let untrusted = Repository::new(&url, &e.cache)
        .expect("repository")
        .with_credentials(Some(Credentials::token("tok")));
    let err =
        within(60, move || untrusted.resolve(&Revision::Branch("main".into()))).expect_err("unknown CA");
    assert!(matches!(err, Error::UntrustedCertificate { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("{url}: the server's TLS certificate is not trusted")),
        "{err}"
    );
    assert!(!err.is_transient());

    let trusted = Repository::new(&url, &e.cache)
        .expect("repository")
        .with_ca_certificates(tls.ca_pem.as_bytes())
        .expect("CA bundle")
        .with_credentials(Some(Credentials::Token {
            username: Some("bob".into()),
            token: "tok".into(),
        }));
    let wrong = trusted
        .clone()
        .with_credentials(Some(Credentials::basic("bob", "nope")));
    let c = within(60, move || trusted.checkout(&Revision::Branch("main".into()))).expect("fetch over https");
    assert_eq!(c.commit, c1);
    assert_eq!(read(&c.root, "a.yaml"), "a: 1\n");
    let err = within(60, move || wrong.resolve(&Revision::Branch("main".into()))).expect_err("wrong token");
    assert!(matches!(err, Error::AuthenticationFailed { .. }), "{err:?}");

    let bad = Repository::new(&url, &e.cache)
        .expect("repository")
        .with_ca_certificates(b"not a certificate");
    assert!(matches!(bad, Err(Error::InvalidCertificate { .. })), "{bad:?}");
}

#[test]
fn tree_ids_tell_which_paths_a_commit_changed() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "mono");
    let c1 = repo.commit(&[("apps/a/d.yaml", DEPLOY), ("apps/b/d.yaml", DEPLOY)], "first");
    let r = Repository::new(&format!("file://{}", repo.bare.display()), &e.cache).expect("repository");
    assert!(
        matches!(r.tree_id_at(&c1, "apps/a"), Err(Error::RevisionNotFound { .. })),
        "nothing fetched yet"
    );
    r.checkout(&Revision::Branch("main".into())).expect("first fetch");
    let c2 = repo.commit(&[("apps/b/d.yaml", "changed: true\n")], "second");
    r.checkout(&Revision::Branch("main".into()))
        .expect("second fetch");

    let at = |c: &str, p: &str| r.tree_id_at(c, p).expect("tree id");
    assert_eq!(at(&c1, "apps/a"), at(&c2, "./apps/a/"));
    assert_ne!(at(&c1, "apps/b"), at(&c2, "apps/b"));
    assert_ne!(at(&c1, ""), at(&c2, ""));
    assert!(at(&c1, "apps/a").is_some());
    assert_eq!(at(&c2, "apps/missing"), None);
    assert!(matches!(r.tree_id_at(&c2, "../x"), Err(Error::Path { .. })));
}

/// A new commit's checkout links the files the last checkout holds unchanged (one inode), writes the changed
/// ones, keeps modes, and writes (does not link) a file whose earlier copy was damaged in the cache.
#[test]
fn a_new_commit_links_the_unchanged_files_of_the_last_checkout() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "mono");
    repo.commit(
        &[
            ("apps/a/d.yaml", DEPLOY),
            ("apps/b/d.yaml", DEPLOY),
            ("apps/b/c.yaml", "c: 1\n"),
            ("run.sh", "#!/bin/sh\n"),
        ],
        "first",
    );
    std::fs::set_permissions(repo.work.join("run.sh"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    repo.commit(&[], "executable");
    let r = Repository::new(&format!("file://{}", repo.bare.display()), &e.cache).expect("repository");
    let main = Revision::Branch("main".into());
    let first = r.checkout(&main).expect("first checkout");
    let inode = |root: &Path, rel: &str| std::fs::metadata(root.join(rel)).expect("meta").ino();

    repo.commit(&[("apps/b/d.yaml", "changed: true\n")], "second");
    // The earlier copy of apps/b/c.yaml damaged in the cache (truncated): it must be written, not linked.
    std::fs::write(first.root.join("apps/b/c.yaml"), "").expect("damage");
    let second = r.checkout(&main).expect("second checkout");
    assert_ne!(second.commit, first.commit);
    assert_eq!(
        inode(&first.root, "apps/a/d.yaml"),
        inode(&second.root, "apps/a/d.yaml"),
        "unchanged: linked"
    );
    assert_eq!(inode(&first.root, "run.sh"), inode(&second.root, "run.sh"));
    let mode = std::fs::metadata(second.root.join("run.sh"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "executable bit kept");
    assert_ne!(
        inode(&first.root, "apps/b/d.yaml"),
        inode(&second.root, "apps/b/d.yaml")
    );
    assert_eq!(read(&second.root, "apps/b/d.yaml"), "changed: true\n");
    assert_eq!(
        read(&first.root, "apps/b/d.yaml"),
        DEPLOY,
        "the earlier checkout is untouched"
    );
    assert_ne!(
        inode(&first.root, "apps/b/c.yaml"),
        inode(&second.root, "apps/b/c.yaml")
    );
    assert_eq!(read(&second.root, "apps/b/c.yaml"), "c: 1\n", "written from Git");
    assert_eq!(read(&second.root, "apps/a/d.yaml"), DEPLOY);

    // The earlier checkout removed from the cache: the next commit is written in full.
    std::fs::remove_dir_all(&second.root).expect("remove");
    repo.commit(&[("apps/a/d.yaml", "a: 2\n")], "third");
    let third = r.checkout(&main).expect("third checkout");
    assert_eq!(read(&third.root, "apps/b/c.yaml"), "c: 1\n");
    assert_eq!(read(&third.root, "apps/a/d.yaml"), "a: 2\n");
}

#[test]
fn abbreviated_sha_of_a_tip_is_resolved_without_prior_fetch() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    let c1 = repo.commit(&[("a.yaml", "a: 1\n")], "first");
    repo.tag("v1", true);
    let c2 = repo.commit(&[("a.yaml", "a: 2\n")], "second");
    let c3 = repo.commit(&[("a.yaml", "a: 3\n")], "third");
    let daemon = GitDaemon::start(&e.srv);
    let r = Repository::new(&daemon.url("app"), &e.cache).expect("repository");
    // The tip of main, never fetched before.
    let tip = r
        .checkout(&Revision::parse(&c3[..9]))
        .expect("short sha of a branch tip");
    assert_eq!(tip.commit, c3);
    assert_eq!(read(&tip.root, "a.yaml"), "a: 3\n");
    // The commit an annotated tag points to.
    assert_eq!(
        r.resolve(&Revision::parse(&c1[..9]))
            .expect("short sha of a tagged commit"),
        c1
    );
    // Neither a tip nor fetched: a clear error.
    let err = r.resolve(&Revision::parse(&c2[..9])).expect_err("not a tip");
    assert!(matches!(err, Error::RevisionNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("use the full 40-character SHA"), "{err}");
}

/// A server that accepts connections and never answers: over HTTP the fetch fails once the idle deadline has
/// passed, as a stall naming the phase, instead of hanging until the server closes the connection.
#[test]
fn a_silent_http_server_is_a_stall_within_the_deadline() {
    let e = env();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    // Accept and hold every connection without reading or writing.
    thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            match conn {
                Ok(c) => held.push(c),
                Err(_) => break,
            }
        }
    });
    let deadlines = tack_source::Deadlines {
        connect: Duration::from_secs(2),
        idle: Duration::from_secs(2),
        total: Duration::from_secs(30),
    };
    let r = Repository::new(&format!("http://127.0.0.1:{port}/app.git"), &e.cache)
        .expect("repository")
        .with_deadlines(deadlines);
    let started = std::time::Instant::now();
    let err = r
        .checkout(&Revision::Branch("main".into()))
        .expect_err("a silent server cannot serve a checkout");
    let took = started.elapsed();
    assert!(
        matches!(&err, Error::Stalled { after, .. } if *after == Duration::from_secs(2)),
        "{err:?}"
    );
    assert!(err.to_string().contains("deadline"), "{err}");
    // One idle deadline per request, with room for a slow machine; nowhere near a hang.
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

/// Overwrites every file under `dir` with bytes that are no Git data; `only` limits it to paths containing one
/// of those parts.
fn damage(dir: &Path, only: &[&str]) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            count += damage(&path, only);
        } else if only.is_empty() || only.iter().any(|p| path.to_string_lossy().contains(p)) {
            std::fs::write(&path, b"\x00garbage\xff not git\n").expect("write");
            count += 1;
        }
    }
    count
}

#[test]
fn a_damaged_mirror_is_fetched_again() {
    let e = env();
    let repo = GitRepo::create(&e.srv, &e.scratch, "app");
    repo.commit(&[("a.yaml", "a: 1\n")], "first");
    let r = Repository::new(&format!("file://{}", e.srv.join("app.git").display()), &e.cache)
        .expect("repository");
    r.checkout(&Revision::Branch("main".into())).expect("first");
    // Every file of the mirror (configuration, HEAD, refs, packs) overwritten.
    assert!(damage(&r.mirror_dir(), &[]) > 3);
    let c2 = repo.commit(&[("a.yaml", "a: 2\n")], "second");
    let second = r
        .checkout(&Revision::Branch("main".into()))
        .expect("fetched again");
    assert_eq!(
        (second.commit.as_str(), read(&second.root, "a.yaml").as_str()),
        (c2.as_str(), "a: 2\n")
    );
    // Only the objects and refs overwritten (the configuration and HEAD still read).
    assert!(damage(&r.mirror_dir(), &["objects", "refs", "shallow"]) > 0);
    let c3 = repo.commit(&[("a.yaml", "a: 3\n")], "third");
    let third = r
        .checkout(&Revision::Branch("main".into()))
        .expect("fetched again");
    assert_eq!(
        (third.commit.as_str(), read(&third.root, "a.yaml").as_str()),
        (c3.as_str(), "a: 3\n")
    );
    let left: Vec<_> = std::fs::read_dir(r.mirror_dir().parent().expect("parent"))
        .expect("mirrors")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "left beside the mirror: {left:?}");
}
