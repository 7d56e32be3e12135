//! Chart sources against real servers on 127.0.0.1: a chart repository served by an HTTP server in the test
//! (index.yaml and archives made by the reference helm, tests/charts/), and the CNCF Distribution registry
//! (built by `testenv/oracles.sh registry`) with charts pushed by the reference `helm push`.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tack_source::chart::{ChartAuth, ChartError, ChartFetcher, ChartRef, Timeouts, sha256};

use tack_testkit::charts::{Registry, fixture, index_digest, repository_server};

fn repo(url: &str, version: &str) -> ChartRef {
    ChartRef::Repository {
        url: url.into(),
        name: "web".into(),
        version: version.into(),
    }
}

#[test]
fn chart_repository_versions_digests_and_cache() {
    let server = repository_server();
    let cache = tempfile::tempdir().unwrap();
    let fetcher = ChartFetcher::new(cache.path());
    for (constraint, want) in [
        ("", "1.1.0"),
        ("^0.1", "0.1.0"),
        ("~0.2.0", "0.2.0"),
        (">=1 <2", "1.1.0"),
        ("1.0.x", "1.0.0"),
        ("0.1.0 || 1.0.0", "1.0.0"),
        ("1.0.0", "1.0.0"),
        (">=1.2.0-0", "1.2.0-rc.1"),
    ] {
        let got = fetcher.fetch(&repo(&server.url("/repo"), constraint)).unwrap();
        assert_eq!(got.version, want, "constraint {constraint:?}");
        let bytes = std::fs::read(&got.path).unwrap();
        assert_eq!(bytes, fixture(&format!("web-{want}.tgz")));
        assert_eq!(got.digest, index_digest(want));
        assert_eq!(got.digest, sha256(&bytes));
        assert_eq!(
            got.path,
            cache.path().join(format!(
                "charts/sha256/{}.tgz",
                got.digest.trim_start_matches("sha256:")
            ))
        );
    }
    // Prereleases only when asked, as helm.
    let devel = ChartFetcher::new(cache.path()).devel(true);
    assert_eq!(
        devel.fetch(&repo(&server.url("/repo"), "")).unwrap().version,
        "1.2.0-rc.1"
    );

    // A cached archive is not downloaded again: only index.yaml is fetched.
    let before = server.count();
    let again = fetcher.fetch(&repo(&server.url("/repo/"), "1.0.0")).unwrap();
    assert!(again.cached);
    assert_eq!(
        server.requests.lock().unwrap()[before..],
        ["/repo/index.yaml".to_string()]
    );

    let err = fetcher.fetch(&repo(&server.url("/repo"), "^3")).unwrap_err();
    assert!(matches!(err, ChartError::NoMatchingVersion { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("nearest available: 1.2.0-rc.1, 1.1.0, 1.0.0, 0.2.0, 0.1.0"),
        "{err}"
    );
    // An exact version that is not there names the versions around it.
    let err = fetcher.fetch(&repo(&server.url("/repo"), "1.0.5")).unwrap_err();
    assert!(
        err.to_string()
            .contains("nearest available: 1.2.0-rc.1, 1.1.0, 1.0.0, 0.2.0, 0.1.0"),
        "{err}"
    );
    let err = fetcher
        .fetch(&ChartRef::Repository {
            url: server.url("/repo"),
            name: "nope".into(),
            version: String::new(),
        })
        .unwrap_err();
    assert!(matches!(err, ChartError::ChartNotFound { .. }), "{err}");
    let err = fetcher.fetch(&repo(&server.url("/missing"), "")).unwrap_err();
    assert!(matches!(err, ChartError::Status { status: 404, .. }), "{err}");
}

#[test]
fn chart_repository_absolute_urls_and_digest_mismatch() {
    let server = repository_server();
    let cache = tempfile::tempdir().unwrap();
    let fetcher = ChartFetcher::new(cache.path());
    let got = fetcher.fetch(&repo(&server.url("/abs"), "0.2.0")).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), fixture("web-0.2.0.tgz"));
    assert!(
        server
            .requests
            .lock()
            .unwrap()
            .contains(&"/files/web-0.2.0.tgz".to_string())
    );

    let err = fetcher.fetch(&repo(&server.url("/bad"), "1.0.0")).unwrap_err();
    assert!(matches!(err, ChartError::DigestMismatch { .. }), "{err}");
    assert!(
        !cache
            .path()
            .join("charts/sha256")
            .join(format!("{}.tgz", "0".repeat(64)))
            .exists()
    );
    assert!(
        !cache
            .path()
            .join(format!(
                "charts/sha256/{}.tgz",
                index_digest("1.0.0").trim_start_matches("sha256:")
            ))
            .exists()
    );
}

