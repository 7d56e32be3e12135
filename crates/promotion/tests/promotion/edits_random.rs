//! Randomised check of the kustomization edits against what they mean: thousands of kustomizations written
//! in the forms people write (list indentation 0 or 2, fields in any order, quoted and plain scalars, comments
//! between keys and after values, numeric-looking tags, a `valuesInline` holding its own `name:` and
//! `version:` keys, remote bases in every URL form Kustomize accepts), each edited once. The edited file,
//! read by the YAML parser, must equal the original's data with exactly the edit's change (an image's
//! `newTag` set and its `digest` dropped as `kustomize edit set image` does, a chart's `version`, a base's
//! reference as Kustomize parses it), and keep every comment line.

use serde_json::{Map, Value, json};
use tack_kustomize::parse_remote;
use tack_promotion::base::{repository_key, set_reference};
use tack_promotion::chart::set_kustomization_version;
use tack_promotion::kustomization::set_image;

/// How many cases each test runs: `PROMOTION_EDIT_CASES`, else 3 000 (under a second).
fn cases() -> u64 {
    std::env::var("PROMOTION_EDIT_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000)
}

/// A small deterministic generator (xorshift64*), so that a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const IMAGES: [&str; 4] = [
    "nginx",
    "docker.io/library/redis",
    "gcr.io/x/gb-frontend",
    "ghcr.io/org/app",
];
const TAGS: [&str; 8] = [
    "v1",
    "1.0",
    "2",
    "v2.3.4",
    "latest",
    "1.27.1-alpine",
    "true",
    "0x1F",
];
const CHARTS: [&str; 3] = ["web", "redis", "podinfo"];
const VERSIONS: [&str; 5] = ["0.1.0", "1.2.3", "19.0", "6.5.0-rc.1", "2"];
const PLATFORM: &str = "https://github.com/org/platform";
const REMOTES: [&str; 7] = [
    "https://github.com/org/platform//apps/web?ref=v1",
    "github.com/org/platform/apps/db?ref=v1.0.0",
    "git@github.com:org/platform.git//apps?ref=v1&timeout=90s",
    "https://github.com/org/platform.git//apps/cache",
    "https://github.com/org/platform//apps?version=v3",
    "https://github.com/org/other//x?ref=v9",
    "github.com/org/platform-tools/lint?ref=v2",
];

/// A scalar as a person might write it: plain when YAML reads it back as this string, else quoted (double or
/// single).
fn scalar(rng: &mut Rng, s: &str) -> String {
    let plain_ok = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "./-_:@".contains(c))
        && tack_yaml::parse_one(&format!("k: {s}\n"), "x").ok() == Some(json!({"k": s}));
    if plain_ok && rng.chance(70) {
        s.to_string()
    } else if rng.chance(50) {
        format!("\"{s}\"")
    } else {
        format!("'{s}'")
    }
}

/// A trailing comment, sometimes.
fn tail(rng: &mut Rng) -> &'static str {
    if rng.chance(20) { " # note" } else { "" }
}

/// A list entry of `fields` (`key`, text) in the given order, at `indent`.
fn entry(indent: &str, fields: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        let lead = if i == 0 {
            format!("{indent}- ")
        } else {
            format!("{indent}  ")
        };
        out.push_str(&format!(
            "{lead}{k}:{}{v}\n",
            if v.starts_with('\n') { "" } else { " " }
        ));
    }
    out
}

