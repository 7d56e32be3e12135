//! The `format` checks `santhosh-tekuri/jsonschema/v6` asserts for drafts before 2019-09, with its reasons
//! (`missing @`, `relative url`, ...). Checked: `hostname`, `email`, `ipv4`, `ipv6` (the colon only), `uuid`,
//! `duration`, `json-pointer`, `time`, `date`, `date-time`, `uri`, `uri-reference`. Other formats, and URL
//! syntax errors beyond a missing scheme, are accepted.

/// `None`: the format is not checked; `Some(Err(reason))`: the value does not have the format.
pub(super) fn check(format: &str, s: &str) -> Option<Result<(), String>> {
    Some(match format {
        "hostname" => hostname(s),
        "email" => email(s),
        "ipv4" => ipv4(s),
        "ipv6" => ipv6(s),
        "uuid" => uuid(s),
        "duration" => duration(s),
        "json-pointer" => json_pointer(s),
        "time" => time(s),
        "date" => date(s),
        "date-time" => date_time(s),
        "uri" | "iri" => uri(s),
        "uri-reference" | "iri-reference" => {
            if s.contains('\\') {
                Err("contains \\".to_string())
            } else {
                Ok(())
            }
        }
        _ => return None,
    })
}

/// Go's `%q` of a rune.
fn quote_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        '\\' => "'\\\\'".to_string(),
        '\n' => "'\\n'".to_string(),
        '\t' => "'\\t'".to_string(),
        '\r' => "'\\r'".to_string(),
        c if (c as u32) < 0x20 || c == '\u{7f}' => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

fn hostname(s: &str) -> Result<(), String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return Err("more than 253 characters long".to_string());
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("label must be 1 to 63 characters long".to_string());
        }
        if label.starts_with('-') {
            return Err("label starts with hyphen".to_string());
        }
        if label.ends_with('-') {
            return Err("label ends with hyphen".to_string());
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(format!("invalid character {}", quote_rune(c)));
        }
    }
    Ok(())
}

fn email(s: &str) -> Result<(), String> {
    if s.len() > 254 {
        return Err("more than 255 characters long".to_string());
    }
    let Some(at) = s.rfind('@') else {
        return Err("missing @".to_string());
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.len() > 64 {
        return Err("local part more than 64 characters long".to_string());
    }
    if local.len() > 1 && local.starts_with('"') && local.ends_with('"') {
        let inner = &local[1..local.len() - 1];
        if inner.contains(['\\', '"']) {
            return Err("backslash and quote are not allowed within quoted local part".to_string());
        }
    } else {
        if local.starts_with('.') {
            return Err("starts with dot".to_string());
        }
        if local.ends_with('.') {
            return Err("ends with dot".to_string());
        }
        if local.contains("..") {
            return Err("consecutive dots".to_string());
        }
        if let Some(c) = local
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".!#$%&'*+-/=?^_`{|}~".contains(*c)))
        {
            return Err(format!("invalid character {}", quote_rune(c)));
        }
    }
    if domain.len() > 1 && domain.starts_with('[') && domain.ends_with(']') {
        let inner = &domain[1..domain.len() - 1];
        if let Some(v6) = inner.strip_prefix("IPv6:") {
            return ipv6(v6).map_err(|e| format!("invalid ipv6 address: {e}"));
        }
        return ipv4(inner).map_err(|e| format!("invalid ipv4 address: {e}"));
    }
    hostname(domain).map_err(|e| format!("invalid domain: {e}"))
}

fn ipv4(s: &str) -> Result<(), String> {
    let groups: Vec<&str> = s.split('.').collect();
    if groups.len() != 4 {
        return Err("expected four decimals".to_string());
    }
    for g in groups {
        if g.len() > 1 && g.starts_with('0') {
            return Err("leading zeros".to_string());
        }
        let n: i64 = go_atoi(g)?;
        if !(0..=255).contains(&n) {
            return Err("decimal must be between 0 and 255".to_string());
        }
    }
    Ok(())
}

