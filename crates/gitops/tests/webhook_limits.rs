//! The webhook receiver is bounded: 50 parallel 20 MB deliveries with bad signatures (half announcing their
//! size, half streamed without a length) are refused without reading them into memory; a small bad delivery is
//! still answered 401. No cluster is needed: refused deliveries never reach the API server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tack_gitops::webhook::{BODY_LIMIT, WebhookSecret, router};

const BODY: usize = 20 * 1024 * 1024;
const DELIVERIES: usize = 50;

/// The peak resident memory of this process, in bytes.
fn peak_rss() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmHWM in /proc/self/status")?;
    Ok(kb * 1024)
}

/// Sends one delivery of `BODY` bytes (`chunked`: without Content-Length) and returns the status line, or
/// how the connection ended when the server closed it before answering.
fn deliver(port: u16, chunked: bool) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return "connect failed".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let length = if chunked {
        "Transfer-Encoding: chunked\r\n".to_string()
    } else {
        format!("Content-Length: {BODY}\r\n")
    };
    let head = format!(
        "POST /webhook/github HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: push\r\n\
         X-Hub-Signature-256: sha256=00\r\nContent-Type: application/json\r\n{length}\r\n"
    );
    if s.write_all(head.as_bytes()).is_err() {
        return "closed".into();
    }
    let block = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < BODY {
        let r = if chunked {
            s.write_all(format!("{:x}\r\n", block.len()).as_bytes())
                .and_then(|()| s.write_all(&block))
                .and_then(|()| s.write_all(b"\r\n"))
        } else {
            s.write_all(&block)
        };
        if r.is_err() {
            break;
        }
        sent += block.len();
    }
    if chunked {
        let _ = s.write_all(b"0\r\n\r\n");
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("closed")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_twenty_megabyte_bad_deliveries_stay_under_a_hundred_megabytes() -> Result<()> {
    let config = kube::Config::new("http://127.0.0.1:9".parse()?);
    let client = kube::Client::try_from(config)?;
    let secret = WebhookSecret::new(b"s3cret").context("secret")?;
    let app = router(client, None, secret);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let before = peak_rss()?;
    let started = Instant::now();
    let answers: Vec<String> = tokio::task::spawn_blocking(move || {
        let threads: Vec<_> = (0..DELIVERIES)
            .map(|i| std::thread::spawn(move || deliver(port, i % 2 == 1)))
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or_default())
            .collect()
    })
    .await?;
    let grew = peak_rss()?.saturating_sub(before);
    eprintln!(
        "{DELIVERIES} deliveries of {} MB in {:?}: peak memory grew by {:.1} MB; answers: {:?}",
        BODY / 1024 / 1024,
        started.elapsed(),
        grew as f64 / 1024.0 / 1024.0,
        answers.iter().collect::<std::collections::BTreeSet<_>>()
    );
    assert!(grew < 100 * 1024 * 1024, "peak memory grew by {grew} bytes");
    for a in &answers {
        assert!(
            a.contains("413") || a.contains("503") || a == "closed",
            "a large delivery must be refused: {a}"
        );
    }
    assert!(answers.iter().any(|a| a.contains("413")), "{answers:?}");

    // A small delivery with a bad signature is read and refused by its signature.
    let small = tokio::task::spawn_blocking(move || {
        let body = r#"{"ref":"refs/heads/main"}"#;
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        write!(
            s,
            "POST /webhook/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=00\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut answer = String::new();
        s.read_to_string(&mut answer)?;
        Ok::<_, std::io::Error>(answer)
    })
    .await??;
    assert!(small.starts_with("HTTP/1.1 401"), "{small}");
    const { assert!(BODY_LIMIT < BODY) };
    Ok(())
}
