//! Multi-document YAML parsing into [`serde_json::Value`], resolving plain scalars the way
//! Kustomize does when it turns a resource into JSON (YAML 1.2 core schema as implemented by
//! go-yaml v3: only `true`/`false` are booleans, `010` is octal, `0x1F` hexadecimal, a date-only
//! timestamp becomes an RFC 3339 string).

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError, Span, StrInput, Tag};

/// A YAML parse error with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct ParseError {
    /// File name given by the caller (may be empty).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What went wrong.
    pub message: String,
}

/// One parsed document with the line where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document's value (`Null` for an empty document).
    pub value: Value,
    /// 1-based line of the document start.
    pub line: usize,
}

/// Parses every document of a YAML stream. Empty documents yield `Value::Null`.
pub fn parse_documents(src: &str, file: &str) -> Result<Vec<Document>, ParseError> {
    parse_documents_with(src, file, Schema::Core)
}

/// How plain scalars are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// go-yaml v3 rules (resources).
    Core,
    /// go-yaml v2 / YAML 1.1 rules (`yes`, `on`, `n` are booleans): kustomization files.
    Yaml11,
}

/// Parses every document of a YAML stream with the given scalar resolution.
pub fn parse_documents_with(src: &str, file: &str, schema: Schema) -> Result<Vec<Document>, ParseError> {
    // Fast path: a JSON document resolves exactly as its YAML reading would under the core
    // schema, and a JSON parser is much faster. Anything else (or invalid JSON) goes through YAML.
    if schema == Schema::Core
        && src.trim_start().starts_with(['{', '['])
        && let Ok(value) = serde_json::from_str::<Value>(src)
    {
        let leading = &src[..src.len() - src.trim_start().len()];
        let line = 1 + leading.matches('\n').count();
        return Ok(vec![Document { value, line }]);
    }
    if let Some(docs) = crate::fast::parse(src, schema) {
        return Ok(docs);
    }
    full_parse(src, file, schema)
}

/// Parses with the complete YAML parser (no fast paths).
pub(crate) fn full_parse(src: &str, file: &str, schema: Schema) -> Result<Vec<Document>, ParseError> {
    let mut b = Builder {
        file,
        parser: Parser::new_from_str(src),
        peeked: None,
        anchors: HashMap::new(),
        schema,
        alias_nodes: 0,
        depth: 0,
    };
    let mut docs = Vec::new();
    while let Some((ev, span)) = b.next_ev()? {
        match ev {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart(..) => {
                let line = span.start.line();
                b.anchors.clear();
                let value = if matches!(b.peek_ev()?, Some((Event::DocumentEnd, _))) {
                    Value::Null
                } else {
                    b.node()?
                };
                docs.push(Document { value, line });
            }
            _ => return Err(b.err(&span, "unexpected event")),
        }
    }
    Ok(docs)
}

/// Parses a single YAML (or JSON) document; several documents are an error, none gives `Null`.
pub fn parse_one(src: &str, file: &str) -> Result<Value, ParseError> {
    let mut docs = parse_documents(src, file)?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => Ok(docs.remove(0).value),
        _ => Err(ParseError {
            file: file.to_string(),
            line: docs[1].line,
            col: 1,
            message: "expected a single YAML document".into(),
        }),
    }
}

fn scan_err(file: &str, e: &ScanError) -> ParseError {
    let m = e.marker();
    ParseError {
        file: file.to_string(),
        line: m.line(),
        col: m.col() + 1,
        message: e.info(),
    }
}