fn go_atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {s:?}: invalid syntax"));
    }
    s.parse()
        .map_err(|_| format!("strconv.Atoi: parsing {s:?}: value out of range"))
}

fn ipv6(s: &str) -> Result<(), String> {
    if !s.contains(':') {
        return Err("missing colon".to_string());
    }
    if s.contains('%') {
        return Err("zone id is not a part of ipv6 address".to_string());
    }
    Ok(())
}

fn uuid(s: &str) -> Result<(), String> {
    let sizes = [8, 4, 4, 4, 12];
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() != sizes.len() {
        return Err(format!("must have {} elements", sizes.len()));
    }
    for (i, g) in groups.iter().enumerate() {
        if g.len() != sizes[i] {
            return Err(format!("element {} must be {} characters long", i + 1, sizes[i]));
        }
        if let Some(c) = g.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!("non-hex character {}", quote_rune(c)));
        }
    }
    Ok(())
}

fn duration(s: &str) -> Result<(), String> {
    let Some(s) = s.strip_prefix('P') else {
        return Err("must start with P".to_string());
    };
    if s.is_empty() {
        return Err("nothing after P".to_string());
    }
    if let Some(w) = s.strip_suffix('W') {
        if w.is_empty() {
            return Err("no number in week".to_string());
        }
        if !w.bytes().all(|b| b.is_ascii_digit()) {
            return Err("invalid week".to_string());
        }
        return Ok(());
    }
    let all_units = ["YMD", "HMS"];
    for (i, part) in s.split('T').enumerate() {
        if i != 0 && part.is_empty() {
            return Err("no time elements".to_string());
        }
        if i >= all_units.len() {
            return Err("more than one T".to_string());
        }
        let mut units = all_units[i];
        let mut rest = part;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err("missing number".to_string());
            }
            rest = &rest[digits..];
            let Some(unit) = rest.chars().next() else {
                return Err("missing unit".to_string());
            };
            match units.find(unit) {
                Some(j) => units = &units[j + 1..],
                None if all_units[i].contains(unit) => {
                    return Err(format!("unit {} out of order", quote_rune(unit)));
                }
                None => return Err(format!("invalid unit {}", quote_rune(unit))),
            }
            rest = &rest[unit.len_utf8()..];
        }
    }
    Ok(())
}

fn json_pointer(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if !s.starts_with('/') {
        return Err("not starting with /".to_string());
    }
    for tok in s.split('/').skip(1) {
        let mut escape = false;
        for c in tok.chars() {
            if escape {
                escape = false;
                if c != '0' && c != '1' {
                    return Err("~ must be followed by 0 or 1".to_string());
                }
                continue;
            }
            if c == '~' {
                escape = true;
            }
        }
        if escape {
            return Err("~ must be followed by 0 or 1".to_string());
        }
    }
    Ok(())
}

