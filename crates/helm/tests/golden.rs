//! The Helm golden corpus: every case under tests/golden/<case>/ is rendered with the `helm template`
//! arguments of its case.yaml and compared byte for byte with what helm v4.3.2 printed
//! (scripts/helm-golden.sh writes expected.out, or expected.err and expected.status for a failure).
//!
//! A failing case must fail here too, with helm's message (after `Error: `). Cases listed in
//! tests/golden/known-failures.txt are run and reported without failing the test.
//! `HELM_GOLDEN_CASE=substring` runs only the matching cases; `HELM_GOLDEN_VERBOSE=1` prints every diff.

use std::io;
use std::path::{Path, PathBuf};

use tack_helm::fs::EntryKind;
use tack_helm::{ChartFs, ChartSource, DiskFs};

/// The disk, with relative paths taken from the case folder (helm runs there).
struct CaseFs(PathBuf);

impl CaseFs {
    fn at(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.0.join(p)
        }
    }
}

impl ChartFs for CaseFs {
    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, EntryKind)>> {
        DiskFs.read_dir(&self.at(path))
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        DiskFs.read(&self.at(path))
    }
    fn file_size(&self, path: &Path) -> io::Result<u64> {
        DiskFs.file_size(&self.at(path))
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        DiskFs.canonicalize(&self.at(path))
    }
    fn is_dir(&self, path: &Path) -> bool {
        DiskFs.is_dir(&self.at(path))
    }
}

fn case_args(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("case.yaml")).expect("case.yaml");
    let doc = tack_yaml::parse_one(&text, "case.yaml").expect("case.yaml is YAML");
    doc.get("args")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// helm's error message without `Error: ` and the `--debug` hint.
fn helm_message(stderr: &str) -> String {
    // helm may log lines (`level=ERROR ...`) before its `Error: ` line.
    let s = match stderr.strip_prefix("Error: ") {
        Some(rest) => rest,
        None => stderr
            .find("\nError: ")
            .map_or(stderr, |i| &stderr[i + "\nError: ".len()..]),
    };
    let s = s.trim_end();
    let s = s
        .strip_suffix("Use --debug flag to render out invalid YAML")
        .unwrap_or(s);
    s.trim_end().to_string()
}

enum Outcome {
    Pass,
    Fail(String),
}

fn run_case(dir: &Path) -> Outcome {
    let args = case_args(dir);
    let fs = CaseFs(dir.to_path_buf());
    let result = tack_helm::args::parse_template_args(&args).and_then(|parsed| {
        let source = ChartSource::Path(PathBuf::from(&parsed.chart));
        tack_helm::render_with(&fs, &source, &parsed.options)
    });
    let expected_out = std::fs::read_to_string(dir.join("expected.out")).ok();
    let expected_err = std::fs::read_to_string(dir.join("expected.err")).ok();
    match (result, expected_out, expected_err) {
        (Ok(r), Some(want), _) => {
            if r.text == want {
                Outcome::Pass
            } else {
                Outcome::Fail(diff(&want, &r.text))
            }
        }
        (Err(e), Some(_), _) => Outcome::Fail(format!("helm succeeded; tack failed: {e}")),
        (Ok(r), None, Some(err)) => Outcome::Fail(format!(
            "helm failed ({}); tack succeeded:\n{}",
            helm_message(&err),
            r.text.lines().take(10).collect::<Vec<_>>().join("\n")
        )),
        (Err(e), None, Some(err)) => {
            let want = helm_message(&err);
            if e.to_string().trim_end() == want {
                Outcome::Pass
            } else {
                Outcome::Fail(format!("error differs:\n  helm: {want}\n  tack: {e}"))
            }
        }
        (_, None, None) => Outcome::Fail("no expectation: run scripts/helm-golden.sh".into()),
    }
}

fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let first = w
        .iter()
        .zip(g.iter())
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    let lo = first.saturating_sub(3);
    let mut out = format!(
        "first difference at line {} (helm {} lines, tack {} lines)\n",
        first + 1,
        w.len(),
        g.len()
    );
    for i in lo..(first + 4) {
        if let Some(l) = w.get(i) {
            out.push_str(&format!("  helm {:>4}: {l}\n", i + 1));
        }
        if let Some(l) = g.get(i) {
            out.push_str(&format!("  tack {:>4}: {l}\n", i + 1));
        }
    }
    out
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let filter = std::env::var("HELM_GOLDEN_CASE").unwrap_or_default();
    let verbose = std::env::var("HELM_GOLDEN_VERBOSE").is_ok();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.yaml").is_file())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(&filter))
        })
        .collect();
    cases.sort();
    let known: Vec<String> = std::fs::read_to_string(root.join("known-failures.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let mut failed = Vec::new();
    let mut known_failed = Vec::new();
    let mut now_passing = Vec::new();
    for dir in &cases {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let outcome = std::panic::catch_unwind(|| run_case(dir)).unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Outcome::Fail(format!("panicked: {msg}"))
        });
        let is_known = known.contains(&name);
        match outcome {
            Outcome::Fail(why) if is_known => {
                if verbose {
                    println!("KNOWN FAILURE {name}\n{why}");
                }
                known_failed.push(name);
            }
            Outcome::Fail(why) => {
                if verbose || failed.len() < 15 {
                    println!("FAIL {name}\n{why}");
                }
                failed.push(name);
            }
            Outcome::Pass if is_known => now_passing.push(name),
            Outcome::Pass => {}
        }
    }
    println!(
        "helm golden: {} cases, {} passed, {} failed, {} known failures",
        cases.len(),
        cases.len() - failed.len() - known_failed.len(),
        failed.len(),
        known_failed.len()
    );
    if !known_failed.is_empty() {
        println!(
            "known failures (tests/golden/known-failures.txt): {}",
            known_failed.join(" ")
        );
    }
    if !now_passing.is_empty() {
        println!(
            "now passing, remove from known-failures.txt: {}",
            now_passing.join(" ")
        );
    }
    if !failed.is_empty() {
        println!("failing: {}", failed.join(" "));
        std::process::exit(1);
    }
}
