//! go-yaml v3's encoder with `SetIndent(2)`, as Helm's `toYamlPretty` uses it: values as they are (no JSON
//! step), sorted keys, sequences indented under their key, no line folding, v3's quoting (strings that v3
//! would read as another type, and YAML 1.1 booleans such as `yes`, are double-quoted).

use std::cmp::Ordering;

use tack_gotemplate::Value;

const INDENT: usize = 2;

/// The document, ending with a newline; `None` when a value cannot be encoded.
pub(crate) fn encode(v: &Value) -> Option<String> {
    let mut out = String::new();
    node(&mut out, v, 0, Pos::Top, 0)?;
    out.push('\n');
    Some(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Pos {
    /// The document root.
    Top,
    /// A mapping value (after `key:`).
    MapValue,
    /// A sequence item (after `- `).
    SeqItem,
}

fn node(out: &mut String, v: &Value, indent: usize, pos: Pos, depth: usize) -> Option<()> {
    if depth > 10_000 {
        return None;
    }
    match v {
        Value::Map(m) if !m.borrow().is_empty() => {
            let m = m.borrow();
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| key_order(a.0, b.0));
            let inner = match pos {
                Pos::Top => 0,
                Pos::MapValue => indent + INDENT,
                Pos::SeqItem => indent,
            };
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if pos == Pos::SeqItem && i == 0 {
                    out.push(' ');
                }
                match pos {
                    Pos::MapValue => newline_indent(out, inner),
                    Pos::Top | Pos::SeqItem if i > 0 => newline_indent(out, inner),
                    _ => {}
                }
                scalar(out, k, inner, true);
                out.push(':');
                node(out, item, inner, Pos::MapValue, depth + 1)?;
            }
        }
        Value::List(items) if !items.is_empty() => {
            let inner = match pos {
                Pos::Top => 0,
                Pos::MapValue => indent + INDENT,
                Pos::SeqItem => indent,
            };
            for (i, item) in items.iter().enumerate() {
                if pos == Pos::SeqItem && i == 0 {
                    out.push(' ');
                }
                match pos {
                    Pos::MapValue => newline_indent(out, inner),
                    Pos::Top | Pos::SeqItem if i > 0 => newline_indent(out, inner),
                    _ => {}
                }
                out.push('-');
                node(out, item, inner + INDENT, Pos::SeqItem, depth + 1)?;
            }
        }
        _ => {
            if pos != Pos::Top {
                out.push(' ');
            }
            leaf(out, v, indent, pos, depth)?;
        }
    }
    Some(())
}

fn newline_indent(out: &mut String, indent: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', indent));
}

fn leaf(out: &mut String, v: &Value, indent: usize, pos: Pos, depth: usize) -> Option<()> {
    let block_indent = match pos {
        Pos::Top => 0,
        Pos::MapValue => indent + INDENT,
        Pos::SeqItem => indent,
    };
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&tack_yaml::go_format_g(*f)),
        Value::String(s) => scalar(out, s, block_indent, false),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => scalar(out, s, block_indent, false),
            Err(_) => {
                out.push_str("!!binary ");
                out.push_str(&crate::json::base64_std(b));
            }
        },
        Value::Map(_) => out.push_str("{}"),
        Value::List(_) => out.push_str("[]"),
        Value::Object(o) => {
            let data = o.to_data()?;
            return node(out, &data, indent, pos, depth + 1);
        }
    }
    Some(())
}

