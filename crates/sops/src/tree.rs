//! The document tree SOPS walks: mappings keep their key order (the MAC is computed over values in file
//! order), scalars keep the type SOPS's Go stores give them (YAML 1.2 core schema as go-yaml v3 resolves it,
//! JSON numbers as integers when they fit).

use serde_json::Value;
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span, StrInput};

use crate::error::SopsError;

/// A node of a SOPS document.
#[derive(Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// Deepest nesting accepted.
const MAX_DEPTH: usize = 256;
/// At most this many nodes may be copied by alias expansion in one file.
const MAX_ALIAS_NODES: usize = 1_000_000;

impl Node {
    /// The entry `key` of a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn count(&self) -> usize {
        match self {
            Node::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Node::Map(entries) => 1 + entries.iter().map(|(_, v)| v.count()).sum::<usize>(),
            _ => 1,
        }
    }

    /// The node as JSON. Non-finite floats (YAML `.inf`, `.nan`) cannot be represented and become strings
    /// as go-yaml prints them.
    pub(crate) fn into_json(self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::Int(i) => Value::from(i),
            Node::Float(f) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(go_non_finite(f).to_string())),
            Node::Str(s) => Value::String(s),
            Node::Seq(items) => Value::Array(items.into_iter().map(Node::into_json).collect()),
            Node::Map(entries) => {
                Value::Object(entries.into_iter().map(|(k, v)| (k, v.into_json())).collect())
            }
        }
    }

    fn from_json(v: Value) -> Node {
        match v {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(b),
            Value::Number(n) => n
                .as_i64()
                .map(Node::Int)
                .unwrap_or_else(|| Node::Float(n.as_f64().unwrap_or(f64::NAN))),
            Value::String(s) => Node::Str(s),
            Value::Array(items) => Node::Seq(items.into_iter().map(Node::from_json).collect()),
            Value::Object(m) => Node::Map(m.into_iter().map(|(k, v)| (k, Node::from_json(v))).collect()),
        }
    }
}

fn go_non_finite(f: f64) -> &'static str {
    if f.is_nan() {
        ".nan"
    } else if f > 0.0 {
        ".inf"
    } else {
        "-.inf"
    }
}

/// Parses every document of a YAML stream, keeping mapping order. Empty documents are skipped.
pub(crate) fn parse_yaml(src: &str) -> Result<Vec<Node>, SopsError> {
    let mut b = Builder {
        parser: Parser::new_from_str(src),
        peeked: None,
        anchors: Vec::new(),
        alias_nodes: 0,
        depth: 0,
    };
    let mut docs = Vec::new();
    while let Some((ev, span)) = b.next_ev()? {
        match ev {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart(..) => {
                b.anchors.clear();
                if !matches!(b.peek_ev()?, Some((Event::DocumentEnd, _))) {
                    let node = b.node()?;
                    if node != Node::Null {
                        docs.push(node);
                    }
                }
            }
            _ => return Err(syntax(&span, "unexpected event")),
        }
    }
    Ok(docs)
}

