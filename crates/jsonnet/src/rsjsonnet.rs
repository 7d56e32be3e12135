//! The default engine: rsjsonnet-lang, with imports through [`Resolver`] and errors in go-jsonnet's words.

use std::collections::HashMap;

use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::interner::InternedStr;
use rsjsonnet_lang::program::{
    Callbacks, EvalError, EvalErrorKind, EvalStackTraceItem, ImportError, LoadError, NativeError, Program,
    Thunk, Value,
};
use rsjsonnet_lang::span::{SpanContextId, SpanId};

use crate::import::Resolver;
use crate::{Engine, Error, EvalOptions, Input, VarValue};

/// rsjsonnet-lang (`std.native` has no functions: none are registered).
#[derive(Debug, Clone, Copy, Default)]
pub struct RsJsonnet;

impl Engine for RsJsonnet {
    fn evaluate(&self, input: &Input, options: &EvalOptions) -> Result<serde_json::Value, Error> {
        let mut values = self.evaluate_all(std::slice::from_ref(input), options)?;
        values
            .pop()
            .ok_or_else(|| Error::Evaluation("RUNTIME ERROR: nothing was evaluated".into()))
    }

    /// One program for all inputs: the standard library and every imported file are parsed once.
    fn evaluate_all(&self, inputs: &[Input], options: &EvalOptions) -> Result<Vec<serde_json::Value>, Error> {
        let arena = Arena::new();
        let mut program = Program::new(&arena);
        program.set_max_stack(options.max_stack);
        let mut session = Session {
            resolver: Resolver::new(&options.jpath, options.confine.as_deref()),
            files: Vec::new(),
            imports: HashMap::new(),
            strings: HashMap::new(),
            pending: None,
            display_root: options
                .display_root
                .as_ref()
                .map(|r| format!("{}/", r.display().to_string().trim_end_matches('/'))),
        };
        session
            .add_ext_vars(&mut program, options)
            .map_err(Error::Evaluation)?;
        let mut values = Vec::with_capacity(inputs.len());
        for input in inputs {
            let (name, code) = match input {
                Input::File(path) => {
                    let code = std::fs::read(path).map_err(|e| {
                        Error::Evaluation(format!("Opening input file: {}: {}", path.display(), io_text(&e)))
                    })?;
                    (path.display().to_string(), code)
                }
                Input::Snippet { name, code } => (name.clone(), code.clone().into_bytes()),
            };
            let json = session
                .run(&mut program, &name, &code, options)
                .map_err(Error::Evaluation)?;
            values.push(serde_json::from_str(&json).map_err(|e| {
                Error::Evaluation(format!("RUNTIME ERROR: the evaluator produced invalid JSON: {e}"))
            })?);
        }
        if options.leave_allocated {
            // A one-shot process: its exit returns the evaluator's memory faster than freeing it object by object.
            std::mem::forget(session);
            std::mem::forget(program);
            std::mem::forget(arena);
        }
        Ok(values)
    }
}

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        _ => e.to_string(),
    }
}

/// A source file known to the program: where its spans live, its name and text (for line and column).
struct SourceFile {
    context: SpanContextId,
    name: String,
    text: Vec<u8>,
}

struct Session<'p> {
    resolver: Resolver,
    files: Vec<SourceFile>,
    imports: HashMap<String, Thunk<'p>>,
    strings: HashMap<String, Vec<u8>>,
    /// The message of the last failed import, reported in place of rsjsonnet's generic one.
    pending: Option<String>,
    /// The prefix (ending in `/`) stripped from file names in error locations.
    display_root: Option<String>,
}

