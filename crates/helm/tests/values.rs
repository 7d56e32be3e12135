//! Golden cases for Helm's values handling: YAML and JSON reading and writing (`fromYaml`, `toYaml`,
//! `toYamlPretty`, `toJson`, `fromJson`, ...), `--set` parsing, values-file merging, coalescing with subcharts
//! and schema validation. Expectations come from helm v4.3.2 (`values_golden/regen.sh`); each case is a
//! directory whose `op` file names what it checks.
//!
//! A case may carry a `known-difference` file explaining why tack's output still differs from Helm's; such a
//! case is reported but does not fail the test. Every other case must match byte for byte.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use tack_gotemplate::{Map, Value};
use tack_helm::coalesce::{self, ChartValues, ValueOptions};
use tack_helm::{json, schema, strvals, toml, yaml};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/values_golden")
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

/// What the case's template prints with tack's functions.
fn actual(case: &Path, op: &str) -> String {
    let input_yaml = read(&case.join("input.yaml"));
    let input_json = read(&case.join("input.json"));
    let to_json = |v: &Value| json::to_json(v).unwrap_or_default();
    match op {
        "toYaml" => yaml::to_yaml_lenient(&yaml::from_yaml(&input_yaml)),
        "toYamlPretty" => yaml::to_yaml_pretty(&yaml::from_yaml(&input_yaml)),
        "toJson" => to_json(&yaml::from_yaml(&input_yaml)),
        "fromYamlArray" => to_json(&yaml::from_yaml_array(&input_yaml)),
        "toToml" => toml::to_toml_lenient(&yaml::from_yaml(&input_yaml)),
        "fromToml" => to_json(&toml::from_toml(&read(&case.join("input.toml")))),
        "fromJson" => to_json(&json::from_json(&input_json)),
        "fromJsonArray" => to_json(&json::from_json_array(&input_json)),
        "values" => match render_values(case) {
            Ok(s) => s,
            Err(e) => format!("ERROR: {}\n", e.trim_end()),
        },
        other => format!("unknown op {other}"),
    }
}

/// `helm template CHART ARGS` with the template `{{ toJson .Values }}`, as far as values go.
fn render_values(case: &Path) -> Result<String, String> {
    let chart_dir = case.join("chart");
    let args: Vec<String> = read(&case.join("args")).lines().map(str::to_string).collect();
    let mut opts = ValueOptions::default();
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), v.to_string()),
            _ => {
                i += 1;
                (flag.to_string(), args.get(i).cloned().unwrap_or_default())
            }
        };
        match name.as_str() {
            "-f" | "--values" => opts.value_files.push(value),
            "--set" => opts.values.push(value),
            "--set-string" => opts.string_values.push(value),
            "--set-json" => opts.json_values.push(value),
            "--set-file" => opts.file_values.push(value),
            "--set-literal" => opts.literal_values.push(value),
            other => return Err(format!("test harness: unknown flag {other}")),
        }
        i += 1;
    }
    let mut read_file = |path: &str| -> Result<String, String> {
        fs::read_to_string(case.join(path)).map_err(|_| format!("open {path}: no such file or directory"))
    };
    let user = coalesce::merge_value_options(&opts, &mut read_file).map_err(|e| e.to_string())?;
    let chart = if chart_dir.is_dir() {
        load_chart(&chart_dir, None)?
    } else {
        LoadedChart {
            values_tree: ChartValues {
                name: "golden".to_string(),
                ..ChartValues::default()
            },
            schema: None,
            children: Vec::new(),
        }
    };
    // helm template: ProcessDependencies (a CoalesceValues per chart that has dependencies, for conditions;
    // then import-values processing), then CoalesceValues for the render.
    let mut warnings = Vec::new();
    process_dependency_enabled(&chart, &user, &mut warnings)
        .map_err(|e| format!("chart dependencies processing failed: {e}"))?;
    let mut tree = chart.values_tree.clone();
    warnings.extend(coalesce::process_import_values(&mut tree).map_err(|e| e.to_string())?);
    let out = coalesce::coalesce_values(&tree, &user).map_err(|e| e.to_string())?;
    warnings.extend(out.warnings.iter().cloned());
    let expected_warnings = read(&case.join("warnings"));
    let got_warnings: String = warnings.iter().map(|w| format!("{w}\n")).collect();
    if got_warnings != expected_warnings {
        return Err(format!(
            "warnings differ:\nexpected:\n{expected_warnings}got:\n{got_warnings}"
        ));
    }
    let failures = validate(&chart, &out.values);
    if !failures.is_empty() {
        return Err(format!(
            "values don't meet the specifications of the schema(s) in the following chart(s):\n{}",
            failures.join("")
        ));
    }
    Ok(format!(
        "{}\n",
        json::to_json(&Value::map(out.values)).unwrap_or_default()
    ))
}

/// `processDependencyEnabled`: each chart that declares dependencies coalesces the values it is given (the
/// parent's coalesced values, unscoped), and passes the result down.
fn process_dependency_enabled(
    chart: &LoadedChart,
    v: &Map,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    if !chart.values_tree.declares_dependencies {
        return Ok(());
    }
    let out = coalesce::coalesce_values(&chart.values_tree, v).map_err(|e| e.to_string())?;
    warnings.extend(out.warnings.iter().cloned());
    for child in &chart.children {
        process_dependency_enabled(child, &out.values, warnings)?;
    }
    Ok(())
}

