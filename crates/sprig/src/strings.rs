//! String functions: case, trimming, abbreviation, wrapping, quoting, splitting and joining, with Go's
//! `strings` package and Masterminds/goutils and huandu/xstrings semantics.

use std::collections::BTreeMap;

use tack_gotemplate::{FuncError, Funcs, Value};

use crate::convert::{arity, arity_min, int_arg, str_arg, string_list, strval};

/// Registers a function of one string returning a string.
fn s1(funcs: &mut Funcs, name: &'static str, f: fn(&str) -> String) {
    funcs.insert(name, move |_, a| {
        arity(name, a, 1)?;
        Ok(Value::string(f(&str_arg(&a[0])?)))
    });
}

/// Registers a function of two strings (Sprig's argument order: the pipeline value last).
fn s2<R: Into<Value> + 'static>(funcs: &mut Funcs, name: &'static str, f: fn(&str, &str) -> R) {
    funcs.insert(name, move |_, a| {
        arity(name, a, 2)?;
        Ok(f(&str_arg(&a[0])?, &str_arg(&a[1])?).into())
    });
}

struct Str(String);
impl From<Str> for Value {
    fn from(s: Str) -> Value {
        Value::string(s.0)
    }
}
struct Bool(bool);
impl From<Bool> for Value {
    fn from(b: Bool) -> Value {
        Value::Bool(b.0)
    }
}

pub fn register(funcs: &mut Funcs) {
    funcs.insert("hello", |_, a| {
        arity("hello", a, 0)?;
        Ok(Value::string("Hello!"))
    });
    s1(funcs, "trim", |s| s.trim_matches(is_go_space).to_string());
    s1(funcs, "upper", go_upper);
    s1(funcs, "lower", go_lower);
    s1(funcs, "title", title);
    s1(funcs, "untitle", untitle);
    s1(funcs, "nospace", |s| {
        s.chars().filter(|c| !is_go_space(*c)).collect()
    });
    s1(funcs, "initials", initials);
    s1(funcs, "swapcase", swapcase);
    s1(funcs, "snakecase", |s| {
        crate::strings::case::to_lower_words(s, '_')
    });
    s1(funcs, "kebabcase", |s| {
        crate::strings::case::to_lower_words(s, '-')
    });
    s1(funcs, "camelcase", case::to_camel);
    s2(funcs, "trimall", |a, b| {
        Str(b.trim_matches(|c| a.contains(c)).to_string())
    });
    s2(funcs, "trimAll", |a, b| {
        Str(b.trim_matches(|c| a.contains(c)).to_string())
    });
    s2(funcs, "trimSuffix", |a, b| {
        Str(b.strip_suffix(a).unwrap_or(b).to_string())
    });
    s2(funcs, "trimPrefix", |a, b| {
        Str(b.strip_prefix(a).unwrap_or(b).to_string())
    });
    s2(funcs, "contains", |a, b| Bool(b.contains(a)));
    s2(funcs, "hasPrefix", |a, b| Bool(b.starts_with(a)));
    s2(funcs, "hasSuffix", |a, b| Bool(b.ends_with(a)));
    s2(funcs, "splitList", |sep, s| string_list(go_split(s, sep, -1)));
    s2(funcs, "split", |sep, s| split_map(go_split(s, sep, -1)));
    funcs.insert("splitn", |_, a| {
        arity("splitn", a, 3)?;
        let (sep, n, s) = (str_arg(&a[0])?, int_arg(&a[1])?, str_arg(&a[2])?);
        Ok(split_map(go_split(&s, &sep, n)))
    });
    register_shaping(funcs);
}

