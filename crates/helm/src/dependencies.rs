//! Helm's dependency processing (`chartutil.ProcessDependencies`): aliases, `tags` and `condition`s decide
//! which subcharts are enabled (disabled ones are removed before rendering), then `import-values` copy child
//! values into the parent (both the `exports.X` string form and the `{child, parent}` map form).

use std::collections::HashSet;

use tack_gotemplate::{Map, MapRef, Value};

use crate::chart::Chart;
use crate::coalesce::{ChartValues, ImportValue, coalesce_values};
use crate::error::{Error, Result};
use crate::semver::is_compatible_range;

/// The tree coalescing works on: names (aliases applied), default values and enabled subcharts.
pub fn values_tree(c: &Chart) -> ChartValues {
    ChartValues {
        name: c.name().to_string(),
        values: c.values.clone(),
        dependencies: c.dependencies.iter().map(values_tree).collect(),
        declares_dependencies: !c.metadata.dependencies.is_empty(),
        import_values: c.metadata.dependencies.iter().flat_map(import_entries).collect(),
    }
}

/// Enables/disables subcharts and applies import-values, as `helm template` does before coalescing.
pub fn process(c: &mut Chart, user: &Map) -> Result<()> {
    process_enabled(c, user, "")?;
    process_import_values(c)
}

/// Helm's `PathValue`: the value at a dotted path, when every step is a map.
fn path_value(vals: &Map, path: &str) -> Option<Value> {
    let mut parts = path.split('.').peekable();
    let mut cur: Value = Value::map(vals.clone());
    while let Some(p) = parts.next() {
        let next = match &cur {
            Value::Map(m) => m.borrow().get(p).cloned()?,
            _ => return None,
        };
        if parts.peek().is_none() {
            return Some(next);
        }
        cur = next;
    }
    None
}

/// Helm's `Values.Table`: the map at a dotted path.
fn table(vals: &Map, path: &str) -> Option<MapRef> {
    match path_value(vals, path)? {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

fn alias_dependency(charts: &[Chart], name: &str, version: &str, alias: &str) -> Option<Chart> {
    let c = charts
        .iter()
        .find(|c| c.name() == name && is_compatible_range(version, &c.metadata.version))?;
    let mut out = c.clone();
    if !alias.is_empty() {
        out.metadata.name = alias.to_string();
    }
    Some(out)
}

fn process_enabled(c: &mut Chart, v: &Map, path: &str) -> Result<()> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let existing = std::mem::take(&mut c.dependencies);
    let mut deps: Vec<Chart> = existing
        .iter()
        .filter(|e| {
            !c.metadata
                .dependencies
                .iter()
                .any(|r| e.name() == r.name && is_compatible_range(&r.version, &e.metadata.version))
        })
        .cloned()
        .collect();
    for req in &mut c.metadata.dependencies {
        if let Some(d) = alias_dependency(&existing, &req.name, &req.version, &req.alias) {
            deps.push(d);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = deps;
    for r in &mut c.metadata.dependencies {
        r.enabled = true;
    }
    let cvals = if path.is_empty() {
        coalesce_values(&values_tree(c), v)
    } else {
        coalesce_values(&values_tree(c), &relevant_values(c, v, path))
    }
    .map_err(|e| Error::Values(e.0))?
    .values;
    // Tags.
    if let Some(tags) = table(&cvals, "tags") {
        let tags = tags.borrow();
        for r in &mut c.metadata.dependencies {
            let (mut has_true, mut has_false) = (false, false);
            for k in &r.tags {
                if let Some(Value::Bool(b)) = tags.get(k) {
                    if *b {
                        has_true = true;
                    } else {
                        has_false = true;
                    }
                }
            }
            r.enabled = has_true || !has_false;
        }
    }
    // Conditions: the first path that holds a bool wins.
    for r in &mut c.metadata.dependencies {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(&cvals, &format!("{path}{cond}")) {
                r.enabled = b;
                break;
            }
        }
    }
    let rm: HashSet<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies.retain(|d| !rm.contains(d.name()));
    c.metadata.dependencies.retain(|r| !rm.contains(&r.name));
    for t in &mut c.dependencies {
        let sub = format!("{path}{}.", t.name());
        process_enabled(t, &cvals, &sub)?;
    }
    Ok(())
}

/// The part of the parent's coalesced values that a subchart's dependency processing can read: Helm
/// coalesces the subchart's defaults into a copy of the parent's whole tree (once per subchart, quadratic in
/// their number), but what is read back is only `tags`, the condition paths under the subchart's path (its
/// first component), and the keys coalescing itself reads (`global`, the defaults' top-level keys and the
/// dependency names of every chart below, whose types can fail the coalescing). Every other key would be
/// copied unchanged and never read, so it is left out.
fn relevant_values(c: &Chart, v: &Map, path: &str) -> Map {
    let mut keys: HashSet<&str> = HashSet::new();
    keys.insert("tags");
    keys.insert("global");
    keys.insert(path.split('.').next().unwrap_or(path));
    subtree_keys(c, &mut keys);
    v.iter()
        .filter(|(k, _)| keys.contains(k.as_str()))
        .map(|(k, val)| (k.clone(), val.clone()))
        .collect()
}

fn subtree_keys<'c>(c: &'c Chart, keys: &mut HashSet<&'c str>) {
    keys.insert(c.name());
    keys.extend(c.values.keys().map(String::as_str));
    for r in &c.metadata.dependencies {
        keys.insert(&r.name);
        keys.insert(&r.alias);
    }
    for d in &c.dependencies {
        subtree_keys(d, keys);
    }
}

/// Applies `import-values` (through [`crate::coalesce::process_import_values`]) and writes each chart's
/// resulting values back; each dependency's `import-values` become `{child, parent}` maps as in Helm.
fn process_import_values(c: &mut Chart) -> Result<()> {
    let mut tree = values_tree(c);
    crate::coalesce::process_import_values(&mut tree).map_err(|e| Error::Values(e.0))?;
    write_back(c, tree);
    Ok(())
}

fn write_back(c: &mut Chart, tree: ChartValues) {
    c.values = tree.values;
    for (d, t) in c.dependencies.iter_mut().zip(tree.dependencies) {
        write_back(d, t);
    }
    for r in &mut c.metadata.dependencies {
        r.import_values = import_entries(r)
            .into_iter()
            .map(|iv| {
                let mut m = Map::new();
                m.insert("child".into(), Value::string(iv.child.as_str()));
                m.insert("parent".into(), Value::string(iv.parent.as_str()));
                Value::map(m)
            })
            .collect();
    }
}

/// The `import-values` of one dependency in their `{child, parent}` form.
fn import_entries(r: &crate::metadata::Dependency) -> Vec<ImportValue> {
    r.import_values
        .iter()
        .filter_map(|iv| match iv {
            Value::Map(m) => {
                let m = m.borrow();
                let f = |k: &str| crate::coalesce::go_fmt_v(m.get(k).unwrap_or(&Value::Nil));
                Some(ImportValue {
                    dependency: r.name.clone(),
                    child: f("child"),
                    parent: f("parent"),
                })
            }
            Value::String(s) => Some(ImportValue {
                dependency: r.name.clone(),
                child: format!("exports.{s}"),
                parent: ".".into(),
            }),
            _ => None,
        })
        .collect()
}
