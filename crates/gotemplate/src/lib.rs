//! Go's `text/template`, with Go's exact semantics (parsing, execution, `fmt` printing), as Helm uses it.
//!
//! The engine knows nothing of Helm: functions are given to it in a [`Funcs`] table (Sprig's in `tack-sprig`,
//! Helm's own in `tack-helm`), and the data is a [`Value`].
//!
//! Contract used by the other crates (the engine fills in the behaviour behind it):
//! - [`Templates::parse`] adds a named template and every `define`/`block` in it to the set; a later
//!   definition of a name replaces the earlier one, as `template.New(..).Parse` does on one set. Functions
//!   must be known at parse time (Go refuses `function "x" not defined` while parsing).
//! - [`Templates::execute`] runs one template of the set with `missingkey` behaviour from [`ExecOptions`].
//! - A [`Func`] receives a [`Call`], through which Helm's `include` and `tpl` run other templates.
//! - [`Funcs::insert_typed`] gives a function Go's parameter types: the engine then checks and converts
//!   arguments with Go's errors (`wrong type for value; expected int; got float64`); [`Funcs::insert`] is
//!   `func(...interface {})`.
//! - Go's own formatting and comparisons are public for the function crates: [`fmt::sprintf`] and friends,
//!   [`Value::to_go_string`] (`%v`), [`Value::type_name`] (`%T`), [`Value::truthy`], [`compare_eq`],
//!   [`compare_lt`], [`float::format_float`].
//!
//! What Go does that this engine does not: complex constants (`1i`) parse but are refused when evaluated;
//! channels, function values and iterators do not exist (`call` always fails as with a non-function);
//! indexing a string yields an `int`, where Go has a `uint8` (same digits, `%T` differs); `%q`, `%+q` and
//! `js` decide which characters are printable with Rust's character classes, not Go's tables (they differ
//! on a few rare code points); `Object` methods receive their arguments unchecked; the nesting of
//! `include`/`tpl` ([`Call::execute`]) counts toward [`ExecOptions::max_depth`], where Go starts each
//! `ExecuteTemplate` at depth 0.

#![warn(missing_docs)]

mod ast;
mod builtins;
mod exec;
pub mod float;
pub mod fmt;
mod lex;
mod number;
mod parse;
mod value;

use foldhash::HashMap;
use std::rc::Rc;

pub use builtins::{compare_eq, compare_lt};
pub use value::{Map, MapRef, Object, Value};

/// An error returned by a template function; the engine wraps it as Go does
/// (`template: NAME:LINE:COL: executing "NAME" at <EXPR>: error calling FUNC: MESSAGE`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FuncError(pub String);

impl FuncError {
    /// An error with `message` as its text (the part after `error calling FUNC: `).
    pub fn new(message: impl Into<String>) -> Self {
        FuncError(message.into())
    }
}

/// A template function. Arguments arrive evaluated; variadic functions take any number.
pub type Func = Rc<dyn Fn(&mut Call<'_>, &[Value]) -> Result<Value, FuncError>>;

/// A Go parameter type. The engine checks and converts arguments against it before the call, as Go's
/// reflection does, with Go's errors (`wrong type for value; expected int; got float64`,
/// `expected integer; found "x"`, `invalid value; expected string`, `cannot assign nil to int`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    /// `interface {}`: anything; a missing value arrives as [`Value::Nil`].
    Any,
    /// `string`.
    String,
    /// `int` (an integer literal, or a [`Value::Int`]).
    Int,
    /// `int64` (an integer literal, or a [`Value::Int64`]).
    Int64,
    /// `float64` (a numeric literal, or a [`Value::Float`]).
    Float64,
    /// `bool`.
    Bool,
    /// `map[string]interface {}` (nil allowed).
    Map,
    /// `[]interface {}` (nil allowed).
    List,
}

impl ArgType {
    /// The Go type name, as Go's errors print it.
    pub fn go_name(self) -> &'static str {
        match self {
            ArgType::Any => "interface {}",
            ArgType::String => "string",
            ArgType::Int => "int",
            ArgType::Int64 => "int64",
            ArgType::Float64 => "float64",
            ArgType::Bool => "bool",
            ArgType::Map => "map[string]interface {}",
            ArgType::List => "[]interface {}",
        }
    }
}

/// A Go function signature: fixed parameters, then optionally a variadic one (`...T`). Functions inserted
/// with [`Funcs::insert`] are `func(...interface {})`: any number of arguments, unchecked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The types of the fixed parameters, in order.
    pub params: Vec<ArgType>,
    /// The type of the trailing variadic parameter (`...T`), if the function has one.
    pub variadic: Option<ArgType>,
}

