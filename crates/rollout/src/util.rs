//! Hashes, durations and replica arithmetic shared by both strategies.

use std::fmt::Write as _;

use serde_json::Value;

use crate::Error;
use crate::spec::IntOrString;

/// The alphabet of Kubernetes' `rand.SafeEncodeString`: no vowels, no `0`, `1`, `3`, so a hash never spells a
/// word and never looks like a number.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// 32-bit FNV-1a, the hash Kubernetes uses for `pod-template-hash`.
fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Writes `value` as JSON with object keys sorted, so the hash does not depend on key order or on serde_json's
/// map type.
fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(*k) {
                    canonical_json(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(v, out);
            }
            out.push(']');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// A stable hash of `value` rendered like Kubernetes does: FNV-1a 32 over the canonical JSON, printed in decimal,
/// each digit mapped through `rand.SafeEncodeString`'s alphabet (e.g. `5d8f7c6b9`).
///
/// It is not byte-identical to Argo Rollouts' `rollouts-pod-template-hash` (Go hashes the struct with
/// `hashutil.DeepHashObject`), but it is deterministic, changes whenever the template changes, and uses the same
/// alphabet, so it is a valid label value.
pub fn stable_hash(value: &Value) -> String {
    let mut json = String::new();
    canonical_json(value, &mut json);
    let digits = fnv1a32(json.as_bytes()).to_string();
    digits
        .bytes()
        .map(|b| char::from(SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()]))
        .collect()
}

/// The `rollouts-pod-template-hash` of a pod template.
pub fn pod_template_hash(template: &Value) -> String {
    stable_hash(template)
}

/// Parses a pause duration as Argo does: a number is seconds, a string is a Go duration (`"48h"`, `"1h30m"`,
/// `"90s"`, `"500ms"`) or plain digits.
pub fn parse_duration_seconds(d: &IntOrString) -> Result<i64, Error> {
    match d {
        IntOrString::Int(n) if *n >= 0 => Ok(*n),
        IntOrString::Int(n) => Err(Error::InvalidDuration {
            value: n.to_string(),
            reason: "must not be negative".into(),
        }),
        IntOrString::String(s) => parse_go_duration(s),
    }
}

fn parse_go_duration(s: &str) -> Result<i64, Error> {
    let err = |reason: &str| Error::InvalidDuration {
        value: s.to_string(),
        reason: reason.to_string(),
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(err("empty"));
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().map_err(|_| err("number too large"));
    }
    let mut millis: i64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| err("missing unit (use s, m or h)"))?;
        if num_len == 0 {
            return Err(err("expected a number"));
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| err("bad number"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            other => return Err(err(&format!("unknown unit {other:?} (use ms, s, m or h)"))),
        };
        rest = &rest[unit_len..];
        let part = number * factor;
        if !part.is_finite() || part > 1e15 {
            return Err(err("too large"));
        }
        millis += part as i64;
    }
    Ok(millis.div_euclid(1_000))
}

/// Resolves maxSurge / maxUnavailable against `replicas` like Kubernetes' `ResolveFenceposts`: surge rounds up,
/// unavailable rounds down, and both zero means one unavailable pod is allowed.
pub fn resolve_fenceposts(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    replicas: i32,
) -> Result<(i32, i32), Error> {
    let quarter = IntOrString::String("25%".into());
    let surge = scaled(max_surge.unwrap_or(&quarter), replicas, true, "maxSurge")?;
    let unavailable = scaled(
        max_unavailable.unwrap_or(&quarter),
        replicas,
        false,
        "maxUnavailable",
    )?;
    if surge == 0 && unavailable == 0 {
        return Ok((0, 1));
    }
    Ok((surge, unavailable.min(replicas)))
}

/// `v` (a count, or a percentage of `total` rounded up or down) as a count.
pub(crate) fn scaled(v: &IntOrString, total: i32, round_up: bool, field: &'static str) -> Result<i32, Error> {
    let bad = |reason: &str| Error::InvalidField {
        field,
        reason: reason.to_string(),
    };
    match v {
        IntOrString::Int(n) => i32::try_from(*n)
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| bad("must be a non-negative number")),
        IntOrString::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.trim().parse().ok())
                .filter(|p| *p >= 0)
                .ok_or_else(|| bad(&format!("{s:?} is neither a number nor a percentage")))?;
            let prod = pct * i64::from(total.max(0));
            let r = if round_up { (prod + 99) / 100 } else { prod / 100 };
            i32::try_from(r).map_err(|_| bad("too large"))
        }
    }
}

/// `ceil(weight * replicas / 100)` with weight clamped to 0..=100.
pub fn replicas_for_weight(weight: i32, replicas: i32) -> i32 {
    let w = i64::from(weight.clamp(0, 100));
    let r = i64::from(replicas.max(0));
    ((w * r + 99) / 100) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_is_stable_safe_and_order_independent() {
        let a = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "a", "image": "i:1"}]}});
        let b = json!({"spec": {"containers": [{"image": "i:1", "name": "a"}]}, "metadata": {"labels": {"app": "x"}}});
        let c = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "a", "image": "i:2"}]}});
        assert_eq!(pod_template_hash(&a), pod_template_hash(&b));
        assert_ne!(pod_template_hash(&a), pod_template_hash(&c));
        let h = pod_template_hash(&a);
        assert!(!h.is_empty() && h.len() <= 10);
        assert!(h.bytes().all(|b| SAFE_ALPHABET.contains(&b)), "{h}");
    }

    #[test]
    fn durations() {
        let s = |v: &str| parse_duration_seconds(&IntOrString::String(v.into()));
        assert_eq!(s("48h").ok(), Some(172_800));
        assert_eq!(s("1h30m").ok(), Some(5_400));
        assert_eq!(s("90s").ok(), Some(90));
        assert_eq!(s("1.5m").ok(), Some(90));
        assert_eq!(s("30").ok(), Some(30));
        assert_eq!(parse_duration_seconds(&IntOrString::Int(10)).ok(), Some(10));
        assert!(matches!(s("10d"), Err(Error::InvalidDuration { .. })));
        assert!(s("h").is_err());
        assert!(s("").is_err());
    }

    #[test]
    fn fenceposts() {
        assert_eq!(resolve_fenceposts(None, None, 4).ok(), Some((1, 1)));
        assert_eq!(resolve_fenceposts(None, None, 10).ok(), Some((3, 2)));
        let zero = IntOrString::Int(0);
        assert_eq!(resolve_fenceposts(Some(&zero), Some(&zero), 4).ok(), Some((0, 1)));
        let bad = IntOrString::String("abc".into());
        assert!(resolve_fenceposts(Some(&bad), None, 4).is_err());
        assert_eq!(replicas_for_weight(20, 4), 1);
        assert_eq!(replicas_for_weight(50, 4), 2);
        assert_eq!(replicas_for_weight(100, 4), 4);
        assert_eq!(replicas_for_weight(0, 4), 0);
    }
}
