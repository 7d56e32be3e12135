//! Helm's value coalescing (`pkg/chart/common/util/coalesce.go`), reproduced step by step with Go's map
//! sharing: user values over chart defaults, a user `null` deleting a default, maps merging, everything else
//! replacing, subchart values under the subchart's name (or alias), and `global` copied down into every
//! subchart (the parent's globals win).
//!
//! * [`coalesce_values`] (`CoalesceValues`: nulls delete) and [`merge_values`] (`MergeValues`: nulls are kept,
//!   as in the import-values step under `helm template --set` with merge semantics);
//! * [`coalesce_tables`] / [`merge_tables`] for two value trees;
//! * [`merge_maps`]: `loader.MergeMaps`, how `-f` files and the documents of one values file are merged.
//!
//! Helm logs its warnings (`warning: skipped value for ...`); here they are returned, in key order.

use tack_gotemplate::{Map, MapRef, Value};

/// A chart as coalescing sees it: its name (the alias when it has one), its default values and its enabled
/// subcharts.
#[derive(Debug, Clone, Default)]
pub struct ChartValues {
    /// The chart name, or the alias it is known by in its parent.
    pub name: String,
    /// The chart's `values.yaml` (after import-values, when the caller processes them).
    pub values: Map,
    /// Enabled subcharts, in the order Helm lists them.
    pub dependencies: Vec<ChartValues>,
    /// Whether Chart.yaml lists dependencies (only such charts take part in import-values processing).
    pub declares_dependencies: bool,
    /// The chart's `import-values`, over all its dependencies, in Chart.yaml order.
    pub import_values: Vec<ImportValue>,
}

/// One `import-values` entry of a dependency: `child` (a dotted path in the dependency's values) is copied to
/// `parent` (a dotted path in the chart's values, `.` for the top). The string form `x` is
/// `{child: exports.x, parent: .}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportValue {
    /// The dependency's name (its alias when it has one).
    pub dependency: String,
    /// The dotted path in the dependency's values to copy from.
    pub child: String,
    /// The dotted path in the chart's values to copy to (`.` for the top).
    pub parent: String,
}

/// A coalescing failure, worded as Helm's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CoalesceError(pub String);

/// The coalesced values with the warnings Helm would log.
#[derive(Debug, Clone)]
pub struct Coalesced {
    /// The values every template sees.
    pub values: Map,
    /// What Helm would log while coalescing (a table overwritten by a non-table, ...).
    pub warnings: Vec<String>,
}

/// Helm's `CoalesceValues(chart, vals)`: the values every template sees (a user `null` deletes the default).
pub fn coalesce_values(chart: &ChartValues, user: &Map) -> Result<Coalesced, CoalesceError> {
    run(chart, user, false)
}

/// Helm's `MergeValues(chart, vals)`: as [`coalesce_values`], but `null`s are kept.
pub fn merge_values(chart: &ChartValues, user: &Map) -> Result<Coalesced, CoalesceError> {
    run(chart, user, true)
}

fn run(chart: &ChartValues, user: &Map, merge: bool) -> Result<Coalesced, CoalesceError> {
    let dest: MapRef = new_map(deep_copy_map(user));
    let mut warnings = Vec::new();
    coalesce(&mut warnings, chart, &dest, "", merge)?;
    let values = dest.borrow().clone();
    Ok(Coalesced { values, warnings })
}

/// Helm's `processDependencyImportValues(chart, true)` (the step `helm template` runs before coalescing):
/// depth first, each chart that declares dependencies gets as its values `MergeValues(chart, {})` (its
/// defaults with every subchart's under its name) merged with the imported tables. Returns Helm's warnings.
pub fn process_import_values(chart: &mut ChartValues) -> Result<Vec<String>, CoalesceError> {
    let mut warnings = Vec::new();
    import_values_rec(chart, &mut warnings)?;
    Ok(warnings)
}

fn import_values_rec(chart: &mut ChartValues, warnings: &mut Vec<String>) -> Result<(), CoalesceError> {
    for dep in &mut chart.dependencies {
        import_values_rec(dep, warnings)?;
    }
    if !chart.declares_dependencies {
        return Ok(());
    }
    let merged = merge_values(chart, &Map::new())?;
    warnings.extend(merged.warnings);
    let cvals = merged.values;
    let b = new_map(Map::new());
    for iv in &chart.import_values {
        let path = format!("{}.{}", iv.dependency, iv.child);
        let Some(table) = table_at(&cvals, &path) else {
            warnings.push(format!(
                "ImportValues missing table from chart {}: no table named {:?}",
                iv.dependency, iv.child
            ));
            continue;
        };
        let src = new_map(path_to_map(&iv.parent, table));
        tables(warnings, &b, &src, "", true);
    }
    let dst = new_map(deep_copy_map(&cvals));
    tables(warnings, &dst, &b, "", true);
    chart.values = dst.borrow().clone();
    Ok(())
}

