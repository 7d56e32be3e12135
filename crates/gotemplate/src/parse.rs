//! The template parser: a port of Go's `text/template/parse/parse.go` (same grammar, same error messages and
//! line numbers). One text yields its own tree and one tree per `define`/`block`.

use foldhash::HashMap;
use std::sync::Arc;

use crate::ast::{Arg, Branch, Command, Node, Number, Pipe, is_empty_tree};
use crate::lex::{Item, ItemType as T, Lexer};
use crate::number::{parse_number, unquote, unquote_char};

/// Go's limit on nested parenthesised expressions.
const MAX_STACK_DEPTH: usize = 10_000;

pub(crate) type Trees = Vec<(String, Vec<Node>)>;

pub(crate) struct Parser<'s, 'f> {
    lex: Lexer<'s>,
    token: [Item<'s>; 3],
    peek_count: usize,
    vars: Vec<String>,
    action_line: usize,
    range_depth: usize,
    stack_depth: usize,
    parse_name: &'s str,
    has_func: &'f dyn Fn(&str) -> bool,
    trees: Trees,
    index: HashMap<String, usize>,
}

type R<T> = Result<T, String>;

enum Ctl {
    Node(Node),
    End,
    Else,
}

fn eof_item() -> Item<'static> {
    Item {
        typ: T::Eof,
        pos: 0,
        val: std::borrow::Cow::Borrowed(""),
        line: 0,
    }
}

/// Parses `text` named `name`; returns every tree it defines (its own first).
pub(crate) fn parse(name: &str, text: &str, has_func: &dyn Fn(&str) -> bool) -> R<Trees> {
    let mut lex = Lexer::new(text);
    lex.break_ok = !has_func("break");
    lex.continue_ok = !has_func("continue");
    let mut p = Parser {
        lex,
        token: [eof_item(), eof_item(), eof_item()],
        peek_count: 0,
        vars: vec!["$".into()],
        action_line: 0,
        range_depth: 0,
        stack_depth: 0,
        parse_name: name,
        has_func,
        trees: Vec::new(),
        index: HashMap::default(),
    };
    let root = p.parse_root()?;
    p.add(name.to_string(), root)?;
    // the text's own tree first
    if let Some(i) = p.index.get(name).copied() {
        let own = p.trees.remove(i);
        p.trees.insert(0, own);
    }
    Ok(p.trees)
}

