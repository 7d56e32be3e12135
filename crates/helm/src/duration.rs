//! Go's `time.Duration`: `String()` and `time.ParseDuration`, and Helm's duration helpers
//! (`mustToDuration`, `durationSeconds`, ..., `durationRoundTo`, `durationTruncateTo`).

use std::rc::Rc;

use tack_gotemplate::{Object, Value};

const SECOND: i64 = 1_000_000_000;

/// A Go `time.Duration` (nanoseconds) as a template value: prints as Go does (`1h2m3s`).
#[derive(Debug, Clone, Copy)]
pub struct Duration(pub i64);

impl Object for Duration {
    fn type_name(&self) -> &str {
        "time.Duration"
    }
    fn kind(&self) -> &str {
        "int64"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "String" => Some(Value::string(format_duration(self.0))),
            "Seconds" => Some(Value::Float(self.0 as f64 / SECOND as f64)),
            "Nanoseconds" => Some(Value::Int64(self.0)),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format_duration(self.0)
    }
    fn truthy(&self) -> bool {
        self.0 != 0
    }
    fn to_data(&self) -> Option<Value> {
        Some(Value::Int64(self.0))
    }
}

/// `d` nanoseconds as a template value that prints as Go's `time.Duration` (`1h2m3s`).
pub(crate) fn duration_value(d: i64) -> Value {
    Value::Object(Rc::new(Duration(d)))
}

fn frac(v: u64, prec: u32) -> (u64, String) {
    let div = 10u64.pow(prec);
    let f = v % div;
    let mut s = String::new();
    if f != 0 {
        let digits = format!("{f:0width$}", width = prec as usize);
        s = format!(".{}", digits.trim_end_matches('0'));
    }
    (v / div, s)
}

/// Go's `Duration.String`.
pub fn format_duration(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let body = if u < SECOND as u64 {
        let (unit, prec) = if u < 1_000 {
            ("ns", 0)
        } else if u < 1_000_000 {
            ("µs", 3)
        } else {
            ("ms", 6)
        };
        let (w, f) = frac(u, prec);
        format!("{w}{f}{unit}")
    } else {
        let (mut w, f) = frac(u, 9);
        let mut s = format!("{}{f}s", w % 60);
        w /= 60;
        if w > 0 {
            s = format!("{}m{s}", w % 60);
            w /= 60;
            if w > 0 {
                s = format!("{w}h{s}");
            }
        }
        s
    };
    if neg { format!("-{body}") } else { body }
}

/// Go's `time.ParseDuration`.
pub fn parse_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * unit;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    Some(if neg {
        -(total.round() as i64)
    } else {
        total.round() as i64
    })
}

/// Helm's `asDuration`: a Duration, a Go duration string, a number of seconds (number or numeric string).
pub fn as_duration(v: &Value) -> Result<i64, String> {
    let from_secs = |f: f64| -> Result<i64, String> {
        if !f.is_finite() {
            return Err(format!("invalid duration seconds: {f}"));
        }
        let n = f * SECOND as f64;
        if n > i64::MAX as f64 || n < i64::MIN as f64 {
            return Err(format!("duration seconds overflow: {f}"));
        }
        Ok(n as i64)
    };
    match v {
        Value::Object(o) if o.type_name() == "time.Duration" => match o.to_data() {
            Some(Value::Int64(n)) => Ok(n),
            _ => Err("invalid duration".into()),
        },
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Err("empty duration".into());
            }
            if let Some(d) = parse_duration(t) {
                return Ok(d);
            }
            match t.parse::<f64>() {
                Ok(f) => from_secs(f),
                Err(_) => Err(format!("could not parse duration {s:?}")),
            }
        }
        Value::Nil => Err("invalid duration".into()),
        Value::Int(i) | Value::Int64(i) => i
            .checked_mul(SECOND)
            .ok_or_else(|| format!("duration seconds overflow: {i}")),
        Value::Float(f) => from_secs(*f),
        other => Err(format!("unsupported duration type {}", other.type_name())),
    }
}

/// Go's `Duration.Round(m)`.
pub fn round(d: i64, m: i64) -> i64 {
    if m <= 0 {
        return d;
    }
    let mut r = d % m;
    if d < 0 {
        r = -r;
        if r + r < m {
            return d + r;
        }
        return d.checked_sub(m - r).unwrap_or(i64::MIN);
    }
    if r + r < m {
        return d - r;
    }
    d.checked_add(m - r).unwrap_or(i64::MAX)
}

/// Go's `Duration.Truncate(m)`.
pub fn truncate(d: i64, m: i64) -> i64 {
    if m <= 0 { d } else { d - d % m }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(1_500_000), "1.5ms");
        assert_eq!(format_duration(3_723 * SECOND + 500_000_000), "1h2m3.5s");
        assert_eq!(format_duration(-90 * SECOND), "-1m30s");
        assert_eq!(format_duration(100), "100ns");
    }

    #[test]
    fn parses_like_go() {
        assert_eq!(parse_duration("1h30m"), Some(5400 * SECOND));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("10"), None);
    }
}
