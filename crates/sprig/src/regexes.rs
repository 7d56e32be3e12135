//! Regular expressions with Go's RE2 syntax and `regexp` semantics (ASCII `\d`, `\w`, `\s`, `\b`; `$1`
//! and `${name}` in replacements; `FindAllString`/`Split` counts).

use regex::Regex;
use tack_gotemplate::{FuncError, Funcs, Value};

use crate::convert::{arity, int_arg, str_arg, string_list};

/// Compiles a Go regular expression; the error is worded as Go's `regexp.Compile`.
pub fn compile(pattern: &str) -> Result<Regex, FuncError> {
    Regex::new(&translate(pattern)).map_err(|e| FuncError::new(go_error(pattern, &e.to_string())))
}

/// `regexp.MustCompile`: the plain functions of Sprig panic on a bad expression with this message.
fn must_compile(pattern: &str) -> Result<Regex, FuncError> {
    compile(pattern).map_err(|e| {
        let quoted = if pattern.contains('`') || pattern.chars().any(|c| c.is_control() && c != '\t') {
            crate::strings::go_quote(pattern)
        } else {
            format!("`{pattern}`")
        };
        FuncError::new(format!("regexp: Compile({quoted}): {}", e.0))
    })
}

/// Rewrites the Perl classes Go defines as ASCII-only (Rust's are Unicode).
fn translate(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        if c == '\\' {
            let Some(n) = chars.next() else {
                out.push('\\');
                break;
            };
            let rep = match (n, in_class) {
                ('d', false) => "[0-9]",
                ('D', false) => "[^0-9]",
                ('w', false) => "[0-9A-Za-z_]",
                ('W', false) => "[^0-9A-Za-z_]",
                ('s', false) => "[\\t\\n\\f\\r ]",
                ('S', false) => "[^\\t\\n\\f\\r ]",
                ('d', true) => "0-9",
                ('w', true) => "0-9A-Za-z_",
                ('s', true) => "\\t\\n\\f\\r ",
                ('b', false) => "(?-u:\\b)",
                ('B', false) => "(?-u:\\B)",
                _ => {
                    out.push('\\');
                    out.push(n);
                    continue;
                }
            };
            out.push_str(rep);
            continue;
        }
        if c == '[' && !in_class {
            in_class = true;
            out.push(c);
            if chars.peek() == Some(&'^') {
                out.push('^');
                chars.next();
            }
            if chars.peek() == Some(&']') {
                out.push_str("\\]");
                chars.next();
            }
            continue;
        }
        if c == '[' && in_class && chars.peek() == Some(&':') {
            // [:alpha:] inside a class
            out.push(c);
            for d in chars.by_ref() {
                out.push(d);
                if d == ']' {
                    break;
                }
            }
            continue;
        }
        if c == '[' && in_class {
            out.push_str("\\[");
            continue;
        }
        if c == ']' && in_class {
            in_class = false;
        }
        out.push(c);
    }
    out
}

fn go_error(pattern: &str, rust: &str) -> String {
    let code = if rust.contains("unclosed group") {
        "missing closing )".to_string()
    } else if rust.contains("unopened group") {
        "unexpected )".to_string()
    } else if rust.contains("unclosed character class") {
        "missing closing ]".to_string()
    } else if rust.contains("repetition operator missing expression") {
        return format!(
            "error parsing regexp: missing argument to repetition operator: `{}`",
            bad_repetition(pattern)
        );
    } else if rust.contains("incomplete escape sequence") {
        return "error parsing regexp: trailing backslash at end of expression: ``".to_string();
    } else if rust.contains("invalid character class range") {
        let inner = pattern.trim_start_matches('[').trim_end_matches(']');
        return format!("error parsing regexp: invalid character class range: `{inner}`");
    } else if rust.contains("escape sequence") {
        "invalid escape sequence".to_string()
    } else {
        rust.lines()
            .last()
            .unwrap_or(rust)
            .trim()
            .trim_start_matches("error: ")
            .to_string()
    };
    format!("error parsing regexp: {code}: `{pattern}`")
}

/// The repetition operator Go names in `missing argument to repetition operator` (the first one with nothing
/// before it, with a following `?` for a non-greedy form).
fn bad_repetition(pattern: &str) -> String {
    let b = pattern.as_bytes();
    for i in 0..b.len() {
        if matches!(b[i], b'*' | b'+' | b'?') && (i == 0 || matches!(b[i - 1], b'(' | b'|')) {
            let end = if b.get(i + 1) == Some(&b'?') { i + 2 } else { i + 1 };
            return pattern[i..end].to_string();
        }
    }
    pattern.to_string()
}