impl<'p> Session<'p> {
    fn run(
        &mut self,
        program: &mut Program<'p>,
        name: &str,
        code: &[u8],
        options: &EvalOptions,
    ) -> Result<String, String> {
        let main = self.load(program, name, code)?;
        let mut value = program
            .eval_value(&main, self)
            .map_err(|e| self.eval_error(program, &e))?;
        if value.is_function() {
            let mut named: Vec<(InternedStr<'p>, Thunk<'p>)> = Vec::new();
            for (arg, v) in &options.tlas {
                let thunk = self.var_thunk(program, &format!("<top-level-arg:{arg}>"), v)?;
                named.push((program.intern_str(arg), thunk));
            }
            value = program
                .eval_call(&main, &[], &named, self)
                .map_err(|e| self.eval_error(program, &e))?;
        }
        program
            .manifest_json(&value, false)
            .map_err(|e| self.eval_error(program, &e))
    }

    /// Binds the external variables (once per program).
    fn add_ext_vars(&mut self, program: &mut Program<'p>, options: &EvalOptions) -> Result<(), String> {
        for (var, value) in &options.ext_vars {
            let thunk = self.var_thunk(program, &format!("<extvar:{var}>"), value)?;
            program.add_ext_var(program.intern_str(var), &thunk);
        }
        Ok(())
    }

    fn var_thunk(
        &mut self,
        program: &mut Program<'p>,
        name: &str,
        value: &VarValue,
    ) -> Result<Thunk<'p>, String> {
        match value {
            VarValue::Str(s) => Ok(program.value_to_thunk(&Value::string(s))),
            VarValue::Code(code) => self.load(program, name, code.as_bytes()),
        }
    }

    fn load(&mut self, program: &mut Program<'p>, name: &str, code: &[u8]) -> Result<Thunk<'p>, String> {
        let (context, _) = program.span_manager_mut().insert_source_context(code.len());
        self.files.push(SourceFile {
            context,
            name: name.to_string(),
            text: code.to_vec(),
        });
        program
            .load_source(context, code, true, name)
            .map_err(|e| self.load_error(program, &e))
    }

    fn file_of(&self, program: &Program<'p>, span: SpanId) -> Option<&SourceFile> {
        let (context, _, _) = program.span_manager().get_span(span);
        self.files.iter().find(|f| f.context == context)
    }

    /// go-jsonnet's location: `file:line:col-endcol`, or `file:(l1:c1)-(l2:c2)` across lines.
    fn locate(&self, program: &Program<'p>, span: SpanId) -> String {
        let (context, start, end) = program.span_manager().get_span(span);
        let Some(file) = self.files.iter().find(|f| f.context == context) else {
            return "<unknown>".into();
        };
        let (l1, c1) = line_col(&file.text, start);
        let (l2, c2) = line_col(&file.text, end);
        let name = self.shown(&file.name);
        if start == end {
            format!("{name}:{l1}:{c1}")
        } else if l1 == l2 {
            format!("{name}:{l1}:{c1}-{c2}")
        } else {
            format!("{name}:({l1}:{c1})-({l2}:{c2})")
        }
    }

    /// The source text of a span.
    fn text_of(&self, program: &Program<'p>, span: SpanId) -> String {
        let (context, start, end) = program.span_manager().get_span(span);
        self.files
            .iter()
            .find(|f| f.context == context)
            .and_then(|f| f.text.get(start..end))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }

    /// A file name as errors show it: relative to the display root when under it.
    fn shown<'a>(&self, name: &'a str) -> &'a str {
        self.display_root
            .as_deref()
            .and_then(|root| name.strip_prefix(root))
            .unwrap_or(name)
    }

    fn load_error(&self, program: &Program<'p>, error: &LoadError) -> String {
        let (span, message) = crate::rsjsonnet_msg::load_error(error, |span| self.text_of(program, span));
        match span {
            Some(span) => format!("{} {message}", self.locate(program, span)),
            None => message,
        }
    }

    fn eval_error(&mut self, program: &Program<'p>, error: &EvalError) -> String {
        if let Some(pending) = self.pending.take()
            && matches!(error.kind, EvalErrorKind::ImportFailed { .. })
        {
            return pending;
        }
        let message = crate::rsjsonnet_msg::eval_message(&error.kind);
        let mut out = format!("RUNTIME ERROR: {message}\n");
        let mut last = String::new();
        if let Some(span) = crate::rsjsonnet_msg::eval_span(&error.kind) {
            last = self.locate(program, span);
            out.push_str(&format!("\t{last}\t$\n"));
        }
        for item in error.stack_trace.iter().rev() {
            if let Some(span) = item_span(item) {
                let loc = self.locate(program, span);
                if loc != last {
                    out.push_str(&format!("\t{loc}\t\n"));
                    last = loc;
                }
            }
        }
        out.push_str("\tDuring evaluation\t\n");
        out
    }
}

