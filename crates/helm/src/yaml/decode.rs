//! Reading YAML as `sigs.k8s.io/yaml.Unmarshal` does: go-yaml v2 decodes the first document into Go values
//! (YAML 1.1 scalar resolution: `yes`/`on`/`y` booleans, `0777` octal, timestamps kept as strings, `<<` merge
//! keys, later duplicate keys winning), the result is converted to JSON (non-string keys become strings, NaN
//! and infinities are errors) and read back, so that every number is a `float64`.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError, Span, StrInput, Tag};
use tack_gotemplate::{Map, Value};

/// A decoding error, worded as go-yaml v2 and `sigs.k8s.io/yaml` word it (without the
/// `error converting YAML to JSON: ` prefix, which [`super::unmarshal`] adds).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DecodeError {
    /// A go-yaml error (`yaml: line 3: ...`).
    Yaml(String),
    /// The JSON step failed (`json: unsupported value: +Inf`, unsupported map keys).
    Json(String),
}

/// A go-yaml v2 value before the JSON step.
#[derive(Debug, Clone)]
enum GoYaml {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<GoYaml>),
    /// Keys in insertion order (a later equal key replaces the earlier value).
    Map(Vec<(GoYaml, GoYaml)>),
}

/// Deepest collection nesting accepted.
const MAX_DEPTH: usize = 10_000;
/// At most this many nodes may be produced by alias expansion in one document.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Decodes the first document of `src` (`None` for an empty stream or an empty document) into a value whose
/// numbers are all floats.
pub(crate) fn first_document(src: &str) -> Result<Value, DecodeError> {
    let mut b = Builder {
        src,
        parser: Parser::new_from_str(src),
        peeked: None,
        anchors: HashMap::new(),
        alias_nodes: 0,
        depth: 0,
    };
    let doc = b.first_document()?;
    to_json_value(&doc)
}

struct Builder<'i> {
    src: &'i str,
    parser: Parser<'i, StrInput<'i>>,
    peeked: Option<(Event<'i>, Span)>,
    anchors: HashMap<usize, GoYaml>,
    alias_nodes: usize,
    depth: usize,
}

/// go-yaml leaves the line out for problems on the first line.
fn line_err(line: usize, msg: &str) -> DecodeError {
    if line <= 1 {
        DecodeError::Yaml(format!("yaml: {msg}"))
    } else {
        DecodeError::Yaml(format!("yaml: line {line}: {msg}"))
    }
}

/// A parser error in go-yaml's words. libyaml counts lines from 0 and adds 1 only for scanner errors, so
/// parser errors (`did not find expected key`) name the line before the offending token; the first line is
/// not named at all.
fn scan_err(e: &ScanError, src: &str) -> DecodeError {
    let info = e.info();
    let line = e.marker().line();
    let parser_error = |msg: &str| match line.saturating_sub(1) {
        0 => yaml_err(msg),
        zero_based => DecodeError::Yaml(format!("yaml: line {zero_based}: {msg}")),
    };
    let eof_line = src.matches('\n').count() + 1;
    match info.as_str() {
        "while parsing a block mapping, did not find expected key" => {
            parser_error("did not find expected key")
        }
        "while parsing a block collection, did not find expected '-' indicator" => {
            parser_error("did not find expected '-' indicator")
        }
        "while parsing a node, did not find expected node content" => {
            parser_error("did not find expected node content")
        }
        "while parsing a flow mapping, did not find expected ',' or '}'" => {
            parser_error("did not find expected ',' or '}'")
        }
        "while parsing a flow sequence, expected ',' or ']'" => {
            parser_error("did not find expected ',' or ']'")
        }
        "tabs disallowed within this context (block indentation)" | "tabs disallowed in this context" => {
            line_err(line, "found character that cannot start any token")
        }
        "while parsing node, found unknown anchor" => {
            let offset = e.marker().index();
            let name: String = src
                .get(offset..)
                .unwrap_or("")
                .trim_start_matches('*')
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
                .collect();
            yaml_err(format!("unknown anchor '{name}' referenced"))
        }
        "unclosed quote" => line_err(eof_line, "found unexpected end of stream"),
        other => {
            if other.starts_with("unexpected character: ") {
                return line_err(line, "found character that cannot start any token");
            }
            let msg = other
                .strip_prefix("while parsing a quoted scalar, ")
                .or_else(|| other.strip_prefix("while scanning a quoted scalar, "))
                .unwrap_or(other);
            line_err(line, msg)
        }
    }
}