impl Signature {
    /// `func(params...)`.
    pub fn fixed(params: &[ArgType]) -> Self {
        Signature {
            params: params.to_vec(),
            variadic: None,
        }
    }
    /// `func(params..., ...variadic)`.
    pub fn variadic(params: &[ArgType], variadic: ArgType) -> Self {
        Signature {
            params: params.to_vec(),
            variadic: Some(variadic),
        }
    }
}

#[derive(Clone)]
struct FuncEntry {
    f: Func,
    sig: Option<Rc<Signature>>,
}

/// The function table (Go's `template.FuncMap`).
#[derive(Clone, Default)]
pub struct Funcs {
    map: HashMap<String, FuncEntry>,
}

impl Funcs {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds or replaces a function taking any number of arguments of any type (`func(...interface {})`).
    pub fn insert(
        &mut self,
        name: &str,
        f: impl Fn(&mut Call<'_>, &[Value]) -> Result<Value, FuncError> + 'static,
    ) {
        self.map.insert(
            name.to_string(),
            FuncEntry {
                f: Rc::new(f),
                sig: None,
            },
        );
    }
    /// Adds or replaces a function with a Go signature: the engine checks the argument count and types as Go
    /// does (`wrong number of args for indent: want 2 got 1`) and converts literals (`indent 4 .x` passes
    /// [`Value::Int`]), so `f` receives exactly `sig.params.len()` (or more, when variadic) checked values.
    pub fn insert_typed(
        &mut self,
        name: &str,
        sig: Signature,
        f: impl Fn(&mut Call<'_>, &[Value]) -> Result<Value, FuncError> + 'static,
    ) {
        self.map.insert(
            name.to_string(),
            FuncEntry {
                f: Rc::new(f),
                sig: Some(Rc::new(sig)),
            },
        );
    }
    /// The function called `name`, if the table has one.
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.map.get(name).map(|e| &e.f)
    }
    /// The signature given with [`Funcs::insert_typed`].
    pub fn signature(&self, name: &str) -> Option<&Signature> {
        self.map.get(name).and_then(|e| e.sig.as_deref())
    }
    /// Whether the table has a function called `name` (the parser refuses calls to unknown functions, as Go's does).
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
    /// Removes a function (Helm deletes Sprig's `env` and `expandenv`).
    pub fn remove(&mut self, name: &str) {
        self.map.remove(name);
    }
    /// The names of the table's functions: all that parsing needs, and unlike the table, shareable between
    /// threads (see [`parse_detached`]).
    pub fn names(&self) -> FuncNames {
        FuncNames(self.map.keys().cloned().collect())
    }
}

/// The names of a function table ([`Funcs::names`]).
#[derive(Clone, Debug, Default)]
pub struct FuncNames(foldhash::HashSet<String>);

impl FuncNames {
    /// Whether the table had a function called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }
}

/// A text parsed away from any set, possibly on another thread ([`parse_detached`]); a set takes it with
/// [`Templates::adopt`], after which parsing the same text into the set reuses these trees.
pub struct Parsed {
    name: String,
    lookups: Vec<(String, bool)>,
    trees: parse::Trees,
}

/// Parses `text` as the template `name` on any thread; `None` when the text does not parse (parsing it into
/// a set then reports the error).
pub fn parse_detached(name: &str, text: &str, funcs: &FuncNames) -> Option<Parsed> {
    let (lookups, trees) = parse_recording(name, text, &|f| funcs.contains(f)).ok()?;
    Some(Parsed {
        name: name.to_string(),
        lookups,
        trees,
    })
}

/// Parses `text`, recording every function lookup the parser made and its answer (sorted, deduplicated).
fn parse_recording(
    name: &str,
    text: &str,
    has_func: &dyn Fn(&str) -> bool,
) -> Result<(Vec<(String, bool)>, parse::Trees), String> {
    let lookups = std::cell::RefCell::new(Vec::new());
    let recording = |f: &str| {
        let known = has_func(f);
        lookups.borrow_mut().push((f.to_string(), known));
        known
    };
    let trees = parse::parse(name, text, &recording)?;
    let mut lookups = lookups.into_inner();
    lookups.sort();
    lookups.dedup();
    Ok((lookups, trees))
}

/// What a missing map key yields (Go's `Option("missingkey=...")`). Helm uses `Zero` (and `Error` under
/// `--strict`-like linting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `missingkey=default` / `invalid`: prints `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero`: the zero value of the map's element type (`<no value>` for `interface{}` maps).
    Zero,
    /// `missingkey=error`: execution stops with `map has no entry for key "x"`.
    Error,
}

/// Execution options.
#[derive(Clone, Debug)]
pub struct ExecOptions {
    /// What a missing map key yields.
    pub missing_key: MissingKey,
    /// Nesting limit of template calls (`template`, and `include`/`tpl` through [`Call`]); Go's own limit is
    /// 100 000 (`exceeded maximum template depth`).
    pub max_depth: usize,
    /// Output size limit in bytes; exceeding it is an error.
    pub max_output: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            missing_key: MissingKey::Default,
            max_depth: 100_000,
            max_output: 64 << 20,
        }
    }
}

