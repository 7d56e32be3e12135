//! Go's `path.Match` shell patterns (`*`, `?`, `[...]`, `\` escapes; `*` does not cross `/`), as Helm uses
//! them for `.helmignore` and `--show-only`, and the `gobwas/glob` patterns of `.Files.Glob` (where `**`
//! crosses `/`).

/// Whether `name` matches the Go `path.Match` pattern. `Err` for a malformed pattern (Go's
/// `ErrBadPattern`).
pub fn path_match(pattern: &str, name: &str) -> Result<bool, String> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n, false)
}

/// Whether `name` matches a `gobwas/glob` pattern compiled with `/` as separator: `*` and `?` stop at `/`,
/// `**` crosses it, `{a,b}` alternatives, `[...]` classes.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    for alt in expand_braces(pattern) {
        let p: Vec<char> = alt.chars().collect();
        let n: Vec<char> = name.chars().collect();
        if matches!(match_from(&p, &n, true), Ok(true)) {
            return true;
        }
    }
    false
}

fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    for (i, c) in pattern[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let (head, body, tail) = (&pattern[..open], &pattern[open + 1..close], &pattern[close + 1..]);
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    let mut out = Vec::new();
    for part in parts {
        out.extend(expand_braces(&format!("{head}{part}{tail}")));
    }
    out
}

fn match_from(p: &[char], n: &[char], super_star: bool) -> Result<bool, String> {
    if p.is_empty() {
        return Ok(n.is_empty());
    }
    match p[0] {
        '*' => {
            let crosses = super_star && p.get(1) == Some(&'*');
            let rest = if crosses { &p[2..] } else { &p[1..] };
            for i in 0..=n.len() {
                if i > 0 && !crosses && n[i - 1] == '/' {
                    break;
                }
                if match_from(rest, &n[i..], super_star)? {
                    return Ok(true);
                }
            }
            // A malformed rest must still be reported.
            validate(rest)?;
            Ok(false)
        }
        '?' => {
            if n.is_empty() || n[0] == '/' {
                validate(&p[1..])?;
                return Ok(false);
            }
            match_from(&p[1..], &n[1..], super_star)
        }
        '[' => {
            let (matched, len) = class(&p[1..], n.first().copied())?;
            if n.is_empty() || !matched || n[0] == '/' {
                validate(&p[1 + len..])?;
                return Ok(false);
            }
            match_from(&p[1 + len..], &n[1..], super_star)
        }
        '\\' if !super_star || p.len() > 1 => {
            let Some(&c) = p.get(1) else {
                return Err("syntax error in pattern".into());
            };
            if n.first() == Some(&c) {
                match_from(&p[2..], &n[1..], super_star)
            } else {
                Ok(false)
            }
        }
        c => {
            if n.first() == Some(&c) {
                match_from(&p[1..], &n[1..], super_star)
            } else {
                validate(&p[1..])?;
                Ok(false)
            }
        }
    }
}

fn validate(p: &[char]) -> Result<(), String> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '[' => {
                let (_, len) = class(&p[i + 1..], None)?;
                i += 1 + len;
            }
            '\\' => {
                if i + 1 >= p.len() {
                    return Err("syntax error in pattern".into());
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Parses a character class after `[`; returns whether `c` is in it and how many chars the class used
/// (through the closing `]`).
fn class(p: &[char], c: Option<char>) -> Result<(bool, usize), String> {
    let bad = || "syntax error in pattern".to_string();
    let mut i = 0;
    let negate = matches!(p.first(), Some('^') | Some('!'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let Some(&ch) = p.get(i) else { return Err(bad()) };
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i).ok_or_else(bad)?
        } else {
            ch
        };
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&x| x != ']') {
            i += 1;
            hi = if p[i] == '\\' {
                i += 1;
                *p.get(i).ok_or_else(bad)?
            } else {
                p[i]
            };
            i += 1;
        }
        if let Some(c) = c
            && lo <= c
            && c <= hi
        {
            matched = true;
        }
    }
    Ok((matched != negate, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_match_follows_go() {
        assert!(path_match("*.yaml", "a.yaml").expect("valid"));
        assert!(!path_match("*.yaml", "dir/a.yaml").expect("valid"));
        assert!(path_match("templates/*", "templates/a.yaml").expect("valid"));
        assert!(path_match("a?c", "abc").expect("valid"));
        assert!(path_match("[a-c]x", "bx").expect("valid"));
        assert!(!path_match("[^a-c]x", "bx").expect("valid"));
        assert!(path_match("[", "a").is_err());
    }

    #[test]
    fn glob_crosses_with_double_star() {
        assert!(glob_match("files/**.conf", "files/a/b.conf"));
        assert!(!glob_match("files/*.conf", "files/a/b.conf"));
        assert!(glob_match("files/{a,b}.txt", "files/b.txt"));
        assert!(glob_match("**", "x/y"));
    }
}