fn yaml_err(msg: impl std::fmt::Display) -> DecodeError {
    DecodeError::Yaml(format!("yaml: {msg}"))
}

impl<'i> Builder<'i> {
    fn next_ev(&mut self) -> Result<Option<(Event<'i>, Span)>, DecodeError> {
        if let Some(e) = self.peeked.take() {
            return Ok(Some(e));
        }
        loop {
            match self.parser.next() {
                None => return Ok(None),
                Some(Err(e)) => return Err(scan_err(&e, self.src)),
                Some(Ok((e, span))) => match e {
                    Event::Comment(..) | Event::Anchor(..) => continue,
                    _ => return Ok(Some((e, span))),
                },
            }
        }
    }

    fn peek_ev(&mut self) -> Result<Option<&(Event<'i>, Span)>, DecodeError> {
        if self.peeked.is_none() {
            self.peeked = self.next_ev()?;
        }
        Ok(self.peeked.as_ref())
    }

    fn first_document(&mut self) -> Result<GoYaml, DecodeError> {
        while let Some((ev, _)) = self.next_ev()? {
            match ev {
                Event::StreamStart => {}
                Event::StreamEnd => return Ok(GoYaml::Nil),
                Event::DocumentStart(..) => {
                    if matches!(self.peek_ev()?, Some((Event::DocumentEnd, _))) {
                        return Ok(GoYaml::Nil);
                    }
                    let v = self.node()?;
                    // go-yaml expects the document end; a syntax error right after the node surfaces here.
                    self.next_ev()?;
                    return Ok(v);
                }
                _ => return Err(yaml_err("did not find expected node content")),
            }
        }
        Ok(GoYaml::Nil)
    }

    fn node(&mut self) -> Result<GoYaml, DecodeError> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err(yaml_err("exceeded max depth of 10000"))
        } else {
            self.node_inner()
        };
        self.depth -= 1;
        r
    }

    fn node_inner(&mut self) -> Result<GoYaml, DecodeError> {
        let Some((ev, span)) = self.next_ev()? else {
            return Err(yaml_err(
                "attempted to go past the end of stream; corrupted value?",
            ));
        };
        let line = span.start.line();
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let v = resolve_scalar(&text, style, tag.as_deref()).map_err(|m| line_err(0, &m))?;
                if anchor != 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                Ok(v)
            }
            Event::Alias(id) => {
                let v = self
                    .anchors
                    .get(&id)
                    .ok_or_else(|| line_err(line, "unknown anchor referenced"))?;
                self.alias_nodes += node_count(v);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(yaml_err("document contains excessive aliasing"));
                }
                Ok(v.clone())
            }
            Event::SequenceStart(_, anchor, _) => {
                let mut items = Vec::new();
                loop {
                    match self.peek_ev()?.map(|e| &e.0) {
                        Some(Event::SequenceEnd) => {
                            self.peeked = None;
                            break;
                        }
                        Some(_) => items.push(self.node()?),
                        None => return Err(line_err(line, "did not find expected node content")),
                    }
                }
                let v = GoYaml::Seq(items);
                if anchor != 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                Ok(v)
            }
            Event::MappingStart(_, anchor, _) => {
                let v = self.mapping(line)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                Ok(v)
            }
            _ => Err(line_err(line, "did not find expected node content")),
        }
    }

    fn mapping(&mut self, line: usize) -> Result<GoYaml, DecodeError> {
        let mut entries: Vec<(GoYaml, GoYaml)> = Vec::new();
        loop {
            let is_merge = match self.peek_ev()? {
                Some((Event::MappingEnd, _)) => {
                    self.peeked = None;
                    break;
                }
                Some((Event::Scalar(t, ScalarStyle::Plain, _, tag), _)) => {
                    t == "<<" && tag.as_ref().is_none_or(|t| is_core_tag(t, "merge"))
                }
                Some((Event::Scalar(t, _, _, Some(tag)), _)) => t == "<<" && is_core_tag(tag, "merge"),
                Some(_) => false,
                None => return Err(line_err(line, "did not find expected key")),
            };
            let key = self.node()?;
            let val = self.node()?;
            if is_merge {
                merge_into(&mut entries, val)?;
                continue;
            }
            if matches!(key, GoYaml::Map(_) | GoYaml::Seq(_)) {
                return Err(yaml_err(format!("invalid map key: {}", go_sharp_v(&key))));
            }
            set_entry(&mut entries, key, val);
        }
        Ok(GoYaml::Map(entries))
    }
}

