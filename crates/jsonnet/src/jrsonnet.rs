//! The default engine: jrsonnet, with imports through [`Resolver`], results read into JSON values and errors in
//! go-jsonnet's words.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use jrsonnet_evaluator::error::{Error as JrError, ErrorKind};
use jrsonnet_evaluator::stack::limit_stack_depth;
use jrsonnet_evaluator::tla::TlaArg;
use jrsonnet_evaluator::{
    AsPathLike, IStr, ImportResolver, Source, SourcePath, Span, StackTraceElement, State, Thunk, Val,
    apply_tla, ensure_sufficient_stack,
};
use jrsonnet_gcmodule::Acyclic;
use jrsonnet_ir::{SourceFile, SourcePathT};

use crate::import::Resolver;
use crate::{Engine, Error, EvalOptions, Input, VarValue};

/// jrsonnet (`std.native` has no functions: none are registered).
#[derive(Debug, Clone, Copy, Default)]
pub struct JrSonnet;

impl Engine for JrSonnet {
    fn evaluate(&self, input: &Input, options: &EvalOptions) -> Result<serde_json::Value, Error> {
        let mut values = self.evaluate_all(std::slice::from_ref(input), options)?;
        values
            .pop()
            .ok_or_else(|| Error::Evaluation("RUNTIME ERROR: nothing was evaluated".into()))
    }

    /// One state for all inputs: the standard library and every imported file are parsed once.
    fn evaluate_all(&self, inputs: &[Input], options: &EvalOptions) -> Result<Vec<serde_json::Value>, Error> {
        run(inputs, options, to_json)
    }

    /// Writes go-jsonnet's JSON straight from the evaluator's values (no JSON value in between).
    fn evaluate_json_text(&self, input: &Input, options: &EvalOptions) -> Result<String, Error> {
        let mut texts = run(std::slice::from_ref(input), options, |val| {
            let mut out = String::new();
            crate::jrsonnet_manifest::write_json(&mut out, val, "")?;
            Ok(out)
        })?;
        texts
            .pop()
            .ok_or_else(|| Error::Evaluation("RUNTIME ERROR: nothing was evaluated".into()))
    }
}

/// Evaluates `inputs` in order in one state (calling each with the top-level arguments when it is a function)
/// and reads each result with `read`, which forces the lazy values.
fn run<T>(
    inputs: &[Input],
    options: &EvalOptions,
    mut read: impl FnMut(&Val) -> jrsonnet_evaluator::Result<T>,
) -> Result<Vec<T>, Error> {
    let _depth = limit_stack_depth(options.max_stack);
    let display_root = options
        .display_root
        .as_ref()
        .map(|r| format!("{}/", r.display().to_string().trim_end_matches('/')));
    let names = Names { display_root };
    // `"…" % x` is `std.format("…", x)`, tack's (go-jsonnet's `std.mod`), not the engine's own formatting.
    jrsonnet_evaluator::stdlib::set_string_format(Some(crate::format::builtin_format));
    crate::manifest_depth::set_limit(options.max_stack);
    let stdlib = crate::stdlib::Std::new(std::rc::Rc::new(Tracer { names: names.clone() }));
    let mut builder = State::builder();
    builder
        .import_resolver(Importer {
            resolver: Resolver::new(&options.jpath, options.confine.as_deref()),
        })
        .context_initializer(stdlib.clone());
    let state = builder.build();
    let result = {
        let _entered = state.enter();
        for (var, value) in &options.ext_vars {
            stdlib.set_ext_var(
                var.as_str().into(),
                var_arg(&state, &format!("<extvar:{var}>"), value),
            );
        }
        // Interned strings hash by identity, which never changes: the map's keys are stable.
        #[allow(clippy::mutable_key_type)]
        let tlas: HashMap<IStr, TlaArg> = options
            .tlas
            .iter()
            .map(|(arg, value)| {
                (
                    arg.as_str().into(),
                    var_arg(&state, &format!("<top-level-arg:{arg}>"), value),
                )
            })
            .collect();
        inputs
            .iter()
            .map(|input| {
                let main = main_source(input)?;
                state
                    .import_resolved(main.clone())
                    .and_then(|v| apply_tla(&tlas, v))
                    .and_then(|v| {
                        let read = read(&v);
                        if options.leave_allocated {
                            // A one-shot process: the value's tree is not freed object by object (see below).
                            std::mem::forget(v);
                        }
                        read
                    })
                    .map_err(|e| Error::Evaluation(names.error_text(&e, &main)))
            })
            .collect::<Result<Vec<T>, Error>>()
    };
    if options.leave_allocated && result.is_ok() {
        // A one-shot process: its exit returns the evaluator's memory faster than freeing it object by object.
        std::mem::forget(state);
        std::mem::forget(stdlib);
        jrsonnet_gcmodule::with_thread_object_space(jrsonnet_gcmodule::ObjectSpace::leak);
    } else {
        drop(state);
        drop(stdlib);
        jrsonnet_gcmodule::collect_thread_cycles();
    }
    result
}