fn time(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    if b.len() < 9 {
        return Err("less than 9 characters long".to_string());
    }
    if b[2] != b':' || b[5] != b':' {
        return Err("missing colon in correct place".to_string());
    }
    if !s.is_char_boundary(8) || !s[..8].is_ascii() {
        return Err("invalid hour/min/sec".to_string());
    }
    let mut hms = Vec::new();
    for tok in s[..8].splitn(3, ':') {
        let i = go_atoi(tok).map_err(|_| "invalid hour/min/sec".to_string())?;
        if i < 0 {
            return Err("non-positive hour/min/sec".to_string());
        }
        hms.push(i);
    }
    let (mut h, mut m, sec) = (hms[0], hms[1], hms[2]);
    if h > 23 || m > 59 || sec > 60 {
        return Err("hour/min/sec out of range".to_string());
    }
    let mut rest = &s[8..];
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err("no digits in second fraction".to_string());
        }
        rest = &r[digits..];
    }
    if rest != "z" && rest != "Z" {
        if rest.len() == 6 && !rest.is_ascii() {
            return Err(if rest.starts_with(['+', '-']) {
                "invalid hour/min in offset".to_string()
            } else {
                "offset must begin with plus/minus".to_string()
            });
        }
        if rest.len() != 6 {
            return Err("offset must be 6 characters long".to_string());
        }
        let sign = match rest.as_bytes()[0] {
            b'+' => -1,
            b'-' => 1,
            _ => return Err("offset must begin with plus/minus".to_string()),
        };
        let off = &rest[1..];
        if off.as_bytes()[2] != b':' {
            return Err("missing colon in offset in correct place".to_string());
        }
        let mut zhm = Vec::new();
        for tok in off.splitn(2, ':') {
            let i = go_atoi(tok).map_err(|_| "invalid hour/min in offset".to_string())?;
            if i < 0 {
                return Err("non-positive hour/min in offset".to_string());
            }
            zhm.push(i);
        }
        if zhm[0] > 23 || zhm[1] > 59 {
            return Err("hour/min in offset out of range".to_string());
        }
        let mut hm = (h * 60 + m) + sign * (zhm[0] * 60 + zhm[1]);
        if hm < 0 {
            hm += 24 * 60;
        }
        h = hm / 60;
        m = hm % 60;
    }
    if sec >= 60 && (h != 23 || m != 59) {
        return Err("invalid leap second".to_string());
    }
    Ok(())
}

/// `time.Parse("2006-01-02", s)`, with Go's error text.
fn date(s: &str) -> Result<(), String> {
    let cannot = |rest: &str, elem: &str| {
        format!("parsing time {s:?} as \"2006-01-02\": cannot parse {rest:?} as {elem:?}")
    };
    let digits = |t: &str, n: usize| t.len() >= n && t.as_bytes()[..n].iter().all(u8::is_ascii_digit);
    let mut rest = s;
    if !digits(rest, 4) {
        return Err(cannot(rest, "2006"));
    }
    let y: u32 = rest[..4].parse().unwrap_or(0);
    rest = &rest[4..];
    let mut fields = [0u32; 2];
    for (i, elem) in ["01", "02"].iter().enumerate() {
        match rest.strip_prefix('-') {
            Some(r) => rest = r,
            None => return Err(cannot(rest, "-")),
        }
        if !digits(rest, 2) {
            return Err(cannot(rest, elem));
        }
        fields[i] = rest[..2].parse().unwrap_or(0);
        rest = &rest[2..];
        if i == 0 && !(1..=12).contains(&fields[0]) {
            return Err(format!("parsing time {s:?}: month out of range"));
        }
    }
    if !rest.is_empty() {
        return Err(format!("parsing time {s:?}: extra text: {rest:?}"));
    }
    let (m, d) = (fields[0], fields[1]);
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d < 1 || d > days {
        return Err(format!("parsing time {s:?}: day out of range"));
    }
    Ok(())
}

fn date_time(s: &str) -> Result<(), String> {
    if s.len() < 20 {
        return Err("less than 20 characters long".to_string());
    }
    if !s.is_char_boundary(10) || !s.is_char_boundary(11) {
        return Err("11th character must be t or T".to_string());
    }
    if !matches!(&s[10..11], "t" | "T") {
        return Err("11th character must be t or T".to_string());
    }
    date(&s[..10]).map_err(|e| format!("invalid date element: {e}"))?;
    time(&s[11..]).map_err(|e| format!("invalid time element: {e}"))
}

/// Go's `url.Parse` as far as the scheme goes, then the library's absolute-URL check.
fn uri(s: &str) -> Result<(), String> {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err(format!("parse {s:?}: missing protocol scheme")),
            ':' => return Ok(()),
            _ => break,
        }
    }
    Err("relative url".to_string())
}
