//! The `kubectl kustomize` emitter: a value is printed the way Kustomize prints a resource
//! (JSON marshalling, then go-yaml v2's `Marshal`): keys sorted by go-yaml v2's key order, 2-space
//! indentation, sequences not indented under their key, go-yaml v2 scalar styles and line folding
//! at 80 columns.

use std::cmp::Ordering;

use serde_json::{Number, Value};

const BEST_WIDTH: usize = 80;
const BEST_INDENT: usize = 2;

/// Prints one document (no `---`), ending with a newline.
pub fn to_yaml(v: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
    };
    match v {
        Value::Object(m) if !m.is_empty() => e.block_mapping(m, 0),
        Value::Array(a) if !a.is_empty() => e.block_sequence(a, 0),
        _ => e.scalar_or_flow(v, 0, false),
    }
    if !e.indention || e.column > 0 || !e.whitespace {
        e.put_break();
    }
    e.out
}

/// Prints documents separated by `---`.
pub fn to_yaml_stream<'a>(docs: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, d) in docs.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(d));
    }
    out
}

/// go-yaml v2's map key order (`keyList.Less`) for string keys.
pub fn key_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        key_cmp_units(a.as_bytes(), b.as_bytes(), |c| c as char)
    } else {
        let ar: Vec<char> = a.chars().collect();
        let br: Vec<char> = b.chars().collect();
        key_cmp_units(&ar, &br, |c| c)
    }
}