impl<'s> Parser<'s, '_> {
    fn errorf(&self, msg: impl std::fmt::Display) -> String {
        format!("template: {}:{}: {}", self.parse_name, self.token[0].line, msg)
    }

    fn next(&mut self) -> Item<'s> {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.lex.next_item();
        }
        self.token[self.peek_count].clone()
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item<'s>) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item<'s>, t1: Item<'s>) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item<'s> {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1].clone();
        }
        self.peek_count = 1;
        self.token[0] = self.lex.next_item();
        self.token[0].clone()
    }

    fn next_non_space(&mut self) -> Item<'s> {
        loop {
            let t = self.next();
            if t.typ != T::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'s> {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn expect(&mut self, expected: T, context: &str) -> R<Item<'s>> {
        let t = self.next_non_space();
        if t.typ != expected {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn unexpected(&self, token: &Item<'_>, context: &str) -> String {
        if token.typ == T::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at {}:{}", self.parse_name, self.action_line);
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn add(&mut self, name: String, root: Vec<Node>) -> R<()> {
        if let Some(&i) = self.index.get(&name) {
            if is_empty_tree(&self.trees[i].1) {
                self.trees[i].1 = root;
                return Ok(());
            }
            if !is_empty_tree(&root) {
                return Err(self.errorf(format!(
                    "template: multiple definition of template {}",
                    quote(&name)
                )));
            }
            return Ok(());
        }
        self.index.insert(name.clone(), self.trees.len());
        self.trees.push((name, root));
        Ok(())
    }

    fn parse_root(&mut self) -> R<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().typ != T::Eof {
            if self.peek().typ == T::LeftDelim {
                let delim = self.next();
                if self.next_non_space().typ == T::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action()? {
                Ctl::Node(n) => root.push(n),
                Ctl::End => return Err(self.errorf("unexpected {{end}}")),
                Ctl::Else => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    /// Runs `f` as a new tree (fresh variables, range depth and action line), as Go's `New(...).startParse`.
    fn sub_tree<X>(&mut self, f: impl FnOnce(&mut Self) -> R<X>) -> R<X> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let action_line = std::mem::replace(&mut self.action_line, 0);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let stack_depth = std::mem::replace(&mut self.stack_depth, 0);
        let r = f(self);
        self.vars = vars;
        self.action_line = action_line;
        self.range_depth = range_depth;
        self.stack_depth = stack_depth;
        r
    }

    fn parse_definition(&mut self) -> R<()> {
        self.sub_tree(|p| {
            let context = "define clause";
            let name = p.next_non_space();
            if name.typ != T::String && name.typ != T::RawString {
                return Err(p.unexpected(&name, context));
            }
            let name = unquote(&name.val).map_err(|e| p.errorf(e))?;
            p.expect(T::RightDelim, context)?;
            let (root, end) = p.item_list()?;
            if !matches!(end, Ctl::End) {
                return Err(p.errorf(format!("unexpected {} in {context}", ctl_name(&end))));
            }
            p.add(name, root)
        })
    }

    fn item_list(&mut self) -> R<(Vec<Node>, Ctl)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != T::Eof {
            match self.text_or_action()? {
                Ctl::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> R<Ctl> {
        let token = self.next_non_space();
        match token.typ {
            T::Text => Ok(Ctl::Node(Node::Text(token.val.into_owned().into_boxed_str()))),
            T::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            T::Comment => Ok(Ctl::Node(Node::Comment)),
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> R<Ctl> {
        let token = self.next_non_space();
        match token.typ {
            T::Block => return self.block_control().map(Ctl::Node),
            T::Break | T::Continue => {
                let what = if token.typ == T::Break {
                    "break"
                } else {
                    "continue"
                };
                let t = self.next_non_space();
                if t.typ != T::RightDelim {
                    return Err(self.unexpected(&t, &format!("{{{{{what}}}}}")));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(format!("{{{{{what}}}}} outside {{{{range}}}}")));
                }
                return Ok(Ctl::Node(if token.typ == T::Break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            T::Else => return self.else_control(),
            T::End => {
                self.expect(T::RightDelim, "end")?;
                return Ok(Ctl::End);
            }
            T::If => return self.if_control().map(Ctl::Node),
            T::Range => {
                let b = self.parse_control("range")?;
                return Ok(Ctl::Node(Node::Range(b)));
            }
            T::Template => return self.template_control().map(Ctl::Node),
            T::With => return self.with_control().map(Ctl::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", T::RightDelim)?;
        Ok(Ctl::Node(Node::Action(pipe)))
    }

    fn if_control(&mut self) -> R<Node> {
        Ok(Node::If(self.parse_control("if")?))
    }

    fn with_control(&mut self) -> R<Node> {
        Ok(Node::With(self.parse_control("with")?))
    }

    fn else_control(&mut self) -> R<Ctl> {
        let peek = self.peek_non_space();
        if peek.typ == T::If || peek.typ == T::With {
            return Ok(Ctl::Else);
        }
        self.expect(T::RightDelim, "else")?;
        Ok(Ctl::Else)
    }

    fn parse_control(&mut self, context: &str) -> R<Branch> {
        let mark = self.vars.len();
        let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.parse_control_inner(context));
        self.vars.truncate(mark);
        r
    }

    fn parse_control_inner(&mut self, context: &str) -> R<Branch> {
        let pipe = self.pipeline(context, T::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        match next {
            Ctl::End => {}
            Ctl::Else => {
                if context == "if" && self.peek().typ == T::If {
                    self.next();
                    else_list = Some(vec![self.if_control()?]);
                } else if context == "with" && self.peek().typ == T::With {
                    self.next();
                    else_list = Some(vec![self.with_control()?]);
                } else {
                    let (l, next) = self.item_list()?;
                    if !matches!(next, Ctl::End) {
                        return Err(self.errorf(format!("expected end; found {}", ctl_name(&next))));
                    }
                    else_list = Some(l);
                }
            }
            Ctl::Node(_) => {}
        }
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn block_control(&mut self) -> R<Node> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.parse_template_name(&token, context)?;
        let pipe = self.pipeline(context, T::RightDelim)?;
        let name2 = name.clone();
        self.sub_tree(|p| {
            let (root, end) = p.item_list()?;
            if !matches!(end, Ctl::End) {
                return Err(p.errorf(format!("unexpected {} in {context}", ctl_name(&end))));
            }
            p.add(name2, root)
        })?;
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> R<Node> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.parse_template_name(&token, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != T::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, T::RightDelim)?);
        }
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe,
        })
    }

    fn parse_template_name(&self, token: &Item<'_>, context: &str) -> R<String> {
        match token.typ {
            T::String | T::RawString => unquote(&token.val).map_err(|e| self.errorf(e)),
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn pipeline(&mut self, context: &str, end: T) -> R<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ == T::Variable {
                self.next();
                let after = self.peek();
                let next = self.peek_non_space();
                if next.typ == T::Assign || next.typ == T::Declare {
                    pipe.is_assign = next.typ == T::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.into_owned());
                } else if next.typ == T::Char && next.val == "," {
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.into_owned());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            T::Variable | T::RightDelim | T::RightParen => continue 'decls,
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                } else if after.typ == T::Space {
                    self.backup3(v, after);
                } else {
                    self.backup2(v);
                }
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                T::Bool
                | T::CharConstant
                | T::Complex
                | T::Dot
                | T::Field
                | T::Identifier
                | T::Number
                | T::Nil
                | T::RawString
                | T::String
                | T::Variable
                | T::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> R<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::String { .. }
            ) {
                return Err(self.errorf(format!("non executable command in pipeline stage {}", i + 1)));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> R<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let token = self.next();
            match token.typ {
                T::Space => continue,
                T::RightDelim | T::RightParen => self.backup(),
                T::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> R<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ == T::Field {
            let pos = self.peek().pos;
            let mut fields = Vec::new();
            while self.peek().typ == T::Field {
                let f = self.next().val;
                fields.push(f[1..].to_string());
            }
            return Ok(Some(match node {
                Arg::Field { mut ident, .. } => {
                    ident.extend(fields);
                    Arg::Field { pos, ident }
                }
                Arg::Variable { mut ident, .. } => {
                    ident.extend(fields);
                    Arg::Variable { pos, ident }
                }
                Arg::Bool(..) | Arg::String { .. } | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                    return Err(self.errorf(format!("unexpected . after term {}", quote(&node.to_string()))));
                }
                other => Arg::Chain {
                    pos,
                    node: Box::new(other),
                    fields,
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> R<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        Ok(Some(match token.typ {
            T::Identifier => {
                if !(self.has_func)(&token.val) && !crate::builtins::is_builtin(&token.val) {
                    return Err(self.errorf(format!("function {} not defined", quote(&token.val))));
                }
                Arg::Identifier {
                    pos,
                    name: token.val.into_owned(),
                }
            }
            T::Dot => Arg::Dot(pos),
            T::Nil => Arg::Nil(pos),
            T::Variable => {
                let ident: Vec<String> = token.val.split('.').map(str::to_string).collect();
                if !self.vars.iter().any(|v| *v == ident[0]) {
                    return Err(self.errorf(format!("undefined variable {}", quote(&ident[0]))));
                }
                Arg::Variable { pos, ident }
            }
            T::Field => Arg::Field {
                pos,
                ident: token.val[1..].split('.').map(str::to_string).collect(),
            },
            T::Bool => Arg::Bool(pos, token.val == "true"),
            T::CharConstant | T::Complex | T::Number => {
                let n = self.number(&token)?;
                Arg::Number(pos, Box::new(n))
            }
            T::LeftParen => {
                if self.stack_depth >= MAX_STACK_DEPTH {
                    return Err(self.errorf("max expression depth exceeded"));
                }
                self.stack_depth += 1;
                let p = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                    self.pipeline("parenthesized pipeline", T::RightParen)
                });
                self.stack_depth -= 1;
                Arg::Pipe(Box::new(p?))
            }
            T::String | T::RawString => {
                let s = unquote(&token.val).map_err(|e| self.errorf(e))?;
                Arg::String {
                    pos,
                    quoted: token.val.into_owned(),
                    text: Arc::from(s),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn number(&self, token: &Item<'_>) -> R<Number> {
        if token.typ == T::CharConstant {
            let (c, tail) = unquote_char(&token.val[1..], '\'').map_err(|e| self.errorf(e))?;
            if tail != "'" {
                return Err(self.errorf(format!("malformed character constant: {}", token.val)));
            }
            let v = c as i64;
            return Ok(Number {
                text: token.val.to_string(),
                is_int: true,
                is_uint: true,
                is_float: true,
                is_complex: false,
                int64: v,
                float64: v as f64,
            });
        }
        parse_number(&token.val, token.typ == T::Complex).map_err(|e| self.errorf(e))
    }
}

fn ctl_name(c: &Ctl) -> &'static str {
    match c {
        Ctl::End => "{{end}}",
        Ctl::Else => "{{else}}",
        Ctl::Node(_) => "node",
    }
}

fn quote(s: &str) -> String {
    crate::fmt::quote(s, false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::parse;

    fn err(text: &str) -> String {
        parse("t", text, &|f| f == "f").err().unwrap_or_default()
    }

    fn trees(text: &str) -> Vec<String> {
        parse("t", text, &|_| false)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    }

    /// Expected messages are Go 1.26's for the same texts.
    #[test]
    fn errors_are_worded_as_go() {
        assert_eq!(err("{{ g 1 }}"), "template: t:1: function \"g\" not defined");
        assert_eq!(err("{{ f $x }}"), "template: t:1: undefined variable \"$x\"");
        assert_eq!(err("a\n{{ end }}"), "template: t:2: unexpected {{end}}");
        assert_eq!(err("{{ if 1 }}"), "template: t:1: unexpected EOF");
        assert_eq!(
            err("{{ if 1 }}{{ else }}{{ else }}{{ end }}"),
            "template: t:1: expected end; found {{else}}"
        );
        assert_eq!(err("x\n{{ f\n1"), "template: t:3: unclosed action started at t:2");
        assert_eq!(
            err("{{ \"a\" | 1 }}"),
            "template: t:1: non executable command in pipeline stage 2"
        );
        assert_eq!(
            err("{{ range $a, $b, $c := 1 }}{{ end }}"),
            "template: t:1: too many declarations in range"
        );
        assert_eq!(err("{{ break }}"), "template: t:1: {{break}} outside {{range}}");
        assert_eq!(
            err("{{ \"a very long string\" := }}"),
            "template: t:1: unexpected \":=\" in operand"
        );
        assert_eq!(
            err("{{ 1 \"a very long string\" }}{{ ( }}"),
            "template: t:1: unclosed left paren"
        );
        assert_eq!(
            err("{{ $x := 1 }}{{ $x.y.z := 2 }}"),
            "template: t:1: unexpected \":=\" in operand"
        );
        assert_eq!(err("{{ .a# }}"), "template: t:1: bad character U+0023 '#'");
        assert_eq!(err("{{ 0x }}"), "template: t:1: illegal number syntax: \"0x\"");
        assert_eq!(
            err("{{ define \"a\" }}1{{ end }}{{ define \"a\" }}2{{ end }}"),
            "template: t:1: template: multiple definition of template \"a\""
        );
    }

    #[test]
    fn defines_and_blocks_are_trees_of_their_own() {
        assert_eq!(
            trees("{{ define \"a\" }}x{{ end }}{{ block \"b\" . }}y{{ end }}"),
            vec!["t", "a", "b"]
        );
        // break and continue are identifiers when a function has that name
        assert!(parse("t", "{{ break }}", &|f| f == "break").is_ok());
    }
}