/// `Values.Table(path)`: the map at a dotted path.
fn table_at(values: &Map, path: &str) -> Option<Map> {
    let mut cur = values.clone();
    for part in path.split('.') {
        let next = match cur.get(part) {
            Some(Value::Map(m)) => m.borrow().clone(),
            _ => return None,
        };
        cur = next;
    }
    Some(cur)
}

/// `pathToMap`: `data` nested under a dotted path (`.` is the top).
fn path_to_map(path: &str, data: Map) -> Map {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(part.to_string(), Value::map(cur));
        cur = m;
    }
    cur
}

/// Helm's `CoalesceTables(dst, src)`: `src` fills in what `dst` lacks; a `null` in `dst` deletes the key.
/// Both trees are changed in place, as in Go; the result is `dst`.
pub fn coalesce_tables(dst: &MapRef, src: &MapRef, warnings: &mut Vec<String>) {
    tables(warnings, dst, src, "", false);
}

/// Helm's `MergeTables(dst, src)`: as [`coalesce_tables`], keeping `null`s.
pub fn merge_tables(dst: &MapRef, src: &MapRef, warnings: &mut Vec<String>) {
    tables(warnings, dst, src, "", true);
}

/// Helm's `loader.MergeMaps(a, b)`: `b` over `a`; maps merge recursively, anything else replaces.
pub fn merge_maps(a: Map, b: Map) -> Map {
    let mut out = a;
    for (k, v) in b {
        if let Value::Map(vm) = &v
            && let Some(Value::Map(existing)) = out.get(&k)
        {
            let merged = merge_maps(existing.borrow().clone(), vm.borrow().clone());
            out.insert(k, Value::map(merged));
            continue;
        }
        out.insert(k, v);
    }
    out
}

fn new_map(m: Map) -> MapRef {
    std::rc::Rc::new(std::cell::RefCell::new(m))
}

/// `copystructure.Copy`: maps and lists are copied, nothing is shared with the original.
pub fn deep_copy(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::Map(new_map(deep_copy_map(&m.borrow()))),
        Value::List(items) => Value::list(items.iter().map(deep_copy).collect()),
        other => other.clone(),
    }
}