fn set_entry(entries: &mut Vec<(GoYaml, GoYaml)>, key: GoYaml, val: GoYaml) {
    if let Some(slot) = entries.iter_mut().find(|(k, _)| same_key(k, &key)) {
        slot.1 = val;
    } else {
        entries.push((key, val));
    }
}

/// Go map key equality of two decoded scalars.
fn same_key(a: &GoYaml, b: &GoYaml) -> bool {
    match (a, b) {
        (GoYaml::Nil, GoYaml::Nil) => true,
        (GoYaml::Bool(x), GoYaml::Bool(y)) => x == y,
        (GoYaml::Int(x), GoYaml::Int(y)) => x == y,
        (GoYaml::Uint(x), GoYaml::Uint(y)) => x == y,
        (GoYaml::Float(x), GoYaml::Float(y)) => x == y,
        (GoYaml::Str(x), GoYaml::Str(y)) => x == y,
        _ => false,
    }
}

/// go-yaml v2's merge: the merged map's keys are set over the current ones; in a sequence of maps the earlier
/// maps win.
fn merge_into(entries: &mut Vec<(GoYaml, GoYaml)>, val: GoYaml) -> Result<(), DecodeError> {
    let want_map = || yaml_err("map merge requires map or sequence of maps as the value");
    match val {
        GoYaml::Map(m) => {
            for (k, v) in m {
                set_entry(entries, k, v);
            }
        }
        GoYaml::Seq(items) => {
            for item in items.into_iter().rev() {
                match item {
                    GoYaml::Map(m) => {
                        for (k, v) in m {
                            set_entry(entries, k, v);
                        }
                    }
                    _ => return Err(want_map()),
                }
            }
        }
        _ => return Err(want_map()),
    }
    Ok(())
}