#[test]
fn chart_repository_basic_auth() {
    let server = repository_server();
    let cache = tempfile::tempdir().unwrap();
    let anonymous = ChartFetcher::new(cache.path());
    let err = anonymous.fetch(&repo(&server.url("/private"), "")).unwrap_err();
    assert!(
        matches!(err, ChartError::Unauthorized { status: 401, .. }),
        "{err}"
    );

    let wrong = ChartFetcher::new(cache.path())
        .with_auth(Some(ChartAuth::basic("user", "wrong")))
        .allow_insecure_http_credentials(true);
    let err = wrong.fetch(&repo(&server.url("/private"), "")).unwrap_err();
    assert!(matches!(err, ChartError::Unauthorized { .. }), "{err}");
    assert!(!err.to_string().contains("wrong"), "{err}");

    // Credentials over plain http:// are refused unless allowed.
    let refused = ChartFetcher::new(cache.path()).with_auth(Some(ChartAuth::basic("user", "pass")));
    let err = refused.fetch(&repo(&server.url("/private"), "")).unwrap_err();
    assert!(matches!(err, ChartError::InsecureCredentials { .. }), "{err}");

    let good = refused.allow_insecure_http_credentials(true);
    let got = good.fetch(&repo(&server.url("/private"), "~0.1")).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), fixture("web-0.1.0.tgz"));
}

#[test]
fn chart_url_with_and_without_digest() {
    let server = repository_server();
    let cache = tempfile::tempdir().unwrap();
    let fetcher = ChartFetcher::new(cache.path());
    let url = server.url("/files/web-1.1.0.tgz");
    let got = fetcher
        .fetch(&ChartRef::Url {
            url: url.clone(),
            digest: None,
        })
        .unwrap();
    assert_eq!(got.digest, index_digest("1.1.0"));
    // With its digest known, the cached archive answers without any request.
    let before = server.count();
    let cached = fetcher
        .fetch(&ChartRef::Url {
            url: url.clone(),
            digest: Some(got.digest.clone()),
        })
        .unwrap();
    assert!(cached.cached);
    assert_eq!(server.count(), before);
    let err = fetcher
        .fetch(&ChartRef::Url {
            url: server.url("/files/web-1.0.0.tgz"),
            digest: Some(index_digest("0.2.0")),
        })
        .unwrap_err();
    assert!(matches!(err, ChartError::DigestMismatch { .. }), "{err}");
}

#[test]
fn deadlines_and_size_limits() {
    let server = repository_server();
    let cache = tempfile::tempdir().unwrap();
    let fetcher = ChartFetcher::new(cache.path()).with_timeouts(Timeouts {
        connect: Duration::from_secs(2),
        total: Duration::from_millis(800),
    });
    let t0 = Instant::now();
    let err = fetcher.fetch(&repo(&server.url("/stall"), "")).unwrap_err();
    assert!(matches!(err, ChartError::Stalled { .. }), "{err}");
    assert!(err.is_transient());
    assert!(t0.elapsed() < Duration::from_secs(10));

    let small = ChartFetcher::new(cache.path()).with_limits(tack_source::chart::Limits {
        index: 1 << 20,
        archive: 1000,
        manifest: 1 << 20,
    });
    let err = small.fetch(&repo(&server.url("/repo"), "1.0.0")).unwrap_err();
    assert!(matches!(err, ChartError::TooLarge { .. }), "{err}");
}

// ---------------------------------------------------------------------------------------------------------
// OCI: the CNCF Distribution registry.

fn oci(reference: &str, version: &str) -> ChartRef {
    ChartRef::Oci {
        reference: reference.into(),
        version: version.into(),
    }
}

