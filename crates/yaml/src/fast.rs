//! A fast reader for the block-style YAML most Kubernetes manifests are written in.
//!
//! It reads one line at a time and builds [`serde_json::Value`]s directly, without an event
//! stream. It only accepts a conservative subset: block mappings and sequences (including
//! indentless sequences and compact `- key: value` items), single-line plain, single- and
//! double-quoted scalars, single-line flow collections, literal block scalars (`|`, `|-`, `|+`)
//! and comments. Anything else (anchors, aliases, tags, folded scalars, multi-line flow or
//! quoted scalars, tabs, unusual characters, anything invalid) makes it give up with `None`, and
//! the caller then uses the full YAML parser, so results never differ from it.

use serde_json::{Map, Value};

use crate::parse::{Document, Schema, is_inf_or_nan, resolve_plain, resolve_plain_yaml11};

/// Keys longer than this many bytes are left to the full parser (YAML's limit on implicit keys is 1 024
/// characters).
const LONG_KEY: usize = 1000;

/// Deepest nesting the fast reader handles before leaving the document to the full parser.
const MAX_DEPTH: usize = 128;

/// Parses `src` when it only uses the supported subset; `None` otherwise.
pub(crate) fn parse(src: &str, schema: Schema) -> Option<Vec<Document>> {
    if !plain_characters(src) {
        return None;
    }
    let mut p = Reader::new(src, schema);
    p.documents()
}

/// Whether the text avoids every character the fast reader does not handle (tabs, carriage
/// returns, other control characters, BOM, NEL and the Unicode line separators).
fn plain_characters(src: &str) -> bool {
    let ascii_ok = src.bytes().all(|b| b == b'\n' || (b >= 0x20 && b != 0x7f));
    if !ascii_ok {
        return false;
    }
    if src.is_ascii() {
        return true;
    }
    !src.chars().any(|c| {
        matches!(
            c,
            '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
    })
}

#[derive(Clone, Copy)]
struct Line {
    /// Byte offset of the line start in the source.
    start: usize,
    /// Byte offset of the line end (the `\n`, or the end of the source).
    end: usize,
    /// Column where the content starts (leading spaces).
    indent: usize,
}

struct Reader<'a> {
    src: &'a str,
    lines: Vec<Line>,
    /// Next line to read.
    pos: usize,
    schema: Schema,
    depth: usize,
}