/// A parse error, as Go words it: `template: NAME:LINE: MESSAGE`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The whole message in Go's words.
    pub message: String,
    /// Template name, for tack's own diagnostics.
    pub name: String,
    /// 1-based line of the error in that template.
    pub line: usize,
}

/// An execution error, as Go words it:
/// `template: NAME:LINE:COL: executing "NAME" at <EXPR>: MESSAGE`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ExecError {
    /// The whole message in Go's words.
    pub message: String,
    /// Template name, when known.
    pub name: String,
    /// 1-based line of the failing action in that template (0 when unknown).
    pub line: usize,
    /// Byte offset of the failing action within its line, as Go prints it (0 when unknown).
    pub column: usize,
    /// The failing expression as written (`<.Values.x>` without the brackets), empty when unknown.
    pub expr: String,
}

/// A set of named templates (Go's `*template.Template` and the templates associated with it).
#[derive(Clone, Default)]
pub struct Templates {
    map: HashMap<String, Rc<exec::Tmpl>>,
    root_name: String,
    /// Texts parsed by `tpl` over this set ([`Call::parse_and_execute`]), by name and text: parsing depends on
    /// nothing else (the function table is the same for a whole render), so each text is parsed once.
    tpl_cache: std::cell::RefCell<HashMap<(String, String), ParsedTpl>>,
    /// Texts parsed by [`Templates::parse`], by text: identical texts (a library chart vendored by several
    /// charts) share one parse tree.
    parse_cache: HashMap<Rc<str>, Rc<ParsedText>>,
}

/// A text parsed successfully: the name it was parsed under, the function lookups the parse made (their
/// answers must be the same for the tree to be reused) and its trees, its own first.
struct ParsedText {
    name: String,
    lookups: Vec<(String, bool)>,
    /// Whether the text mentions the name it was parsed under (it may `define` it): its own tree then
    /// depends on the name, and the trees are not reused under another.
    names_itself: bool,
    trees: SharedTrees,
}

impl ParsedText {
    /// The trees for `name` under `funcs`, when parsing again would give the same ones: same function
    /// answers, and no `define` of the text named `name` (which would clash with or replace the text's own
    /// tree).
    fn reuse(&self, name: &str, funcs: &Funcs) -> Option<SharedTrees> {
        if name != self.name && self.names_itself {
            return None;
        }
        if self.lookups.iter().any(|(f, known)| funcs.contains(f) != *known) {
            return None;
        }
        let (_, own) = self.trees.first()?;
        if self.trees[1..].iter().any(|(n, _)| n == name) {
            return None;
        }
        let mut out = Vec::with_capacity(self.trees.len());
        out.push((name.to_string(), own.clone()));
        out.extend(self.trees[1..].iter().cloned());
        Some(out)
    }
}

/// Named parse trees, shared between the templates parsed from the same text.
type SharedTrees = Vec<(String, Rc<Vec<ast::Node>>)>;

/// How many distinct texts a set keeps parsed for reuse.
const PARSE_CACHE_MAX: usize = 4096;

/// A `tpl` text parsed over a set: its own templates, or Go's parse error.
type ParsedTpl = Result<Rc<Templates>, ParseError>;

/// How many distinct `tpl` texts a set keeps parsed.
const TPL_CACHE_MAX: usize = 4096;

impl Templates {
    /// An empty, unnamed set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the set as Go names the template that holds the others (Helm's is `gotpl`): running a name the
    /// set lacks fails with `template: no template "x" associated with template "gotpl"`.
    pub fn set_name(&mut self, name: &str) {
        self.root_name = name.to_string();
    }

    /// Parses `text` as the template `name` (and its `define`s) into the set. `funcs` names the functions the
    /// text may call. A template that is empty (only spaces and comments) does not replace an existing one of
    /// the same name, as in Go.
    pub fn parse(&mut self, name: &str, text: &str, funcs: &Funcs) -> Result<(), ParseError> {
        let cached = self.parse_cache.get_key_value(text);
        let reused = cached.and_then(|(t, p)| Some((t.clone(), p.reuse(name, funcs)?)));
        let (text, trees) = match reused {
            Some(hit) => hit,
            None => {
                let text: Rc<str> = Rc::from(text);
                let trees = self.parse_new(name, &text, funcs)?;
                (text, trees)
            }
        };
        let parse_name: Rc<str> = Rc::from(name);
        for (tname, root) in trees {
            if ast::is_empty_tree(&root) && self.map.contains_key(&tname) {
                continue;
            }
            let t = exec::Tmpl {
                name: tname.clone(),
                parse_name: parse_name.clone(),
                text: text.clone(),
                root,
            };
            self.map.insert(tname, Rc::new(t));
        }
        Ok(())
    }