fn deep_copy_map(m: &Map) -> Map {
    m.iter().map(|(k, v)| (k.clone(), deep_copy(v))).collect()
}

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn as_map(v: &Value) -> Option<&MapRef> {
    match v {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

fn coalesce(
    warnings: &mut Vec<String>,
    chart: &ChartValues,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
) -> Result<(), CoalesceError> {
    coalesce_chart_values(warnings, chart, dest, prefix, merge);
    coalesce_deps(warnings, chart, dest, prefix, merge)
}

fn coalesce_deps(
    warnings: &mut Vec<String>,
    chart: &ChartValues,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
) -> Result<(), CoalesceError> {
    for sub in &chart.dependencies {
        let existing = dest.borrow().get(&sub.name).cloned();
        let dvmap = match existing {
            None => {
                let m = new_map(Map::new());
                dest.borrow_mut().insert(sub.name.clone(), Value::Map(m.clone()));
                m
            }
            Some(Value::Map(m)) => m,
            Some(other) => {
                return Err(CoalesceError(format!(
                    "type mismatch on {}: {}",
                    sub.name,
                    go_fmt_t(&other)
                )));
            }
        };
        let sub_prefix = concat_prefix(prefix, &chart.name);
        coalesce_globals(warnings, &dvmap, dest, &sub_prefix);
        coalesce(warnings, sub, &dvmap, &sub_prefix, merge)?;
        dest.borrow_mut().insert(sub.name.clone(), Value::Map(dvmap));
    }
    Ok(())
}

/// Copies the parent's `global` into the subchart's values (`dest`), the parent's entries winning.
fn coalesce_globals(warnings: &mut Vec<String>, dest: &MapRef, src: &MapRef, prefix: &str) {
    let dg = match dest.borrow().get("global") {
        None => new_map(Map::new()),
        Some(Value::Map(m)) => m.clone(),
        Some(_) => {
            warnings.push("warning: skipping globals because destination global is not a table.".to_string());
            return;
        }
    };
    let sg = match src.borrow().get("global") {
        None => new_map(Map::new()),
        Some(Value::Map(m)) => m.clone(),
        Some(_) => {
            warnings.push("warning: skipping globals because source global is not a table.".to_string());
            return;
        }
    };
    let entries: Vec<(String, Value)> = sg.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, val) in entries {
        if let Some(vm) = as_map(&val) {
            // A shallow copy, as Go's copyMap: nested maps stay shared with the parent's globals.
            let vv = new_map(vm.borrow().clone());
            let destv = dg.borrow().get(&key).cloned();
            match destv {
                None => {
                    dg.borrow_mut().insert(key, Value::Map(vv));
                }
                Some(Value::Map(destvmap)) => {
                    tables(warnings, &vv, &destvmap, &concat_prefix(prefix, &key), true);
                    dg.borrow_mut().insert(key, Value::Map(vv));
                }
                Some(_) => warnings.push(format!(
                    "Conflict: cannot merge map onto non-map for {}. Skipping.",
                    go_quote(&key)
                )),
            }
        } else if matches!(dg.borrow().get(&key), Some(Value::Map(_))) {
            warnings.push(format!("key {key} is table. Skipping"));
        } else {
            dg.borrow_mut().insert(key, val);
        }
    }
    dest.borrow_mut().insert("global".to_string(), Value::Map(dg));
}

/// The chart's own defaults under the values given for it (`coalesceValues`).
fn coalesce_chart_values(
    warnings: &mut Vec<String>,
    chart: &ChartValues,
    v: &MapRef,
    prefix: &str,
    merge: bool,
) {
    let sub_prefix = concat_prefix(prefix, &chart.name);
    let vc = deep_copy_map(&chart.values);
    for (key, val) in vc {
        let value = v.borrow().get(&key).cloned();
        match value {
            Some(value) => {
                if matches!(value, Value::Nil) && !merge {
                    v.borrow_mut().remove(&key);
                } else if let Value::Map(dest) = value {
                    match &val {
                        Value::Map(src) => {
                            let merge = merge || chart.dependencies.iter().any(|d| d.name == key);
                            if !merge {
                                clean_nil_values(src);
                            }
                            tables(warnings, &dest, src, &concat_prefix(&sub_prefix, &key), merge);
                        }
                        Value::Nil => {}
                        _ => warnings.push(format!(
                            "warning: skipped value for {sub_prefix}.{key}: Not a table."
                        )),
                    }
                }
            }
            None => {
                if !merge {
                    if matches!(val, Value::Nil) {
                        continue;
                    }
                    if let Value::Map(sub) = &val {
                        clean_nil_values(sub);
                    }
                }
                v.borrow_mut().insert(key, val);
            }
        }
    }
}

/// `coalesceTablesFullKey`: `src` into `dst`.
fn tables(warnings: &mut Vec<String>, dst: &MapRef, src: &MapRef, prefix: &str, merge: bool) {
    if std::rc::Rc::ptr_eq(dst, src) {
        return;
    }
    let src_non_nil: std::collections::BTreeSet<String> = src
        .borrow()
        .iter()
        .filter(|(_, v)| !matches!(v, Value::Nil))
        .map(|(k, _)| k.clone())
        .collect();
    let nil_in_dst: Vec<String> = dst
        .borrow()
        .iter()
        .filter(|(_, v)| matches!(v, Value::Nil))
        .map(|(k, _)| k.clone())
        .collect();
    for k in nil_in_dst {
        src.borrow_mut().insert(k, Value::Nil);
    }
    let entries: Vec<(String, Value)> = src.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, val) in entries {
        let full_key = concat_prefix(prefix, &key);
        let dv = dst.borrow().get(&key).cloned();
        match dv {
            Some(Value::Nil) if !merge && src_non_nil.contains(&key) => {
                dst.borrow_mut().remove(&key);
            }
            None => {
                dst.borrow_mut().insert(key, val);
            }
            Some(dv) => {
                if let Value::Map(sv) = &val {
                    if let Value::Map(dvm) = &dv {
                        tables(warnings, dvm, sv, &full_key, merge);
                    } else {
                        warnings.push(format!(
                            "warning: cannot overwrite table with non table for {full_key} ({})",
                            go_fmt_v(&val)
                        ));
                    }
                } else if matches!(dv, Value::Map(_)) && !matches!(val, Value::Nil) {
                    warnings.push(format!(
                        "warning: destination for {full_key} is a table. Ignoring non-table value ({})",
                        go_fmt_v(&val)
                    ));
                }
            }
        }
    }
}

