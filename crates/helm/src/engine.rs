//! Rendering a chart's templates as Helm's engine does (`pkg/engine/engine.go`): every template of the chart
//! and its enabled subcharts goes into one template set, parsed deepest path first (so a parent's `define`
//! wins), each chart's templates see their own `.Values`, `.Chart`, `.Files` and `.Subcharts`, and
//! `<no value>` is removed from the output.

use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;

use tack_gotemplate::{
    ExecError, ExecOptions, FuncNames, Funcs, Map, MissingKey, ParseError, Parsed, Templates, Value,
    parse_detached,
};

use crate::chart::Chart;
use crate::error::{Error, Result};
use crate::files::Files;
use crate::funcs::{ERR_END, ERR_START};

/// One template to parse (and, unless it is a partial, to render).
struct Renderable {
    text: String,
    /// The chart's render context (`.Values`, `.Chart`, ...), shared by the chart's templates.
    vals: Value,
    base_path: String,
}

/// The top-level render values: `.Values` (coalesced), `.Release` and `.Capabilities`.
pub struct TopValues {
    pub values: Value,
    pub release: Value,
    pub capabilities: Value,
}

/// The template texts of `chart` and all its subcharts (enabled or not), each distinct text once, named by
/// its path in the chart as loaded: what [`parse_texts`] parses ahead of the render.
pub fn template_texts(chart: &Chart) -> Vec<(String, String)> {
    fn walk<'a>(chart: &'a Chart, id: &str, seen: &mut HashSet<&'a [u8]>, out: &mut Vec<(String, String)>) {
        for t in chart.templates.iter() {
            if seen.insert(t.data.as_slice()) {
                let text = String::from_utf8_lossy(&t.data).into_owned();
                out.push((format!("{id}/{}", t.name), text));
            }
        }
        for dep in &chart.dependencies {
            walk(dep, &format!("{id}/charts/{}", dep.name()), seen, out);
        }
    }
    let mut out = Vec::new();
    walk(chart, chart.name(), &mut HashSet::new(), &mut out);
    out
}

/// Parses texts from [`template_texts`] on any thread, for [`render`] to reuse; texts that do not parse are
/// left out (the render parses them again and reports the error).
pub fn parse_texts(texts: Vec<(String, String)>, funcs: &FuncNames) -> Vec<(String, Parsed)> {
    texts
        .into_iter()
        .filter_map(|(name, text)| {
            let parsed = parse_detached(&name, &text, funcs)?;
            Some((text, parsed))
        })
        .collect()
}

/// Renders every template; returns the output of each non-partial template by path
/// (`chart/templates/x.yaml`, `chart/charts/sub/templates/y.yaml`), and passes each output to `on_output`
/// as soon as it is rendered. `funcs` is Helm's function table ([`crate::funcs::helm_funcs`]); `parsed` holds texts
/// already parsed by [`parse_texts`].
pub fn render(
    chart: &Chart,
    top: &TopValues,
    max_output: usize,
    funcs: &Funcs,
    parsed: Vec<(String, Parsed)>,
    on_output: &mut dyn FnMut(&str, &str),
    clock: &mut crate::Clock,
) -> Result<BTreeMap<String, String>> {
    let mut tpls = BTreeMap::new();
    collect(chart, "", None, top, &mut tpls);
    let keys = sort_templates(&tpls);
    let mut set = Templates::new();
    set.set_name(crate::funcs::TPL_NAME);
    for (text, p) in parsed {
        set.adopt(&text, p);
    }
    for key in &keys {
        set.parse(key, &tpls[key].text, funcs)
            .map_err(|e| parse_error(key, e))?;
    }
    clock.lap("parse");
    let opts = ExecOptions {
        missing_key: MissingKey::Zero,
        max_output,
        ..ExecOptions::default()
    };
    let mut rendered = BTreeMap::new();
    for key in &keys {
        if base_name(key).starts_with('_') {
            continue;
        }
        let r = &tpls[key];
        if let Value::Map(m) = &r.vals {
            let mut t = Map::new();
            t.insert("Name".into(), Value::string(key.as_str()));
            t.insert("BasePath".into(), Value::string(r.base_path.as_str()));
            m.borrow_mut().insert("Template".into(), Value::map(t));
        }
        let out = set
            .execute(key, &r.vals, funcs, &opts)
            .map_err(|e| exec_error(key, e))?;
        let out = out.replace("<no value>", "");
        on_output(key, &out);
        rendered.insert(key.clone(), out);
    }
    clock.lap("execute");
    Ok(rendered)
}