fn kustomization(rng: &mut Rng) -> String {
    let indent = if rng.chance(50) { "" } else { "  " };
    let mut sections: Vec<String> = Vec::new();
    // resources, with remote bases
    let mut res = String::from("resources:\n");
    res.push_str(&format!("{indent}- deployment.yaml{}\n", tail(rng)));
    for _ in 0..rng.below(4) {
        let r = rng.pick(&REMOTES);
        let r = if rng.chance(20) {
            format!("\"{r}\"")
        } else {
            r.to_string()
        };
        res.push_str(&format!("{indent}- {r}{}\n", tail(rng)));
    }
    sections.push(res);
    if rng.chance(30) {
        sections.push(format!(
            "components:\n{indent}- {}\n",
            rng.pick(&[
                "git@github.com:org/platform.git//components/tls",
                "../components/tls"
            ])
        ));
    }
    // images
    if rng.chance(80) {
        if rng.chance(10) {
            sections.push("images: []\n".into());
        } else {
            let mut s = String::from("images:\n");
            let mut used = Vec::new();
            for _ in 0..rng.below(4) {
                let name = rng.pick(&IMAGES);
                if used.contains(&name) {
                    continue;
                }
                used.push(name);
                let mut fields = vec![("name".to_string(), scalar(rng, name))];
                if rng.chance(40) {
                    fields.push(("newName".into(), scalar(rng, "mirror.example.com/x")));
                }
                if rng.chance(70) {
                    let tag = rng.pick(&TAGS);
                    fields.push(("newTag".into(), format!("{}{}", scalar(rng, tag), tail(rng))));
                }
                if rng.chance(20) {
                    fields.push(("digest".into(), "sha256:0123abcd".into()));
                }
                if rng.chance(30) {
                    let last = fields.len() - 1;
                    fields.swap(0, last);
                }
                s.push_str(&entry(indent, &fields));
            }
            if used.is_empty() {
                s = "images: []\n".into();
            }
            sections.push(s);
        }
    }
    // helmCharts
    if rng.chance(70) {
        let mut s = String::from("helmCharts:\n");
        let mut used = Vec::new();
        for _ in 0..1 + rng.below(2) {
            let name = rng.pick(&CHARTS);
            if used.contains(&name) {
                continue;
            }
            used.push(name);
            let mut fields = vec![
                ("name".to_string(), scalar(rng, name)),
                ("repo".into(), "https://charts.example.com".into()),
            ];
            if rng.chance(85) {
                let v = rng.pick(&VERSIONS);
                fields.push(("version".into(), format!("{}{}", scalar(rng, v), tail(rng))));
            }
            fields.push(("releaseName".into(), scalar(rng, name)));
            if rng.chance(40) {
                let pad = format!("{indent}    ");
                fields.push((
                    "valuesInline".into(),
                    format!("\n{pad}name: inner\n{pad}version: keep\n{pad}image:\n{pad}  tag: \"1\""),
                ));
            }
            if rng.chance(30) {
                fields.swap(0, 1);
            }
            s.push_str(&entry(indent, &fields));
        }
        sections.push(s);
    }
    sections.push(format!("namespace: {}\n", scalar(rng, "qa")));
    // Shuffle the top-level keys, with comments between some of them.
    for i in (1..sections.len()).rev() {
        let j = rng.below(i + 1);
        sections.swap(i, j);
    }
    let mut out = String::new();
    if rng.chance(50) {
        out.push_str("# the qa environment\n");
    }
    for s in sections {
        out.push_str(&s);
        if rng.chance(25) {
            out.push_str("# ---- owned by the platform team\n");
        }
    }
    out
}

fn parse(text: &str, seed: u64) -> Map<String, Value> {
    match tack_yaml::parse_one(text, "kustomization.yaml") {
        Ok(Value::Object(m)) => m,
        other => panic!("seed {seed}: not a mapping: {other:?}\n{text}"),
    }
}

/// The comment lines, and how many values carry a trailing comment.
fn comments(text: &str) -> (Vec<&str>, usize) {
    (
        text.lines().filter(|l| l.trim_start().starts_with('#')).collect(),
        text.matches(" # note").count(),
    )
}

/// What `kustomize edit set image NAME:TAG` does to the data.
fn expected_image(mut data: Map<String, Value>, name: &str, tag: &str) -> Map<String, Value> {
    let images = data.entry("images").or_insert_with(|| json!([]));
    if images.is_null() {
        *images = json!([]);
    }
    let list = images.as_array_mut().expect("images is a list");
    match list.iter_mut().find(|e| e["name"] == name) {
        Some(Value::Object(e)) => {
            e.insert("newTag".into(), json!(tag));
            e.remove("digest");
        }
        _ => list.push(json!({"name": name, "newTag": tag})),
    }
    data
}

