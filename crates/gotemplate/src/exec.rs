//! Template execution, after Go's `text/template/exec.go`: the same evaluation order, the same notion of
//! the "current node" for error messages, and the same distinction between an invalid value (a missing key
//! under `missingkey=default`, the result of a pipeline that yields nil) and a nil `interface {}` (a map entry
//! that holds nil or is missing under `missingkey=zero`, a nil list element), which Go's errors tell apart.

use std::rc::Rc;

use crate::ast::{Arg, Branch, Command, Node, Number, Pipe};
use crate::builtins::{self, Builtin};
use crate::{ArgType, Call, ExecError, ExecOptions, Funcs, MissingKey, Templates, Value};

/// A parsed template.
pub(crate) struct Tmpl {
    pub name: String,
    pub parse_name: Rc<str>,
    pub text: Rc<str>,
    /// Shared between the templates parsed from the same text.
    pub root: Rc<Vec<Node>>,
}

/// The templates visible to an execution: a set, over the set it was copied from (for `tpl`).
#[derive(Clone, Copy)]
pub(crate) struct Set<'a> {
    pub own: &'a Templates,
    pub under: Option<&'a Set<'a>>,
}

impl<'a> Set<'a> {
    pub fn lookup(&self, name: &str) -> Option<&'a Rc<Tmpl>> {
        self.own
            .map
            .get(name)
            .or_else(|| self.under.and_then(|u| u.lookup(name)))
    }
}

/// A value with Go's "nil interface" flag: `iface` is true when a nil came from a typed `interface {}` slot.
#[derive(Clone, Default)]
pub(crate) struct Val {
    pub v: Value,
    pub iface: bool,
}

impl Val {
    fn plain(v: Value) -> Val {
        Val { v, iface: false }
    }
    fn slot(v: Value) -> Val {
        Val { v, iface: true }
    }
}

/// The parameter type of an argument: a Go type, or a builtin's `reflect.Value` (anything, nil included).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Go(ArgType),
    Reflect,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Go(t) => t.go_name(),
            Ty::Reflect => "reflect.Value",
        }
    }
    fn can_be_nil(self) -> bool {
        matches!(
            self,
            Ty::Reflect | Ty::Go(ArgType::Any | ArgType::Map | ArgType::List)
        )
    }
}