fn key_order(a: &str, b: &str) -> Ordering {
    tack_yaml::key_cmp(a, b)
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// A string scalar; `indent` is the block indentation its continuation lines take.
fn scalar(out: &mut String, s: &str, indent: usize, simple_key: bool) {
    let requested = if s.contains('\n') {
        Style::Literal
    } else if can_use_plain(s) {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    let mut style = requested;
    if style == Style::Plain && (!a.block_plain || (s.is_empty() && simple_key)) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block || simple_key) {
        style = Style::Double;
    }
    match style {
        Style::Plain => out.push_str(s),
        Style::Single => {
            out.push('\'');
            out.push_str(&s.replace('\'', "''"));
            out.push('\'');
        }
        Style::Double => double(out, s),
        Style::Literal => literal(out, s, indent),
    }
}

fn double(out: &mut String, s: &str) {
    out.push('"');
    let leading_bom = s.starts_with('\u{FEFF}');
    for c in s.chars() {
        if leading_bom || !printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
            out.push('\\');
            match c {
                '\0' => out.push('0'),
                '\u{7}' => out.push('a'),
                '\u{8}' => out.push('b'),
                '\t' => out.push('t'),
                '\n' => out.push('n'),
                '\u{b}' => out.push('v'),
                '\u{c}' => out.push('f'),
                '\r' => out.push('r'),
                '\u{1b}' => out.push('e'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '\u{85}' => out.push('N'),
                '\u{a0}' => out.push('_'),
                '\u{2028}' => out.push('L'),
                '\u{2029}' => out.push('P'),
                _ => {
                    let v = c as u32;
                    if v <= 0xFF {
                        out.push_str(&format!("x{v:02X}"));
                    } else if v <= 0xFFFF {
                        out.push_str(&format!("u{v:04X}"));
                    } else {
                        out.push_str(&format!("U{v:08X}"));
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out.push('"');
}

fn literal(out: &mut String, s: &str, indent: usize) {
    out.push('|');
    let chars: Vec<char> = s.chars().collect();
    if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
        out.push_str(&INDENT.to_string());
    }
    match chars.last() {
        Some(&last) if is_break(last) => {
            if chars.len() == 1 || is_break(chars[chars.len() - 2]) {
                out.push('+');
            }
        }
        _ => out.push('-'),
    }
    let indent = indent.max(INDENT);
    let mut at_line_start = true;
    out.push('\n');
    for &c in &chars {
        if is_break(c) {
            out.push('\n');
            at_line_start = true;
        } else {
            if at_line_start {
                out.extend(std::iter::repeat_n(' ', indent));
                at_line_start = false;
            }
            out.push(c);
        }
    }
    // The caller writes the line break that ends the document or starts the next entry.
    if out.ends_with('\n') {
        out.pop();
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `is_printable` (characters beyond the Basic Multilingual Plane are not).
fn printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

struct Analysis {
    block_plain: bool,
    single: bool,
    block: bool,
}

/// go-yaml's `yaml_emitter_analyze_scalar` (block context; v3 emits Unicode as is).
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut block_ind = s.starts_with("---") || s.starts_with("...");
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let (mut lead_space, mut lead_break, mut trail_space, mut trail_break) = (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_ws = true;
    for i in 0..n {
        let c = chars[i];
        let followed_ws = i + 1 >= n || matches!(chars[i + 1], ' ' | '\t');
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@'
                | '`' => block_ind = true,
                '?' | ':' | '-' if followed_ws => block_ind = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_ws => block_ind = true,
                '#' if preceded_ws => block_ind = true,
                _ => {}
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                lead_space = true;
            }
            if i + 1 == n {
                trail_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                lead_break = true;
            }
            if i + 1 == n {
                trail_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = matches!(c, ' ' | '\t') || is_break(c);
    }
    let mut a = Analysis {
        block_plain: true,
        single: true,
        block: true,
    };
    if lead_space || lead_break || trail_space || trail_break {
        a.block_plain = false;
    }
    if trail_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || tabs || special {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block = false;
    }
    if line_breaks || block_ind {
        a.block_plain = false;
    }
    a
}

/// go-yaml v3: plain only when the text reads back as a string and is neither a base-60 float nor a YAML 1.1
/// boolean.
fn can_use_plain(s: &str) -> bool {
    if matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    ) {
        return false;
    }
    if is_base60_float(s) {
        return false;
    }
    !resolves_to_non_string_v3(s)
}

fn resolves_to_non_string_v3(s: &str) -> bool {
    if matches!(
        s,
        "" | "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    ) || tack_yaml::is_inf_or_nan(s)
    {
        return true;
    }
    match s.as_bytes()[0] {
        b'.' | b'0'..=b'9' | b'+' | b'-' => {
            if super::decode::is_v2_timestamp(s) {
                return true;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            let body = plain.strip_prefix(['+', '-']).unwrap_or(&plain);
            let int =
                |digits: &str, radix: u32| !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
            if int(body, 10)
                || body.strip_prefix("0x").is_some_and(|d| int(d, 16))
                || body.strip_prefix("0o").is_some_and(|d| int(d, 8))
                || body.strip_prefix("0b").is_some_and(|d| int(d, 2))
            {
                return true;
            }
            is_float(&plain)
        }
        _ => false,
    }
}

fn is_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let st = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i > st;
    let mut frac_digits = false;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i > f;
    }
    if !int_digits && !frac_digits {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let e = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return false;
        }
    }
    i == b.len()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() && i - st < 2 {
            i += 1;
        }
        if i == st {
            return false;
        }
        if i - st == 2 && b[st] > b'5' {
            i = st + 1;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}