fn item_span(item: &EvalStackTraceItem) -> Option<SpanId> {
    match item {
        EvalStackTraceItem::Expr { span }
        | EvalStackTraceItem::Variable { span, .. }
        | EvalStackTraceItem::Import { span } => Some(*span),
        EvalStackTraceItem::Call { span, .. }
        | EvalStackTraceItem::ArrayItem { span, .. }
        | EvalStackTraceItem::ObjectField { span, .. } => *span,
        _ => None,
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

impl<'p> Callbacks<'p> for Session<'p> {
    fn import(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Thunk<'p>, ImportError> {
        let found = self.find(program, from, path)?;
        if let Some(thunk) = self.imports.get(&found.name) {
            return Ok(thunk.clone());
        }
        match self.load(program, &found.name, &found.bytes) {
            Ok(thunk) => {
                self.imports.insert(found.name, thunk.clone());
                Ok(thunk)
            }
            Err(message) => {
                let at = self.locate(program, from);
                self.pending = Some(format!(
                    "RUNTIME ERROR: {message}\n\t{at}\t$\n\tDuring evaluation\t\n"
                ));
                Err(ImportError)
            }
        }
    }

    fn import_str(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<String, ImportError> {
        let bytes = self.find_bytes(program, from, path)?;
        match String::from_utf8(bytes) {
            Ok(s) => Ok(s),
            Err(_) => {
                self.pending = Some(format!(
                    "RUNTIME ERROR: importstr {path:?}: the file is not valid UTF-8\n"
                ));
                Err(ImportError)
            }
        }
    }

    fn import_bin(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Vec<u8>, ImportError> {
        self.find_bytes(program, from, path)
    }

    fn trace(&mut self, program: &mut Program<'p>, message: &str, stack: &[EvalStackTraceItem]) {
        let loc = stack.iter().rev().find_map(item_span).map(|span| {
            let (context, start, _) = program.span_manager().get_span(span);
            match self.files.iter().find(|f| f.context == context) {
                Some(file) => format!("{}:{}", self.shown(&file.name), line_col(&file.text, start).0),
                None => "<unknown>".into(),
            }
        });
        eprintln!("TRACE: {} {message}", loc.unwrap_or_default());
    }

    fn native_call(
        &mut self,
        _program: &mut Program<'p>,
        _name: InternedStr<'p>,
        _args: &[Value<'p>],
    ) -> Result<Value<'p>, NativeError> {
        Err(NativeError)
    }
}

impl<'p> Session<'p> {
    fn find(
        &mut self,
        program: &Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<crate::import::Found, ImportError> {
        let from_name = self
            .file_of(program, from)
            .map(|f| f.name.clone())
            .unwrap_or_default();
        self.resolver.resolve(&from_name, path).map_err(|message| {
            self.pending = Some(format!(
                "RUNTIME ERROR: {message}\n\t{}\t\n\tDuring evaluation\t\n",
                self.locate(program, from)
            ));
            ImportError
        })
    }

    fn find_bytes(
        &mut self,
        program: &Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Vec<u8>, ImportError> {
        let found = self.find(program, from, path)?;
        Ok(self.strings.entry(found.name).or_insert(found.bytes).clone())
    }
}