/// Functions that cut, pad, wrap or quote strings.
fn register_shaping(funcs: &mut Funcs) {
    funcs.insert("abbrev", |_, a| {
        arity("abbrev", a, 2)?;
        let (w, s) = (int_arg(&a[0])?, str_arg(&a[1])?);
        Ok(Value::string(if w < 4 {
            s.to_string()
        } else {
            abbreviate_full(&s, 0, w).unwrap_or_default()
        }))
    });
    funcs.insert("abbrevboth", |_, a| {
        arity("abbrevboth", a, 3)?;
        let (l, r, s) = (int_arg(&a[0])?, int_arg(&a[1])?, str_arg(&a[2])?);
        if r < 4 || l > 0 && r < 7 {
            return Ok(Value::String(s));
        }
        Ok(Value::string(abbreviate_full(&s, l, r).unwrap_or_default()))
    });
    funcs.insert("trunc", |_, a| {
        arity("trunc", a, 2)?;
        let (c, s) = (int_arg(&a[0])?, str_arg(&a[1])?);
        let len = s.len() as i64;
        let b = s.as_bytes();
        let out = if c < 0 && len + c > 0 {
            &b[(len + c) as usize..]
        } else if c >= 0 && len > c {
            &b[..c as usize]
        } else {
            b
        };
        Ok(Value::string(String::from_utf8_lossy(out).into_owned()))
    });
    funcs.insert("substr", |_, a| {
        arity("substr", a, 3)?;
        let (start, end, s) = (int_arg(&a[0])?, int_arg(&a[1])?, str_arg(&a[2])?);
        Ok(Value::string(substring(start, end, &s)?))
    });
    funcs.insert("repeat", |_, a| {
        arity("repeat", a, 2)?;
        let (n, s) = (int_arg(&a[0])?, str_arg(&a[1])?);
        if n < 0 {
            return Err(FuncError::new("strings: negative Repeat count"));
        }
        if (n as u128) * (s.len() as u128) > MAX_STRING {
            return Err(FuncError::new("strings: Repeat output length overflow"));
        }
        Ok(Value::string(s.repeat(n as usize)))
    });
    funcs.insert("wrap", |_, a| {
        arity("wrap", a, 2)?;
        Ok(Value::string(wrap_custom(
            &str_arg(&a[1])?,
            int_arg(&a[0])?,
            "\n",
            false,
        )))
    });
    funcs.insert("wrapWith", |_, a| {
        arity("wrapWith", a, 3)?;
        let (l, sep, s) = (int_arg(&a[0])?, str_arg(&a[1])?, str_arg(&a[2])?);
        Ok(Value::string(wrap_custom(&s, l, &sep, true)))
    });
    funcs.insert("quote", |_, a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| go_quote(&strval(v)))
            .collect();
        Ok(Value::string(parts.join(" ")))
    });
    funcs.insert("squote", |_, a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format!("'{}'", crate::convert::fmt_v(v)))
            .collect();
        Ok(Value::string(parts.join(" ")))
    });
    funcs.insert("cat", |_, a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(crate::convert::fmt_v)
            .collect();
        Ok(Value::string(parts.join(" ")))
    });
    funcs.insert("indent", |_, a| {
        arity("indent", a, 2)?;
        Ok(Value::string(indent(int_arg(&a[0])?, &str_arg(&a[1])?)?))
    });
    funcs.insert("nindent", |_, a| {
        arity("nindent", a, 2)?;
        Ok(Value::string(format!(
            "\n{}",
            indent(int_arg(&a[0])?, &str_arg(&a[1])?)?
        )))
    });
    register_conversions(funcs);
}

/// Replacing, counting, converting and joining.
fn register_conversions(funcs: &mut Funcs) {
    funcs.insert("replace", |_, a| {
        arity("replace", a, 3)?;
        let (old, new, src) = (str_arg(&a[0])?, str_arg(&a[1])?, str_arg(&a[2])?);
        Ok(Value::string(go_replace(&src, &old, &new)))
    });
    funcs.insert("plural", |_, a| {
        arity("plural", a, 3)?;
        let (one, many, n) = (str_arg(&a[0])?, str_arg(&a[1])?, int_arg(&a[2])?);
        Ok(Value::String(if n == 1 { one } else { many }))
    });
    funcs.insert("toString", |_, a| {
        arity("toString", a, 1)?;
        Ok(Value::string(strval(&a[0])))
    });
    funcs.insert("toStrings", |_, a| {
        arity("toStrings", a, 1)?;
        Ok(string_list(strslice(&a[0])))
    });
    funcs.insert("join", |_, a| {
        arity("join", a, 2)?;
        let sep = str_arg(&a[0])?;
        Ok(Value::string(strslice(&a[1]).join(&sep)))
    });
    funcs.insert("sortAlpha", |_, a| {
        arity("sortAlpha", a, 1)?;
        let mut items = match &a[0] {
            Value::List(_) | Value::Bytes(_) => strslice(&a[0]),
            other => vec![strval(other)],
        };
        items.sort();
        Ok(string_list(items))
    });
    funcs.insert("shuffle", |_, a| {
        arity("shuffle", a, 1)?;
        Ok(Value::string(crate::random::shuffle(&str_arg(&a[0])?)))
    });
    let _ = arity_min;
}