impl<'a> Reader<'a> {
    fn new(src: &'a str, schema: Schema) -> Self {
        let mut lines = Vec::with_capacity(src.len() / 16 + 1);
        let bytes = src.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            let end = memchr_nl(bytes, start);
            let mut indent = 0;
            while start + indent < end && bytes[start + indent] == b' ' {
                indent += 1;
            }
            lines.push(Line { start, end, indent });
            start = end + 1;
        }
        Reader {
            src,
            lines,
            pos: 0,
            schema,
            depth: 0,
        }
    }

    /// The content of line `i` after its indentation.
    fn content(&self, i: usize) -> &'a str {
        let l = self.lines[i];
        &self.src[l.start + l.indent..l.end]
    }

    /// Whether line `i` holds nothing but spaces or a comment.
    fn is_blank(&self, i: usize) -> bool {
        let c = self.content(i);
        c.is_empty() || c.starts_with('#')
    }

    /// Skips blank and comment lines; returns the next content line, if any.
    fn next_content(&mut self) -> Option<usize> {
        while self.pos < self.lines.len() {
            if !self.is_blank(self.pos) {
                return Some(self.pos);
            }
            self.pos += 1;
        }
        None
    }

    fn is_doc_marker(&self, i: usize) -> Option<bool> {
        let l = self.lines[i];
        if l.indent != 0 {
            return Some(false);
        }
        let c = self.content(i);
        if let Some(rest) = c.strip_prefix("---") {
            if rest.is_empty() {
                return Some(true);
            }
            // `--- value`, `--- # comment` and the like: leave to the full parser.
            if rest.starts_with([' ', '\t']) {
                return None;
            }
            return Some(false);
        }
        if c.starts_with("...") || c.starts_with('%') {
            return None;
        }
        Some(false)
    }

    fn documents(&mut self) -> Option<Vec<Document>> {
        let mut docs = Vec::new();
        // Content before the first `---` is a document only if there is some.
        let mut explicit: Option<usize> = None;
        loop {
            let Some(i) = self.next_content() else {
                if let Some(line) = explicit {
                    docs.push(Document {
                        value: Value::Null,
                        line,
                    });
                }
                return Some(docs);
            };
            if self.is_doc_marker(i)? {
                if let Some(line) = explicit {
                    docs.push(Document {
                        value: Value::Null,
                        line,
                    });
                }
                explicit = Some(i + 1);
                self.pos = i + 1;
                continue;
            }
            let line = explicit.unwrap_or(i + 1);
            explicit = None;
            let value = self.block_node(0, i)?;
            // The document must end at a marker or at the end of the stream.
            if let Some(j) = self.next_content()
                && !self.is_doc_marker(j)?
            {
                return None;
            }
            docs.push(Document { value, line });
        }
    }

    /// A block collection starting at content line `i`, whose indentation is at least `min`.
    fn block_node(&mut self, min: usize, i: usize) -> Option<Value> {
        let l = self.lines[i];
        if l.indent < min {
            return None;
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let c = self.content(i);
        let v = if is_seq_entry(c) {
            self.block_sequence(l.indent)
        } else {
            self.block_mapping(l.indent)
        };
        self.depth -= 1;
        v
    }

    /// A block sequence whose `-` entries sit at column `n`.
    fn block_sequence(&mut self, n: usize) -> Option<Value> {
        let mut items = Vec::new();
        while let Some(i) = self.next_content() {
            let l = self.lines[i];
            if l.indent < n || self.is_doc_marker(i)? {
                break;
            }
            if l.indent > n {
                return None;
            }
            let c = self.content(i);
            if !is_seq_entry(c) {
                break;
            }
            let after = &c[1..];
            let spaces = after.len() - after.trim_start_matches(' ').len();
            let rest = &after[spaces..];
            if rest.is_empty() || rest.starts_with('#') {
                if !rest.is_empty() && spaces == 0 {
                    return None;
                }
                // The item is on the following lines (or empty).
                self.pos = i + 1;
                match self.next_content() {
                    Some(j) if self.lines[j].indent > n && self.is_doc_marker(j) == Some(false) => {
                        let v = self.block_node(n + 1, j)?;
                        items.push(v);
                    }
                    _ => items.push(Value::Null),
                }
                continue;
            }
            let offset = n + 1 + spaces;
            if is_seq_entry(rest) {
                return None;
            }
            if mapping_key_split(rest).is_some() {
                // A compact mapping: its first key sits on this line at column `offset`; the
                // line is narrowed so that its content is `rest`.
                let rest_start = l.start + l.indent + 1 + spaces;
                self.lines[i] = Line {
                    start: rest_start - offset,
                    end: l.end,
                    indent: offset,
                };
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return None;
                }
                let v = self.block_mapping(offset)?;
                self.depth -= 1;
                items.push(v);
                continue;
            }
            self.pos = i + 1;
            let v = self.inline_value(rest, n, i)?;
            items.push(v);
        }
        Some(Value::Array(items))
    }

    /// A block mapping whose keys sit at column `n`.
    fn block_mapping(&mut self, n: usize) -> Option<Value> {
        let mut map = Map::new();
        while let Some(i) = self.next_content() {
            let l = self.lines[i];
            if l.indent < n || self.is_doc_marker(i)? {
                break;
            }
            if l.indent > n {
                return None;
            }
            let c = self.content(i);
            if is_seq_entry(c) {
                // A sequence entry where a key is expected (indentless sequences are read as
                // values below): invalid, left to the full parser.
                return None;
            }
            let (key, rest) = mapping_key_split(c)?;
            let key = self.key(key)?;
            if map.contains_key(&key) {
                return None;
            }
            let rest = rest.trim_start_matches(' ');
            self.pos = i + 1;
            let value = if rest.is_empty() || rest.starts_with('#') {
                match self.next_content() {
                    Some(j) if self.is_doc_marker(j) == Some(false) => {
                        let lj = self.lines[j];
                        if lj.indent > n {
                            self.block_node(n + 1, j)?
                        } else if lj.indent == n && is_seq_entry(self.content(j)) {
                            self.depth += 1;
                            if self.depth > MAX_DEPTH {
                                return None;
                            }
                            let v = self.block_sequence(n)?;
                            self.depth -= 1;
                            v
                        } else {
                            Value::Null
                        }
                    }
                    _ => Value::Null,
                }
            } else {
                self.inline_value(rest, n, i)?
            };
            map.insert(key, value);
        }
        Some(Value::Object(map))
    }

    /// A mapping key's text.
    fn key(&self, k: &str) -> Option<String> {
        // YAML limits implicit keys to 1 024 characters; a key near that length is left to the full parser.
        if k.len() > LONG_KEY {
            return None;
        }
        match k.as_bytes()[0] {
            b'"' => {
                let (s, used) = double_quoted(k)?;
                (used == k.len()).then_some(s)
            }
            b'\'' => {
                let (s, used) = single_quoted(k)?;
                (used == k.len()).then_some(s)
            }
            _ => {
                if k == "<<" || !plain_start(k) {
                    return None;
                }
                match self.resolve(k)? {
                    Value::String(s) => Some(s),
                    _ => None,
                }
            }
        }
    }

    /// A value starting on line `i` (after `key: ` or `- `), in a collection at column `n`.
    /// Block scalars continue on the following lines; everything else ends on this line, and
    /// the next content line must not be indented deeper than `n`.
    fn inline_value(&mut self, text: &str, n: usize, i: usize) -> Option<Value> {
        let first = text.as_bytes()[0];
        let v = match first {
            b'|' => return self.literal_block(text, n, i),
            b'>' | b'&' | b'*' | b'!' | b'%' | b'@' | b'`' | b'?' => return None,
            b'"' => {
                let (s, used) = double_quoted(text)?;
                end_of_line(&text[used..])?;
                Value::String(s)
            }
            b'\'' => {
                let (s, used) = single_quoted(text)?;
                end_of_line(&text[used..])?;
                Value::String(s)
            }
            b'[' | b'{' => {
                let mut f = Flow {
                    s: text.as_bytes(),
                    text,
                    i: 0,
                    reader: self,
                    depth: 0,
                };
                let v = f.node()?;
                let used = f.i;
                end_of_line(&text[used..])?;
                v
            }
            _ => {
                let t = plain_in_line(text)?;
                if !plain_start(t) {
                    return None;
                }
                self.resolve(t)?
            }
        };
        // A deeper line after a one-line value would continue a plain scalar or be an error.
        if let Some(j) = self.next_content()
            && self.lines[j].indent > n
        {
            return None;
        }
        Some(v)
    }

    /// A literal block scalar (`|`, `|-`, `|+`) whose header is `text` on line `i`, in a
    /// collection at column `n`.
    fn literal_block(&mut self, text: &str, n: usize, i: usize) -> Option<Value> {
        let header = &text[1..];
        let (chomp, rest) = match header.as_bytes().first() {
            Some(b'-') => (Chomp::Strip, &header[1..]),
            Some(b'+') => (Chomp::Keep, &header[1..]),
            _ => (Chomp::Clip, header),
        };
        if !rest.is_empty() {
            let t = rest.trim_start_matches(' ');
            if t.len() == rest.len() || !t.starts_with('#') {
                return None;
            }
        }
        // Content indentation: that of the first line holding more than spaces.
        let mut j = i + 1;
        let mut leading_blank_max = 0;
        let mut ci = None;
        while j < self.lines.len() {
            let l = self.lines[j];
            if l.start + l.indent == l.end {
                leading_blank_max = leading_blank_max.max(l.indent);
                j += 1;
                continue;
            }
            ci = Some(l.indent);
            break;
        }
        let ci = match ci {
            Some(ci) if ci > n => ci,
            // Empty block scalar: leave the exact chomping of trailing lines to the full parser.
            _ => return None,
        };
        if leading_blank_max > ci {
            return None;
        }
        let mut out = String::new();
        let mut pending_blank = 0usize;
        let mut any = false;
        let mut k = i + 1;
        while k < self.lines.len() {
            let l = self.lines[k];
            if l.start + l.indent == l.end {
                if l.indent > ci {
                    return None;
                }
                pending_blank += 1;
                k += 1;
                continue;
            }
            if l.indent < ci {
                break;
            }
            if any {
                out.push('\n');
            }
            for _ in 0..pending_blank {
                out.push('\n');
            }
            pending_blank = 0;
            out.push_str(&self.src[l.start + ci..l.end]);
            any = true;
            k += 1;
        }
        // A trailing line without a final newline (end of the stream) is still content.
        let ends_with_newline = k > i + 1 && {
            let last = self.lines[k - 1];
            last.end < self.src.len()
        };
        match chomp {
            Chomp::Strip => {}
            // The parser reads a missing final line break as if it were there.
            Chomp::Clip => out.push('\n'),
            Chomp::Keep => {
                if !ends_with_newline {
                    return None;
                }
                if ends_with_newline {
                    out.push('\n');
                }
                for _ in 0..pending_blank {
                    out.push('\n');
                }
            }
        }
        self.pos = k;
        if let Some(j) = self.next_content()
            && self.lines[j].indent > n
        {
            return None;
        }
        Some(Value::String(out))
    }

    fn resolve(&self, t: &str) -> Option<Value> {
        if is_inf_or_nan(t) {
            return None;
        }
        Some(match self.schema {
            Schema::Core => resolve_plain(t),
            Schema::Yaml11 => resolve_plain_yaml11(t),
        })
    }
}