struct Builder<'a, 'i> {
    file: &'a str,
    parser: Parser<'i, StrInput<'i>>,
    peeked: Option<(Event<'i>, Span)>,
    anchors: HashMap<usize, Value>,
    schema: Schema,
    /// Nodes copied by alias expansion so far (bounded against "billion laughs" documents).
    alias_nodes: usize,
    /// Current collection nesting.
    depth: usize,
}

/// Deepest collection nesting accepted (far beyond any Kubernetes object).
const MAX_DEPTH: usize = 256;

/// At most this many nodes may be created by expanding aliases in one stream.
const MAX_ALIAS_NODES: usize = 1_000_000;

fn node_count(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(node_count).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(node_count).sum::<usize>(),
        _ => 1,
    }
}

impl<'i> Builder<'_, 'i> {
    /// The next event that matters (comments and anchor metadata skipped).
    fn next_ev(&mut self) -> Result<Option<(Event<'i>, Span)>, ParseError> {
        if let Some(e) = self.peeked.take() {
            return Ok(Some(e));
        }
        loop {
            match self.parser.next() {
                None => return Ok(None),
                Some(Err(e)) => return Err(scan_err(self.file, &e)),
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

    fn peek_ev(&mut self) -> Result<Option<&(Event<'i>, Span)>, ParseError> {
        if self.peeked.is_none() {
            self.peeked = self.next_ev()?;
        }
        Ok(self.peeked.as_ref())
    }

    fn err(&self, span: &Span, msg: &str) -> ParseError {
        ParseError {
            file: self.file.to_string(),
            line: span.start.line(),
            col: span.start.col() + 1,
            message: msg.to_string(),
        }
    }

    fn node(&mut self) -> Result<Value, ParseError> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err(ParseError {
                file: self.file.to_string(),
                line: 0,
                col: 0,
                message: format!("document nested deeper than {MAX_DEPTH} levels"),
            })
        } else {
            self.node_inner()
        };
        self.depth -= 1;
        r
    }

    fn node_inner(&mut self) -> Result<Value, ParseError> {
        let Some((ev, span)) = self.next_ev()? else {
            return Err(ParseError {
                file: self.file.to_string(),
                line: 0,
                col: 0,
                message: "unexpected end of stream".into(),
            });
        };
        let (v, anchor) = match ev {
            Event::Scalar(text, style, anchor, tag) => {
                (self.scalar(&text, style, tag.as_deref(), &span)?, anchor)
            }
            Event::Alias(id) => return self.alias(id, &span),
            Event::SequenceStart(_, anchor, _) => (self.sequence(&span)?, anchor),
            Event::MappingStart(_, anchor, _) => (self.mapping(&span)?, anchor),
            _ => return Err(self.err(&span, "unexpected event")),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, v.clone());
        }
        Ok(v)
    }

    /// A scalar's value under the schema: YAML 1.1 plain scalars as go-yaml v2 reads them, the others by
    /// style and tag. Under the core schema, plain infinities and NaN are refused as JSON cannot hold them.
    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: &Span,
    ) -> Result<Value, ParseError> {
        let plain = style == ScalarStyle::Plain && tag.is_none();
        if self.schema == Schema::Core && plain && is_inf_or_nan(text) {
            return Err(self.err(
                span,
                &format!("json: unsupported value: {text} (not representable in JSON)"),
            ));
        }
        if self.schema == Schema::Yaml11 && plain {
            return Ok(resolve_plain_yaml11(text));
        }
        resolve_scalar(text, style, tag).map_err(|m| self.err(span, &m))
    }

    /// The value an alias refers to, counting the nodes it repeats against the aliasing budget.
    fn alias(&mut self, id: usize, span: &Span) -> Result<Value, ParseError> {
        let v = self
            .anchors
            .get(&id)
            .ok_or_else(|| self.err(span, "unknown anchor"))?;
        self.alias_nodes += node_count(v);
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(self.err(span, "document contains excessive aliasing"));
        }
        Ok(v.clone())
    }

    /// The items of a sequence, up to its end.
    fn sequence(&mut self, span: &Span) -> Result<Value, ParseError> {
        let mut items = Vec::new();
        loop {
            match self.peek_ev()?.map(|e| &e.0) {
                Some(Event::SequenceEnd) => {
                    self.peeked = None;
                    return Ok(Value::Array(items));
                }
                Some(_) => items.push(self.node()?),
                None => return Err(self.err(span, "unterminated sequence")),
            }
        }
    }

    /// The entries of a mapping, up to its end; `<<` merge keys fill in the keys the mapping does not set.
    fn mapping(&mut self, span: &Span) -> Result<Value, ParseError> {
        let mut map = Map::new();
        let mut merges: Vec<Map<String, Value>> = Vec::new();
        loop {
            let (is_merge, kspan) = match self.peek_ev()? {
                Some((Event::MappingEnd, _)) => {
                    self.peeked = None;
                    break;
                }
                Some((kev, kspan)) => (
                    matches!(kev, Event::Scalar(t, ScalarStyle::Plain, _, None) if t == "<<"),
                    *kspan,
                ),
                None => return Err(self.err(span, "unterminated mapping")),
            };
            let key = self.node()?;
            let val = self.node()?;
            if is_merge {
                self.merge_sources(val, &kspan, &mut merges)?;
                continue;
            }
            let key = match key {
                Value::String(s) => s,
                Value::Null => "null".to_string(),
                // sigs.k8s.io/yaml (over go-yaml v2) writes YAML 1.1's boolean and number keys as JSON strings.
                Value::Bool(b) if self.schema == Schema::Yaml11 => b.to_string(),
                Value::Number(n) if self.schema == Schema::Yaml11 => yaml11_number_key(&n),
                other => {
                    return Err(self.err(
                        &kspan,
                        &format!("non-string mapping key {other} is not supported"),
                    ));
                }
            };
            // go-yaml v2 (YAML 1.1 reading) lets the last duplicate key win.
            if map.contains_key(&key) && self.schema != Schema::Yaml11 {
                return Err(self.err(&kspan, &format!("mapping key \"{key}\" already defined")));
            }
            map.insert(key, val);
        }
        for m in merges {
            for (k, v) in m {
                map.entry(k).or_insert(v);
            }
        }
        Ok(Value::Object(map))
    }

    /// The maps a `<<` merge key's value names: one map, or a sequence of maps.
    fn merge_sources(
        &self,
        val: Value,
        kspan: &Span,
        merges: &mut Vec<Map<String, Value>>,
    ) -> Result<(), ParseError> {
        let refuse = || self.err(kspan, "map merge requires map or sequence of maps as the value");
        match val {
            Value::Object(m) => merges.push(m),
            Value::Array(items) => {
                for it in items {
                    match it {
                        Value::Object(m) => merges.push(m),
                        _ => return Err(refuse()),
                    }
                }
            }
            _ => return Err(refuse()),
        }
        Ok(())
    }
}