/// Go's `unicode.IsSpace`.
pub fn is_go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

fn go_upper(s: &str) -> String {
    s.chars().map(|c| single_case(c, true)).collect()
}

fn go_lower(s: &str) -> String {
    s.chars().map(|c| single_case(c, false)).collect()
}

/// Go maps each rune to one rune (`unicode.ToUpper`): a rune whose case mapping is several runes stays.
fn single_case(c: char, upper: bool) -> char {
    let mut it: Box<dyn Iterator<Item = char>> = if upper {
        Box::new(c.to_uppercase())
    } else {
        Box::new(c.to_lowercase())
    };
    match (it.next(), it.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// `strings.Title`: upper-cases the first letter of each word (words end at anything but letters, digits,
/// `_` and `'`… as Go's `isSeparator`).
fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) {
                single_case(c, true)
            } else {
                c
            };
            prev = c;
            out
        })
        .collect()
}

fn is_separator(r: char) -> bool {
    if (r as u32) <= 0x7f {
        return !(r.is_ascii_alphanumeric() || r == '_');
    }
    if r.is_alphabetic() || r.is_numeric() {
        return false;
    }
    is_go_space(r)
}

/// goutils `Uncapitalize`: lower-cases the first letter of each whitespace-separated word.
fn untitle(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if is_go_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                single_case(c, false)
            } else {
                c
            }
        })
        .collect()
}

/// goutils `Initials`: the first byte of each whitespace-separated word.
fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut gap = true;
    for b in s.bytes() {
        let c = char::from(b);
        if is_go_space(c) {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

/// goutils `SwapCase`.
fn swapcase(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_uppercase() {
                single_case(c, false)
            } else if c.is_lowercase() {
                single_case(c, true)
            } else {
                c
            }
        })
        .collect()
}

/// `strings.SplitN(s, sep, n)` (n < 0: all).
pub fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = s.chars().map(String::from).collect();
        if n > 0 && (n as usize) < chars.len() {
            let mut out: Vec<String> = chars[..n as usize - 1].to_vec();
            let consumed: usize = out.iter().map(String::len).sum();
            out.push(s[consumed..].to_string());
            return out;
        }
        return chars;
    }
    if n < 0 {
        s.split(sep).map(String::from).collect()
    } else {
        s.splitn(n as usize, sep).map(String::from).collect()
    }
}

fn split_map(parts: Vec<String>) -> Value {
    let map: BTreeMap<String, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::string(p)))
        .collect();
    Value::map(map)
}

/// `strings.Replace(src, old, new, -1)` (an empty `old` inserts `new` around every rune).
fn go_replace(src: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::from(new);
        for c in src.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    src.replace(old, new)
}

/// Sprig's `strslice`: a list's non-nil elements as strings; nil is an empty list; any other value a list
/// of its string form.
pub fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(items) => items
            .iter()
            .filter(|x| !matches!(x, Value::Nil))
            .map(strval)
            .collect(),
        Value::Bytes(b) => b.iter().map(|x| x.to_string()).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// The largest string `indent`, `nindent` and `repeat` build (64 MiB).
const MAX_STRING: u128 = 64 << 20;

fn indent(spaces: i64, v: &str) -> Result<String, FuncError> {
    let lines = v.matches('\n').count() as u128 + 1;
    if spaces.max(0) as u128 * lines + v.len() as u128 > MAX_STRING {
        return Err(FuncError::new("strings: Repeat output length overflow"));
    }
    let pad = " ".repeat(spaces.max(0) as usize);
    Ok(format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))))
}

fn substring(start: i64, end: i64, s: &str) -> Result<String, FuncError> {
    let b = s.as_bytes();
    let len = b.len() as i64;
    let slice = if start < 0 {
        if end < 0 || end > len {
            return Err(FuncError::new(format!(
                "runtime error: slice bounds out of range [:{end}] with length {len}"
            )));
        }
        &b[..end as usize]
    } else if end < 0 || end > len {
        if start > len {
            return Err(FuncError::new(format!(
                "runtime error: slice bounds out of range [{start}:{len}]"
            )));
        }
        &b[start as usize..]
    } else {
        if start > end {
            return Err(FuncError::new(format!(
                "runtime error: slice bounds out of range [{start}:{end}]"
            )));
        }
        &b[start as usize..end as usize]
    };
    Ok(String::from_utf8_lossy(slice).into_owned())
}