fn key_cmp_units<T: Copy + PartialEq>(ar: &[T], br: &[T], ch: impl Fn(T) -> char) -> Ordering {
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let (ca, cb) = (ch(ar[i]), ch(br[i]));
        let al = ca.is_alphabetic();
        let bl = cb.is_alphabetic();
        if al && bl {
            return ca.cmp(&cb);
        }
        if al || bl {
            return if bl { Ordering::Less } else { Ordering::Greater };
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ca == '0' || cb == '0' {
            let mut j = i;
            while j > 0 {
                j -= 1;
                let cj = ch(ar[j]);
                if !cj.is_ascii_digit() {
                    break;
                }
                if cj != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ch(ar[ai]).is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(ch(ar[ai]) as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && ch(br[bi]).is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(ch(br[bi]) as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ca.cmp(&cb);
    }
    ar.len().cmp(&br.len())
}

struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        for c in ind.chars() {
            self.put(c);
        }
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    fn block_mapping(&mut self, m: &serde_json::Map<String, Value>, indent: usize) {
        if let Some(merge) = m.get("<<") {
            // go-yaml v2 reads a `<<` key back as a merge key, even quoted: a map value is merged
            // in (existing keys win), anything else disappears.
            let mut merged = m.clone();
            merged.remove("<<");
            let sources: Vec<&serde_json::Map<String, Value>> = match merge {
                Value::Object(o) => vec![o],
                Value::Array(a) => a.iter().filter_map(Value::as_object).collect(),
                _ => Vec::new(),
            };
            for src in sources {
                for (k, v) in src {
                    merged.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            if merged.is_empty() {
                self.scalar_or_flow(&Value::Object(merged), indent, false);
            } else {
                self.block_mapping(&merged, indent);
            }
            return;
        }
        let mut entries: Vec<(&String, &Value)> = m.iter().collect();
        // Maps are stored in byte order, which usually is go-yaml's order already.
        if !entries
            .windows(2)
            .all(|w| key_cmp(w[0].0, w[1].0) != Ordering::Greater)
        {
            entries.sort_by(|a, b| key_cmp(a.0, b.0));
        }
        for (k, v) in entries {
            self.write_indent(indent);
            // go-yaml's simple-key limit counts bytes.
            let simple = k.len() <= 128 && !k.chars().any(is_break_char);
            if simple {
                self.string_scalar(k, indent, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.string_scalar(k, indent, false);
                self.write_indent(indent);
                self.write_indicator(":", true, false, true);
            }
            self.node_in_mapping(v, indent);
        }
    }

    fn node_in_mapping(&mut self, v: &Value, indent: usize) {
        match v {
            Value::Object(m) if !m.is_empty() => self.block_mapping(m, indent + BEST_INDENT),
            Value::Array(a) if !a.is_empty() => {
                // Sequences are not indented under their key.
                self.block_sequence(a, indent);
            }
            _ => self.scalar_or_flow(v, indent, false),
        }
    }

    fn block_sequence(&mut self, a: &[Value], indent: usize) {
        for item in a {
            self.write_indent(indent);
            self.write_indicator("-", true, false, true);
            match item {
                Value::Object(m) if !m.is_empty() => self.block_mapping(m, indent + BEST_INDENT),
                Value::Array(inner) if !inner.is_empty() => self.block_sequence(inner, indent + BEST_INDENT),
                _ => self.scalar_or_flow(item, indent, false),
            }
        }
    }

    /// Scalars and empty collections; `indent` is the enclosing collection's indent.
    fn scalar_or_flow(&mut self, v: &Value, indent: usize, simple_key: bool) {
        match v {
            Value::Object(_) => {
                self.write_indicator("{", true, true, false);
                self.write_indicator("}", false, false, false);
            }
            Value::Array(_) => {
                self.write_indicator("[", true, true, false);
                self.write_indicator("]", false, false, false);
            }
            Value::Null => self.plain("null", indent + BEST_INDENT, false),
            Value::Bool(b) => self.plain(if *b { "true" } else { "false" }, indent + BEST_INDENT, false),
            Value::Number(n) => {
                let s = number_text(n);
                self.plain(&s, indent + BEST_INDENT, false)
            }
            Value::String(s) => {
                if s.contains('\u{85}') {
                    let folded = fold_nel(s);
                    self.string_scalar(&folded, indent, simple_key)
                } else {
                    self.string_scalar(s, indent, simple_key)
                }
            }
        }
    }

    fn string_scalar(&mut self, s: &str, indent: usize, simple_key: bool) {
        let requested = if s.contains('\n') {
            Style::Literal
        } else if can_use_plain(s) {
            Style::Plain
        } else {
            Style::Double
        };
        let a = analyze(s);
        let mut style = requested;
        if style == Style::Plain && (!a.block_plain_allowed || (s.is_empty() && simple_key)) {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::Double;
        }
        let si = indent + BEST_INDENT;
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.plain(s, si, allow_breaks),
            Style::Single => self.single(s, si, allow_breaks),
            Style::Double => self.double(s, si, allow_breaks),
            Style::Literal => self.literal(s, si),
        }
    }

    fn plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        if !s.contains(' ') {
            // Nothing to fold.
            self.out.push_str(s);
            self.column += if s.is_ascii() { s.len() } else { s.chars().count() };
            self.whitespace = false;
            self.indention = false;
            return;
        }
        let mut spaces = false;
        let mut it = s.chars().peekable();
        while let Some(c) = it.next() {
            if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && it.peek().is_some_and(|&n| n != ' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn single(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        let n = chars.len();
        let mut i = 0;
        while i < n {
            let c = chars[i];
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i < n - 1
                    && chars.get(i + 1).is_some_and(|&n| n != ' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break_char(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
            i += 1;
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn double(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        // go-yaml's BOM test looks at the start of the value, not at the current character: a
        // value that starts with a BOM has every character escaped.
        let leading_bom = s.starts_with('\u{FEFF}');
        let mut i = 0;
        while i < n {
            let c = chars[i];
            if leading_bom || !is_printable(c) || c == '\u{FEFF}' || is_break_char(c) || c == '"' || c == '\\'
            {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let v = c as u32;
                        let (p, w) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(p);
                        for k in (0..w).rev() {
                            let d = (v >> (k * 4)) & 0xF;
                            let ch = if d < 10 {
                                (b'0' + d as u8) as char
                            } else {
                                (b'A' + d as u8 - 10) as char
                            };
                            self.put(ch);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i != 0 && i != n - 1 {
                    self.write_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
            i += 1;
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.write_indicator("|", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        // Block scalar hints.
        if let Some(&first) = chars.first()
            && (first == ' ' || is_break_char(first))
        {
            let h = BEST_INDENT.to_string();
            self.write_indicator(&h, false, false, false);
        }
        match chars.last() {
            None => self.write_indicator("-", false, false, false),
            Some(&last) if !is_break_char(last) => self.write_indicator("-", false, false, false),
            Some(_) => {
                if chars.len() == 1 || is_break_char(chars[chars.len() - 2]) {
                    self.write_indicator("+", false, false, false);
                }
            }
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break_char(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
        self.whitespace = true;
    }
}

/// Kustomize prints resources through JSON, where a raw NEL (U+0085) stays unescaped and is
/// then read back by go-yaml as a line break inside a double-quoted scalar: line folding turns
/// one break into a space and `k` breaks into `k-1` newlines, trimming blanks around them.
fn fold_nel(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\u{85}' {
            while out.ends_with(' ') || out.ends_with('\t') {
                out.pop();
            }
            let mut k = 0;
            while i < chars.len() && matches!(chars[i], '\u{85}' | ' ' | '\t') {
                if chars[i] == '\u{85}' {
                    k += 1;
                }
                i += 1;
            }
            if k == 1 {
                out.push(' ');
            } else {
                for _ in 1..k {
                    out.push('\n');
                }
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn is_break_char(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml's `is_printable`.
fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0A
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
}

struct Analysis {
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_blank_or_end(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break_char(c),
    }
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    if is_simple_ascii(s) {
        return Analysis {
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
    }
    let doc_marker = s.starts_with("---") || s.starts_with("...");
    let (block_indicators, flow_indicators) = (doc_marker, doc_marker);
    if s.is_ascii() {
        analyze_units(s.bytes().map(|b| b as char), block_indicators, flow_indicators)
    } else {
        analyze_units(s.chars(), block_indicators, flow_indicators)
    }
}

/// A one-line ASCII string that the full analysis would find plain-safe in block context:
/// no indicator first, no trailing space, no control characters, no `: ` or ` #`.
fn is_simple_ascii(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else { return false };
    if !s.is_ascii()
        || matches!(
            first,
            b'#' | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
                | b'?'
                | b':'
                | b'-'
                | b' '
                | b'.'
        )
        || b[b.len() - 1] == b' '
    {
        return false;
    }
    for i in 0..b.len() {
        let c = b[i];
        if c < 0x20 || c == 0x7F {
            return false;
        }
        if c == b':' && (i + 1 == b.len() || b[i + 1] == b' ') {
            return false;
        }
        if c == b'#' && b[i - 1] == b' ' {
            return false;
        }
    }
    true
}

/// The flags of go-yaml's `yaml_emitter_analyze_scalar`, computed as it does them, flag by flag, so the two can
/// be compared line by line (long for that reason): which styles a scalar may be written in.
fn analyze_units(
    chars: impl Iterator<Item = char>,
    mut block_indicators: bool,
    mut flow_indicators: bool,
) -> Analysis {
    let mut line_breaks = false;
    let mut special = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;
    let mut preceded_by_ws = true;
    let mut it = chars.peekable();
    let mut i = 0usize;
    while let Some(c) = it.next() {
        let next = it.peek().copied();
        let is_last = next.is_none();
        let followed_by_ws = is_blank_or_end(next);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@'
                | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_ws {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_ws => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_ws {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_ws => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if is_break_char(c) {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if is_last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break_char(c) {
            if i == 0 {
                leading_break = true;
            }
            if is_last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_break = true;
            previous_space = false;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || is_break_char(c);
        i += 1;
    }
    let _ = flow_indicators;
    let mut block_plain = true;
    let mut single = true;
    let mut block = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        block_plain = false;
    }
    if trailing_space {
        block = false;
    }
    if break_space {
        block_plain = false;
        single = false;
    }
    if space_break || special {
        block_plain = false;
        single = false;
        block = false;
    }
    if line_breaks {
        block_plain = false;
    }
    if block_indicators {
        block_plain = false;
    }
    Analysis {
        block_plain_allowed: block_plain,
        single_quoted_allowed: single,
        block_allowed: block,
    }
}

/// go-yaml v2 `resolve("", s)` is `!!str` and `s` is not a base-60 float.
fn can_use_plain(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "n" | "N" | "no" | "No" | "NO" | "off"
        | "Off" | "OFF" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE" | "null" | "Null"
        | "NULL" | "~" | ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf"
        | "+.INF" | "-.inf" | "-.Inf" | "-.INF" => return false,
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' if go_parse_float_any(s) && format!("0{s}").parse::<f64>().is_ok_and(f64::is_finite) => {
            return false;
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if crate::parse::is_v2_timestamp(s) {
                return false;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if crate::parse::go_parse_int(&plain).is_some() {
                return false;
            }
            if crate::parse::is_yaml_style_float(&plain) && plain.parse::<f64>().is_ok_and(f64::is_finite) {
                return false;
            }
            if let Some(rest) = plain.strip_prefix("0b").or_else(|| plain.strip_prefix("-0b"))
                && !rest.is_empty()
                && rest.bytes().all(|b| b == b'0' || b == b'1')
            {
                return false;
            }
        }
        _ => {}
    }
    !is_base60_float(s)
}

/// Go's `strconv.ParseFloat` acceptance for a string beginning with '.'.
fn go_parse_float_any(s: &str) -> bool {
    // Decimal forms only (hex floats cannot begin with '.').
    let b = s.as_bytes();
    let mut i = 1;
    let st = i;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    if i == st {
        return false;
    }
    if s[st..i].contains('_') {
        return false;
    }
    let Some(end) = crate::number::skip_exponent(b, i) else {
        return false;
    };
    i = end;
    i == b.len()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // [0-5]?[0-9]
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() && i - st < 2 {
            i += 1;
        }
        let len = i - st;
        if len == 0 {
            return false;
        }
        if len == 2 && b[st] > b'5' {
            // backtrack: [0-5]?[0-9] could match one digit only
            i = st + 1;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// The text a number takes after JSON marshalling and go-yaml v2 re-reading.
pub fn number_text(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.is_finite() && f == f.trunc() && f.abs() < 1e21 {
        // JSON prints it as an integer literal (shortest digits padded with zeros); go-yaml reads
        // that back as an int if it fits.
        let text = format!("{f}");
        if text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok() {
            return if text == "-0" { "0".to_string() } else { text };
        }
    }
    go_format_g(f)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn go_format_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits via Rust's exponent formatting: "d.ddde-7".
    let e = format!("{:e}", f);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let mut s = String::from(sign);
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        let ae = exp.unsigned_abs();
        if ae < 10 {
            s.push('0');
        }
        s.push_str(&ae.to_string());
        s
    } else {
        format!("{}", f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn slow_analysis(s: &str) -> (bool, bool, bool) {
        let doc_marker = s.starts_with("---") || s.starts_with("...");
        let a = analyze_units(s.chars(), doc_marker, doc_marker);
        (a.block_plain_allowed, a.single_quoted_allowed, a.block_allowed)
    }

    #[test]
    fn simple_ascii_fast_path_agrees_with_full_analysis() {
        let alphabet = ['a', ' ', ':', '#', '-', '.', '?', '\t', '\'', '1'];
        let mut strings = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in &strings {
                for c in alphabet {
                    next.push(format!("{s}{c}"));
                }
            }
            strings.extend(next);
        }
        for s in strings.iter().filter(|s| is_simple_ascii(s)) {
            assert_eq!(slow_analysis(s), (true, true, true), "{s:?}");
        }
    }

    #[test]
    fn key_order_matches_go_yaml_v2() {
        let mut keys = vec![
            "bool", "a10", "a9", "a_b", "aB", "a-b", "2", "A", "é", "z.1", "z/1", "z0", "z00", "z01",
        ];
        keys.sort_by(|a, b| key_cmp(a, b));
        assert_eq!(
            keys,
            vec![
                "2", "A", "a-b", "a_b", "a9", "a10", "aB", "bool", "z.1", "z/1", "z0", "z00", "z01", "é"
            ]
        );
    }

    #[test]
    fn floats() {
        assert_eq!(number_text(&Number::from_f64(1.0).unwrap_or(0.into())), "1");
        assert_eq!(go_format_g(1234567.5), "1.2345675e+06");
        assert_eq!(go_format_g(1e-7), "1e-07");
        assert_eq!(go_format_g(1e20), "1e+20");
        assert_eq!(go_format_g(0.5), "0.5");
        assert_eq!(go_format_g(123456.5), "123456.5");
        let n = |f: f64| Number::from_f64(f).map(|n| number_text(&n)).unwrap_or_default();
        assert_eq!(n(-9223372036854775808.0), "-9.223372036854776e+18");
        assert_eq!(n(1e20), "1e+20");
        assert_eq!(n(-0.0), "0");
    }

    #[test]
    fn scalars() {
        let v = json!({"s": ["1.0", "yes", " lead", "a: b", "-x", "- x", "a\tb", "", "x   "]});
        assert_eq!(
            to_yaml(&v),
            "s:\n- \"1.0\"\n- \"yes\"\n- ' lead'\n- 'a: b'\n- -x\n- '- x'\n- \"a\\tb\"\n- \"\"\n- 'x   '\n"
        );
    }

    #[test]
    fn blocks() {
        let v = json!({"d": {"ml": "a\nb\n", "ml3": "  a\nb\n", "ml4": "a\nb\n\n", "ml7": "\na"}});
        assert_eq!(
            to_yaml(&v),
            "d:\n  ml: |\n    a\n    b\n  ml3: |2\n      a\n    b\n  ml4: |+\n    a\n    b\n\n  ml7: |2-\n\n    a\n"
        );
    }
}