#[derive(Clone, Copy)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

fn memchr_nl(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| from + p)
}

fn is_seq_entry(c: &str) -> bool {
    c == "-" || c.starts_with("- ")
}

/// Whether a plain scalar may start with this text in block context (indicators excluded).
fn plain_start(t: &str) -> bool {
    match t.as_bytes().first() {
        None => false,
        Some(
            b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>'
            | b'\'' | b'"' | b'%' | b'@' | b'`',
        ) => {
            // `:x` and `?x` are plain scalars too, but only `-1`, `-foo` and `--flag` are common.
            let b = t.as_bytes();
            b[0] == b'-' && b.len() > 1 && b[1] != b' '
        }
        Some(_) => true,
    }
}

/// Splits `key: rest` / `key:` on a line; `None` when the line is not a simple mapping entry.
fn mapping_key_split(c: &str) -> Option<(&str, &str)> {
    let b = c.as_bytes();
    match b.first()? {
        b'"' => {
            let (_, used) = double_quoted(c)?;
            let rest = &c[used..];
            let rest = rest.strip_prefix(':')?;
            if !rest.is_empty() && !rest.starts_with(' ') {
                return None;
            }
            Some((&c[..used], rest))
        }
        b'\'' => {
            let (_, used) = single_quoted(c)?;
            let rest = &c[used..];
            let rest = rest.strip_prefix(':')?;
            if !rest.is_empty() && !rest.starts_with(' ') {
                return None;
            }
            Some((&c[..used], rest))
        }
        _ => {
            // The first `: ` (or a final `:`) ends the key.
            let mut k = 0;
            while k < b.len() {
                match b[k] {
                    b':' if k + 1 == b.len() || b[k + 1] == b' ' => {
                        let key = &c[..k];
                        if key.is_empty() || key.ends_with(' ') || key.contains(" #") {
                            return None;
                        }
                        return Some((key, &c[k + 1..]));
                    }
                    b'#' if k > 0 && b[k - 1] == b' ' => return None,
                    _ => {}
                }
                k += 1;
            }
            None
        }
    }
}

