//! A push over smart HTTP: one `POST /git-receive-pack` with the ref update command and a pack, and the
//! server's report-status read back.

use std::time::Duration;

use tack_source::Credentials;

/// What the server said about the ref update.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Report {
    /// The ref now points at the new commit.
    Ok,
    /// Refused, with the server's reason (a concurrent update reads `fetch first`, `non-fast-forward`,
    /// `failed to lock` or similar).
    Rejected(String),
}

/// The pkt-line framing of `data`.
fn pkt_line(data: &str) -> String {
    format!("{:04x}{data}", data.len() + 4)
}

/// The request body: `old new ref\0capabilities`, a flush packet, then the pack.
pub(crate) fn request_body(old: &str, new: &str, refname: &str, pack: &[u8]) -> Vec<u8> {
    let command = format!("{old} {new} {refname}\0report-status side-band-64k agent=tack\n");
    let mut body = pkt_line(&command).into_bytes();
    body.extend_from_slice(b"0000");
    body.extend_from_slice(pack);
    body
}

/// Sends the push. `url` is the repository URL (`https://host/org/repo.git`).
pub(crate) fn push(url: &str, credentials: Option<&Credentials>, body: Vec<u8>) -> Result<Report, String> {
    ensure_crypto_provider();
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let endpoint = format!("{}/git-receive-pack", url.trim_end_matches('/'));
    let mut req = client
        .post(&endpoint)
        .header("Content-Type", "application/x-git-receive-pack-request")
        .header("Accept", "application/x-git-receive-pack-result")
        .header("User-Agent", "git/2.0 (tack)")
        .body(body);
    if let Some(c) = credentials {
        let (user, secret) = c.username_and_secret();
        req = req.basic_auth(user, Some(secret.expose()));
    }
    let resp = req
        .send()
        .map_err(|e| format!("push request: {}", without_url(&e)))?;
    let status = resp.status();
    if status.as_u16() == 401 || status.as_u16() == 403 {
        return Err(format!("the server refused the credentials (HTTP {status})"));
    }
    if !status.is_success() {
        return Err(format!("HTTP {status} from git-receive-pack"));
    }
    let bytes = resp
        .bytes()
        .map_err(|e| format!("push response: {}", without_url(&e)))?;
    parse_report(&bytes)
}

fn without_url(e: &reqwest::Error) -> String {
    // reqwest errors carry the URL, which may hold credentials when users put them there.
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "<repository>");
    }
    s
}

/// Installs rustls' `ring` provider as the process default unless one is installed (as tack-source does).
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The payloads of the pkt-lines of `bytes` (flush packets skipped).
fn packets(bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut rest = bytes;
    let mut out = Vec::new();
    while rest.len() >= 4 {
        let len = std::str::from_utf8(&rest[..4])
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or("malformed report-status from the server")?;
        if len == 0 {
            rest = &rest[4..];
            continue;
        }
        if len < 4 || len > rest.len() {
            return Err("truncated report-status from the server".into());
        }
        out.push(&rest[4..len]);
        rest = &rest[len..];
    }
    Ok(out)
}

/// At most this much of what the server's hooks print is kept in a rejection.
const MAX_REMOTE_TEXT: usize = 500;

/// Reads the report-status: `unpack ok`, then `ok <ref>` or `ng <ref> <reason>`. With side-band (asked for), the
/// report comes in band 1 and what the server's hooks print in band 2; that text is added to a rejection's
/// reason (`pre-receive hook declined (remote: env/prod is frozen)`).
pub(crate) fn parse_report(bytes: &[u8]) -> Result<Report, String> {
    let mut report = Vec::new();
    let mut remote = String::new();
    let mut direct = Vec::new();
    for p in packets(bytes)? {
        match p.first() {
            Some(1) => report.extend_from_slice(&p[1..]),
            Some(2) => remote.push_str(&String::from_utf8_lossy(&p[1..])),
            Some(3) => {
                return Err(format!(
                    "the server failed: {}",
                    String::from_utf8_lossy(&p[1..]).trim()
                ));
            }
            _ => direct.push(String::from_utf8_lossy(p).trim_end().to_string()),
        }
    }
    let mut lines = direct;
    for p in packets(&report)? {
        lines.push(String::from_utf8_lossy(p).trim_end().to_string());
    }
    let remote: String = remote
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_REMOTE_TEXT)
        .collect();
    let mut unpack_ok = false;
    for line in &lines {
        if let Some(u) = line.strip_prefix("unpack ") {
            if u != "ok" {
                return Err(format!("the server could not unpack the objects: {u}"));
            }
            unpack_ok = true;
        } else if line.starts_with("ok ") {
            return Ok(Report::Ok);
        } else if let Some(ng) = line.strip_prefix("ng ") {
            let reason = ng.split_once(' ').map(|(_, r)| r).unwrap_or(ng);
            return Ok(Report::Rejected(match remote.is_empty() {
                true => reason.to_string(),
                false => format!("{reason} (remote: {remote})"),
            }));
        }
    }
    Err(if unpack_ok {
        "the server did not report the ref update".into()
    } else {
        format!("unexpected answer from git-receive-pack: {:?}", lines.join(" | "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports() {
        let ok = b"000eunpack ok\n0017ok refs/heads/main\n0000";
        assert_eq!(parse_report(ok), Ok(Report::Ok));
        let ng = b"000eunpack ok\n0023ng refs/heads/main fetch first\n0000";
        assert_eq!(parse_report(ng), Ok(Report::Rejected("fetch first".into())));
        assert!(parse_report(b"0016unpack index-pack\n0000").is_err());
    }

    /// Band 1 holds the report (pkt-lines inside pkt-lines), band 2 what the hooks print.
    #[test]
    fn side_band_reports_keep_the_hooks_words() {
        let band = |n: u8, data: &[u8]| {
            let mut p = format!("{:04x}", data.len() + 5).into_bytes();
            p.push(n);
            p.extend_from_slice(data);
            p
        };
        let mut answer = band(2, b"env/prod is frozen\n");
        answer.extend(band(
            1,
            b"000eunpack ok\n0035ng refs/heads/env/prod pre-receive hook declined\n0000",
        ));
        answer.extend_from_slice(b"0000");
        assert_eq!(
            parse_report(&answer),
            Ok(Report::Rejected(
                "pre-receive hook declined (remote: env/prod is frozen)".into()
            ))
        );
        let mut ok = band(1, b"000eunpack ok\n0017ok refs/heads/main\n0000");
        ok.extend_from_slice(b"0000");
        assert_eq!(parse_report(&ok), Ok(Report::Ok));
        assert!(parse_report(&band(3, b"disk full")).is_err());
    }

    #[test]
    fn body_framing() {
        let b = request_body(&"0".repeat(40), &"1".repeat(40), "refs/heads/main", b"PACK");
        let text = String::from_utf8_lossy(&b);
        assert!(text.starts_with("008d"), "{text}");
        assert!(text.ends_with("0000PACK"), "{text}");
    }
}