#[test]
fn edits_change_exactly_what_they_mean() {
    let cases = cases();
    for seed in 1..=cases {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let text = kustomization(&mut rng);
        let before = parse(&text, seed);
        match rng.below(3) {
            0 => {
                let (name, tag) = (rng.pick(&IMAGES), rng.pick(&TAGS));
                let edited =
                    set_image(&text, name, None, tag).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
                assert_eq!(
                    parse(&edited, seed),
                    expected_image(before, name, tag),
                    "seed {seed}: set {name}:{tag}\n--- before\n{text}--- after\n{edited}"
                );
                assert_eq!(comments(&edited), comments(&text), "seed {seed}\n{edited}");
            }
            1 => {
                let (name, version) = (rng.pick(&CHARTS), rng.pick(&VERSIONS));
                let entry = before
                    .get("helmCharts")
                    .and_then(|c| c.as_array())
                    .and_then(|c| c.iter().find(|e| e["name"] == name));
                let result = set_kustomization_version(&text, name, version);
                match entry {
                    None => assert!(
                        matches!(result, Ok(None)),
                        "seed {seed}: no entry {name}: {result:?}\n{text}"
                    ),
                    Some(e) if e.get("version").is_none() => {
                        assert!(result.is_err(), "seed {seed}: {name} has no version\n{text}")
                    }
                    Some(_) => {
                        let edited = result
                            .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"))
                            .unwrap_or_else(|| panic!("seed {seed}: {name} not found\n{text}"));
                        let mut want = before.clone();
                        for e in want["helmCharts"].as_array_mut().into_iter().flatten() {
                            if e["name"] == name {
                                e["version"] = json!(version);
                            }
                        }
                        assert_eq!(
                            parse(&edited, seed),
                            want,
                            "seed {seed}: {name} {version}\n--- before\n{text}--- after\n{edited}"
                        );
                        assert_eq!(comments(&edited), comments(&text), "seed {seed}\n{edited}");
                    }
                }
            }
            _ => {
                let reference = rng.pick(&["v2", "v1.4.0", "release-2026"]);
                let (edited, n) = set_reference(&text, PLATFORM, reference);
                let after = parse(&edited, seed);
                let mut found = 0;
                for key in ["resources", "components"] {
                    let old = before
                        .get(key)
                        .and_then(|v| v.as_array())
                        .cloned()
                        .unwrap_or_default();
                    let new = after
                        .get(key)
                        .and_then(|v| v.as_array())
                        .cloned()
                        .unwrap_or_default();
                    assert_eq!(old.len(), new.len(), "seed {seed}\n{edited}");
                    for (o, n) in old.iter().zip(&new) {
                        let (o, n) = (o.as_str().unwrap_or(""), n.as_str().unwrap_or(""));
                        let spec = parse_remote(o).ok();
                        let ours = tack_kustomize::is_remote(o)
                            && spec
                                .as_ref()
                                .is_some_and(|s| repository_key(&s.repo_url) == repository_key(PLATFORM));
                        if !ours {
                            assert_eq!(o, n, "seed {seed}: an entry of another repository changed");
                            continue;
                        }
                        found += 1;
                        let (was, now) = (
                            spec.expect("parsed"),
                            parse_remote(n).expect("still a remote base"),
                        );
                        assert_eq!(
                            (now.git_ref.as_str(), &now.repo_url, &now.path, now.timeout),
                            (reference, &was.repo_url, &was.path, was.timeout),
                            "seed {seed}: {o} -> {n}"
                        );
                    }
                }
                assert_eq!(n, found, "seed {seed}\n{text}");
                let mut rest_before = before.clone();
                let mut rest_after = after;
                for key in ["resources", "components"] {
                    rest_before.remove(key);
                    rest_after.remove(key);
                }
                assert_eq!(rest_after, rest_before, "seed {seed}\n{edited}");
                assert_eq!(comments(&edited), comments(&text), "seed {seed}\n{edited}");
            }
        }
    }
}