fn base_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Builds the render context of `chart` and records its templates; returns the context (what the parent sees
/// as `.Subcharts.NAME`).
fn collect(
    chart: &Chart,
    parent_id: &str,
    parent: Option<&Value>,
    top: &TopValues,
    out: &mut BTreeMap<String, Renderable>,
) -> Value {
    let is_root = parent.is_none();
    let values = match parent {
        None => top.values.clone(),
        Some(Value::Map(p)) => match p.borrow().get("Values") {
            Some(Value::Map(vals)) => match vals.borrow().get(chart.name()) {
                Some(v @ Value::Map(_)) => v.clone(),
                _ => Value::map(Map::new()),
            },
            _ => Value::map(Map::new()),
        },
        Some(_) => Value::map(Map::new()),
    };
    let files = Files(Rc::new(
        chart
            .files
            .iter()
            .map(|f| (f.name.clone(), Rc::from(f.data.as_slice())))
            .collect(),
    ));
    let subcharts = Value::map(Map::new());
    let mut next = Map::new();
    next.insert(
        "Chart".into(),
        Value::map(chart.metadata.to_template_map(is_root)),
    );
    next.insert("Files".into(), files.to_value());
    next.insert("Release".into(), top.release.clone());
    next.insert("Capabilities".into(), top.capabilities.clone());
    next.insert("Values".into(), values);
    next.insert("Subcharts".into(), subcharts.clone());
    let next = Value::map(next);
    let id = if parent_id.is_empty() {
        chart.name().to_string()
    } else {
        format!("{parent_id}/charts/{}", chart.name())
    };
    for dep in &chart.dependencies {
        let sub = collect(dep, &id, Some(&next), top, out);
        if let Value::Map(s) = &subcharts {
            s.borrow_mut().insert(dep.name().to_string(), sub);
        }
    }
    let library = chart.metadata.is_library();
    for t in chart.templates.iter() {
        if library && !base_name(&t.name).starts_with('_') {
            continue;
        }
        out.insert(
            format!("{id}/{}", t.name),
            Renderable {
                text: String::from_utf8_lossy(&t.data).into_owned(),
                vals: next.clone(),
                base_path: format!("{id}/templates"),
            },
        );
    }
    next
}

/// Helm's `sortTemplates`: most path separators first; equal depth in reverse lexical order.
fn sort_templates(tpls: &BTreeMap<String, Renderable>) -> Vec<String> {
    let mut keys: Vec<String> = tpls.keys().cloned().collect();
    keys.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    keys
}

/// Helm's `cleanupParseError`: `parse error at (NAME:LINE): MESSAGE`.
fn parse_error(file: &str, e: ParseError) -> Error {
    let tokens: Vec<&str> = e.message.split(": ").collect();
    let message = if tokens.len() == 1 {
        format!("parse error in ({file}): {}", e.message)
    } else {
        format!("parse error at ({}): {}", tokens[1], tokens[tokens.len() - 1])
    };
    Error::Parse {
        message,
        template: e.name,
        line: e.line,
    }
}

/// Helm's `reformatExecErrorMsg`: `execution error at (LOCATION): MESSAGE` for `required`/`fail`; a trace of
/// `LOCATION / executing "NAME" at <EXPR>: / MESSAGE` blocks when every error of the chain is a template
/// error; Go's message as it is otherwise. Each form names the template, line, column and expression.
fn exec_error(file: &str, e: ExecError) -> Error {
    let tokens: Vec<&str> = e.message.splitn(3, ": ").collect();
    let message = if tokens.len() != 3 {
        format!("execution error in ({file}): {}", e.message)
    } else if let (Some(s), Some(end)) = (tokens[2].find(ERR_START), tokens[2].rfind(ERR_END)) {
        let start = s + ERR_START.len();
        let inner = if end >= start { &tokens[2][start..end] } else { "" };
        format!("execution error at ({}): {inner}", tokens[1])
    } else {
        trace(&e.message).unwrap_or_else(|| e.message.clone())
    };
    Error::Execute {
        message,
        template: e.name,
        line: e.line,
        column: e.column,
        expr: e.expr,
    }
}

/// Walks the chain of template errors inside a Go template error message (`error calling include:
/// template: ...`); `None` when the chain ends in an error that is not a template error.
fn trace(message: &str) -> Option<String> {
    let mut out = String::new();
    let mut cur = message;
    loop {
        let rest = cur.strip_prefix("template: ")?;
        if rest.starts_with("no template ") {
            out.push_str(cur);
            out.push('\n');
            break;
        }
        if let Some((loc, after)) = rest.split_once(": executing ")
            && let Some(quoted) = after.strip_prefix('"')
            && let Some(end) = quoted.find('"')
            && let Some(at) = quoted[end + 1..].strip_prefix(" at <")
            && let Some((ctx, msg)) = at.split_once(">: ")
        {
            let name = &quoted[..end];
            let shown = msg.find(" template:").map_or(msg, |i| &msg[..i]);
            out.push_str(&format!(
                "{loc}\n  executing \"{name}\" at <{ctx}>:\n    {shown}\n"
            ));
            if let Some(called) = msg.strip_prefix("error calling ") {
                let (_, inner) = called.split_once(": ")?;
                if inner.starts_with("template: ") {
                    cur = inner;
                    continue;
                }
                return None;
            }
            break;
        }
        let sep = rest.rfind(": ")?;
        let msg = &rest[sep + 2..];
        let shown = msg.find(" template:").map_or(msg, |i| &msg[..i]);
        out.push_str(&format!("{}\n  {shown}\n", &rest[..sep]));
        break;
    }
    Some(out.trim().to_string())
}