/// `FindAllString(s, n)` byte ranges.
fn find_all(re: &Regex, s: &str, n: i64) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut prev_end: Option<usize> = None;
    for m in re.find_iter(s) {
        if n >= 0 && out.len() as i64 >= n {
            break;
        }
        // Go drops an empty match right after the previous match.
        if m.start() == m.end() && prev_end == Some(m.start()) {
            continue;
        }
        out.push((m.start(), m.end()));
        prev_end = Some(m.end());
    }
    out
}

fn split(re: &Regex, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !re.as_str().is_empty() && s.is_empty() {
        return vec![String::new()];
    }
    let matches = find_all(re, s, n);
    let mut out = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for (start, stop) in matches {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = start;
        if stop != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = stop;
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    out
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn register(funcs: &mut Funcs) {
    for (name, must) in [("regexMatch", false), ("mustRegexMatch", true)] {
        funcs.insert(name, move |_, a| {
            arity(name, a, 2)?;
            let (p, s) = (str_arg(&a[0])?, str_arg(&a[1])?);
            match compile(&p) {
                Ok(re) => Ok(Value::Bool(re.is_match(&s))),
                Err(e) if must => Err(e),
                Err(_) => Ok(Value::Bool(false)),
            }
        });
    }
    for (name, must) in [("regexFindAll", false), ("mustRegexFindAll", true)] {
        funcs.insert(name, move |_, a| {
            arity(name, a, 3)?;
            let (p, s, n) = (str_arg(&a[0])?, str_arg(&a[1])?, int_arg(&a[2])?);
            let re = if must { compile(&p)? } else { must_compile(&p)? };
            Ok(string_list(
                find_all(&re, &s, n).into_iter().map(|(x, y)| s[x..y].to_string()),
            ))
        });
    }
    for (name, must) in [("regexFind", false), ("mustRegexFind", true)] {
        funcs.insert(name, move |_, a| {
            arity(name, a, 2)?;
            let (p, s) = (str_arg(&a[0])?, str_arg(&a[1])?);
            let re = if must { compile(&p)? } else { must_compile(&p)? };
            Ok(Value::string(
                re.find(&s).map(|m| m.as_str().to_string()).unwrap_or_default(),
            ))
        });
    }
    for (name, must, literal) in [
        ("regexReplaceAll", false, false),
        ("mustRegexReplaceAll", true, false),
        ("regexReplaceAllLiteral", false, true),
        ("mustRegexReplaceAllLiteral", true, true),
    ] {
        funcs.insert(name, move |_, a| {
            arity(name, a, 3)?;
            let (p, s, repl) = (str_arg(&a[0])?, str_arg(&a[1])?, str_arg(&a[2])?);
            let re = if must { compile(&p)? } else { must_compile(&p)? };
            Ok(Value::string(replace_all(&re, &s, &repl, literal)))
        });
    }
    for (name, must) in [("regexSplit", false), ("mustRegexSplit", true)] {
        funcs.insert(name, move |_, a| {
            arity(name, a, 3)?;
            let (p, s, n) = (str_arg(&a[0])?, str_arg(&a[1])?, int_arg(&a[2])?);
            let re = if must { compile(&p)? } else { must_compile(&p)? };
            Ok(string_list(split(&re, &s, n)))
        });
    }
    funcs.insert("regexQuoteMeta", |_, a| {
        arity("regexQuoteMeta", a, 1)?;
        Ok(Value::string(quote_meta(&str_arg(&a[0])?)))
    });
}

/// `ReplaceAllString` / `ReplaceAllLiteralString`, with Go's handling of empty matches.
fn replace_all(re: &Regex, s: &str, repl: &str, literal: bool) -> String {
    let mut out = String::new();
    let mut last = 0;
    let mut prev_end: Option<usize> = None;
    for caps in re.captures_iter(s) {
        let Some(m) = caps.get(0) else { continue };
        if m.start() == m.end() && prev_end == Some(m.start()) {
            continue;
        }
        out.push_str(&s[last..m.start()]);
        if literal {
            out.push_str(repl);
        } else {
            caps.expand(repl, &mut out);
        }
        last = m.end();
        prev_end = Some(m.end());
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn go_semantics() {
        let re = compile(r"\d+").unwrap();
        assert!(!re.is_match("٣"));
        assert_eq!(
            split(&compile("a").unwrap(), "banana", -1),
            vec!["b", "n", "n", ""]
        );
        assert_eq!(
            replace_all(&compile("a(x*)b").unwrap(), "-ab-axxb-", "${1}W", false),
            "-W-xxW-"
        );
        assert_eq!(quote_meta("1.5+x"), "1\\.5\\+x");
        assert_eq!(
            compile("(a").unwrap_err().0,
            "error parsing regexp: missing closing ): `(a`"
        );
    }
}