#[test]
fn oci_registry_tags_constraints_and_digests() {
    let registry = Registry::start(false);
    for chart in [
        "web-0.1.0.tgz",
        "web-1.0.0.tgz",
        "web-1.1.0.tgz",
        "web-1.2.0-rc.1.tgz",
    ] {
        registry.push(chart, None);
    }
    let cache = tempfile::tempdir().unwrap();
    let fetcher = ChartFetcher::new(cache.path());
    let base = format!("oci://{}/charts/web", registry.addr);
    for (reference, version, want) in [
        (base.clone(), "1.0.0", "1.0.0"),
        (format!("{base}:0.1.0"), "", "0.1.0"),
        (base.clone(), "^1", "1.1.0"),
        (base.clone(), "", "1.1.0"),
        (base.clone(), "~1.0", "1.0.0"),
        (base.clone(), ">=1.2.0-0", "1.2.0-rc.1"),
    ] {
        let got = fetcher.fetch(&oci(&reference, version)).unwrap();
        assert_eq!(got.version, want, "{reference} {version}");
        // helm push stores the archive as is: the layer is the packaged .tgz.
        assert_eq!(
            std::fs::read(&got.path).unwrap(),
            fixture(&format!("web-{want}.tgz"))
        );
        assert_eq!(got.digest, index_digest(want));
    }
    let err = fetcher.fetch(&oci(&base, "^5")).unwrap_err();
    assert!(matches!(err, ChartError::NoMatchingVersion { .. }), "{err}");
    // An exact version the registry does not have names the tags around it.
    let err = fetcher.fetch(&oci(&base, "1.0.5")).unwrap_err();
    assert!(
        err.to_string()
            .contains("nearest available: 1.2.0-rc.1, 1.1.0, 1.0.0, 0.1.0"),
        "{err}"
    );
    let err = fetcher
        .fetch(&oci(&format!("oci://{}/charts/absent", registry.addr), "1.0.0"))
        .unwrap_err();
    assert!(matches!(err, ChartError::Status { status: 404, .. }), "{err}");

    // By manifest digest: the first fetch reads the registry, later ones are served from the cache even with
    // the registry gone.
    let manifest = manifest_digest(&registry.addr, "charts/web", "1.1.0");
    let by_digest = format!("{base}@{manifest}");
    let got = fetcher.fetch(&oci(&by_digest, "")).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), fixture("web-1.1.0.tgz"));
    drop(registry);
    let offline = fetcher.fetch(&oci(&by_digest, "")).unwrap();
    assert!(offline.cached);
    assert_eq!(offline.path, got.path);
    let wrong = format!("{base}@sha256:{}", "1".repeat(64));
    assert!(fetcher.fetch(&oci(&wrong, "")).is_err());
}

/// The manifest digest of a tag, read with a raw request (Docker-Content-Digest header).
fn manifest_digest(addr: &str, repository: &str, tag: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "HEAD /v2/{repository}/manifests/{tag} HTTP/1.0\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("Docker-Content-Digest: "))
        .unwrap_or_else(|| panic!("no digest header: {text}"))
        .trim()
        .to_string()
}

#[test]
fn oci_registry_basic_auth() {
    let registry = Registry::start(true);
    registry.push("web-0.2.0.tgz", Some(("tack", "chart-secret")));
    let cache = tempfile::tempdir().unwrap();
    let reference = format!("oci://{}/charts/web", registry.addr);

    let err = ChartFetcher::new(cache.path())
        .fetch(&oci(&reference, "0.2.0"))
        .unwrap_err();
    assert!(
        matches!(err, ChartError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    let err = ChartFetcher::new(cache.path())
        .with_auth(Some(ChartAuth::basic("tack", "nope")))
        .allow_insecure_http_credentials(true)
        .fetch(&oci(&reference, "0.2.0"))
        .unwrap_err();
    assert!(matches!(err, ChartError::Unauthorized { .. }), "{err}");

    let fetcher = ChartFetcher::new(cache.path())
        .with_auth(Some(ChartAuth::basic("tack", "chart-secret")))
        .allow_insecure_http_credentials(true);
    let got = fetcher.fetch(&oci(&reference, "0.2.0")).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), fixture("web-0.2.0.tgz"));
    // A constraint lists the tags, authenticated too.
    assert_eq!(fetcher.fetch(&oci(&reference, "<1")).unwrap().version, "0.2.0");
}