struct LoadedChart {
    values_tree: ChartValues,
    schema: Option<String>,
    children: Vec<LoadedChart>,
}

impl std::ops::Deref for LoadedChart {
    type Target = ChartValues;
    fn deref(&self) -> &ChartValues {
        &self.values_tree
    }
}

/// A chart directory as far as values go: name (or alias), values.yaml, values.schema.json, charts/*.
fn load_chart(dir: &Path, alias: Option<String>) -> Result<LoadedChart, String> {
    let meta = yaml::unmarshal_map(&read(&dir.join("Chart.yaml"))).map_err(|e| e.to_string())?;
    let name = match meta.get("name") {
        Some(Value::String(s)) => s.to_string(),
        _ => return Err(format!("{}: no name", dir.display())),
    };
    let values = match fs::read_to_string(dir.join("values.yaml")) {
        Ok(s) => yaml::load_values(&s).map_err(|e| format!("cannot load values.yaml: {e}"))?,
        Err(_) => Map::new(),
    };
    // Aliases and conditions from the dependencies list.
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(Value::List(deps)) = meta.get("dependencies") {
        for d in deps.iter() {
            if let Value::Map(d) = d {
                let d = d.borrow();
                if let Some(Value::String(n)) = d.get("name") {
                    let a = match d.get("alias") {
                        Some(Value::String(a)) => a.to_string(),
                        _ => n.to_string(),
                    };
                    aliases.entry(n.to_string()).or_default().push(a);
                }
            }
        }
    }
    let mut children = Vec::new();
    let mut subdirs: Vec<PathBuf> = fs::read_dir(dir.join("charts"))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    subdirs.sort();
    for sub in subdirs {
        let sub_meta = yaml::unmarshal_map(&read(&sub.join("Chart.yaml"))).map_err(|e| e.to_string())?;
        let sub_name = match sub_meta.get("name") {
            Some(Value::String(s)) => s.to_string(),
            _ => continue,
        };
        match aliases.get(&sub_name) {
            Some(list) => {
                for a in list {
                    children.push(load_chart(&sub, Some(a.clone()))?);
                }
            }
            None => children.push(load_chart(&sub, None)?),
        }
    }
    let values_tree = ChartValues {
        name: alias.unwrap_or(name),
        values,
        dependencies: children.iter().map(|c| c.values_tree.clone()).collect(),
        declares_dependencies: meta.contains_key("dependencies"),
        import_values: Vec::new(),
    };
    Ok(LoadedChart {
        values_tree,
        schema: fs::read_to_string(dir.join("values.schema.json")).ok(),
        children,
    })
}

/// Helm's `ValidateAgainstSchema`: the chart, then each subchart with its own values.
fn validate(chart: &LoadedChart, values: &Map) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = &chart.schema
        && let Err(e) = schema::validate(s, &Value::map(values.clone()))
    {
        out.push(format!("{}:\n{}", chart.name, e));
    }
    for child in &chart.children {
        let sub = match values.get(&child.name) {
            Some(Value::Map(m)) => m.borrow().clone(),
            _ => Map::new(),
        };
        out.extend(validate(child, &sub));
    }
    out
}

#[test]
fn values_golden_cases() {
    let mut cases: Vec<PathBuf> = fs::read_dir(golden_dir())
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    assert!(
        cases.len() >= 60,
        "expected at least 60 cases, found {}",
        cases.len()
    );
    let mut failed = Vec::new();
    let mut known = Vec::new();
    let mut per_op: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for case in &cases {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let op = read(&case.join("op")).trim().to_string();
        let expected = read(&case.join("expected"));
        let got = actual(case, &op);
        let entry = per_op.entry(op.clone()).or_default();
        entry.1 += 1;
        if got == expected {
            entry.0 += 1;
            continue;
        }
        // The output is kept for inspection beside the run's other temporary files.
        let dump = std::env::temp_dir().join("tack-helm-values-golden");
        let _ = fs::create_dir_all(&dump);
        let _ = fs::write(dump.join(&name), &got);
        let report = format!("--- {name} ({op})\nexpected:\n{expected}\n--- got:\n{got}\n");
        if case.join("known-difference").exists() {
            known.push(report);
        } else {
            failed.push(report);
        }
    }
    for (op, (ok, n)) in &per_op {
        eprintln!("{op}: {ok}/{n} identical to helm");
    }
    for k in &known {
        eprintln!("known difference:\n{k}");
    }
    assert!(
        failed.is_empty(),
        "{} case(s) differ from helm:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn strvals_limits() {
    let m = Rc::new(RefCell::new(Map::new()));
    assert!(strvals::parse_into("a[65536]=x", &m).is_ok());
    let e = strvals::parse_into("b[65537]=x", &m).err().map(|e| e.0);
    assert_eq!(
        e.as_deref(),
        Some("index of 65537 is greater than maximum supported index of 65536")
    );
}