/// The source of an input: a file (read here, so a missing file is reported as go-jsonnet does) or a snippet.
fn main_source(input: &Input) -> Result<SourcePath, Error> {
    match input {
        Input::File(path) => {
            std::fs::metadata(path).map_err(|e| {
                Error::Evaluation(format!("Opening input file: {}: {}", path.display(), io_text(&e)))
            })?;
            Ok(SourcePath::new(SourceFile::new(path.clone())))
        }
        Input::Snippet { name, code } => Ok(SourcePath::new(Snippet {
            name: name.clone(),
            code: code.clone(),
        })),
    }
}

/// An external variable or top-level argument: a string, or code evaluated (lazily) under go-jsonnet's name for it.
fn var_arg(state: &State, name: &str, value: &VarValue) -> TlaArg {
    match value {
        VarValue::Str(s) => TlaArg::String(s.as_str().into()),
        VarValue::Code(code) => {
            let path = SourcePath::new(Snippet {
                name: name.to_string(),
                code: code.clone(),
            });
            let state = state.clone();
            TlaArg::Lazy(Thunk!(move || state.import_resolved(path)))
        }
    }
}

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        _ => e.to_string(),
    }
}

/// Code that is not a file: `-e`, standard input, external variables and top-level arguments given as code. Named
/// as go-jsonnet names it in errors; imports from it are relative to the working directory.
#[derive(Acyclic, Hash, PartialEq, Eq, Debug)]
struct Snippet {
    name: String,
    code: String,
}

