//! Differential tests: the line-based fast reader must give exactly what the full YAML parser
//! gives (values and document lines) whenever it accepts a text.

use std::path::{Path, PathBuf};

use tack_yaml::Schema;
use tack_yaml::testing::{fast_parse, full_parse};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Checks one text under both schemas; returns whether the fast reader accepted it.
fn check(src: &str, what: &str) -> bool {
    let mut accepted = false;
    for schema in [Schema::Core, Schema::Yaml11] {
        if let Some(fast) = fast_parse(src, schema) {
            accepted = true;
            let full = full_parse(src, what, schema);
            match full {
                Ok(full) => {
                    assert_eq!(fast.len(), full.len(), "{what} ({schema:?}): document count");
                    for (a, b) in fast.iter().zip(full.iter()) {
                        assert_eq!(a.value, b.value, "{what} ({schema:?}): value");
                        assert_eq!(a.line, b.line, "{what} ({schema:?}): document line");
                    }
                }
                Err(e) => panic!("{what} ({schema:?}): fast reader accepted a text the parser rejects: {e}"),
            }
        }
    }
    accepted
}

#[test]
fn fast_reader_agrees_with_the_parser_on_the_golden_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kustomize/tests/golden/cases");
    let mut files = Vec::new();
    files_under(&root, &mut files);
    files.sort();
    assert!(
        files.len() > 500,
        "golden corpus not found under {}",
        root.display()
    );
    let mut accepted = 0;
    let mut total = 0;
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        total += 1;
        if check(&text, &f.display().to_string()) {
            accepted += 1;
        }
    }
    eprintln!("fast reader accepted {accepted} of {total} corpus files");
    // Most Kubernetes YAML is in the supported subset; a drop here means a regression.
    assert!(
        accepted * 10 >= total * 7,
        "fast reader accepted only {accepted} of {total} files"
    );
}

#[test]
fn fast_reader_agrees_with_the_parser_on_edge_cases() {
    let cases = [
        // A key that starts like a YAML 1.1 date with a multi-byte character after it (found by the fuzzer).
        "2228-2-4\u{4a0}D24-: -D",
        "",
        "\n",
        "# only a comment\n",
        "---\n",
        "---\n---\n",
        "a: 1\n---\n",
        "---\na: 1\n",
        "\n\n---\n\na: 1\n---\nb: 2\n",
        "a: 1\n---\n# c\n---\nb: [x, 'y', \"z\"]\n",
        "a:\n- 1\n- 2\nb: c\n",
        "a:\n  - x: 1\n    y: 2\n  - z\n",
        "- a: 1\n  b:\n  - c\n- - nested\n",
        "- \n  a: 1\n-\n- x\n",
        "k: |\n  line1\n\n  line3\n\nnext: 1\n",
        "k: |-\n  a\n   b\n  c\n",
        "k: |+\n  a\n\n\nn: 1\n",
        "k: |\n  a",
        "k: |+\n  a",
        "k: |\n\n  a\n",
        "k: |\n  a\n  \n",
        "k: |  # comment\n  a\n",
        "- |\n  in a sequence\n- after\n",
        "k: \"esc \\\" \\\\ \\n \\t \\/\"\n",
        "k: 'it''s'\n",
        "k: plain value # comment\n",
        "k: value#not-comment\n",
        "k: http://example.com:8080/x\n",
        "k: {a: 1, b: [2, 3], \"c\": 'd'}\n",
        "k: []\nl: {}\n",
        "k: [a, b,]\n",
        "k: [a: b]\n",
        "k: {a: 1, a: 2}\n",
        "a: 1\na: 2\n",
        "a: 010\nb: 0x1F\nc: 1e3\nd: .5\ne: -0\nf: 2020-01-01\ng: yes\nh: on\ni: ~\nj: null\nk: 1_000\n",
        "a: .inf\n",
        "1: a\n",
        "true: a\n",
        "null: a\n",
        "\"1\": a\n",
        "a: b: c\n",
        "a: b\n  c\n",
        "a: 'b\n  c'\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "<<: {a: 1}\n",
        "a: >\n  folded\n  text\n",
        "a:\n  b\n",
        "--- a\n",
        "a: 1\n...\n",
        "%YAML 1.2\n---\na: 1\n",
        "args: [\"--config-path\", \"/etc/envoy/envoy.yaml\"]\n",
        "- --flag=1\n- -1\n- -x\n",
        "a:\n    deep: 1\n  shallow: 2\n",
        "a:\n  b: 1\n c: 2\n",
        "key with spaces: v\n",
        "k: v\r\n",
        "k: \u{feff}v\n",
        "k: caf\u{e9}\n",
        "a:\n- b\n  - c\n",
        "a: [1, [2, [3]]]\n",
        "a: {b: {c: {}}}\n",
        "a: \"unterminated\n",
        "a: 'x' trailing\n",
        "- a\n-b\n",
        "a: -\n",
        "a: |\n  x\n b: 1\n",
    ];
    let mut accepted = 0;
    for c in cases {
        if check(c, &format!("{c:?}")) {
            accepted += 1;
        }
    }
    assert!(accepted > 30, "fast reader accepted only {accepted} edge cases");
}

/// Implicit keys are limited to 1 024 characters: the fast reader must not accept a longer one that the
/// parser refuses (found by the fuzzer), nor change what a key just under the limit gives.
#[test]
fn fast_reader_agrees_with_the_parser_on_long_keys() {
    for len in [990, 1000, 1001, 1023, 1024, 1025, 1100] {
        let key = "k".repeat(len);
        check(&format!("{key}: 1\n"), &format!("a key of {len} characters"));
        check(
            &format!("- {key}:\n"),
            &format!("a sequence item with a key of {len} characters"),
        );
        check(
            &format!("a:\n  {key}: x\n"),
            &format!("a nested key of {len} characters"),
        );
    }
}

mod generated {
    use proptest::prelude::*;

    /// Lines built from fragments that exercise indentation, sequences, compact mappings, block and
    /// flow scalars, quoting, comments and document markers.
    fn line() -> impl Strategy<Value = String> {
        let indent = prop::sample::select(vec!["", "", " ", "  ", "  ", "    ", "      "]);
        let body = prop::sample::select(vec![
            "a: 1",
            "b:",
            "c: x y",
            "d: 'q''s'",
            "e: \"x\\ny\"",
            "- v",
            "-",
            "- k: v",
            "- - n",
            "f: |",
            "g: |-",
            "h: |+",
            "i: >",
            "text line",
            "  more text",
            "# comment",
            "j: [1, b, 'c']",
            "k: {a: 1, b: [x]}",
            "l: v # c",
            "---",
            "...",
            "m: &a 1",
            "n: *a",
            "o: 010",
            "p: yes",
            "q: 1e3",
            "r: -1",
            "s: --flag",
            "t: a: b",
            "\"u\": 1",
            "v: ",
            "",
            "w: ~",
            "x: 2020-01-01",
        ]);
        (indent, body).prop_map(|(i, b)| format!("{i}{b}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn fast_reader_agrees_on_generated_texts(lines in prop::collection::vec(line(), 1..12), end_nl in any::<bool>()) {
            let mut text = lines.join("\n");
            if end_nl {
                text.push('\n');
            }
            super::check(&text, &format!("{text:?}"));
        }
    }
}
