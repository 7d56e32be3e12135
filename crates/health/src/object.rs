//! Small readers over `serde_json::Value` objects, tolerant of absent or mistyped fields.

use serde_json::Value;

pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.get(*key)?;
    }
    Some(cur)
}

pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path)?.as_str()
}

pub(crate) fn i64_at(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path)?.as_i64()
}

pub(crate) fn bool_at(v: &Value, path: &[&str]) -> bool {
    at(v, path).and_then(Value::as_bool).unwrap_or(false)
}

pub(crate) fn array_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A `status.conditions[]` entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Condition<'a> {
    pub status: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
}

impl Condition<'_> {
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
    pub fn is_false(&self) -> bool {
        self.status == "False"
    }
    /// `reason: message`, or whichever of the two is present.
    pub fn describe(&self) -> String {
        match (self.reason.is_empty(), self.message.is_empty()) {
            (false, false) => format!("{}: {}", self.reason, self.message),
            (false, true) => self.reason.to_string(),
            (true, false) => self.message.to_string(),
            (true, true) => String::new(),
        }
    }
}

pub(crate) fn condition<'a>(v: &'a Value, type_: &str) -> Option<Condition<'a>> {
    array_at(v, &["status", "conditions"])
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
        .map(|c| Condition {
            status: c.get("status").and_then(Value::as_str).unwrap_or("Unknown"),
            reason: c.get("reason").and_then(Value::as_str).unwrap_or(""),
            message: c.get("message").and_then(Value::as_str).unwrap_or(""),
        })
}

/// `metadata.generation` is ahead of `status.observedGeneration`: the controller has not seen the latest spec.
/// Objects that do not report an observed generation are not judged by this rule.
pub(crate) fn generation_pending(v: &Value) -> bool {
    match (
        i64_at(v, &["metadata", "generation"]),
        i64_at(v, &["status", "observedGeneration"]),
    ) {
        (Some(generation), Some(observed)) => observed < generation,
        _ => false,
    }
}

/// The API group of an object (`""` for the core group).
pub(crate) fn group(v: &Value) -> &str {
    match str_at(v, &["apiVersion"]) {
        Some(api_version) => match api_version.split_once('/') {
            Some((group, _)) => group,
            None => "",
        },
        None => "",
    }
}
