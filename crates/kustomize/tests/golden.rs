//! Golden test: every case under `tests/golden/cases/<case>/` is built and compared with the
//! output `kubectl kustomize` produced for it (`expected.yaml`, byte for byte, and its deprecation
//! warnings in `expected.warn`) or with its failure
//! (`expected.err`: tack must fail too). Cases listed in `tests/golden/known-failures.txt` are
//! expected to fail; a listed case that passes fails the run, so the list stays honest.
//!
//! Set `GOLDEN_FILTER=substring` to run a subset, `GOLDEN_VERBOSE=1` to print diffs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tack_kustomize::{DiskFs, LoadRestrictor, Options, build};

struct Case {
    name: String,
    dir: PathBuf,
    args: Vec<String>,
}

fn case_scalar(text: &str, key: &str) -> Option<String> {
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(&format!("{key}:")) {
            let v = rest.trim();
            let v = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(v);
            let v = v
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .unwrap_or(v);
            return Some(v.to_string());
        }
    }
    None
}

fn load_cases(root: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut dir = d.join("input");
        let mut args = Vec::new();
        if let Ok(text) = std::fs::read_to_string(d.join("case.yaml")) {
            if let Some(sub) = case_scalar(&text, "dir") {
                dir = d.join(sub);
            }
            if let Some(a) = case_scalar(&text, "args") {
                let a = a.trim().trim_start_matches('[').trim_end_matches(']');
                args = a
                    .split(',')
                    .map(|x| x.trim().trim_matches('"').trim_matches('\'').to_string())
                    .filter(|x| !x.is_empty())
                    .collect();
            }
        }
        out.push(Case { name, dir, args });
    }
    out
}

fn run_case(case: &Case, root: &Path) -> Result<(), String> {
    let mut opts = Options::default();
    let mut i = 0;
    while i < case.args.len() {
        match case.args[i].as_str() {
            "--load-restrictor" => {
                if case.args.get(i + 1).map(String::as_str) == Some("LoadRestrictionsNone") {
                    opts.load_restrictor = LoadRestrictor::None;
                }
                i += 2;
            }
            "--load-restrictor=LoadRestrictionsNone" => {
                opts.load_restrictor = LoadRestrictor::None;
                i += 1;
            }
            other => return Err(format!("unsupported case argument {other}")),
        }
    }
    let case_dir = root.join(&case.name);
    let expected_yaml = std::fs::read_to_string(case_dir.join("expected.yaml")).ok();
    let expected_err = std::fs::read_to_string(case_dir.join("expected.err")).ok();
    let expected_warn = std::fs::read_to_string(case_dir.join("expected.warn")).unwrap_or_default();
    let result = build(&DiskFs, &case.dir, &opts);
    match (result, expected_yaml, expected_err) {
        (Ok(out), Some(want), _) => {
            let got = out.to_yaml();
            if got != want {
                return Err(format!("output differs\n{}", diff(&want, &got)));
            }
            // Deprecation warnings, as kubectl printed them on stderr.
            let warn: String = out.warnings.iter().map(|w| format!("{w}\n")).collect();
            if warn != expected_warn {
                return Err(format!("warnings differ\n{}", diff(&expected_warn, &warn)));
            }
            Ok(())
        }
        (Err(e), Some(_), _) => Err(format!("tack failed, kubectl succeeded: {e}")),
        (Err(_), None, Some(_)) => Ok(()),
        (Ok(out), None, Some(err)) => Err(format!(
            "tack succeeded, kubectl failed with:\n{err}\ntack printed:\n{}",
            out.to_yaml()
        )),
        (_, None, None) => Err("case has neither expected.yaml nor expected.err".into()),
    }
}

fn diff(want: &str, got: &str) -> String {
    let w: Vec<&str> = want.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    let mut out = String::new();
    let n = w.len().max(g.len());
    let mut shown = 0;
    for i in 0..n {
        let a = w.get(i).copied();
        let b = g.get(i).copied();
        if a != b {
            out.push_str(&format!(
                "  line {}:\n    kubectl: {:?}\n    tack:    {:?}\n",
                i + 1,
                a,
                b
            ));
            shown += 1;
            if shown >= 5 {
                break;
            }
        }
    }
    out
}

fn main() -> ExitCode {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let root = base.join("cases");
    let known: BTreeSet<String> = std::fs::read_to_string(base.join("known-failures.txt"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let filter = std::env::var("GOLDEN_FILTER").unwrap_or_default();
    let verbose = std::env::var("GOLDEN_VERBOSE").is_ok();
    let cases = load_cases(&root);
    let (mut passed, mut failed, mut expected_failures) = (0, 0, 0);
    let mut problems = Vec::new();
    let mut unexpected_pass = Vec::new();
    for c in cases.iter().filter(|c| c.name.contains(&filter)) {
        let r = run_case(c, &root);
        let listed = known.contains(&c.name);
        match (r, listed) {
            (Ok(()), false) => passed += 1,
            (Ok(()), true) => {
                failed += 1;
                unexpected_pass.push(c.name.clone());
            }
            (Err(e), true) => {
                expected_failures += 1;
                if verbose {
                    println!("known failure {}: {e}", c.name);
                }
            }
            (Err(e), false) => {
                failed += 1;
                problems.push((c.name.clone(), e));
            }
        }
    }
    for (name, e) in &problems {
        println!("FAIL {name}: {e}");
    }
    for name in &unexpected_pass {
        println!("FAIL {name}: passes but is listed in known-failures.txt (remove it from the list)");
    }
    println!("known failures (listed in known-failures.txt and failing): {expected_failures}");
    println!("golden: {passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