/// goutils `AbbreviateFull`; `None` where goutils returns an error (Sprig then prints "").
fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> Option<String> {
    let b = s.as_bytes();
    let len = b.len() as i64;
    if s.is_empty() {
        return Some(String::new());
    }
    if max_width < 4 {
        return None;
    }
    if len <= max_width {
        return Some(s.to_string());
    }
    let mut offset = offset.clamp(0, len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    let lossy = |x: &[u8]| String::from_utf8_lossy(x).into_owned();
    if offset <= 4 {
        return Some(format!("{}...", lossy(&b[..(max_width - 3) as usize])));
    }
    if max_width < 7 {
        return None;
    }
    if offset + max_width - 3 < len {
        let rest = lossy(&b[offset as usize..]);
        let abbreviated = abbreviate_full(&rest, 0, max_width - 3)?;
        return Some(format!("...{abbreviated}"));
    }
    Some(format!("...{}", lossy(&b[(len - (max_width - 3)) as usize..])))
}

/// goutils `WrapCustom` (byte offsets, as in Go).
fn wrap_custom(s: &str, wrap_length: i64, newline: &str, wrap_long_words: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let wl = wrap_length.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0usize;
    let mut out: Vec<u8> = Vec::new();
    while len - offset > wl {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = wl.saturating_add(offset + 1).min(len);
        let space = b[offset..end]
            .iter()
            .rposition(|c| *c == b' ')
            .map(|p| p + offset);
        match space {
            Some(at) => {
                out.extend_from_slice(&b[offset..at]);
                out.extend_from_slice(newline.as_bytes());
                offset = at + 1;
            }
            None if wrap_long_words => {
                out.extend_from_slice(&b[offset..offset + wl]);
                out.extend_from_slice(newline.as_bytes());
                offset += wl;
            }
            None => {
                let end = wl + offset;
                match b[end..].iter().position(|c| *c == b' ') {
                    None => {
                        out.extend_from_slice(&b[offset..]);
                        offset = len;
                    }
                    Some(i) => {
                        let at = i + end;
                        out.extend_from_slice(&b[offset..at]);
                        out.extend_from_slice(newline.as_bytes());
                        offset = at + 1;
                    }
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `strconv.Quote` (`%q` of a string).
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\u{fffd}' => out.push_str("\\ufffd"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `strconv.IsPrint` for non-ASCII runes.
fn is_printable(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return u >= 0x20 && u != 0x7f;
    }
    !(c.is_control()
        || (0x80..0xa0).contains(&u)
        || u == 0xad
        || (0x2000..=0x200f).contains(&u) && u != 0x2000
        || (0x2028..=0x202e).contains(&u)
        || (0x2060..=0x206f).contains(&u)
        || u == 0xfeff
        || (0xe000..=0xf8ff).contains(&u)
        || (0xfff9..=0xfffb).contains(&u)
        || u == 0xa0
        || (0x2000..=0x200a).contains(&u)
        || u == 0x3000)
}

pub mod case {
    //! huandu/xstrings v1.5: `ToCamelCase`, `ToSnakeCase`, `ToKebabCase`.

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Word {
        Invalid,
        Number,
        Upper,
        Alpha,
        Connector,
        Punct,
    }

    fn is_connector(c: char) -> bool {
        c == '-' || c == '_' || super::is_go_space(c)
    }

    fn is_alpha(c: char) -> bool {
        c.is_ascii_alphabetic()
    }

    fn is_punct(c: char) -> bool {
        c.is_ascii_punctuation() && c != '-' && c != '_'
            || (!c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control())
    }

    fn is_number(c: char) -> bool {
        c.is_numeric()
    }

    fn next_word(s: &str) -> (Word, &str, &str) {
        let mut chars = s.char_indices().peekable();
        let Some((_, r)) = chars.next() else {
            return (Word::Invalid, "", "");
        };
        let mut offset = r.len_utf8();
        let take_while = |offset: &mut usize, pred: &dyn Fn(char) -> bool| {
            for c in s[*offset..].chars() {
                if !pred(c) {
                    break;
                }
                *offset += c.len_utf8();
            }
        };
        let wt = if is_connector(r) {
            take_while(&mut offset, &is_connector);
            Word::Connector
        } else if is_punct(r) {
            take_while(&mut offset, &is_punct);
            Word::Punct
        } else if r.is_uppercase() {
            if let Some(next) = s[offset..].chars().next() {
                if next.is_uppercase() {
                    let mut prev_size = next.len_utf8();
                    offset += prev_size;
                    let mut stop: Option<char> = None;
                    for c in s[offset..].chars() {
                        if !c.is_uppercase() {
                            stop = Some(c);
                            break;
                        }
                        prev_size = c.len_utf8();
                        offset += prev_size;
                    }
                    if let Some(c) = stop
                        && offset < s.len()
                        && is_alpha(c)
                    {
                        offset -= prev_size;
                    }
                } else if is_alpha(next) {
                    take_while(&mut offset, &|c| is_alpha(c) && !c.is_uppercase());
                }
            }
            Word::Upper
        } else if is_alpha(r) {
            take_while(&mut offset, &|c| is_alpha(c) && !c.is_uppercase());
            Word::Alpha
        } else if is_number(r) {
            take_while(&mut offset, &is_number);
            Word::Number
        } else {
            take_while(&mut offset, &|c| {
                !(is_connector(c) || is_alpha(c) || is_number(c) || is_punct(c))
            });
            Word::Invalid
        };
        (wt, &s[..offset], &s[offset..])
    }

    fn to_lower(out: &mut String, wt: Word, word: &str, connector: char) {
        if wt != Word::Upper && wt != Word::Connector {
            out.push_str(word);
            return;
        }
        for c in word.chars() {
            if is_connector(c) {
                out.push(connector);
            } else if c.is_uppercase() {
                out.push(super::single_case(c, false));
            } else {
                out.push(c);
            }
        }
    }

    /// `camelCaseToLowerCase(s, connector)`: snake_case and kebab-case.
    pub fn to_lower_words(s: &str, connector: char) -> String {
        let mut out = String::new();
        if s.is_empty() {
            return out;
        }
        let (mut wt, mut word, mut remaining) = next_word(s);
        while !remaining.is_empty() {
            if wt != Word::Connector {
                to_lower(&mut out, wt, word, connector);
            }
            let prev = wt;
            let last = word;
            (wt, word, remaining) = next_word(remaining);
            match prev {
                Word::Number => {
                    while wt == Word::Alpha || wt == Word::Number {
                        to_lower(&mut out, wt, word, connector);
                        (wt, word, remaining) = next_word(remaining);
                    }
                    if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                        out.push(connector);
                    }
                }
                Word::Connector => to_lower(&mut out, prev, last, connector),
                Word::Punct => {}
                _ => {
                    if wt != Word::Number {
                        if wt != Word::Connector && wt != Word::Punct {
                            out.push(connector);
                        }
                        continue;
                    }
                    if remaining.is_empty() {
                        continue;
                    }
                    let last = word;
                    (wt, word, remaining) = next_word(remaining);
                    // A number followed by anything but lower-case letters belongs to the word before
                    // ("Bld4Floor" is bld4_floor); followed by lower-case letters it starts a word
                    // ("HTTP2xx" is http_2xx).
                    if wt != Word::Alpha {
                        to_lower(&mut out, Word::Number, last, connector);
                        if wt != Word::Connector && wt != Word::Punct {
                            out.push(connector);
                        }
                        continue;
                    }
                    out.push(connector);
                    to_lower(&mut out, Word::Number, last, connector);
                    while !remaining.is_empty() {
                        (wt, word, remaining) = next_word(remaining);
                        if wt != Word::Alpha && wt != Word::Number {
                            break;
                        }
                        to_lower(&mut out, wt, word, connector);
                    }
                }
            }
        }
        to_lower(&mut out, wt, word, connector);
        out
    }

    /// `ToCamelCase`.
    pub fn to_camel(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars().peekable();
        let mut r0 = None;
        for c in chars.by_ref() {
            if c != '_' {
                r0 = Some(c);
                break;
            }
            out.push(c);
        }
        let Some(first) = r0 else {
            return out;
        };
        out.push(super::single_case(first, true));
        let Some(mut r0) = chars.next() else {
            return out;
        };
        for c in chars {
            let r1 = r0;
            r0 = c;
            if r1 == '_' && r0 != '_' {
                r0 = super::single_case(r0, true);
            } else {
                out.push(r1);
            }
        }
        out.push(r0);
        out
    }
}
