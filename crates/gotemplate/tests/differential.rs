//! Differential cases against Go's text/template itself (tests/differential/: cases.jsonl, and
//! expected.jsonl written by regen.sh with testenv/oracles/helm-engine --text-template): printf verbs and flags
//! over many values, random action trees, random token soups. Execution uses `missingkey=zero` and the
//! builtins only; parse and execution errors must be Go's messages byte for byte.

use std::path::Path;

use tack_gotemplate::{ExecOptions, Funcs, MissingKey, Templates, Value};

fn run(tpl: &str, data: &Value) -> serde_json::Value {
    let funcs = Funcs::new();
    let mut set = Templates::new();
    if let Err(e) = set.parse("t", tpl, &funcs) {
        return serde_json::json!({ "err": e.message });
    }
    let opts = ExecOptions {
        missing_key: MissingKey::Zero,
        ..ExecOptions::default()
    };
    match set.execute("t", data, &funcs, &opts) {
        Ok(out) => serde_json::json!({ "out": out }),
        Err(e) => serde_json::json!({ "err": e.message }),
    }
}

#[test]
fn engine_matches_go_text_template() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    let cases = std::fs::read_to_string(dir.join("cases.jsonl")).expect("cases.jsonl");
    let expected = std::fs::read_to_string(dir.join("expected.jsonl")).expect("expected.jsonl");
    let mut data = Value::Nil;
    let mut total = 0;
    let mut failures = Vec::new();
    for (line, want) in cases.lines().zip(expected.lines()) {
        let case: serde_json::Value = serde_json::from_str(line).expect("case is JSON");
        if let Some(d) = case.get("data") {
            data = Value::from_json(d);
        }
        let tpl = case["tpl"].as_str().expect("tpl is a string");
        let want: serde_json::Value = serde_json::from_str(want).expect("expectation is JSON");
        let got = run(tpl, &data);
        total += 1;
        if got != want {
            failures.push(format!("{tpl:?}\n  go:   {want}\n  tack: {got}"));
        }
    }
    assert_eq!(total, expected.lines().count(), "one expectation per case");
    eprintln!("{total} differential cases, {} differ", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {total} differ:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}