fn node_count(v: &GoYaml) -> usize {
    match v {
        GoYaml::Seq(a) => 1 + a.iter().map(node_count).sum::<usize>(),
        GoYaml::Map(m) => {
            1 + m
                .iter()
                .map(|(k, v)| node_count(k) + node_count(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

fn is_core_tag(tag: &Tag, name: &str) -> bool {
    tag.handle() == "tag:yaml.org,2002:" && tag.suffix() == name
}

/// go-yaml v2's `d.scalar` for a scalar decoded into `interface{}`.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<GoYaml, String> {
    let Some(tag) = tag else {
        if style != ScalarStyle::Plain {
            return Ok(GoYaml::Str(text.to_string()));
        }
        return Ok(resolve_plain(text));
    };
    if tag.handle() != "tag:yaml.org,2002:" {
        // Local tags (`!foo`, `!`) are not resolvable: the text stays a string.
        return Ok(GoYaml::Str(text.to_string()));
    }
    let name = tag.suffix();
    let resolved = match name {
        "str" => return Ok(GoYaml::Str(text.to_string())),
        "binary" => {
            return match decode_base64(text) {
                Some(bytes) => Ok(GoYaml::Str(String::from_utf8_lossy(&bytes).into_owned())),
                None => Err("!!binary value contains invalid base64 data".to_string()),
            };
        }
        "bool" | "int" | "float" | "null" | "timestamp" => resolve_plain(text),
        _ => return Ok(GoYaml::Str(text.to_string())),
    };
    let rtag = match &resolved {
        GoYaml::Nil => "null",
        GoYaml::Bool(_) => "bool",
        GoYaml::Int(_) | GoYaml::Uint(_) => "int",
        GoYaml::Float(_) => "float",
        GoYaml::Str(s) if is_v2_timestamp(s) => "timestamp",
        _ => "str",
    };
    if rtag == name {
        return Ok(resolved);
    }
    if name == "float" {
        match resolved {
            GoYaml::Int(i) => return Ok(GoYaml::Float(i as f64)),
            GoYaml::Uint(u) => return Ok(GoYaml::Float(u as f64)),
            _ => {}
        }
    }
    Err(format!("cannot decode !!{rtag} `{text}` as a !!{name}"))
}

/// go-yaml v2's `resolve("", s)` for a plain scalar.
fn resolve_plain(s: &str) -> GoYaml {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return GoYaml::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return GoYaml::Bool(false);
        }
        "" | "~" | "null" | "Null" | "NULL" => return GoYaml::Nil,
        ".nan" | ".NaN" | ".NAN" => return GoYaml::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return GoYaml::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return GoYaml::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match s.as_bytes()[0] {
        b'.' => {
            if let Some(f) = go_parse_float(s) {
                return GoYaml::Float(f);
            }
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if is_v2_timestamp(s) {
                // go-yaml v2 keeps timestamps decoded into interface{} as their text.
                return GoYaml::Str(s.to_string());
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(v) = go_parse_int(&plain) {
                return v;
            }
            if is_yaml_style_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return GoYaml::Float(f);
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                if let Ok(i) = i64::from_str_radix(rest, 2)
                    && !rest.starts_with(['+', '-'])
                {
                    return GoYaml::Int(i);
                }
                if let Ok(u) = u64::from_str_radix(rest, 2)
                    && !rest.starts_with('+')
                {
                    return GoYaml::Uint(u);
                }
            } else if let Some(rest) = plain.strip_prefix("-0b")
                && !rest.starts_with(['+', '-'])
                && let Ok(i) = i64::from_str_radix(&format!("-{rest}"), 2)
            {
                return GoYaml::Int(i);
            }
        }
        _ => {}
    }
    GoYaml::Str(s.to_string())
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal text (out-of-range values are errors, as in Go).
fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > st
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    } else {
        if !digits(&mut i) {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<GoYaml> {
    let (neg, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
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
        (mag <= i64::MAX as u64 + 1).then(|| GoYaml::Int((mag as i128).wrapping_neg() as i64))
    } else if mag <= i64::MAX as u64 {
        Some(GoYaml::Int(mag as i64))
    } else if s.starts_with('+') {
        // ParseUint refuses a sign.
        None
    } else {
        Some(GoYaml::Uint(mag))
    }
}

/// Whether go-yaml v2 reads the text as a timestamp (`2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00`,
/// `2006-1-2 15:4:5.999999999`).
pub(crate) fn is_v2_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let num = |i: &mut usize, max: usize| -> Option<u32> {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - st < max {
            *i += 1;
        }
        if *i == st {
            return None;
        }
        std::str::from_utf8(&b[st..*i]).ok()?.parse().ok()
    };
    let Some(month) = num(&mut i, 2) else { return false };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let Some(day) = num(&mut i, 2) else { return false };
    if !(1..=12).contains(&month) || !(1..=days_in(s, month)).contains(&day) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let zone_allowed = match b[i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return false,
    };
    i += 1;
    let Some(h) = num(&mut i, 2) else { return false };
    if b.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    let Some(m) = num(&mut i, 2) else { return false };
    if b.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    let Some(sec) = num(&mut i, 2) else { return false };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == st {
            return false;
        }
    }
    let zone = &s[i..];
    if zone.is_empty() {
        return true;
    }
    if !zone_allowed {
        return false;
    }
    if zone == "Z" {
        return true;
    }
    let z = zone.as_bytes();
    z.len() == 6
        && matches!(z[0], b'+' | b'-')
        && z[1].is_ascii_digit()
        && z[2].is_ascii_digit()
        && z[3] == b':'
        && z[4].is_ascii_digit()
        && z[5].is_ascii_digit()
}

fn days_in(s: &str, month: u32) -> u32 {
    let y: u32 = s[..4].parse().unwrap_or(1);
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

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
            b'\n' | b'\r' => continue,
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

/// `convertToJSONableObject`, `json.Marshal` and `json.Unmarshal` in one step.
fn to_json_value(v: &GoYaml) -> Result<Value, DecodeError> {
    Ok(match v {
        GoYaml::Nil => Value::Nil,
        GoYaml::Bool(b) => Value::Bool(*b),
        GoYaml::Int(i) => Value::Float(*i as f64),
        GoYaml::Uint(u) => Value::Float(*u as f64),
        GoYaml::Float(f) => {
            if !f.is_finite() {
                return Err(DecodeError::Json(
                    crate::json::go_json_float(*f)
                        .err()
                        .map(|e| e.0)
                        .unwrap_or_default(),
                ));
            }
            Value::Float(*f)
        }
        GoYaml::Str(s) => Value::string(s.as_str()),
        GoYaml::Seq(items) => Value::list(items.iter().map(to_json_value).collect::<Result<_, _>>()?),
        GoYaml::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                let key = json_key(k, v)?;
                m.insert(key, to_json_value(v)?);
            }
            Value::map(m)
        }
    })
}

fn json_key(k: &GoYaml, v: &GoYaml) -> Result<String, DecodeError> {
    Ok(match k {
        GoYaml::Str(s) => s.clone(),
        GoYaml::Int(i) => i.to_string(),
        GoYaml::Bool(b) => b.to_string(),
        GoYaml::Float(f) => go_format_g32(*f),
        GoYaml::Uint(u) => {
            return Err(DecodeError::Json(format!(
                "unsupported map key of type: uint64, key: {:#x}, value: {}",
                u,
                go_sharp_v(v)
            )));
        }
        _ => {
            return Err(DecodeError::Json(format!(
                "unsupported map key of type: %!s(<nil>), key: <nil>, value: {}",
                go_sharp_v(v)
            )));
        }
    })
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)` with YAML's names for infinities and NaN.
fn go_format_g32(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    let x = f as f32;
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest digits; %e form when the exponent is < -4 or >= 6 (Go's eprec for shortest 'g').
    let e = format!("{x:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        return format_exp(mant, exp);
    }
    format!("{x}")
}

fn format_exp(mant: &str, exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    let a = exp.unsigned_abs();
    if a < 10 {
        format!("{mant}e{sign}0{a}")
    } else {
        format!("{mant}e{sign}{a}")
    }
}

/// A rough `%#v` of a decoded value, for error messages.
fn go_sharp_v(v: &GoYaml) -> String {
    match v {
        GoYaml::Nil => "interface {}(nil)".to_string(),
        GoYaml::Bool(b) => b.to_string(),
        GoYaml::Int(i) => i.to_string(),
        GoYaml::Uint(u) => format!("{u:#x}"),
        GoYaml::Float(f) => f.to_string(),
        GoYaml::Str(s) => format!("{s:?}"),
        GoYaml::Seq(items) => format!(
            "[]interface {{}}{{{}}}",
            items.iter().map(go_sharp_v).collect::<Vec<_>>().join(", ")
        ),
        GoYaml::Map(entries) => format!(
            "map[interface {{}}]interface {{}}{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}:{}", go_sharp_v(k), go_sharp_v(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_keys_use_float32_digits() {
        assert_eq!(go_format_g32(1.5), "1.5");
        assert_eq!(go_format_g32(0.1), "0.1");
        assert_eq!(go_format_g32(1.234567891234), "1.2345679");
        assert_eq!(go_format_g32(1e10), "1e+10");
        assert_eq!(go_format_g32(100000.0), "100000");
        assert_eq!(go_format_g32(1000000.0), "1e+06");
    }

    #[test]
    fn plain_scalars_resolve_as_go_yaml_v2() {
        assert!(matches!(resolve_plain("0777"), GoYaml::Int(511)));
        assert!(matches!(resolve_plain("0x1F"), GoYaml::Int(31)));
        assert!(matches!(resolve_plain("yes"), GoYaml::Bool(true)));
        assert!(matches!(resolve_plain("1_000"), GoYaml::Int(1000)));
        assert!(matches!(resolve_plain("2020-01-01"), GoYaml::Str(_)));
        assert!(matches!(resolve_plain("1e400"), GoYaml::Str(_)));
        assert!(matches!(resolve_plain("0b101"), GoYaml::Int(5)));
        assert!(matches!(resolve_plain("18446744073709551615"), GoYaml::Uint(_)));
    }
}