    /// Parses `text` and keeps its trees for the next parse of the same text.
    fn parse_new(&mut self, name: &str, text: &Rc<str>, funcs: &Funcs) -> Result<SharedTrees, ParseError> {
        let (lookups, trees) = parse_recording(name, text, &|f| funcs.contains(f)).map_err(|message| {
            let line = parse_error_line(&message, name);
            ParseError {
                message,
                name: name.to_string(),
                line,
            }
        })?;
        let trees: SharedTrees = trees.into_iter().map(|(n, root)| (n, Rc::new(root))).collect();
        self.cache_parsed(text.clone(), name, lookups, trees.clone());
        Ok(trees)
    }

    /// Keeps the trees of `text` for the next parse of the same text (while the cache has room).
    fn cache_parsed(&mut self, text: Rc<str>, name: &str, lookups: Vec<(String, bool)>, trees: SharedTrees) {
        if self.parse_cache.len() >= PARSE_CACHE_MAX {
            return;
        }
        let parsed = ParsedText {
            name: name.to_string(),
            lookups,
            names_itself: text.contains(name),
            trees,
        };
        self.parse_cache.insert(text, Rc::new(parsed));
    }

    /// Takes the trees of `text` parsed by [`parse_detached`], so that parsing the same text into this set
    /// reuses them (under the same function names, and under another template name when the text does not
    /// mention its own). A text already known keeps its trees.
    pub fn adopt(&mut self, text: &str, parsed: Parsed) {
        if self.parse_cache.contains_key(text) {
            return;
        }
        let trees = parsed
            .trees
            .into_iter()
            .map(|(n, root)| (n, Rc::new(root)))
            .collect();
        self.cache_parsed(Rc::from(text), &parsed.name, parsed.lookups, trees);
    }

    /// Whether the set holds a template of that name.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The names of the templates in the set, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// Executes the template `name` with `data` as dot.
    pub fn execute(
        &self,
        name: &str,
        data: &Value,
        funcs: &Funcs,
        opts: &ExecOptions,
    ) -> Result<String, ExecError> {
        let set = exec::Set {
            own: self,
            under: None,
        };
        let mut out = String::new();
        exec::execute(set, name, data, funcs, opts, 0, &mut out)?;
        Ok(out)
    }
}

fn parse_error_line(message: &str, name: &str) -> usize {
    let prefix = format!("template: {name}:");
    message
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split(':').next())
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
}

/// What a function sees of the execution that called it.
pub struct Call<'a> {
    set: exec::Set<'a>,
    funcs: &'a Funcs,
    opts: &'a ExecOptions,
    depth: usize,
}

impl<'a> Call<'a> {
    /// Runs the template `name` of the executing set with `data` (Helm's `include`). The error is the whole
    /// Go message of the inner failure.
    pub fn execute(&mut self, name: &str, data: &Value) -> Result<String, FuncError> {
        let mut out = String::new();
        exec::execute(
            self.set,
            name,
            data,
            self.funcs,
            self.opts,
            self.depth + 1,
            &mut out,
        )
        .map_err(|e| FuncError(e.message))?;
        Ok(out)
    }

    /// Parses `text` as a new template named `name` in a copy of the executing set (its `define`s visible to
    /// the text, the text's own `define`s not leaking out) and runs it with `data` (Helm's `tpl`).
    pub fn parse_and_execute(&mut self, name: &str, text: &str, data: &Value) -> Result<String, FuncError> {
        let key = (name.to_string(), text.to_string());
        let cached = self.set.own.tpl_cache.borrow().get(&key).cloned();
        let parsed = match cached {
            Some(p) => p,
            None => {
                let mut overlay = Templates::new();
                overlay.root_name = self.set.own.root_name.clone();
                let p = overlay.parse(name, text, self.funcs).map(|()| Rc::new(overlay));
                let mut cache = self.set.own.tpl_cache.borrow_mut();
                if cache.len() < TPL_CACHE_MAX {
                    cache.insert(key, p.clone());
                }
                p
            }
        };
        let overlay = parsed.map_err(|e| FuncError(e.message))?;
        let set = exec::Set {
            own: &overlay,
            under: Some(&self.set),
        };
        let mut out = String::new();
        exec::execute(set, name, data, self.funcs, self.opts, self.depth + 1, &mut out)
            .map_err(|e| FuncError(e.message))?;
        Ok(out)
    }

    /// How deep the current template calls are nested.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The execution options in force (`missingkey`, limits).
    pub fn options(&self) -> &ExecOptions {
        self.opts
    }

    /// Whether the executing set (with the texts `tpl` added) holds a template of that name.
    pub fn has_template(&self, name: &str) -> bool {
        self.set.lookup(name).is_some()
    }
}
