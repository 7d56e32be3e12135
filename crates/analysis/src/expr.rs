//! A small evaluator for `successCondition` / `failureCondition`, covering what Argo Rollouts templates use:
//! `result[0] >= 0.95`, `result > 5`, `result == "ok"`, `len(result) > 0`, `isNaN(result)`, `&&`/`and`,
//! `||`/`or`, `!`/`not`, parentheses, `+ - * /`, numbers, strings, booleans, `nil`, indexing and `.field`.
//!
//! Functions: `len`, `isNaN`, `isInf`, `asInt`, `asFloat`, `all(list)`, `any(list)` (the last two test that
//! every / some element is `true`), `default(x, fallback)`.

use std::collections::BTreeMap;
use std::fmt;

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// `nil`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (NaN allowed, unlike JSON).
    Num(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<Val>),
    /// An object.
    Map(BTreeMap<String, Val>),
}

impl Val {
    fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "nil",
            Val::Bool(_) => "bool",
            Val::Num(_) => "number",
            Val::Str(_) => "string",
            Val::List(_) => "list",
            Val::Map(_) => "map",
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Null => f.write_str("nil"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Num(n) => write!(f, "{n}"),
            Val::Str(s) => f.write_str(s),
            Val::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Val::Map(m) => {
                f.write_str("map[")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl From<&serde_json::Value> for Val {
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Val::Null,
            serde_json::Value::Bool(b) => Val::Bool(*b),
            serde_json::Value::Number(n) => Val::Num(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Val::Str(s.clone()),
            serde_json::Value::Array(a) => Val::List(a.iter().map(Val::from).collect()),
            serde_json::Value::Object(o) => {
                Val::Map(o.iter().map(|(k, v)| (k.clone(), Val::from(v))).collect())
            }
        }
    }
}

/// Why an expression could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("condition {expr:?}: {message} (at column {column})")]
pub struct ExprError {
    /// The expression.
    pub expr: String,
    /// What went wrong.
    pub message: String,
    /// 1-based column.
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ident(String),
    Op(&'static str),
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, (String, usize)> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == '_'
                    || ((chars[i] == 'e' || chars[i] == 'E') && i + 1 < chars.len())
                    || ((chars[i] == '+' || chars[i] == '-') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            let n = text
                .parse::<f64>()
                .map_err(|_| (format!("bad number {text:?}"), start))?;
            out.push((Tok::Num(n), start));
        } else if c == '"' || c == '\'' {
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(("unterminated string".into(), start)),
                    Some(q) if *q == c => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        let e = chars
                            .get(i + 1)
                            .ok_or(("unterminated string".to_string(), start))?;
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            other => *other,
                        });
                        i += 2;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push((Tok::Str(s), start));
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), start));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = match two.as_str() {
                "&&" => Some("&&"),
                "||" => Some("||"),
                "==" => Some("=="),
                "!=" => Some("!="),
                "<=" => Some("<="),
                ">=" => Some(">="),
                _ => None,
            };
            if let Some(op) = op {
                out.push((Tok::Op(op), start));
                i += 2;
                continue;
            }
            let op = match c {
                '<' => "<",
                '>' => ">",
                '!' => "!",
                '(' => "(",
                ')' => ")",
                '[' => "[",
                ']' => "]",
                '.' => ".",
                ',' => ",",
                '+' => "+",
                '-' => "-",
                '*' => "*",
                '/' => "/",
                '%' => "%",
                _ => return Err((format!("unexpected character {c:?}"), start)),
            };
            out.push((Tok::Op(op), start));
            i += 1;
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Node {
    Lit(Val),
    Var(String, usize),
    Not(Box<Node>),
    Neg(Box<Node>, usize),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Bin(&'static str, Box<Node>, Box<Node>, usize),
    Index(Box<Node>, Box<Node>, usize),
    Field(Box<Node>, String, usize),
    Call(String, Vec<Node>, usize),
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
}

type PResult<T> = Result<T, (String, usize)>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.1)
    }
    fn eat_op(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(i)) if i == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_op(&mut self, op: &str) -> PResult<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err((format!("expected {op:?}"), self.col()))
        }
    }

    fn or(&mut self) -> PResult<Node> {
        let mut left = self.and()?;
        while self.eat_op("||") || self.eat_word("or") {
            let right = self.and()?;
            left = Node::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn and(&mut self) -> PResult<Node> {
        let mut left = self.unary()?;
        while self.eat_op("&&") || self.eat_word("and") {
            let right = self.unary()?;
            left = Node::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn unary(&mut self) -> PResult<Node> {
        if self.eat_op("!") || self.eat_word("not") {
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> PResult<Node> {
        let left = self.add()?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            let col = self.col();
            if self.eat_op(op) {
                let right = self.add()?;
                return Ok(Node::Bin(op, Box::new(left), Box::new(right), col));
            }
        }
        Ok(left)
    }
    fn add(&mut self) -> PResult<Node> {
        let mut left = self.mul()?;
        loop {
            let col = self.col();
            let op = if self.eat_op("+") {
                "+"
            } else if self.eat_op("-") {
                "-"
            } else {
                return Ok(left);
            };
            let right = self.mul()?;
            left = Node::Bin(op, Box::new(left), Box::new(right), col);
        }
    }
    fn mul(&mut self) -> PResult<Node> {
        let mut left = self.prefix()?;
        loop {
            let col = self.col();
            let op = if self.eat_op("*") {
                "*"
            } else if self.eat_op("/") {
                "/"
            } else if self.eat_op("%") {
                "%"
            } else {
                return Ok(left);
            };
            let right = self.prefix()?;
            left = Node::Bin(op, Box::new(left), Box::new(right), col);
        }
    }
    fn prefix(&mut self) -> PResult<Node> {
        let col = self.col();
        if self.eat_op("-") {
            return Ok(Node::Neg(Box::new(self.prefix()?), col));
        }
        if self.eat_op("!") || self.eat_word("not") {
            return Ok(Node::Not(Box::new(self.prefix()?)));
        }
        self.postfix()
    }
    fn postfix(&mut self) -> PResult<Node> {
        let mut node = self.primary()?;
        loop {
            let col = self.col();
            if self.eat_op("[") {
                let idx = self.or()?;
                self.expect_op("]")?;
                node = Node::Index(Box::new(node), Box::new(idx), col);
            } else if self.eat_op(".") {
                match self.toks.get(self.pos).cloned() {
                    Some((Tok::Ident(name), _)) => {
                        self.pos += 1;
                        node = Node::Field(Box::new(node), name, col);
                    }
                    _ => return Err(("expected a field name after '.'".into(), self.col())),
                }
            } else {
                return Ok(node);
            }
        }
    }
    fn primary(&mut self) -> PResult<Node> {
        let col = self.col();
        let Some((tok, _)) = self.toks.get(self.pos).cloned() else {
            return Err(("unexpected end of expression".into(), self.end));
        };
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok(Node::Lit(Val::Num(n))),
            Tok::Str(s) => Ok(Node::Lit(Val::Str(s))),
            Tok::Ident(w) => match w.as_str() {
                "true" => Ok(Node::Lit(Val::Bool(true))),
                "false" => Ok(Node::Lit(Val::Bool(false))),
                "nil" | "null" => Ok(Node::Lit(Val::Null)),
                _ if self.eat_op("(") => {
                    let mut args = Vec::new();
                    if !self.eat_op(")") {
                        loop {
                            args.push(self.or()?);
                            if self.eat_op(")") {
                                break;
                            }
                            self.expect_op(",")?;
                        }
                    }
                    Ok(Node::Call(w, args, col))
                }
                _ => Ok(Node::Var(w, col)),
            },
            Tok::Op("(") => {
                let inner = self.or()?;
                self.expect_op(")")?;
                Ok(inner)
            }
            Tok::Op(op) => Err((format!("unexpected {op:?}"), col)),
        }
    }
}

/// A parsed expression, reusable across measurements.
#[derive(Debug, Clone)]
pub struct Expr {
    src: String,
    root: Node,
}

impl Expr {
    /// Parses `src`.
    pub fn parse(src: &str) -> Result<Self, ExprError> {
        let err = |(message, col): (String, usize)| ExprError {
            expr: src.to_string(),
            message,
            column: col + 1,
        };
        let toks = lex(src).map_err(err)?;
        let end = src.chars().count();
        let mut p = Parser { toks, pos: 0, end };
        let root = p.or().map_err(err)?;
        if p.pos < p.toks.len() {
            return Err(err(("unexpected trailing input".into(), p.col())));
        }
        Ok(Expr {
            src: src.to_string(),
            root,
        })
    }

    /// Evaluates with the given variables (usually just `result`).
    pub fn eval(&self, vars: &BTreeMap<String, Val>) -> Result<Val, ExprError> {
        eval(&self.root, vars).map_err(|(message, col)| ExprError {
            expr: self.src.clone(),
            message,
            column: col + 1,
        })
    }

    /// Evaluates and requires a boolean.
    pub fn eval_bool(&self, vars: &BTreeMap<String, Val>) -> Result<bool, ExprError> {
        match self.eval(vars)? {
            Val::Bool(b) => Ok(b),
            other => Err(ExprError {
                expr: self.src.clone(),
                message: format!("must evaluate to a boolean, got {} {other}", other.type_name()),
                column: 1,
            }),
        }
    }
}

/// Evaluates `condition` with `result` bound to `result`.
pub fn eval_condition(condition: &str, result: &Val) -> Result<bool, ExprError> {
    let vars = BTreeMap::from([("result".to_string(), result.clone())]);
    Expr::parse(condition)?.eval_bool(&vars)
}

type EResult = Result<Val, (String, usize)>;

fn truthy(v: Val, col: usize, what: &str) -> Result<bool, (String, usize)> {
    match v {
        Val::Bool(b) => Ok(b),
        other => Err((
            format!("{what} needs a boolean, got {} {other}", other.type_name()),
            col,
        )),
    }
}

fn node_col(n: &Node) -> usize {
    match n {
        Node::Var(_, c)
        | Node::Neg(_, c)
        | Node::Bin(_, _, _, c)
        | Node::Index(_, _, c)
        | Node::Field(_, _, c)
        | Node::Call(_, _, c) => *c,
        Node::Not(inner) => node_col(inner),
        Node::And(l, _) | Node::Or(l, _) => node_col(l),
        Node::Lit(_) => 0,
    }
}

fn eval(n: &Node, vars: &BTreeMap<String, Val>) -> EResult {
    match n {
        Node::Lit(v) => Ok(v.clone()),
        Node::Var(name, col) => vars
            .get(name)
            .cloned()
            .ok_or_else(|| (format!("unknown name {name:?} (only `result` is defined)"), *col)),
        Node::Not(inner) => Ok(Val::Bool(!truthy(eval(inner, vars)?, node_col(inner), "'!'")?)),
        Node::Neg(inner, col) => match eval(inner, vars)? {
            Val::Num(x) => Ok(Val::Num(-x)),
            other => Err((format!("cannot negate {} {other}", other.type_name()), *col)),
        },
        Node::And(l, r) => {
            if !truthy(eval(l, vars)?, node_col(l), "'&&'")? {
                return Ok(Val::Bool(false));
            }
            Ok(Val::Bool(truthy(eval(r, vars)?, node_col(r), "'&&'")?))
        }
        Node::Or(l, r) => {
            if truthy(eval(l, vars)?, node_col(l), "'||'")? {
                return Ok(Val::Bool(true));
            }
            Ok(Val::Bool(truthy(eval(r, vars)?, node_col(r), "'||'")?))
        }
        Node::Bin(op, l, r, col) => binary(op, eval(l, vars)?, eval(r, vars)?, *col),
        Node::Index(base, idx, col) => {
            let b = eval(base, vars)?;
            let i = eval(idx, vars)?;
            match (&b, &i) {
                (Val::List(items), Val::Num(x)) => {
                    if x.fract() != 0.0 {
                        return Err((format!("index {x} is not an integer"), *col));
                    }
                    let len = items.len() as i64;
                    let k = if *x < 0.0 { len + *x as i64 } else { *x as i64 };
                    items
                        .get(usize::try_from(k).unwrap_or(usize::MAX))
                        .cloned()
                        .ok_or_else(|| (format!("index {x} out of range (len {len})"), *col))
                }
                (Val::Map(m), Val::Str(k)) => Ok(m.get(k).cloned().unwrap_or(Val::Null)),
                (Val::Str(s), Val::Num(x)) => s
                    .chars()
                    .nth(*x as usize)
                    .map(|c| Val::Str(c.to_string()))
                    .ok_or_else(|| (format!("index {x} out of range"), *col)),
                _ => Err((
                    format!("cannot index {} with {}", b.type_name(), i.type_name()),
                    *col,
                )),
            }
        }
        Node::Field(base, name, col) => match eval(base, vars)? {
            Val::Map(m) => Ok(m.get(name).cloned().unwrap_or(Val::Null)),
            other => Err((
                format!("cannot read field {name:?} of {} {other}", other.type_name()),
                *col,
            )),
        },
        Node::Call(name, args, col) => {
            let vals = args
                .iter()
                .map(|a| eval(a, vars))
                .collect::<Result<Vec<_>, _>>()?;
            call(name, vals, *col)
        }
    }
}

fn binary(op: &str, l: Val, r: Val, col: usize) -> EResult {
    let mismatch = |l: &Val, r: &Val| {
        Err((
            format!(
                "cannot apply {op:?} to {} {l} and {} {r}",
                l.type_name(),
                r.type_name()
            ),
            col,
        ))
    };
    match op {
        "==" => Ok(Val::Bool(equal(&l, &r))),
        "!=" => Ok(Val::Bool(!equal(&l, &r))),
        "<" | "<=" | ">" | ">=" => {
            let ord = match (&l, &r) {
                (Val::Num(a), Val::Num(b)) => a.partial_cmp(b),
                (Val::Str(a), Val::Str(b)) => Some(a.cmp(b)),
                _ => return mismatch(&l, &r),
            };
            let Some(ord) = ord else {
                return Ok(Val::Bool(false)); // NaN compares false, as in Go.
            };
            Ok(Val::Bool(match op {
                "<" => ord.is_lt(),
                "<=" => ord.is_le(),
                ">" => ord.is_gt(),
                _ => ord.is_ge(),
            }))
        }
        "+" => match (&l, &r) {
            (Val::Num(a), Val::Num(b)) => Ok(Val::Num(a + b)),
            (Val::Str(a), Val::Str(b)) => Ok(Val::Str(format!("{a}{b}"))),
            _ => mismatch(&l, &r),
        },
        _ => match (&l, &r) {
            (Val::Num(a), Val::Num(b)) => Ok(Val::Num(match op {
                "-" => a - b,
                "*" => a * b,
                "/" => a / b,
                _ => a % b,
            })),
            _ => mismatch(&l, &r),
        },
    }
}

fn equal(l: &Val, r: &Val) -> bool {
    l == r
}

fn call(name: &str, args: Vec<Val>, col: usize) -> EResult {
    let one = |args: Vec<Val>| -> Result<Val, (String, usize)> {
        let n = args.len();
        let mut it = args.into_iter();
        match (it.next(), n) {
            (Some(v), 1) => Ok(v),
            _ => Err((format!("{name}() takes one argument, got {n}"), col)),
        }
    };
    match name {
        "len" => match one(args)? {
            Val::List(l) => Ok(Val::Num(l.len() as f64)),
            Val::Str(s) => Ok(Val::Num(s.chars().count() as f64)),
            Val::Map(m) => Ok(Val::Num(m.len() as f64)),
            other => Err((format!("len() of {} {other}", other.type_name()), col)),
        },
        "isNaN" => match one(args)? {
            Val::Num(x) => Ok(Val::Bool(x.is_nan())),
            other => Err((
                format!("isNaN() needs a number, got {} {other}", other.type_name()),
                col,
            )),
        },
        "isInf" => match one(args)? {
            Val::Num(x) => Ok(Val::Bool(x.is_infinite())),
            other => Err((
                format!("isInf() needs a number, got {} {other}", other.type_name()),
                col,
            )),
        },
        "asInt" | "asFloat" => {
            let v = match one(args)? {
                Val::Num(x) => x,
                Val::Str(s) => s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| (format!("{name}({s:?}): not a number"), col))?,
                other => return Err((format!("{name}() of {} {other}", other.type_name()), col)),
            };
            Ok(Val::Num(if name == "asInt" { v.trunc() } else { v }))
        }
        "all" | "any" => match one(args)? {
            Val::List(items) => {
                let mut bools = Vec::with_capacity(items.len());
                for v in items {
                    bools.push(truthy(v, col, name)?);
                }
                Ok(Val::Bool(if name == "all" {
                    bools.iter().all(|b| *b)
                } else {
                    bools.iter().any(|b| *b)
                }))
            }
            other => Err((format!("{name}() needs a list, got {}", other.type_name()), col)),
        },
        "default" => {
            let n = args.len();
            let mut it = args.into_iter();
            match (it.next(), it.next(), n) {
                (Some(Val::Null), Some(d), 2) => Ok(d),
                (Some(v), Some(_), 2) => Ok(v),
                _ => Err((format!("default() takes two arguments, got {n}"), col)),
            }
        }
        _ => Err((format!("unknown function {name}()"), col)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(cond: &str, result: Val) -> bool {
        eval_condition(cond, &result).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn argo_examples() {
        let v = Val::List(vec![Val::Num(0.97)]);
        assert!(ok("result[0] >= 0.95", v.clone()));
        assert!(!ok("result[0] < 0.95", v.clone()));
        assert!(ok("len(result) > 0 && result[0] >= 0.95", v));
        assert!(ok("result > 5", Val::Num(6.0)));
        assert!(!ok("result > 5", Val::Num(5.0)));
        assert!(ok("result == \"ok\"", Val::Str("ok".into())));
        assert!(ok("result == 'ok' || result == 'fine'", Val::Str("fine".into())));
        assert!(ok("isNaN(result)", Val::Num(f64::NAN)));
        assert!(!ok("result >= 0.9", Val::Num(f64::NAN)));
        assert!(ok("!(result > 5) && true", Val::Num(1.0)));
        assert!(ok("not (result > 5) and result >= 1", Val::Num(1.0)));
        assert!(ok("result == true", Val::Bool(true)));
        assert!(ok(
            "result.data.ok == true",
            Val::from(&serde_json::json!({"data": {"ok": true}}))
        ));
        assert!(ok(
            "result['status'] == 'up'",
            Val::from(&serde_json::json!({"status": "up"}))
        ));
        assert!(ok("(result - 1) * 2 == 4", Val::Num(3.0)));
        assert!(ok(
            "result[-1] == 3",
            Val::List(vec![Val::Num(1.0), Val::Num(3.0)])
        ));
        assert!(ok("asFloat(result) > 1.5", Val::Str("2.5".into())));
        assert!(ok(
            "all(result)",
            Val::List(vec![Val::Bool(true), Val::Bool(true)])
        ));
        assert!(ok("default(result, 3) == 3", Val::Null));
        assert!(ok("result == nil", Val::Null));
        assert!(ok("1e3 == 1000", Val::Null));
    }

    #[test]
    fn clear_errors() {
        let e = eval_condition("result >= ", &Val::Num(1.0)).expect_err("incomplete");
        assert!(e.message.contains("unexpected end"), "{e}");
        assert_eq!(e.column, 11);
        let e = eval_condition("result[0] >= 0.95", &Val::List(vec![])).expect_err("empty vector");
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = eval_condition("result > \"a\"", &Val::Num(1.0)).expect_err("types");
        assert!(
            e.message.contains("cannot apply \">\" to number 1 and string a"),
            "{e}"
        );
        let e = eval_condition("result", &Val::Num(1.0)).expect_err("not a bool");
        assert!(e.message.contains("boolean"), "{e}");
        let e = eval_condition("foo > 1", &Val::Num(1.0)).expect_err("unknown name");
        assert!(e.message.contains("unknown name \"foo\""), "{e}");
        assert!(eval_condition("result > 1 )", &Val::Num(2.0)).is_err());
        assert!(eval_condition("result # 1", &Val::Num(2.0)).is_err());
        assert!(eval_condition("\"abc", &Val::Num(2.0)).is_err());
        assert!(eval_condition("nope(result)", &Val::Num(2.0)).is_err());
        assert!(eval_condition("result && true", &Val::Num(2.0)).is_err());
    }
}
