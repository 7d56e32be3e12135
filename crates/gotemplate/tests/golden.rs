//! Golden cases: small charts under tests/golden/<case>/ rendered by Helm v4.3.2's own engine
//! (testenv/oracles/helm-engine, see tests/golden/regen.sh); expected.json holds its output.
//!
//! The harness does what Helm's engine does around text/template, and no more: values.yaml read as JSON
//! numbers (float64), dot = {Values, Template}, every template parsed into one set (deepest path first, then
//! reverse lexical order, a later definition winning), `missingkey=zero`, partials (`_*`) not rendered,
//! `<no value>` removed, and errors reworded as Helm's `cleanupParseError` / `reformatExecErrorMsg` do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tack_gotemplate::{ExecOptions, Funcs, Map, MissingKey, Templates, Value};

fn chart_name(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("Chart.yaml")).expect("Chart.yaml");
    let doc = tack_yaml::parse_one(&text, "Chart.yaml").expect("Chart.yaml parses");
    doc.get("name")
        .and_then(|n| n.as_str())
        .expect("chart name")
        .to_string()
}

fn templates(dir: &Path, chart: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("templates")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .expect("inside chart")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((
                    format!("{chart}/{rel}"),
                    std::fs::read_to_string(&p).expect("template text"),
                ));
            }
        }
    }
    // Helm's sortTemplates: sort.Reverse(byPathLen): deeper paths first, then reverse lexical order.
    out.sort_by(|a, b| {
        let (ca, cb) = (a.0.matches('/').count(), b.0.matches('/').count());
        cb.cmp(&ca).then_with(|| b.0.cmp(&a.0))
    });
    out
}

/// Helm's `cleanupParseError`.
fn helm_parse_error(filename: &str, msg: &str) -> String {
    let tokens: Vec<&str> = msg.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {msg}");
    }
    format!("parse error at ({}): {}", tokens[1], tokens[tokens.len() - 1])
}

/// Helm's `reformatExecErrorMsg`, for errors whose wrapped cause is not itself a template error.
fn helm_exec_error(filename: &str, msg: &str) -> String {
    let tokens: Vec<&str> = msg.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {msg}");
    }
    // A function's own error is wrapped with %w: Helm cannot parse the inner error and returns the message.
    if let Some(i) = msg.find(">: error calling ") {
        let rest = &msg[i + ">: error calling ".len()..];
        let inner = rest.split_once(": ").map(|x| x.1).unwrap_or("");
        if !inner.starts_with("template: ") {
            return msg.to_string();
        }
    }
    let remainder = &msg["template: ".len()..];
    if let Some((name, after)) = remainder.split_once(": executing ")
        && let Some(after) = after.strip_prefix('"')
        && let Some(endq) = after.find('"')
    {
        let func = &after[..endq];
        let after_func = &after[endq + 1..];
        if let Some(after_at) = after_func.strip_prefix(" at <")
            && let Some((loc, err)) = after_at.split_once(">: ")
        {
            let err = err.find(" template:").map(|c| &err[..c]).unwrap_or(err);
            return format!("{name}\n  executing \"{func}\" at <{loc}>:\n    {err}");
        }
    }
    if let Some(sep) = remainder.rfind(": ") {
        let err = &remainder[sep + 2..];
        let err = err.find(" template:").map(|c| &err[..c]).unwrap_or(err);
        return format!("{}\n  {}", &remainder[..sep], err);
    }
    msg.to_string()
}

fn render(dir: &Path) -> BTreeMap<String, String> {
    let chart = chart_name(dir);
    let values = match std::fs::read_to_string(dir.join("values.yaml")) {
        Ok(text) => {
            Value::from_json(&tack_yaml::parse_one(&text, "values.yaml").expect("values.yaml parses"))
        }
        Err(_) => Value::map(Map::new()),
    };
    let values = if values.is_nil() {
        Value::map(Map::new())
    } else {
        values
    };
    let funcs = Funcs::new();
    let tpls = templates(dir, &chart);
    let mut set = Templates::new();
    let mut out = BTreeMap::new();
    for (name, text) in &tpls {
        if let Err(e) = set.parse(name, text, &funcs) {
            out.insert("error".to_string(), helm_parse_error(name, &e.message));
            return out;
        }
    }
    let opts = ExecOptions {
        missing_key: MissingKey::Zero,
        ..ExecOptions::default()
    };
    for (name, _) in &tpls {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base.starts_with('_') {
            continue;
        }
        let mut template = Map::new();
        template.insert("Name".into(), Value::from(name.as_str()));
        template.insert("BasePath".into(), Value::from(format!("{chart}/templates")));
        let mut dot = Map::new();
        dot.insert("Values".into(), values.clone());
        dot.insert("Template".into(), Value::map(template));
        match set.execute(name, &Value::map(dot), &funcs, &opts) {
            Ok(text) => {
                let rel = name.split_once('/').map(|x| x.1).unwrap_or(name);
                out.insert(rel.to_string(), text.replace("<no value>", ""));
            }
            Err(e) => {
                let mut o = BTreeMap::new();
                o.insert("error".to_string(), helm_exec_error(name, &e.message));
                return o;
            }
        }
    }
    out
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
    let cases = cases();
    assert!(!cases.is_empty(), "no golden cases");
    let mut failures = Vec::new();
    for dir in &cases {
        let expected: BTreeMap<String, String> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"))
                .expect("expected.json is a string map");
        let got = render(dir);
        if got != expected {
            failures.push(format!(
                "{}:\n  expected: {:?}\n  got:      {:?}",
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                expected,
                got
            ));
        }
    }
    eprintln!("{} golden cases, {} failing", cases.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
