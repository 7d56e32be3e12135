//! The clock and the local zone come from `Env`: with a fixed instant, the time functions are reproducible.

#![allow(clippy::unwrap_used)]

use tack_gotemplate::{ExecOptions, Funcs, Map, MissingKey, Templates, Value};

fn render(text: &str) -> String {
    let at: jiff::Timestamp = "2024-02-29T13:14:15.5Z".parse().unwrap();
    let tz = jiff::tz::db().get("America/New_York").unwrap();
    let mut funcs = Funcs::new();
    tack_sprig::install_with(&mut funcs, tack_sprig::Env::fixed(at, tz));
    let mut set = Templates::new();
    set.parse("t", text, &funcs).unwrap();
    let opts = ExecOptions {
        missing_key: MissingKey::Zero,
        ..ExecOptions::default()
    };
    set.execute("t", &Value::map(Map::new()), &funcs, &opts).unwrap()
}

#[test]
fn now_and_date_use_the_injected_clock_and_zone() {
    assert_eq!(
        render(r#"{{ now | date "2006-01-02 15:04:05.000 MST" }}"#),
        "2024-02-29 08:14:15.500 EST"
    );
    assert_eq!(render(r#"{{ now | unixEpoch }}"#), "1709212455");
    assert_eq!(render(r#"{{ htmlDate "not a time" }}"#), "2024-02-29");
    assert_eq!(render(r#"{{ dateInZone "15:04" now "UTC" }}"#), "13:14");
}

#[test]
fn ago_and_duration_round_measure_from_the_injected_clock() {
    assert_eq!(
        render(r#"{{ ago (toDate "2006-01-02 15:04:05 MST" "2024-02-29 13:00:00 UTC") }}"#),
        "14m16s"
    );
    assert_eq!(
        render(r#"{{ durationRound (toDate "2006-01-02" "2023-01-01") }}"#),
        "1y"
    );
    assert_eq!(
        render(r#"{{ toDate "2006-01-02 15:04" "2024-07-01 12:00" }}"#),
        "2024-07-01 12:00:00 -0400 EDT"
    );
}

#[test]
fn certificates_are_valid_from_the_injected_clock() {
    let pem = render(r#"{{ (genSelfSignedCert "x" nil nil 2).Cert }}"#);
    let block = pem::parse(pem.as_bytes()).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(block.contents()).unwrap();
    assert_eq!(cert.validity().not_before.timestamp(), 1709212455);
    assert_eq!(cert.validity().not_after.timestamp(), 1709212455 + 2 * 86400);
    assert_eq!(cert.subject().to_string(), "CN=x");
}