/// A random values file: nested maps (block style), lists of maps and of scalars, quoted and plain scalars,
/// comments; returns the text and every path to a scalar held by maps only.
fn values_file(rng: &mut Rng) -> String {
    fn map(rng: &mut Rng, indent: usize, depth: usize, out: &mut String) {
        let keys = [
            "image",
            "tag",
            "repository",
            "frontend",
            "redis",
            "replicas",
            "enabled",
            "name",
            "env",
            "port",
        ];
        let mut used = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let k = rng.pick(&keys);
            if used.contains(&k) {
                continue;
            }
            used.push(k);
            let pad = " ".repeat(indent);
            if rng.chance(10) {
                out.push_str(&format!("{pad}# about {k}\n"));
            }
            match rng.below(if depth < 3 { 5 } else { 2 }) {
                0 | 1 => {
                    let v = rng.pick(&[
                        "v1",
                        "1.0",
                        "2",
                        "true",
                        "nginx",
                        "gcr.io/x/app",
                        "\"quoted\"",
                        "'single'",
                        "~",
                        "",
                    ]);
                    let v = if v.is_empty() {
                        "\"\"".to_string()
                    } else {
                        v.to_string()
                    };
                    out.push_str(&format!("{pad}{k}: {v}{}\n", tail(rng)));
                }
                2 | 3 => {
                    out.push_str(&format!("{pad}{k}:\n"));
                    map(rng, indent + 2, depth + 1, out);
                }
                _ => {
                    out.push_str(&format!("{pad}{k}:\n"));
                    let item_pad = if rng.chance(50) {
                        pad.clone()
                    } else {
                        format!("{pad}  ")
                    };
                    for _ in 0..1 + rng.below(2) {
                        if rng.chance(50) {
                            out.push_str(&format!("{item_pad}- name: x\n{item_pad}  tag: v1\n"));
                        } else {
                            out.push_str(&format!("{item_pad}- plain\n"));
                        }
                    }
                }
            }
        }
    }
    let mut out = String::new();
    map(rng, 0, 0, &mut out);
    out
}

/// Every dotted path (through maps only) to a scalar of `v`, and every path to a map or a list.
fn paths(v: &Value, prefix: &str, scalars: &mut Vec<String>, others: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, child) in m {
            let p = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match child {
                Value::Object(_) => {
                    others.push(p.clone());
                    paths(child, &p, scalars, others);
                }
                Value::Array(_) => others.push(p),
                _ => scalars.push(p),
            }
        }
    }
}

#[test]
fn values_edits_change_exactly_the_key() {
    let cases = cases();
    for seed in 1..=cases {
        let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
        let text = values_file(&mut rng);
        let before = Value::Object(parse(&text, seed));
        let (mut scalars, mut others) = (Vec::new(), Vec::new());
        paths(&before, "", &mut scalars, &mut others);
        let value = rng.pick(&TAGS);
        if !scalars.is_empty() && rng.chance(80) {
            let path = scalars[rng.below(scalars.len())].clone();
            let edited = tack_promotion::values::set_key(&text, &path, value)
                .unwrap_or_else(|e| panic!("seed {seed}: {path}: {e}\n{text}"));
            let mut want = before.clone();
            let mut at = &mut want;
            for k in path.split('.') {
                at = &mut at[k];
            }
            *at = json!(value);
            assert_eq!(
                Value::Object(parse(&edited, seed)),
                want,
                "seed {seed}: {path}={value}\n--- before\n{text}--- after\n{edited}"
            );
            assert_eq!(comments(&edited), comments(&text), "seed {seed}\n{edited}");
            assert_eq!(
                tack_promotion::values::get_key(&edited, &path).as_deref(),
                Some(value),
                "seed {seed}: {path}\n{edited}"
            );
        } else {
            // A map, a list, or a key that is not there: refused, the file untouched.
            let path = match others.len() {
                n if n > 0 && rng.chance(60) => others[rng.below(n)].clone(),
                _ => format!(
                    "{}.missing",
                    scalars.first().cloned().unwrap_or_else(|| "none".into())
                ),
            };
            assert!(
                tack_promotion::values::set_key(&text, &path, value).is_err(),
                "seed {seed}: {path} is not a scalar of maps\n{text}"
            );
        }
    }
}

const REFERENCES: [&str; 9] = [
    "nginx",
    "nginx:1.27",
    "nginx@sha256:0123abcd",
    "nginx:1.27@sha256:0123abcd",
    "localhost:5000/nginx:1",
    "localhost:5000/nginx",
    "docker.io/library/redis:7",
    "gcr.io/x/gb-frontend:v5",
    "nginx-extra:2",
];

fn containers_text(rng: &mut Rng, pad: &str) -> String {
    let mut out = String::new();
    for i in 0..1 + rng.below(3) {
        let reference = rng.pick(&REFERENCES);
        let quoted = match rng.below(3) {
            0 => format!("\"{reference}\""),
            1 => format!("'{reference}'"),
            _ => reference.to_string(),
        };
        if rng.chance(50) {
            out.push_str(&format!(
                "{pad}- name: c{i}\n{pad}  image: {quoted}{}\n",
                tail(rng)
            ));
        } else {
            out.push_str(&format!(
                "{pad}- image: {quoted}{}\n{pad}  name: c{i}\n",
                tail(rng)
            ));
        }
    }
    out
}