#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Node(&'t Node),
    Pipe(&'t Pipe),
    Cmd(&'t Command),
    Arg(&'t Arg),
    Template(usize, &'t Node),
}

pub(crate) enum Flow {
    Normal,
    Break,
    Continue,
}

type R<T> = Result<T, Box<ExecError>>;

struct State<'a, 'o> {
    set: Set<'a>,
    funcs: &'a Funcs,
    opts: &'a ExecOptions,
    tmpl: &'a Tmpl,
    node: At<'a>,
    vars: Vec<(&'a str, Val)>,
    depth: usize,
    out: &'o mut String,
}

/// Runs template `name` of `set` with `data`, appending to `out`.
pub(crate) fn execute<'a>(
    set: Set<'a>,
    name: &str,
    data: &Value,
    funcs: &'a Funcs,
    opts: &'a ExecOptions,
    depth: usize,
    out: &mut String,
) -> Result<(), ExecError> {
    let Some(tmpl) = set.lookup(name) else {
        return Err(ExecError {
            message: format!(
                "template: no template {} associated with template {}",
                q(name),
                q(&set.own.root_name)
            ),
            name: name.to_string(),
            line: 0,
            column: 0,
            expr: String::new(),
        });
    };
    let mut s = State {
        set,
        funcs,
        opts,
        tmpl,
        node: At::None,
        vars: vec![("$", Val::plain(data.clone()))],
        depth,
        out,
    };
    if depth >= opts.max_depth {
        return Err(*s.err(format!("exceeded maximum template depth ({})", opts.max_depth)));
    }
    let dot = Val::plain(data.clone());
    grow(|| s.walk_list(&dot, &tmpl.root)).map_err(|e| *e)?;
    Ok(())
}

/// Runs `f` with at least 128 KiB of stack, growing the stack on the heap when needed: deeply nested
/// templates and template calls recurse as deep as Go allows without overflowing the thread's stack.
fn grow<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, f)
}

fn q(s: &str) -> String {
    crate::fmt::quote(s, false)
}

impl<'a> State<'a, '_> {
    fn at(&mut self, n: At<'a>) {
        self.node = n;
    }

    fn err(&self, msg: impl Into<String>) -> Box<ExecError> {
        Box::new(self.err_inner(msg.into()))
    }

    #[cold]
    fn err_inner(&self, msg: String) -> ExecError {
        let name = &self.tmpl.name;
        let (pos, ctx) = match self.node {
            At::None => {
                return ExecError {
                    message: format!("template: {name}: {msg}"),
                    name: name.clone(),
                    line: 0,
                    column: 0,
                    expr: String::new(),
                };
            }
            At::Node(n) => (node_pos(n), n.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Arg(a) => (a.pos(), a.to_string()),
            At::Template(pos, n) => (pos, n.to_string()),
        };
        let text = &self.tmpl.text[..pos.min(self.tmpl.text.len())];
        let (line, col) = match text.rfind('\n') {
            None => (1, pos),
            Some(i) => (1 + text.matches('\n').count(), pos - (i + 1)),
        };
        ExecError {
            message: format!(
                "template: {}:{}:{}: executing {} at <{}>: {}",
                self.tmpl.parse_name,
                line,
                col,
                q(name),
                ctx,
                msg
            ),
            name: name.clone(),
            line,
            column: col,
            expr: ctx,
        }
    }

    fn write(&mut self, s: &str) -> R<()> {
        self.out.push_str(s);
        if self.out.len() > self.opts.max_output {
            let saved = self.node;
            self.node = At::None;
            let e = self.err(format!(
                "output exceeds the limit of {} bytes",
                self.opts.max_output
            ));
            self.node = saved;
            return Err(e);
        }
        Ok(())
    }

    fn walk_list(&mut self, dot: &Val, list: &'a [Node]) -> R<Flow> {
        for n in list {
            match self.walk(dot, n)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Val, node: &'a Node) -> R<Flow> {
        self.at(At::Node(node));
        match node {
            Node::Text(t) => self.write(t)?,
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at(At::Node(node));
                    self.print_value(&v)?;
                }
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
            Node::Comment => {}
            Node::If(b) => return self.walk_if_with(false, dot, b),
            Node::With(b) => return self.walk_if_with(true, dot, b),
            Node::Range(b) => return self.walk_range(dot, node, b),
            Node::Template { pos, name, pipe } => self.walk_template(dot, node, *pos, name, pipe.as_ref())?,
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, v: &Value) -> R<()> {
        match v {
            Value::Nil => self.write("<no value>"),
            Value::String(s) => self.write(s),
            Value::Object(o) => {
                let s = o.display();
                self.write(&s)
            }
            Value::Bool(b) => self.write(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => {
                use std::fmt::Write as _;
                let _ = write!(self.out, "{i}");
                self.write("")
            }
            Value::Float(f) => {
                let s = crate::fmt::format_float_v(*f);
                self.write(&s)
            }
            other => {
                let s = other.to_go_string();
                self.write(&s)
            }
        }
    }

    fn walk_if_with(&mut self, with: bool, dot: &Val, b: &'a Branch) -> R<Flow> {
        let mark = self.vars.len();
        let r = grow(|| self.walk_if_with_inner(with, dot, b));
        self.vars.truncate(mark);
        r
    }

    fn walk_if_with_inner(&mut self, with: bool, dot: &Val, b: &'a Branch) -> R<Flow> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        if val.truthy() {
            if with {
                self.walk_list(&Val::plain(val), &b.list)
            } else {
                self.walk_list(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(Flow::Normal)
        }
    }

    fn walk_range(&mut self, dot: &Val, node: &'a Node, r: &'a Branch) -> R<Flow> {
        self.at(At::Node(node));
        let mark0 = self.vars.len();
        let res = grow(|| self.walk_range_inner(dot, r));
        self.vars.truncate(mark0);
        res.map(|_| Flow::Normal)
    }

    fn range_iter(&mut self, r: &'a Branch, index: Val, elem: Val) -> R<bool> {
        let mark = self.vars.len();
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], index.clone())?;
                } else {
                    self.set_var(&decl[0], elem.clone())?;
                }
            } else {
                let n = self.vars.len();
                self.vars[n - 1].1 = elem.clone();
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                let n = self.vars.len();
                self.vars[n - 2].1 = index;
            }
        }
        let flow = self.walk_list(&elem, &r.list);
        self.vars.truncate(mark);
        Ok(matches!(flow?, Flow::Break))
    }

    fn walk_range_inner(&mut self, dot: &Val, r: &'a Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &r.pipe)?;
        // A Go map or slice type with methods (Helm's `.Files`, `.Capabilities.APIVersions`) ranges as its data.
        let val = match &val {
            Value::Object(o) if matches!(o.kind(), "map" | "slice") => o.to_data().unwrap_or(val),
            _ => val,
        };
        let ran = match &val {
            Value::Int(n) | Value::Int64(n) => {
                if r.pipe.decl.len() > 1 {
                    return Err(self.err(format!(
                        "can't use {} to iterate over more than one variable",
                        val
                    )));
                }
                let is64 = matches!(val, Value::Int64(_));
                for i in 0..(*n).max(0) {
                    let e = if is64 { Value::Int64(i) } else { Value::Int(i) };
                    if self.range_iter(r, Val::default(), Val::plain(e))? {
                        break;
                    }
                }
                *n > 0
            }
            Value::List(items) => {
                let items = items.clone();
                for (i, e) in items.iter().enumerate() {
                    if self.range_iter(r, Val::plain(Value::Int(i as i64)), Val::slot(e.clone()))? {
                        break;
                    }
                }
                !items.is_empty()
            }
            Value::Bytes(b) => {
                let b = b.clone();
                for (i, c) in b.iter().enumerate() {
                    if self.range_iter(
                        r,
                        Val::plain(Value::Int(i as i64)),
                        Val::plain(Value::Int(i64::from(*c))),
                    )? {
                        break;
                    }
                }
                !b.is_empty()
            }
            Value::Map(m) => {
                let entries: Vec<(Value, Value)> = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (Value::string(k.as_str()), v.clone()))
                    .collect();
                for (k, v) in &entries {
                    if self.range_iter(r, Val::plain(k.clone()), Val::slot(v.clone()))? {
                        break;
                    }
                }
                !entries.is_empty()
            }
            Value::Nil => false,
            _ => {
                return Err(self.err(format!("range can't iterate over {}", val)));
            }
        };
        if !ran && let Some(e) = &r.else_list {
            self.walk_list(dot, e)?;
        }
        Ok(())
    }

    fn walk_template(
        &mut self,
        dot: &Val,
        node: &'a Node,
        pos: usize,
        name: &str,
        pipe: Option<&'a Pipe>,
    ) -> R<()> {
        self.at(At::Template(pos, node));
        let Some(tmpl) = self.set.lookup(name) else {
            return Err(self.err(format!("template {} not defined", q(name))));
        };
        if self.depth >= self.opts.max_depth {
            return Err(self.err(format!(
                "exceeded maximum template depth ({})",
                self.opts.max_depth
            )));
        }
        let newdot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Nil,
        };
        let saved_tmpl = std::mem::replace(&mut self.tmpl, tmpl);
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$", Val::plain(newdot.clone()))]);
        self.depth += 1;
        let r = grow(|| self.walk_list(&Val::plain(newdot), &tmpl.root));
        self.depth -= 1;
        self.tmpl = saved_tmpl;
        self.vars = saved_vars;
        r.map(|_| ())
    }

    fn set_var(&mut self, name: &str, v: Val) -> R<()> {
        for (n, val) in self.vars.iter_mut().rev() {
            if *n == name {
                *val = v;
                return Ok(());
            }
        }
        Err(self.err(format!("undefined variable: {name}")))
    }

    fn var_value(&self, name: &str) -> R<Val> {
        for (n, val) in self.vars.iter().rev() {
            if *n == name {
                return Ok(val.clone());
            }
        }
        Err(self.err(format!("undefined variable: {name}")))
    }

    /// Evaluates a pipeline; the result is "unwrapped" (a nil interface becomes invalid), as in Go.
    fn eval_pipeline(&mut self, dot: &Val, pipe: &'a Pipe) -> R<Value> {
        grow(|| self.eval_pipeline_inner(dot, pipe))
    }

    fn eval_pipeline_inner(&mut self, dot: &Val, pipe: &'a Pipe) -> R<Value> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v.v);
        }
        let value = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, Val::plain(value.clone()))?;
            } else {
                self.vars.push((name.as_str(), Val::plain(value.clone())));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Value>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.err(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Val, cmd: &'a Command, final_: Option<Value>) -> R<Val> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                self.at(At::Arg(first));
                self.eval_field_chain(dot, dot.clone(), first, ident, Some(&cmd.args), final_)
            }
            Arg::Chain { .. } => self.eval_chain(dot, first, Some(&cmd.args), final_),
            Arg::Identifier { name, .. } => {
                self.eval_function(dot, first, name, At::Cmd(cmd), &cmd.args, final_)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                Ok(Val::plain(self.eval_pipeline(dot, p)?))
            }
            Arg::Variable { .. } => self.eval_variable(dot, first, Some(&cmd.args), final_),
            _ => {
                self.at(At::Arg(first));
                self.not_a_function(&cmd.args, &final_)?;
                match first {
                    Arg::Bool(_, b) => Ok(Val::plain(Value::Bool(*b))),
                    Arg::Dot(_) => Ok(dot.clone()),
                    Arg::Nil(_) => Err(self.err("nil is not a command")),
                    Arg::Number(_, n) => Ok(Val::plain(self.ideal_constant(first, n)?)),
                    Arg::String { text, .. } => Ok(Val::plain(Value::String(text.clone()))),
                    _ => Err(self.err(format!("can't evaluate command {}", q(&first.to_string())))),
                }
            }
        }
    }

    fn ideal_constant(&mut self, node: &'a Arg, n: &Number) -> R<Value> {
        self.at(At::Arg(node));
        let t = &n.text;
        let is_hex =
            t.len() > 2 && t.starts_with('0') && (t.as_bytes()[1] | 0x20) == b'x' && !t.contains(['p', 'P']);
        let is_rune = t.starts_with('\'');
        if n.is_complex {
            return Err(self.err(format!("complex constant {t} is not supported")));
        }
        if n.is_float && !is_hex && !is_rune && t.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(n.float64));
        }
        if n.is_int {
            return Ok(Value::Int(n.int64));
        }
        if n.is_uint {
            return Err(self.err(format!("{t} overflows int")));
        }
        Ok(Value::Nil)
    }

    fn eval_chain(
        &mut self,
        dot: &Val,
        chain: &'a Arg,
        args: Option<&'a [Arg]>,
        final_: Option<Value>,
    ) -> R<Val> {
        self.at(At::Arg(chain));
        let Arg::Chain { node, fields, .. } = chain else {
            return Err(self.err("internal error: not a chain"));
        };
        if let Arg::Nil(_) = node.as_ref() {
            return Err(self.err(format!("indirection through explicit nil in {chain}")));
        }
        let pipe = self.eval_arg(dot, Ty::Reflect, node)?;
        self.eval_field_chain(dot, Val::plain(pipe), chain, fields, args, final_)
    }

    fn eval_variable(
        &mut self,
        dot: &Val,
        var: &'a Arg,
        args: Option<&'a [Arg]>,
        final_: Option<Value>,
    ) -> R<Val> {
        self.at(At::Arg(var));
        let Arg::Variable { ident, .. } = var else {
            return Err(self.err("internal error: not a variable"));
        };
        let value = self.var_value(&ident[0])?;
        if ident.len() == 1 {
            if let Some(a) = args {
                self.not_a_function(a, &final_)?;
            } else if final_.is_some() {
                return Err(self.err(format!("can't give argument to non-function {var}")));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, &ident[1..], args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Val,
        mut receiver: Val,
        node: &'a Arg,
        ident: &'a [String],
        args: Option<&'a [Arg]>,
        final_: Option<Value>,
    ) -> R<Val> {
        let n = ident.len();
        for name in &ident[..n - 1] {
            receiver = self.eval_field(dot, name, node, None, None, receiver)?;
        }
        self.eval_field(dot, &ident[n - 1], node, args, final_, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Val,
        field: &str,
        node: &'a Arg,
        args: Option<&'a [Arg]>,
        final_: Option<Value>,
        receiver: Val,
    ) -> R<Val> {
        let has_args = args.is_some_and(|a| a.len() > 1) || final_.is_some();
        match &receiver.v {
            Value::Nil if !receiver.iface => {
                if self.opts.missing_key == MissingKey::Error {
                    return Err(self.err(format!("nil data; no entry for key {}", q(field))));
                }
                Ok(Val::default())
            }
            Value::Nil => Err(self.err(format!("nil pointer evaluating interface {{}}.{field}"))),
            Value::Map(m) => {
                if has_args {
                    return Err(self.err(format!("{field} is not a method but has arguments")));
                }
                let got = m.borrow().get(field).cloned();
                match got {
                    Some(v) => Ok(Val::slot(v)),
                    None => match self.opts.missing_key {
                        MissingKey::Default => Ok(Val::default()),
                        MissingKey::Zero => Ok(Val::slot(Value::Nil)),
                        MissingKey::Error => Err(self.err(format!("map has no entry for key {}", q(field)))),
                    },
                }
            }
            Value::Object(o) => {
                let o = o.clone();
                if let Some(sig) = o.signature(field) {
                    let call_args = args.map(|a| &a[1..]).unwrap_or(&[]);
                    let callee = Callee::Method(o, field.to_string(), sig);
                    return self.eval_call(dot, callee, At::Arg(node), call_args, final_);
                }
                if has_args {
                    let call_args = args.map(|a| &a[1..]).unwrap_or(&[]);
                    let mut argv = Vec::with_capacity(call_args.len() + 1);
                    for a in call_args {
                        argv.push(self.eval_arg(dot, Ty::Go(ArgType::Any), a)?);
                    }
                    if let Some(f) = final_ {
                        argv.push(f);
                    }
                    return match o.call(field, &argv) {
                        Some(Ok(v)) => Ok(Val::plain(v)),
                        Some(Err(e)) => {
                            self.at(At::Arg(node));
                            Err(self.err(format!("error calling {field}: {}", e.0)))
                        }
                        None if o.field(field).is_some() => {
                            Err(self.err(format!("{field} has arguments but cannot be invoked as function")))
                        }
                        None => Err(self.err(format!(
                            "can't evaluate field {field} in type {}",
                            slot_type(&receiver, &*o)
                        ))),
                    };
                }
                if let Some(v) = o.field(field) {
                    return Ok(Val::slot(v));
                }
                match o.call(field, &[]) {
                    Some(Ok(v)) => Ok(Val::plain(v)),
                    Some(Err(e)) => Err(self.err(format!("error calling {field}: {}", e.0))),
                    None => Err(self.err(format!(
                        "can't evaluate field {field} in type {}",
                        slot_type(&receiver, &*o)
                    ))),
                }
            }
            other => {
                let t = if receiver.iface {
                    "interface {}"
                } else {
                    other.type_name()
                };
                Err(self.err(format!("can't evaluate field {field} in type {t}")))
            }
        }
    }

    fn eval_function(
        &mut self,
        dot: &Val,
        ident: &'a Arg,
        name: &'a str,
        cmd: At<'a>,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Val> {
        self.at(At::Arg(ident));
        if let Some(entry) = self.funcs.map.get(name) {
            let sig = entry.sig.clone();
            return self.eval_call(dot, Callee::Func(name, sig), cmd, &args[1..], final_);
        }
        match builtins::lookup(name) {
            Some(b) => self.eval_call(dot, Callee::Builtin(name, b), cmd, &args[1..], final_),
            None => Err(self.err(format!("{} is not a defined function", q(name)))),
        }
    }

    fn eval_call(
        &mut self,
        dot: &Val,
        callee: Callee<'a>,
        node: At<'a>,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Val> {
        let (name, fixed, variadic): (&str, Params<'_>, Option<Ty>) = match &callee {
            Callee::Func(name, Some(sig)) => (name, Params::Go(&sig.params), sig.variadic.map(Ty::Go)),
            Callee::Method(_, name, sig) => {
                (name.as_str(), Params::Go(&sig.params), sig.variadic.map(Ty::Go))
            }
            Callee::Func(name, None) => (name, Params::Static(&[]), Some(Ty::Go(ArgType::Any))),
            Callee::Builtin(name, b) => {
                let (f, v) = builtins::signature(*b);
                (name, Params::Static(f), v)
            }
        };
        let num_in = args.len() + usize::from(final_.is_some());
        let num_fixed = fixed.len();
        if variadic.is_some() {
            if num_in < num_fixed {
                return Err(self.err(format!(
                    "wrong number of args for {name}: want at least {num_fixed} got {}",
                    args.len()
                )));
            }
        } else if num_in != num_fixed {
            return Err(self.err(format!(
                "wrong number of args for {name}: want {num_fixed} got {num_in}"
            )));
        }
        if let Callee::Builtin(_, b @ (Builtin::And | Builtin::Or)) = callee {
            let or = b == Builtin::Or;
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, Ty::Reflect, a)?;
                if v.truthy() == or {
                    return Ok(Val::plain(v));
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(Val::plain(v));
        }
        let mut argv = Vec::with_capacity(num_in);
        // whether each argument is an `interface {}` slot (Go's builtins tell those apart)
        let builtin = matches!(callee, Callee::Builtin(..));
        let mut iface = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let t = if i < num_fixed {
                fixed.get(i)
            } else {
                variadic.unwrap_or(Ty::Reflect)
            };
            if builtin && t == Ty::Reflect {
                let v = self.eval_arg_val(dot, a)?;
                iface.push(v.iface);
                argv.push(v.v);
                continue;
            }
            iface.push(false);
            argv.push(self.eval_arg(dot, t, a)?);
        }
        if let Some(f) = final_ {
            let t = match variadic {
                Some(v) => {
                    if num_in - 1 < num_fixed {
                        fixed.get(num_in - 1)
                    } else {
                        v
                    }
                }
                None => fixed.get(num_fixed - 1),
            };
            argv.push(self.validate_type(Val::plain(f), t)?);
        }
        let result = match &callee {
            Callee::Builtin(_, b) => builtins::call(*b, &argv, &iface, args),
            Callee::Method(o, name, _) => match o.call(name, &argv) {
                Some(r) => r.map_err(|e| e.0),
                None => {
                    return Err(self.err(format!("can't evaluate field {name} in type {}", o.type_name())));
                }
            },
            Callee::Func(name, _) => {
                let Some(f) = self.funcs.get(name).cloned() else {
                    return Err(self.err(format!("{} is not a defined function", q(name))));
                };
                let mut call = Call {
                    set: self.set,
                    funcs: self.funcs,
                    opts: self.opts,
                    depth: self.depth,
                };
                f(&mut call, &argv).map_err(|e| e.0)
            }
        };
        match result {
            Ok(v) => Ok(Val::plain(v)),
            Err(e) => {
                self.at(node);
                Err(self.err(format!("error calling {name}: {e}")))
            }
        }
    }

    fn validate_type(&mut self, value: Val, typ: Ty) -> R<Value> {
        if let Value::Nil = value.v {
            if !value.iface {
                if typ.can_be_nil() {
                    return Ok(Value::Nil);
                }
                return Err(self.err(format!("invalid value; expected {}", typ.name())));
            }
            return match typ {
                Ty::Reflect | Ty::Go(ArgType::Any) => Ok(Value::Nil),
                t => Err(self.err(format!(
                    "wrong type for value; expected {}; got interface {{}}",
                    t.name()
                ))),
            };
        }
        let ok = match typ {
            Ty::Reflect | Ty::Go(ArgType::Any) => true,
            Ty::Go(ArgType::String) => matches!(value.v, Value::String(_)),
            Ty::Go(ArgType::Int) => matches!(value.v, Value::Int(_)),
            Ty::Go(ArgType::Int64) => matches!(value.v, Value::Int64(_)),
            Ty::Go(ArgType::Float64) => matches!(value.v, Value::Float(_)),
            Ty::Go(ArgType::Bool) => matches!(value.v, Value::Bool(_)),
            Ty::Go(ArgType::Map) => matches!(value.v, Value::Map(_)),
            Ty::Go(ArgType::List) => matches!(value.v, Value::List(_)),
        };
        if !ok {
            return Err(self.err(format!(
                "wrong type for value; expected {}; got {}",
                typ.name(),
                value.v.type_name()
            )));
        }
        Ok(value.v)
    }

    /// An argument of type `reflect.Value`, keeping whether a nil came from an `interface {}` slot.
    fn eval_arg_val(&mut self, dot: &Val, n: &'a Arg) -> R<Val> {
        self.at(At::Arg(n));
        match n {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Field { ident, .. } => {
                self.eval_field_chain(dot, dot.clone(), n, ident, Some(std::slice::from_ref(n)), None)
            }
            Arg::Variable { .. } => self.eval_variable(dot, n, None, None),
            Arg::Chain { .. } => self.eval_chain(dot, n, None, None),
            _ => Ok(Val::plain(self.eval_arg(dot, Ty::Reflect, n)?)),
        }
    }

    fn eval_arg(&mut self, dot: &Val, typ: Ty, n: &'a Arg) -> R<Value> {
        self.at(At::Arg(n));
        match n {
            Arg::Dot(_) => return self.validate_type(dot.clone(), typ),
            Arg::Nil(_) => {
                if typ.can_be_nil() {
                    return Ok(Value::Nil);
                }
                return Err(self.err(format!("cannot assign nil to {}", typ.name())));
            }
            Arg::Field { ident, .. } => {
                let v =
                    self.eval_field_chain(dot, dot.clone(), n, ident, Some(std::slice::from_ref(n)), None)?;
                return self.validate_type(v, typ);
            }
            Arg::Variable { .. } => {
                let v = self.eval_variable(dot, n, None, None)?;
                return self.validate_type(v, typ);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return self.validate_type(Val::plain(v), typ);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, n, name, At::Arg(n), std::slice::from_ref(n), None)?;
                return self.validate_type(v, typ);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain(dot, n, None, None)?;
                return self.validate_type(v, typ);
            }
            _ => {}
        }
        match typ {
            Ty::Go(ArgType::Bool) => match n {
                Arg::Bool(_, b) => Ok(Value::Bool(*b)),
                _ => Err(self.err(format!("expected bool; found {n}"))),
            },
            Ty::Go(ArgType::Float64) => match n {
                Arg::Number(_, num) if num.is_float => Ok(Value::Float(num.float64)),
                _ => Err(self.err(format!("expected float; found {n}"))),
            },
            Ty::Go(t @ (ArgType::Int | ArgType::Int64)) => match n {
                Arg::Number(_, num) if num.is_int => Ok(if t == ArgType::Int {
                    Value::Int(num.int64)
                } else {
                    Value::Int64(num.int64)
                }),
                _ => Err(self.err(format!("expected integer; found {n}"))),
            },
            Ty::Go(ArgType::String) => match n {
                Arg::String { text, .. } => Ok(Value::String(text.clone())),
                _ => Err(self.err(format!("expected string; found {n}"))),
            },
            Ty::Go(ArgType::Any) | Ty::Reflect => match n {
                Arg::Bool(_, b) => Ok(Value::Bool(*b)),
                Arg::Number(_, num) => self.ideal_constant(n, num),
                Arg::String { text, .. } => Ok(Value::String(text.clone())),
                _ => Err(self.err(format!(
                    "can't handle assignment of {n} to empty interface argument"
                ))),
            },
            Ty::Go(t) => Err(self.err(format!("can't handle {n} for arg of type {}", t.go_name()))),
        }
    }
}

/// The fixed parameter types of a callee, without allocating.
enum Params<'s> {
    Go(&'s [ArgType]),
    Static(&'static [Ty]),
}

impl Params<'_> {
    fn len(&self) -> usize {
        match self {
            Params::Go(p) => p.len(),
            Params::Static(p) => p.len(),
        }
    }
    fn get(&self, i: usize) -> Ty {
        match self {
            Params::Go(p) => Ty::Go(p[i]),
            Params::Static(p) => p[i],
        }
    }
}

enum Callee<'a> {
    Func(&'a str, Option<Rc<crate::Signature>>),
    Method(Rc<dyn crate::Object>, String, crate::Signature),
    Builtin(&'a str, Builtin),
}

/// The static Go type of a receiver: `interface {}` when it came from a map entry or list element.
fn slot_type<'o>(receiver: &Val, o: &'o dyn crate::Object) -> &'o str {
    if receiver.iface {
        "interface {}"
    } else {
        o.type_name()
    }
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Action(p) => p.pos,
        Node::If(b) | Node::Range(b) | Node::With(b) => b.pipe.pos,
        Node::Template { pos, .. } => *pos,
        _ => 0,
    }
}