/// Empty: go-jsonnet's `std.thisFile` of code that is not a file (errors name it by `name`).
impl std::fmt::Display for Snippet {
    fn fmt(&self, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

impl SourcePathT for Snippet {
    fn is_default(&self) -> bool {
        true
    }
    fn path(&self) -> Option<&Path> {
        None
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn dyn_hash(&self, mut hasher: &mut dyn Hasher) {
        self.hash(&mut hasher);
    }
    fn dyn_eq(&self, other: &dyn SourcePathT) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn dyn_debug(&self, fmt: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, fmt)
    }
}

/// Imports through tack's [`Resolver`]: go-jsonnet's search order and file names, optionally confined.
#[derive(Acyclic)]
struct Importer {
    resolver: Resolver,
}

impl ImportResolver for Importer {
    fn resolve_from(
        &self,
        from: &SourcePath,
        path: &dyn AsPathLike,
    ) -> jrsonnet_evaluator::Result<SourcePath> {
        let from_name = match from.path() {
            Some(p) => p.display().to_string(),
            None => String::new(),
        };
        let imported = match path.as_path() {
            jrsonnet_evaluator::ResolvePath::Str(s) => s.to_string(),
            jrsonnet_evaluator::ResolvePath::Path(p) => p.display().to_string(),
        };
        match self.resolver.resolve(&from_name, &imported) {
            Ok(found) => Ok(SourcePath::new(SourceFile::new(PathBuf::from(found.name)))),
            Err(message) => {
                let mut error = JrError::from(ErrorKind::ImportCallbackError(message));
                if let Some(span) = self.import_span(from, &imported) {
                    error.trace_mut().0.push(StackTraceElement {
                        location: Some(span),
                        desc: String::new(),
                    });
                }
                Err(error)
            }
        }
    }

    fn load_file_contents(&self, resolved: &SourcePath) -> jrsonnet_evaluator::Result<Vec<u8>> {
        if let Some(snippet) = resolved.downcast_ref::<Snippet>() {
            return Ok(snippet.code.as_bytes().to_vec());
        }
        let Some(path) = resolved.path() else {
            return Err(ErrorKind::ImportCallbackError(format!("cannot read {resolved}")).into());
        };
        std::fs::read(path).map_err(|e| {
            ErrorKind::ImportCallbackError(format!("read {}: {}", path.display(), io_text(&e))).into()
        })
    }
}

impl Importer {
    /// Where `from` imports `imported` (the evaluator does not say): the first `import`, `importstr` or
    /// `importbin` of that path literal in the importing file's text.
    fn import_span(&self, from: &SourcePath, imported: &str) -> Option<Span> {
        let code = match from.downcast_ref::<Snippet>() {
            Some(snippet) => snippet.code.clone(),
            None => String::from_utf8(std::fs::read(from.path()?).ok()?).ok()?,
        };
        let (start, end) = find_import(&code, imported)?;
        let source = Source::new(from.clone(), code.as_str().into());
        Some(Span(source, u32::try_from(start).ok()?, u32::try_from(end).ok()?))
    }
}

/// Byte offsets of the import expression of the literal `path` in `code` (keyword to closing quote).
fn find_import(code: &str, path: &str) -> Option<(usize, usize)> {
    for quote in ['\'', '"'] {
        let literal = format!("{quote}{path}{quote}");
        let mut from = 0;
        while let Some(at) = code[from..].find(&literal).map(|i| i + from) {
            let before = code[..at].trim_end();
            for keyword in ["importstr", "importbin", "import"] {
                if before.ends_with(keyword) {
                    return Some((before.len() - keyword.len(), at + literal.len()));
                }
            }
            from = at + literal.len();
        }
    }
    None
}

/// Reads an evaluated value into JSON, evaluating every field and element (object assertions run first, as
/// when manifesting). Functions cannot be manifested.
fn to_json(val: &Val) -> jrsonnet_evaluator::Result<serde_json::Value> {
    use serde_json::Value;
    Ok(match val {
        Val::Bool(b) => Value::Bool(*b),
        Val::Null => Value::Null,
        Val::Str(s) => Value::String(s.clone().into_flat().to_string()),
        Val::Num(n) => number(n.get()),
        Val::Arr(items) => ensure_sufficient_stack(|| {
            let mut out = Vec::with_capacity(items.len() as usize);
            for item in items.iter() {
                out.push(to_json(&item?)?);
            }
            Ok::<_, JrError>(Value::Array(out))
        })?,
        Val::Obj(obj) => ensure_sufficient_stack(|| {
            obj.run_assertions()?;
            let mut out = serde_json::Map::new();
            for (key, value) in obj.iter() {
                out.insert(key.to_string(), to_json(&value?)?);
            }
            Ok::<_, JrError>(Value::Object(out))
        })?,
        Val::Func(_) => {
            return Err(ErrorKind::RuntimeError("couldn't manifest function as JSON".into()).into());
        }
    })
}

/// A number as the JSON reader would have read its text: integers as integers, others as floats.
fn number(n: f64) -> serde_json::Value {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if n.fract() == 0.0 && n.abs() < LIMIT {
        #[allow(clippy::cast_possible_truncation)]
        return serde_json::Value::from(n as i64);
    }
    serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// `std.trace`'s output as go-jsonnet writes it: `TRACE: file:line message` on standard error.
#[derive(Acyclic)]
struct Tracer {
    names: Names,
}

impl jrsonnet_stdlib::TracePrinter for Tracer {
    fn print_trace(&self, loc: jrsonnet_evaluator::function::CallLocation<'_>, value: IStr) {
        match loc.0 {
            Some(span) => {
                let (line, _) = line_col(span.0.code().as_bytes(), span.1 as usize);
                eprintln!("TRACE: {}:{line} {value}", self.names.shown(span.0.source_path()));
            }
            None => eprintln!("TRACE: {value}"),
        }
    }
}

/// How files are named in error messages.
#[derive(Clone, Acyclic)]
struct Names {
    /// The prefix (ending in `/`) stripped from file names in error locations.
    display_root: Option<String>,
}

impl Names {
    /// A file name as errors show it: relative to the display root when under it.
    fn shown(&self, source: &SourcePath) -> String {
        let name = match source.downcast_ref::<Snippet>() {
            Some(snippet) => snippet.name.clone(),
            None => source
                .path()
                .map_or_else(|| source.to_string(), |p| p.display().to_string()),
        };
        match self
            .display_root
            .as_deref()
            .and_then(|root| name.strip_prefix(root))
        {
            Some(rest) => rest.to_string(),
            None => name,
        }
    }

    /// go-jsonnet's location: `file:line:col-endcol`, or `file:(l1:c1)-(l2:c2)` across lines.
    fn locate(&self, span: &Span) -> String {
        let source: &Source = &span.0;
        let text = source.code().as_bytes();
        let (l1, c1) = line_col(text, span.1 as usize);
        let (l2, c2) = line_col(text, span.2 as usize);
        let name = self.shown(source.source_path());
        if span.1 == span.2 {
            format!("{name}:{l1}:{c1}")
        } else if l1 == l2 {
            format!("{name}:{l1}:{c1}-{c2}")
        } else {
            format!("{name}:({l1}:{c1})-({l2}:{c2})")
        }
    }

    /// The text go-jsonnet's `jsonnet` command prints for an error: a static error of the main file as
    /// `file:line:col message`, any other as `RUNTIME ERROR: message` with the stack trace below it.
    fn error_text(&self, error: &JrError, main: &SourcePath) -> String {
        if let Some((span, message)) = crate::jrsonnet_msg::static_error(error.error()) {
            let located = match &span {
                Some(span) if crate::jrsonnet_msg::at_end_of_file(error.error()) => {
                    let len = u32::try_from(span.0.code().len()).unwrap_or(u32::MAX);
                    let end = Span(span.0.clone(), len, len);
                    format!("{} {message}", self.locate(&end))
                }
                Some(span) => format!("{} {message}", self.locate(span)),
                None => message,
            };
            let is_main = span.as_ref().is_some_and(|s| s.0.source_path() == main);
            if is_main {
                return format!("{located}\n");
            }
            return format!("RUNTIME ERROR: {located}\n{}", self.trace(error));
        }
        let message = crate::jrsonnet_msg::runtime_message(error.error(), &error.trace().0);
        format!("RUNTIME ERROR: {message}\n{}", self.trace(error))
    }

    /// The stack trace, innermost frame first, then `During evaluation`.
    fn trace(&self, error: &JrError) -> String {
        let mut out = String::new();
        let mut last = String::new();
        for frame in &error.trace().0 {
            if let Some(span) = &frame.location {
                let loc = self.locate(&crate::extent::whole_error(span));
                if loc != last {
                    out.push_str(&format!("\t{loc}\t{}\n", frame.desc));
                    last = loc;
                }
            }
        }
        out.push_str("\tDuring evaluation\t\n");
        out
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, col)
}