/// Whether a plain scalar is one of YAML's infinities or NaN (which JSON cannot hold).
pub fn is_inf_or_nan(t: &str) -> bool {
    matches!(
        t,
        ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
    )
}

/// Resolves a scalar's text, style and tag into a JSON value.
pub fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        if tag.handle() == "tag:yaml.org,2002:" {
            match tag.suffix() {
                "str" => return Ok(Value::String(text.to_string())),
                "binary" => {
                    return Ok(Value::String(match decode_base64(text) {
                        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                        None => text.to_string(),
                    }));
                }
                "null" => return Ok(Value::Null),
                "bool" | "int" | "float" => {
                    let v = resolve_plain(text);
                    return Ok(v);
                }
                "timestamp" => return Ok(Value::String(text.to_string())),
                _ => {}
            }
        }
        if style != ScalarStyle::Plain {
            return Ok(Value::String(text.to_string()));
        }
        return Ok(resolve_plain(text));
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    Ok(resolve_plain(text))
}

/// Standard base64 (whitespace ignored), as `!!binary` values are decoded.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Resolves a plain scalar.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => {
            // .inf / .nan are not representable in JSON; Kustomize fails on them. Keep as string.
            if let Some(f) = go_parse_float_dot(s) {
                return float_value(f, s);
            }
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if let Some(date) = date_only(s) {
                return Value::String(date);
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(v) = go_parse_int(&plain) {
                return v;
            }
            if is_yaml_style_float(&plain)
                && let Ok(f) = plain.parse::<f64>()
            {
                return float_value(f, s);
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                if let Ok(i) = i64::from_str_radix(rest, 2) {
                    return Value::Number(i.into());
                }
            } else if let Some(rest) = plain.strip_prefix("-0b")
                && let Ok(i) = i64::from_str_radix(rest, 2)
            {
                return Value::Number((-i).into());
            }
        }
        _ => {}
    }
    Value::String(s.to_string())
}