/// Parses a JSON document, keeping object order (numbers: `i64` when integral and in range, else `f64`, as
/// SOPS's JSON store reads them).
pub(crate) fn parse_json(src: &str) -> Result<Node, SopsError> {
    use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

    struct Ordered(Node);
    impl<'de> serde::Deserialize<'de> for Ordered {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(V)
        }
    }
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Ordered;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_unit<E>(self) -> Result<Ordered, E> {
            Ok(Ordered(Node::Null))
        }
        fn visit_bool<E>(self, b: bool) -> Result<Ordered, E> {
            Ok(Ordered(Node::Bool(b)))
        }
        fn visit_i64<E>(self, i: i64) -> Result<Ordered, E> {
            Ok(Ordered(Node::Int(i)))
        }
        fn visit_u64<E>(self, u: u64) -> Result<Ordered, E> {
            Ok(Ordered(
                i64::try_from(u).map(Node::Int).unwrap_or(Node::Float(u as f64)),
            ))
        }
        fn visit_f64<E>(self, f: f64) -> Result<Ordered, E> {
            Ok(Ordered(Node::Float(f)))
        }
        fn visit_str<E>(self, s: &str) -> Result<Ordered, E> {
            Ok(Ordered(Node::Str(s.to_string())))
        }
        fn visit_string<E>(self, s: String) -> Result<Ordered, E> {
            Ok(Ordered(Node::Str(s)))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
            let mut items = Vec::new();
            while let Some(Ordered(n)) = a.next_element()? {
                items.push(n);
            }
            Ok(Ordered(Node::Seq(items)))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
            let mut entries: Vec<(String, Node)> = Vec::new();
            while let Some((k, Ordered(v))) = a.next_entry::<String, Ordered>()? {
                if entries.iter().any(|(e, _)| *e == k) {
                    return Err(serde::de::Error::custom(format!("duplicate key \"{k}\"")));
                }
                entries.push((k, v));
            }
            Ok(Ordered(Node::Map(entries)))
        }
    }
    serde_json::from_str::<Ordered>(src)
        .map(|o| o.0)
        .map_err(|e| SopsError::Syntax {
            message: format!("line {} column {}: {}", e.line(), e.column(), json_reason(&e)),
        })
}

/// serde_json's classification, without the parts of its message that may quote input.
fn json_reason(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => "I/O error",
        Category::Syntax => "invalid JSON",
        Category::Data => "invalid JSON data (duplicate key or unexpected type)",
        Category::Eof => "unexpected end of JSON",
    }
}

fn syntax(span: &Span, message: &str) -> SopsError {
    SopsError::Syntax {
        message: format!(
            "line {} column {}: {message}",
            span.start.line(),
            span.start.col() + 1
        ),
    }
}

struct Builder<'i> {
    parser: Parser<'i, StrInput<'i>>,
    peeked: Option<(Event<'i>, Span)>,
    anchors: Vec<(usize, Node)>,
    alias_nodes: usize,
    depth: usize,
}

impl<'i> Builder<'i> {
    fn next_ev(&mut self) -> Result<Option<(Event<'i>, Span)>, SopsError> {
        if let Some(e) = self.peeked.take() {
            return Ok(Some(e));
        }
        loop {
            match self.parser.next() {
                None => return Ok(None),
                Some(Err(e)) => {
                    let m = e.marker();
                    return Err(SopsError::Syntax {
                        message: format!("line {} column {}: {}", m.line(), m.col() + 1, e.info()),
                    });
                }
                Some(Ok((e, span))) =>
                {
                    #[allow(unreachable_patterns)]
                    match e {
                        Event::Comment(..) | Event::Anchor(..) => continue,
                        _ => return Ok(Some((e, span))),
                    }
                }
            }
        }
    }

    fn peek_ev(&mut self) -> Result<Option<&(Event<'i>, Span)>, SopsError> {
        if self.peeked.is_none() {
            self.peeked = self.next_ev()?;
        }
        Ok(self.peeked.as_ref())
    }

