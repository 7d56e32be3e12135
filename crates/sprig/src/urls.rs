//! `urlParse` and `urlJoin`: Go's `net/url` parsing into a dict (`scheme`, `host`, `hostname`, `path`,
//! `query`, `opaque`, `fragment`, `userinfo`) and printing back.

use std::collections::BTreeMap;

use tack_gotemplate::{FuncError, Funcs, Value};

use crate::convert::{arity, kind_name, map_arg, str_arg};

#[derive(Default, Debug)]
struct Url {
    scheme: String,
    opaque: String,
    user: Option<(String, Option<String>)>,
    host: String,
    path: String,
    raw_query: String,
    force_query: bool,
    fragment: String,
}

pub fn register(funcs: &mut Funcs) {
    funcs.insert("urlParse", |_, a| {
        arity("urlParse", a, 1)?;
        let raw = str_arg(&a[0])?;
        let u = parse(&raw)
            .map_err(|e| FuncError::new(format!("unable to parse url: parse {}: {e}", go_quote_url(&raw))))?;
        let mut m = BTreeMap::new();
        let s = |x: &str| Value::string(x.to_string());
        m.insert("scheme".into(), s(&u.scheme));
        m.insert("host".into(), s(&u.host));
        m.insert("hostname".into(), s(&hostname(&u.host)));
        m.insert("path".into(), s(&u.path));
        m.insert("query".into(), s(&u.raw_query));
        m.insert("opaque".into(), s(&u.opaque));
        m.insert("fragment".into(), s(&u.fragment));
        m.insert(
            "userinfo".into(),
            s(&u.user.as_ref().map(user_string).unwrap_or_default()),
        );
        Ok(Value::map(m))
    });
    funcs.insert("urlJoin", |_, a| {
        arity("urlJoin", a, 1)?;
        let d = map_arg(&a[0])?;
        let d = d.borrow();
        let get = |k: &str| -> Result<String, FuncError> {
            match d.get(k) {
                None => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.to_string()),
                Some(other) => Err(FuncError::new(format!(
                    "unable to parse {k} key, must be of type string, but {} found",
                    kind_name(other)
                ))),
            }
        };
        let mut u = Url {
            scheme: get("scheme")?,
            host: get("host")?,
            path: get("path")?,
            raw_query: get("query")?,
            opaque: get("opaque")?,
            fragment: get("fragment")?,
            ..Url::default()
        };
        let userinfo = get("userinfo")?;
        if !userinfo.is_empty() {
            let raw = format!("proto://{userinfo}@host");
            let parsed = parse(&raw).map_err(|e| {
                FuncError::new(format!(
                    "unable to parse userinfo in dict: parse {}: {e}",
                    go_quote_url(&raw)
                ))
            })?;
            u.user = parsed.user;
        }
        Ok(Value::string(to_string(&u)))
    });
}

fn go_quote_url(s: &str) -> String {
    crate::strings::go_quote(s)
}

fn hostname(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    match host.rfind(':') {
        Some(i) => host[..i].to_string(),
        None => host.to_string(),
    }
}

fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
            let Some(hex) = hex else {
                let end = (i + 3).min(s.len());
                return Err(format!(
                    "invalid URL escape {}",
                    crate::strings::go_quote(&String::from_utf8_lossy(&b[i..end]))
                ));
            };
            out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `validUserinfo`.
fn valid_userinfo(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c))
}

/// Go's `unescape(host, encodeHost)`: characters a host may not hold are refused in order of appearance.
fn unescape_host(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok = s
                .get(i + 1..i + 3)
                .is_some_and(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
            if !ok {
                let end = (i + 3).min(s.len());
                return Err(format!(
                    "invalid URL escape {}",
                    crate::strings::go_quote(&String::from_utf8_lossy(&b[i..end]))
                ));
            }
            i += 3;
            continue;
        }
        if b[i] < 0x80 && should_escape(b[i], Mode::Host) {
            return Err(format!(
                "invalid character {} in host name",
                crate::strings::go_quote(&s[i..i + 1])
            ));
        }
        i += 1;
    }
    unescape(s)
}