fn clean_nil_values(m: &MapRef) {
    let keys: Vec<String> = m.borrow().keys().cloned().collect();
    for k in keys {
        let v = m.borrow().get(&k).cloned();
        match v {
            Some(Value::Nil) => {
                m.borrow_mut().remove(&k);
            }
            Some(Value::Map(sub)) => clean_nil_values(&sub),
            _ => {}
        }
    }
}

/// Go's `%v` of a value (maps as `map[k:v ...]` in key order).
pub fn go_fmt_v(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Float(f) => go_fmt_float(*f),
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => format!("[{}]", b.iter().map(u8::to_string).collect::<Vec<_>>().join(" ")),
        Value::List(items) => format!("[{}]", items.iter().map(go_fmt_v).collect::<Vec<_>>().join(" ")),
        Value::Map(m) => format!(
            "map[{}]",
            m.borrow()
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_fmt_v(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Object(o) => o.display(),
    }
}

fn go_fmt_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        tack_yaml::go_format_g(f)
    }
}

/// Go's `%t` of a value (`%!t(string=x)` for what is not a bool).
fn go_fmt_t(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Nil => "%!t(<nil>)".to_string(),
        Value::String(s) => format!("%!t(string={s})"),
        Value::Float(f) => format!("%!t(float64={})", go_fmt_float(*f)),
        Value::Int(i) => format!("%!t(int={i})"),
        Value::Int64(i) => format!("%!t(int64={i})"),
        Value::List(items) => format!("[{}]", items.iter().map(go_fmt_t).collect::<Vec<_>>().join(" ")),
        other => go_fmt_v(other),
    }
}

/// Go's `%q` of a string (ASCII printable as is, the rest escaped).
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The user's values flags, as `helm template` takes them (`pkg/cli/values.Options`).
#[derive(Debug, Clone, Default)]
pub struct ValueOptions {
    /// `-f/--values`, in order.
    pub value_files: Vec<String>,
    /// `--set-json`.
    pub json_values: Vec<String>,
    /// `--set`.
    pub values: Vec<String>,
    /// `--set-string`.
    pub string_values: Vec<String>,
    /// `--set-file`.
    pub file_values: Vec<String>,
    /// `--set-literal`.
    pub literal_values: Vec<String>,
}

/// Helm's `Options.MergeValues`: each `-f` file in order (merged with [`merge_maps`]), then `--set-json`,
/// `--set`, `--set-string`, `--set-file` and `--set-literal`, each in command-line order. `read_file` reads a
/// values file or a `--set-file` file by the name given on the command line.
pub fn merge_value_options(
    opts: &ValueOptions,
    read_file: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Map, CoalesceError> {
    use crate::strvals;
    let mut base = Map::new();
    for path in &opts.value_files {
        let raw = read_file(path).map_err(CoalesceError)?;
        let current = crate::yaml::load_values(&raw)
            .map_err(|e| CoalesceError(format!("failed to parse {path}: {e}")))?;
        base = merge_maps(base, current);
    }
    for value in &opts.json_values {
        let trimmed = value.trim();
        if trimmed.starts_with('{') {
            match crate::json::parse(trimmed) {
                Ok(Value::Map(m)) => base = merge_maps(base, m.borrow().clone()),
                Ok(Value::Nil) => {}
                _ => {
                    return Err(CoalesceError(format!(
                        "failed parsing --set-json data JSON: {value}"
                    )));
                }
            }
        } else {
            let dest = new_map(base);
            let r = strvals::parse_json(value, &dest);
            base = dest.borrow().clone();
            if r.is_err() {
                return Err(CoalesceError(format!("failed parsing --set-json data {value}")));
            }
        }
    }
    let dest = new_map(base);
    for value in &opts.values {
        strvals::parse_into(value, &dest)
            .map_err(|e| CoalesceError(format!("failed parsing --set data: {e}")))?;
    }
    for value in &opts.string_values {
        strvals::parse_into_string(value, &dest)
            .map_err(|e| CoalesceError(format!("failed parsing --set-string data: {e}")))?;
    }
    for value in &opts.file_values {
        let mut reader = |path: &str| read_file(path).map(Value::string);
        strvals::parse_into_file(value, &dest, &mut reader)
            .map_err(|e| CoalesceError(format!("failed parsing --set-file data: {e}")))?;
    }
    for value in &opts.literal_values {
        strvals::parse_literal_into(value, &dest)
            .map_err(|e| CoalesceError(format!("failed parsing --set-literal data: {e}")))?;
    }
    let out = dest.borrow().clone();
    Ok(out)
}