/// A single-line plain scalar in block context, its trailing comment removed.
fn plain_in_line(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let mut end = b.len();
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            b'#' if k > 0 && b[k - 1] == b' ' => {
                end = k;
                break;
            }
            // `: ` inside a value is a YAML error; a final `:` would make it a key.
            b':' if k + 1 == b.len() || b[k + 1] == b' ' => return None,
            _ => {}
        }
        k += 1;
    }
    let t = text[..end].trim_end_matches(' ');
    (!t.is_empty()).then_some(t)
}

/// After a value: only spaces and a comment may follow on the line.
fn end_of_line(rest: &str) -> Option<()> {
    let t = rest.trim_start_matches(' ');
    if t.is_empty() || (t.starts_with('#') && t.len() < rest.len()) {
        Some(())
    } else {
        None
    }
}

/// A double-quoted scalar at the start of `t` (single line); returns it and the bytes used.
fn double_quoted(t: &str) -> Option<(String, usize)> {
    let b = t.as_bytes();
    let mut out = String::new();
    let mut k = 1;
    let mut run = 1;
    while k < b.len() {
        match b[k] {
            b'"' => {
                out.push_str(&t[run..k]);
                return Some((out, k + 1));
            }
            b'\\' => {
                out.push_str(&t[run..k]);
                let e = *b.get(k + 1)?;
                out.push(match e {
                    b'\\' => '\\',
                    b'"' => '"',
                    b'/' => '/',
                    b'n' => '\n',
                    b't' => '\t',
                    b'r' => '\r',
                    b'0' => '\0',
                    b' ' => ' ',
                    _ => return None,
                });
                k += 2;
                run = k;
                continue;
            }
            _ => {}
        }
        k += 1;
    }
    None
}

