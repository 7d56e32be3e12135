//! Golden cases: small charts under tests/golden/<case>/ rendered by Helm v4.3.2's own engine
//! (testenv/oracles/helm-engine; tests/golden/regen.sh writes expected.json). Each case exercises Sprig
//! functions through tack's template engine the way Helm runs them: values.yaml (JSON form) read with every
//! number a float64, dot = {Values, Template}, `missingkey=zero`, `<no value>` removed, and errors reworded
//! as Helm's engine rewords them. Cases with a shape.txt produce output that is not reproducible (clock,
//! randomness): their output must match the regular expression in shape.txt, which regen.sh checks Helm's
//! output against as well. Cases with a difference.txt fail in both, with the same message wrapped
//! differently (the file says why).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tack_gotemplate::{ExecOptions, Funcs, Map, MissingKey, Templates, Value};

const CHART: &str = "sprig-case";

fn funcs() -> Funcs {
    let mut funcs = Funcs::new();
    let local = jiff::tz::TimeZone::UTC;
    tack_sprig::install_with(
        &mut funcs,
        tack_sprig::Env {
            clock: std::rc::Rc::new(jiff::Timestamp::now),
            local,
        },
    );
    funcs
}

/// Helm's `cleanupParseError`.
fn helm_parse_error(filename: &str, msg: &str) -> String {
    let tokens: Vec<&str> = msg.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {msg}");
    }
    format!("parse error at ({}): {}", tokens[1], tokens[tokens.len() - 1])
}

/// Helm's `reformatExecErrorMsg`: a function's own error is left as Go wrote it; an error of the engine
/// (argument checks) is reshaped into `FILE:LINE:COL\n  executing "NAME" at <EXPR>:\n    ERROR`.
fn helm_exec_error(filename: &str, msg: &str) -> String {
    if msg.splitn(3, ": ").count() != 3 {
        return format!("execution error in ({filename}): {msg}");
    }
    if msg.contains(">: error calling ") {
        return msg.to_string();
    }
    let remainder = msg.strip_prefix("template: ").unwrap_or(msg);
    if let Some((name, after)) = remainder.split_once(": executing \"")
        && let Some(endq) = after.find('"')
        && let Some(after_at) = after[endq + 1..].strip_prefix(" at <")
        && let Some((loc, err)) = after_at.split_once(">: ")
    {
        return format!(
            "{name}\n  executing \"{}\" at <{loc}>:\n    {err}",
            &after[..endq]
        );
    }
    msg.to_string()
}

/// Helm's values coalescing drops keys whose value is null (in maps, at every depth; list items stay).
fn without_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

fn render(dir: &Path, funcs: &Funcs) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("values.yaml")).expect("values.yaml");
    let json: serde_json::Value = serde_json::from_str(&text).expect("values.yaml is JSON");
    let values = Value::from_json(&without_nulls(json));
    let name = format!("{CHART}/templates/t.yaml");
    let text = std::fs::read_to_string(dir.join("templates/t.yaml")).expect("templates/t.yaml");
    let mut set = Templates::new();
    let mut out = BTreeMap::new();
    if let Err(e) = set.parse(&name, &text, funcs) {
        out.insert("error".to_string(), helm_parse_error(&name, &e.message));
        return out;
    }
    let mut template = Map::new();
    template.insert("Name".into(), Value::string(name.as_str()));
    template.insert("BasePath".into(), Value::string(format!("{CHART}/templates")));
    let mut dot = Map::new();
    dot.insert("Values".into(), values);
    dot.insert("Template".into(), Value::map(template));
    let opts = ExecOptions {
        missing_key: MissingKey::Zero,
        ..ExecOptions::default()
    };
    match set.execute(&name, &Value::map(dot), funcs, &opts) {
        Ok(text) => {
            out.insert("templates/t.yaml".to_string(), text.replace("<no value>", ""));
        }
        Err(e) => {
            out.insert("error".to_string(), helm_exec_error(&name, &e.message));
        }
    }
    out
}

/// For a case with a difference.txt (a known difference in how an error is wrapped, explained there): both
/// renders fail, and tack's error ends with Helm's message.
fn same_error_message(expected: &BTreeMap<String, String>, got: &BTreeMap<String, String>) -> bool {
    let (Some(want), Some(have)) = (expected.get("error"), got.get("error")) else {
        return false;
    };
    let core = want.rsplit("\n    ").next().unwrap_or(want);
    have.ends_with(core)
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("expected.json").exists())
        .collect();
    v.sort();
    v
}

#[test]
fn golden_cases_match_helm() {
    let funcs = funcs();
    let cases = cases();
    assert!(cases.len() >= 120, "only {} golden cases", cases.len());
    let only = std::env::var("GOLDEN_CASE").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for dir in &cases {
        let case = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if only.as_deref().is_some_and(|o| !case.contains(o)) {
            continue;
        }
        ran += 1;
        let expected: BTreeMap<String, String> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"))
                .expect("expected.json is a string map");
        let got = render(dir, &funcs);
        let ok = if dir.join("difference.txt").exists() {
            same_error_message(&expected, &got)
        } else {
            match std::fs::read_to_string(dir.join("shape.txt")) {
                Ok(pattern) => {
                    let re = regex::Regex::new(&format!("^(?:{})$", pattern.trim_end_matches('\n')))
                        .expect("shape.txt");
                    got.get("templates/t.yaml").is_some_and(|t| re.is_match(t))
                }
                Err(_) => got == expected,
            }
        };
        if !ok {
            failures.push(format!("{case}:\n  expected: {expected:?}\n  got:      {got:?}"));
        }
    }
    eprintln!("{ran} golden cases, {} failing", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {ran} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