/// A number key as sigs.k8s.io/yaml writes it: an integer in decimal, a float as Go's
/// `strconv.FormatFloat(f, 'g', -1, 32)`.
fn yaml11_number_key(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    #[allow(clippy::cast_possible_truncation)]
    let f = n.as_f64().unwrap_or(0.0) as f32;
    let text = format!("{f:e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    f.to_string()
}

/// Resolves a plain scalar with YAML 1.1 (go-yaml v2) rules.
pub fn resolve_plain_yaml11(s: &str) -> Value {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => return Value::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => return Value::Bool(false),
        _ => {}
    }
    if is_v2_timestamp(s) {
        return Value::String(s.to_string());
    }
    resolve_plain(s)
}

fn float_value(f: f64, s: &str) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None => Value::String(s.to_string()),
    }
}

fn go_parse_float_dot(s: &str) -> Option<f64> {
    // Go's strconv.ParseFloat for strings starting with '.': digits with optional exponent.
    let b = s.as_bytes();
    let mut i = 1;
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == start {
        return None;
    }
    i = crate::number::skip_exponent(b, i)?;
    if i != b.len() {
        return None;
    }
    format!("0{s}").parse::<f64>().ok()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
pub(crate) fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == st {
            return false;
        }
    } else {
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == st {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    let Some(end) = crate::number::skip_exponent(b, i) else {
        return false;
    };
    i = end;
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint(s, 0, 64)` (underscores already removed).
pub(crate) fn go_parse_int(s: &str) -> Option<Value> {
    let (neg, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        (16, r)
    } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        (8, r)
    } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        (2, r)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            let v = (mag as i128).wrapping_neg() as i64;
            return Some(Value::Number(v.into()));
        }
        None
    } else if mag <= i64::MAX as u64 {
        Some(Value::Number((mag as i64).into()))
    } else {
        Some(Value::Number(mag.into()))
    }
}

/// A plain date-only timestamp (`2006-1-2`) becomes `2006-01-02T00:00:00Z`.
fn date_only(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 {
        return None;
    }
    if !parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if parts[1].len() > 2 || parts[2].len() > 2 {
        return None;
    }
    let y: u32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let d: u32 = parts[2].parse().ok()?;
    if !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d > mdays[(m - 1) as usize] {
        return None;
    }
    Some(format!("{y:04}-{m:02}-{d:02}T00:00:00Z"))
}

/// Whether a string would be read back by go-yaml v2 as a timestamp.
pub(crate) fn is_v2_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i != 4 || i == b.len() || b[i] != b'-' {
        return false;
    }
    // date part
    let rest = &s[5..];
    let mut it = rest.splitn(2, '-');
    let m = it.next().unwrap_or("");
    let Some(tail) = it.next() else { return false };
    if !num12(m) {
        return false;
    }
    let dlen = tail.bytes().take_while(|b| b.is_ascii_digit()).count();
    if dlen == 0 || dlen > 2 {
        return false;
    }
    let m: u32 = m.parse().unwrap_or(0);
    let d: u32 = tail[..dlen].parse().unwrap_or(0);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return false;
    }
    let after = &tail[dlen..];
    if after.is_empty() {
        return true;
    }
    // The separator is one ASCII byte; anything else (also a multi-byte character) is not a timestamp.
    let tz_allowed = match after.as_bytes()[0] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return false,
    };
    let time = &after[1..];
    // time: h:m:s(.frac)?
    let tb = time.as_bytes();
    let mut j = 0;
    for k in 0..3 {
        let st = j;
        while j < tb.len() && tb[j].is_ascii_digit() {
            j += 1;
        }
        if j == st || j - st > 2 {
            return false;
        }
        if k < 2 {
            if j >= tb.len() || tb[j] != b':' {
                return false;
            }
            j += 1;
        }
    }
    if j < tb.len() && tb[j] == b'.' {
        j += 1;
        let st = j;
        while j < tb.len() && tb[j].is_ascii_digit() {
            j += 1;
        }
        if j == st {
            return false;
        }
    }
    let tz = &time[j..];
    if tz.is_empty() {
        return !tz_allowed;
    }
    if !tz_allowed {
        return false;
    }
    if tz == "Z" {
        return true;
    }
    let zb = tz.as_bytes();
    zb.len() == 6
        && (zb[0] == b'+' || zb[0] == b'-')
        && zb[1].is_ascii_digit()
        && zb[2].is_ascii_digit()
        && zb[3] == b':'
        && zb[4].is_ascii_digit()
        && zb[5].is_ascii_digit()
}

fn num12(s: &str) -> bool {
    !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_like_kustomize() {
        let docs = parse_documents(
            "a: [1.0, 010, 0x1F, .5, -0, 1e3, 1_000, 0o17, +5, 2020-01-01, 1:20, yes, on, true, ~, null, 0b101, '1']\n",
            "f",
        )
        .unwrap_or_default();
        assert_eq!(
            docs[0].value,
            json!({"a": [1.0, 8, 31, 0.5, 0, 1000.0, 1000, 15, 5, "2020-01-01T00:00:00Z", "1:20", "yes", "on", true, null, null, 5, "1"]})
        );
    }

    #[test]
    fn multi_doc_and_errors() {
        let docs = parse_documents("---\na: 1\n---\n---\nb: 2\n", "f").unwrap_or_default();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].value, Value::Null);
        let e = parse_documents("a: 1\nb: [\n", "x.yaml").err();
        assert!(e.is_some_and(|e| e.file == "x.yaml" && e.line >= 2));
    }

    #[test]
    fn anchors_and_merge() {
        let docs = parse_documents("a: &x {k: 1}\nb: *x\nc:\n  <<: *x\n  j: 2\n", "f").unwrap_or_default();
        assert_eq!(
            docs[0].value,
            json!({"a": {"k": 1}, "b": {"k": 1}, "c": {"k": 1, "j": 2}})
        );
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let src = format!("{}1{}", "[".repeat(1000), "]".repeat(1000));
        assert!(parse_documents(&src, "deep.yaml").is_err());
    }

    #[test]
    fn alias_bombs_are_rejected() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse_documents(&src, "bomb.yaml").err();
        assert!(e.is_some_and(|e| e.message.contains("excessive aliasing")));
    }

    #[test]
    fn v2_timestamps() {
        assert!(is_v2_timestamp("2020-01-01"));
        assert!(is_v2_timestamp("2020-1-1 10:00:00"));
        assert!(is_v2_timestamp("2001-12-14t21:59:43.10-05:00"));
        assert!(!is_v2_timestamp("2020-01-01x"));
        assert!(!is_v2_timestamp("202-01-01"));
        // A multi-byte character where the date-time separator would be (found by the fuzzer).
        assert!(!is_v2_timestamp("2228-2-4\u{4a0}D24-"));
        assert!(!is_v2_timestamp("2020-01-01\u{e9}10:00:00"));
    }
}