/// A single-quoted scalar at the start of `t` (single line); returns it and the bytes used.
fn single_quoted(t: &str) -> Option<(String, usize)> {
    let b = t.as_bytes();
    let mut out = String::new();
    let mut k = 1;
    let mut run = 1;
    while k < b.len() {
        if b[k] == b'\'' {
            if b.get(k + 1) == Some(&b'\'') {
                out.push_str(&t[run..=k]);
                k += 2;
                run = k;
                continue;
            }
            out.push_str(&t[run..k]);
            return Some((out, k + 1));
        }
        k += 1;
    }
    None
}

/// A flow collection on one line.
struct Flow<'r, 'a, 't> {
    s: &'t [u8],
    text: &'t str,
    i: usize,
    reader: &'r Reader<'a>,
    depth: usize,
}

impl Flow<'_, '_, '_> {
    fn skip_spaces(&mut self) {
        while self.i < self.s.len() && self.s[self.i] == b' ' {
            self.i += 1;
        }
    }

    fn node(&mut self) -> Option<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.skip_spaces();
        let v = match *self.s.get(self.i)? {
            b'[' => self.sequence(),
            b'{' => self.mapping(),
            _ => self.scalar().and_then(|(v, _)| v),
        };
        self.depth -= 1;
        v
    }

    /// A scalar; also returns whether it was plain (for keys).
    fn scalar(&mut self) -> Option<(Option<Value>, bool)> {
        let rest = &self.text[self.i..];
        match *self.s.get(self.i)? {
            b'"' => {
                let (s, used) = double_quoted(rest)?;
                self.i += used;
                Some((Some(Value::String(s)), false))
            }
            b'\'' => {
                let (s, used) = single_quoted(rest)?;
                self.i += used;
                Some((Some(Value::String(s)), false))
            }
            _ => {
                let b = rest.as_bytes();
                let mut k = 0;
                while k < b.len() {
                    match b[k] {
                        b',' | b'[' | b']' | b'{' | b'}' => break,
                        b':' if k + 1 == b.len() || matches!(b[k + 1], b' ' | b',' | b']' | b'}') => break,
                        b'#' => return None,
                        _ => {}
                    }
                    k += 1;
                }
                let t = rest[..k].trim_end_matches(' ');
                if t.is_empty() || !plain_start(t) {
                    return None;
                }
                self.i += k;
                Some((Some(self.reader.resolve(t)?), true))
            }
        }
    }

    fn sequence(&mut self) -> Option<Value> {
        self.i += 1;
        let mut items = Vec::new();
        self.skip_spaces();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Some(Value::Array(items));
        }
        loop {
            let v = self.node()?;
            self.skip_spaces();
            // `[a: b]` (single-pair mappings) is left to the full parser.
            match *self.s.get(self.i)? {
                b',' => {
                    items.push(v);
                    self.i += 1;
                    self.skip_spaces();
                    if matches!(self.s.get(self.i), Some(b']') | None) {
                        return None;
                    }
                }
                b']' => {
                    items.push(v);
                    self.i += 1;
                    return Some(Value::Array(items));
                }
                _ => return None,
            }
        }
    }

    fn mapping(&mut self) -> Option<Value> {
        self.i += 1;
        let mut map = Map::new();
        self.skip_spaces();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Some(Value::Object(map));
        }
        loop {
            self.skip_spaces();
            let (k, plain) = self.scalar()?;
            let key = match k? {
                Value::String(s) => s,
                _ => return None,
            };
            if plain && key == "<<" {
                return None;
            }
            self.skip_spaces();
            if self.s.get(self.i) != Some(&b':') {
                return None;
            }
            self.i += 1;
            if plain && self.s.get(self.i) != Some(&b' ') {
                return None;
            }
            self.skip_spaces();
            if matches!(self.s.get(self.i), Some(b',') | Some(b'}')) {
                return None;
            }
            let v = self.node()?;
            if map.insert(key, v).is_some() {
                return None;
            }
            self.skip_spaces();
            match *self.s.get(self.i)? {
                b',' => {
                    self.i += 1;
                    self.skip_spaces();
                    if matches!(self.s.get(self.i), Some(b'}') | None) {
                        return None;
                    }
                }
                b'}' => {
                    self.i += 1;
                    return Some(Value::Object(map));
                }
                _ => return None,
            }
        }
    }
}
