//! Golden tests: `tack jsonnet` against go-jsonnet v0.22.0's recorded output (scripts/jsonnet-golden.sh writes
//! the expectations with the reference; this test never writes them). Standard output and the exit code must be
//! identical; of standard error, the first line (the error message) must be identical, the stack trace below it
//! is counted but may differ.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

struct Case {
    name: String,
    dir: PathBuf,
    args: Vec<String>,
    expected: PathBuf,
}

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn cases() -> Vec<Case> {
    let g = golden();
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(g.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "jsonnet"))
    {
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        let mut args: Vec<String> = std::fs::read_to_string(f.with_extension("args"))
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default();
        args.push(format!("{name}.jsonnet"));
        out.push(Case {
            expected: g.join("expected").join(&name),
            name,
            dir: g.join("cases"),
            args,
        });
    }
    let mut apps: Vec<_> = std::fs::read_dir(g.join("apps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    apps.sort();
    for app in apps {
        let Ok(runs) = std::fs::read_to_string(app.join("runs")) else {
            continue;
        };
        let app_name = app.file_name().unwrap().to_string_lossy().to_string();
        for line in runs.lines().filter(|l| !l.trim().is_empty()) {
            let mut words = line.split(' ').filter(|w| !w.is_empty()).map(str::to_string);
            let run = words.next().unwrap();
            let name = format!("{app_name}.{run}");
            out.push(Case {
                expected: g.join("expected/apps").join(&name),
                name,
                dir: app.clone(),
                args: words.collect(),
            });
        }
    }
    out
}

/// Runs one case; returns (stdout matches, code matches, first stderr line matches, stderr matches).
fn run(case: &Case, tmp: &Path) -> (bool, bool, bool, bool, String) {
    let out_dir = tmp.join(&case.name);
    std::fs::create_dir_all(&out_dir).unwrap();
    let out_text = out_dir.display().to_string();
    let args: Vec<String> = case.args.iter().map(|a| a.replace("@OUT@", &out_text)).collect();
    let output = Command::new(env!("CARGO_BIN_EXE_tack-jsonnet-cli"))
        .args(&args)
        .current_dir(&case.dir)
        .env_remove("JSONNET_PATH")
        .output()
        .unwrap();
    let mut stdout = String::from_utf8_lossy(&output.stdout).replace(&out_text, "@OUT@");
    if case.args.iter().any(|a| a == "-m" || a == "--multi") {
        let mut files = Vec::new();
        collect(&out_dir, &out_dir, &mut files);
        files.sort();
        for (rel, content) in files {
            stdout.push_str(&format!("== {rel}\n{content}"));
        }
    }
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let code = output.status.code().unwrap_or(-1).to_string();
    let read =
        |ext: &str| std::fs::read_to_string(format!("{}.{ext}", case.expected.display())).unwrap_or_default();
    let (want_out, want_err, want_code) = (read("stdout"), read("stderr"), read("code"));
    let first = |s: &str| s.lines().next().unwrap_or("").to_string();
    let detail = if stdout != want_out {
        format!("stdout:\n--- go-jsonnet\n{want_out}\n--- tack\n{stdout}")
    } else if first(&stderr) != first(&want_err) {
        format!("stderr:\n--- go-jsonnet\n{want_err}\n--- tack\n{stderr}")
    } else {
        format!("exit code: go-jsonnet {} tack {code}", want_code.trim())
    };
    (
        stdout == want_out,
        code == want_code.trim(),
        first(&stderr) == first(&want_err),
        stderr == want_err,
        detail,
    )
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(base, &path, out);
        } else {
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn golden_cases_match_go_jsonnet() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = cases();
    assert!(cases.len() >= 120, "only {} cases", cases.len());
    let known: Vec<String> = std::fs::read_to_string(golden().join("KNOWN_DIFFERENCES"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    let mut failures = Vec::new();
    let mut differing = 0;
    let mut full_stderr = 0;
    for case in &cases {
        let (out, code, first, err, detail) = run(case, tmp.path());
        if err {
            full_stderr += 1;
        }
        let identical = out && code && first;
        if !identical {
            differing += 1;
        }
        match (identical, known.contains(&case.name)) {
            (false, false) => failures.push(format!("== {} ({})\n{detail}", case.name, case.args.join(" "))),
            (true, true) => failures.push(format!(
                "== {}: listed in KNOWN_DIFFERENCES but identical now",
                case.name
            )),
            _ => {}
        }
    }
    eprintln!(
        "jsonnet golden: {}/{} cases identical (stdout, exit code, error message); {} with the whole stderr identical",
        cases.len() - differing,
        cases.len(),
        full_stderr
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