fn parse(raw: &str) -> Result<Url, String> {
    let (rest, frag) = match raw.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (raw, None),
    };
    let mut u = Url::default();
    if rest.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut rest = rest.to_string();
    // scheme
    for (i, c) in rest.char_indices() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || c == '+' || c == '-' || c == '.' {
            if i == 0 {
                break;
            }
            continue;
        }
        if c == ':' {
            if i == 0 {
                return Err("missing protocol scheme".into());
            }
            u.scheme = rest[..i].to_ascii_lowercase();
            rest = rest[i + 1..].to_string();
        }
        break;
    }
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        u.force_query = true;
        rest.pop();
    } else if let Some((r, q)) = rest.clone().split_once('?') {
        u.raw_query = q.to_string();
        rest = r.to_string();
    }
    if !rest.starts_with('/') {
        if !u.scheme.is_empty() {
            u.opaque = rest;
            if let Some(f) = frag {
                u.fragment = unescape(f)?;
            }
            return Ok(u);
        }
        let seg = rest.split('/').next().unwrap_or("");
        if seg.contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!u.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        let (userinfo, host) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        if let Some(ui) = userinfo {
            if !valid_userinfo(ui) {
                return Err("net/url: invalid userinfo".into());
            }
            let (name, pass) = match ui.split_once(':') {
                Some((n, p)) => (unescape(n)?, Some(unescape(p)?)),
                None => (unescape(ui)?, None),
            };
            u.user = Some((name, pass));
        }
        u.host = unescape_host(host)?;
        rest = path.to_string();
    }
    u.path = unescape(&rest)?;
    if let Some(f) = frag {
        u.fragment = unescape(f)?;
    }
    Ok(u)
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Path,
    Host,
    User,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Mode::Host && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => {
            return match mode {
                Mode::Path => c == b'?',
                Mode::User => c == b'@' || c == b'/' || c == b'?' || c == b':',
                Mode::Fragment => false,
                Mode::Host => true,
            };
        }
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::new();
    for &c in s.as_bytes() {
        if should_escape(c, mode) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(char::from(c));
        }
    }
    out
}

fn user_string(u: &(String, Option<String>)) -> String {
    let mut s = escape(&u.0, Mode::User);
    if let Some(p) = &u.1 {
        s.push(':');
        s.push_str(&escape(p, Mode::User));
    }
    s
}

fn to_string(u: &Url) -> String {
    let mut buf = String::new();
    if !u.scheme.is_empty() {
        buf.push_str(&u.scheme);
        buf.push(':');
    }
    if !u.opaque.is_empty() {
        buf.push_str(&u.opaque);
    } else {
        if !u.scheme.is_empty() || !u.host.is_empty() || u.user.is_some() {
            if !u.host.is_empty() || !u.path.is_empty() || u.user.is_some() {
                buf.push_str("//");
            }
            if let Some(user) = &u.user {
                buf.push_str(&user_string(user));
                buf.push('@');
            }
            if !u.host.is_empty() {
                buf.push_str(&escape(&u.host, Mode::Host));
            }
        }
        let path = escape(&u.path, Mode::Path);
        if !path.is_empty() && !path.starts_with('/') && !u.host.is_empty() {
            buf.push('/');
        }
        if buf.is_empty() && path.split('/').next().unwrap_or("").contains(':') {
            buf.push_str("./");
        }
        buf.push_str(&path);
    }
    if u.force_query || !u.raw_query.is_empty() {
        buf.push('?');
        buf.push_str(&u.raw_query);
    }
    if !u.fragment.is_empty() {
        buf.push('#');
        buf.push_str(&escape(&u.fragment, Mode::Fragment));
    }
    buf
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let u = parse("https://user:pa%20ss@example.com:8080/a/b?x=1#frag").unwrap();
        assert_eq!(u.host, "example.com:8080");
        assert_eq!(hostname(&u.host), "example.com");
        assert_eq!(
            to_string(&u),
            "https://user:pa%20ss@example.com:8080/a/b?x=1#frag"
        );
    }
}