fn manifests(rng: &mut Rng) -> String {
    let mut docs = Vec::new();
    for d in 0..1 + rng.below(3) {
        let pad = if rng.chance(50) { "      " } else { "        " };
        let list_key_pad = "      ";
        let mut doc = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{d}\nspec:\n  template:\n    spec:\n{list_key_pad}containers:\n{}",
            containers_text(rng, pad)
        );
        if rng.chance(30) {
            doc.push_str(&format!(
                "{list_key_pad}initContainers:\n{}",
                containers_text(rng, pad)
            ));
        }
        docs.push(doc);
    }
    docs.join("---\n")
}

fn with_images(v: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    for list in ["containers", "initContainers"] {
        let containers = v
            .pointer_mut(&format!("/spec/template/spec/{list}"))
            .and_then(|l| l.as_array_mut());
        for c in containers.into_iter().flatten() {
            if let Some(image) = c.get_mut("image") {
                f(image);
            }
        }
    }
}

#[test]
fn manifest_edits_change_exactly_the_images() {
    use tack_promotion::manifest::{name_of, set_image};
    let cases = cases();
    for seed in 1..=cases {
        let mut rng = Rng(seed.wrapping_mul(0xA076_1D64_78BD_642F) | 1);
        let text = manifests(&mut rng);
        let name = rng.pick(&[
            "nginx",
            "localhost:5000/nginx",
            "docker.io/library/redis",
            "gcr.io/x/gb-frontend",
        ]);
        let tag = rng.pick(&TAGS);
        let (edited, n) = set_image(&text, name, tag);
        let read = |t: &str| -> Vec<Value> {
            tack_yaml::parse_documents(t, "m.yaml")
                .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{t}"))
                .into_iter()
                .map(|d| d.value)
                .collect()
        };
        let mut want = read(&text);
        let mut count = 0;
        for doc in &mut want {
            with_images(doc, &mut |image| {
                if image.as_str().is_some_and(|r| name_of(r) == name) {
                    *image = json!(format!("{name}:{tag}"));
                    count += 1;
                }
            });
        }
        assert_eq!(
            read(&edited),
            want,
            "seed {seed}: {name}:{tag}\n--- before\n{text}--- after\n{edited}"
        );
        assert_eq!(n, count, "seed {seed}\n{text}");
        assert_eq!(comments(&edited), comments(&text), "seed {seed}\n{edited}");
    }
}

/// Every kustomization of the Kustomize engine's golden cases (taken from kustomize's own tests and from
/// users' overlays, not written for promotion): setting an image they name and one they do not changes the
/// data exactly as `kustomize edit set image` does and keeps every comment; the few written in a form the
/// editor refuses (a flow-style `images:` list) are refused, never rewritten.
#[test]
fn kustomize_cases_edit_as_kustomize_edit_set_image() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../kustomize/tests");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .file_name()
                .is_some_and(|n| n == "kustomization.yaml" || n == "kustomization.yml")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() > 400, "{} kustomizations", files.len());
    let (mut edited_count, mut refused) = (0, 0);
    for (n, path) in files.iter().enumerate() {
        let text = std::fs::read_to_string(path).expect("read");
        let Ok(Value::Object(before)) = tack_yaml::parse_one(&text, "k") else {
            continue;
        };
        let existing = before
            .get("images")
            .and_then(|i| i.as_array())
            .and_then(|i| i.iter().find_map(|e| e["name"].as_str().map(str::to_string)));
        let mut names = vec!["registry.example.com/promoted".to_string()];
        names.extend(existing);
        for name in names {
            match set_image(&text, &name, None, "v9.9.9") {
                Ok(edited) => {
                    let seed = n as u64;
                    assert_eq!(
                        parse(&edited, seed),
                        expected_image(before.clone(), &name, "v9.9.9"),
                        "{}: {name}\n--- after\n{edited}",
                        path.display()
                    );
                    assert_eq!(comments(&edited), comments(&text), "{}", path.display());
                    edited_count += 1;
                }
                Err(e) => {
                    assert!(e.to_string().contains("block list"), "{}: {e}", path.display());
                    refused += 1;
                }
            }
        }
    }
    eprintln!(
        "{} kustomizations: {edited_count} edits checked, {refused} refused",
        files.len()
    );
    assert!(
        edited_count > 400 && refused < 10,
        "{edited_count} edited, {refused} refused"
    );
}