    fn node(&mut self) -> Result<Node, SopsError> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err(SopsError::Syntax {
                message: format!("document nested deeper than {MAX_DEPTH} levels"),
            })
        } else {
            self.node_inner()
        };
        self.depth -= 1;
        r
    }

    fn node_inner(&mut self) -> Result<Node, SopsError> {
        let Some((ev, span)) = self.next_ev()? else {
            return Err(SopsError::Syntax {
                message: "unexpected end of stream".into(),
            });
        };
        let (node, anchor) = match ev {
            Event::Scalar(text, style, anchor, tag) => (scalar(&text, style, tag.is_some()), anchor),
            Event::Alias(id) => return self.alias(id, &span),
            Event::SequenceStart(_, anchor, _) => (self.sequence(&span)?, anchor),
            Event::MappingStart(_, anchor, _) => (self.mapping(&span)?, anchor),
            _ => return Err(syntax(&span, "unexpected event")),
        };
        if anchor != 0 {
            self.anchors.push((anchor, node.clone()));
        }
        Ok(node)
    }

    fn alias(&mut self, id: usize, span: &Span) -> Result<Node, SopsError> {
        let node = self
            .anchors
            .iter()
            .rev()
            .find(|(a, _)| *a == id)
            .map(|(_, n)| n.clone())
            .ok_or_else(|| syntax(span, "unknown anchor"))?;
        self.alias_nodes += node.count();
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(syntax(span, "document contains excessive aliasing"));
        }
        Ok(node)
    }

    fn sequence(&mut self, span: &Span) -> Result<Node, SopsError> {
        let mut items = Vec::new();
        loop {
            match self.peek_ev()?.map(|e| &e.0) {
                Some(Event::SequenceEnd) => {
                    self.peeked = None;
                    return Ok(Node::Seq(items));
                }
                Some(_) => items.push(self.node()?),
                None => return Err(syntax(span, "unterminated sequence")),
            }
        }
    }

    fn mapping(&mut self, span: &Span) -> Result<Node, SopsError> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        loop {
            let kspan = match self.peek_ev()? {
                Some((Event::MappingEnd, _)) => {
                    self.peeked = None;
                    return Ok(Node::Map(entries));
                }
                Some((_, kspan)) => *kspan,
                None => return Err(syntax(span, "unterminated mapping")),
            };
            let key = match self.node()? {
                Node::Str(s) => s,
                Node::Null => "null".to_string(),
                Node::Bool(b) => b.to_string(),
                Node::Int(i) => i.to_string(),
                Node::Float(f) => f.to_string(),
                Node::Seq(_) | Node::Map(_) => {
                    return Err(syntax(&kspan, "a mapping key must be a scalar"));
                }
            };
            let value = self.node()?;
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(syntax(&kspan, &format!("mapping key \"{key}\" already defined")));
            }
            entries.push((key, value));
        }
    }
}

/// A scalar as go-yaml v3 resolves it into an `interface{}`: plain untagged scalars by the core schema,
/// everything quoted, block or tagged as a string (`!!int` and friends are rare in SOPS files).
fn scalar(text: &str, style: ScalarStyle, tagged: bool) -> Node {
    if style != ScalarStyle::Plain || tagged {
        return Node::Str(text.to_string());
    }
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Node::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Node::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Node::Float(f64::NAN),
        _ => {}
    }
    Node::from_json(tack_yaml::resolve_plain(text))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keeps_order_and_types() {
        let docs = parse_yaml("b: 1\na: \"2\"\nc: [true, 1.5, null, x]\n---\n---\nz: {}\n").unwrap();
        assert_eq!(docs.len(), 2);
        let Node::Map(e) = &docs[0] else { panic!() };
        assert_eq!(
            e.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["b", "a", "c"]
        );
        assert!(matches!(e[0].1, Node::Int(1)));
        assert!(matches!(&e[1].1, Node::Str(s) if s == "2"));
        let Node::Seq(items) = &e[2].1 else { panic!() };
        assert!(matches!(
            items[..],
            [Node::Bool(true), Node::Float(_), Node::Null, Node::Str(_)]
        ));
    }

    #[test]
    fn json_keeps_order() {
        let n = parse_json(r#"{"z": 1, "a": [1.5, "x"], "m": {"y": null, "b": false}}"#).unwrap();
        let Node::Map(e) = &n else { panic!() };
        assert_eq!(
            e.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["z", "a", "m"]
        );
        assert!(parse_json(r#"{"a": 1, "a": 2}"#).is_err());
    }

    #[test]
    fn aliases_are_bounded() {
        let mut src = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            src.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let err = parse_yaml(&src).err().unwrap();
        assert!(err.to_string().contains("excessive aliasing"), "{err}");
    }
}