/// The images of a kustomization's data by name: (newName, newTag, digest).
fn images_by_name(data: &Map<String, Value>) -> std::collections::BTreeMap<String, [Option<String>; 3]> {
    let field = |e: &Value, k: &str| e.get(k).and_then(|v| v.as_str()).map(str::to_string);
    data.get("images")
        .and_then(|i| i.as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = field(e, "name")?;
            Some((
                name,
                [field(e, "newName"), field(e, "newTag"), field(e, "digest")],
            ))
        })
        .collect()
}

/// `kustomize edit set image NAME:TAG` (the reference tool, built by testenv/oracles.sh) on `text`: the images
/// it leaves, or `None` when it refuses the file.
fn kustomize_edit(
    kustomize: &std::path::Path,
    text: &str,
    image: &str,
    tag: &str,
) -> Option<Map<String, Value>> {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("kustomization.yaml"), text).expect("write");
    let out = std::process::Command::new(kustomize)
        .args(["edit", "set", "image", &format!("{image}:{tag}")])
        .current_dir(dir.path())
        .output()
        .expect("run kustomize");
    if !out.status.success() {
        return None;
    }
    let edited = std::fs::read_to_string(dir.path().join("kustomization.yaml")).expect("read");
    match tack_yaml::parse_one(&edited, "k") {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// The image edit compared with the reference tool, `kustomize edit set image NAME:TAG` (v5.5.0): on random
/// kustomizations and on the Kustomize golden cases' kustomizations that name images, every image entry ends
/// with the tag and digest kustomize gives it. One deliberate difference: kustomize drops an entry's `newName`
/// (it sets the whole entry), promotion keeps it (a stage pulling from its own mirror keeps the mirror).
#[test]
fn image_edits_match_kustomize_edit_set_image() {
    let kustomize = tack_testkit::charts::oracle("kustomize", "KUSTOMIZE_VERSION");
    let mut texts: Vec<String> = (1..=300u64)
        .map(|seed| kustomization(&mut Rng(seed.wrapping_mul(0x9FB2_1C65_1E98_DF25) | 1)))
        .collect();
    let cases = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../kustomize/tests/golden/cases");
    for entry in std::fs::read_dir(&cases).expect("golden cases").flatten() {
        let file = entry.path().join("input/kustomization.yaml");
        if let Ok(text) = std::fs::read_to_string(&file)
            && text.contains("images:")
        {
            texts.push(text);
        }
    }
    let (mut compared, mut refused_by_kustomize) = (0, 0);
    for (n, text) in texts.iter().enumerate() {
        let mut rng = Rng((n as u64 + 7).wrapping_mul(0xBF58_476D_1CE4_E5B9) | 1);
        let before = parse(text, n as u64);
        let known: Vec<String> = images_by_name(&before).into_keys().collect();
        let name = if !known.is_empty() && rng.chance(70) {
            known[rng.below(known.len())].clone()
        } else {
            rng.pick(&IMAGES).to_string()
        };
        let tag = rng.pick(&TAGS);
        let Ok(ours) = set_image(text, &name, None, tag) else {
            continue;
        };
        let Some(theirs) = kustomize_edit(&kustomize, text, &name, tag) else {
            refused_by_kustomize += 1;
            continue;
        };
        let (ours, theirs, was) = (
            images_by_name(&parse(&ours, n as u64)),
            images_by_name(&theirs),
            images_by_name(&before),
        );
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "case {n}: {name}:{tag}\n{text}"
        );
        for (image, [new_name, new_tag, digest]) in &ours {
            let [_, their_tag, their_digest] = &theirs[image];
            assert_eq!(
                (new_tag, digest),
                (their_tag, their_digest),
                "case {n}: {image}\n{text}"
            );
            let kept = was.get(image).and_then(|[n, _, _]| n.clone());
            assert_eq!(new_name, &kept, "case {n}: {image}'s newName\n{text}");
        }
        compared += 1;
    }
    eprintln!("{compared} edits compared with kustomize, {refused_by_kustomize} files kustomize refused");
    assert!(
        compared > 250,
        "{compared} compared, {refused_by_kustomize} refused by kustomize"
    );
}
