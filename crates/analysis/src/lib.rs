//! Metric analysis compatible with Argo Rollouts: `AnalysisTemplate` / `ClusterAnalysisTemplate` /
//! `AnalysisRun` types, `{{args.NAME}}` substitution, a small condition evaluator and measurement bookkeeping.
//!
//! Everything here is pure; time is passed in. The providers that do I/O (Prometheus, web, Job) live in the
//! AnalysisRun controller (`tack-delivery`), so the Rollout state machine links no HTTP client.
//!
//! ```
//! use tack_analysis::{expr::{Val, eval_condition}, measure::{Phase, evaluate}, spec::Metric};
//! assert!(eval_condition("result[0] >= 0.95", &Val::List(vec![Val::Num(0.97)])).expect("valid"));
//! let metric: Metric = serde_json::from_value(serde_json::json!({
//!     "name": "success-rate", "successCondition": "result[0] >= 0.95"})).expect("metric");
//! assert_eq!(evaluate(&metric, &Val::List(vec![Val::Num(0.5)])).expect("evaluated"), Phase::Failed);
//! ```

#![warn(missing_docs)]

pub mod args;
pub mod expr;
pub mod measure;
pub mod run;
pub mod spec;

/// What went wrong while preparing or assessing an analysis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An argument is missing or unresolved.
    #[error("argument {name:?} {reason}")]
    Arg {
        /// Argument name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A metric field is invalid.
    #[error("metric {metric:?}: {reason}")]
    Metric {
        /// Metric name.
        metric: String,
        /// What is wrong.
        reason: String,
    },
    /// A success or failure condition could not be evaluated.
    #[error("metric {metric:?}: {source}")]
    Condition {
        /// Metric name.
        metric: String,
        /// The expression error.
        source: expr::ExprError,
    },
    /// A provider call failed.
    #[error("{provider} {url}: {reason}")]
    Provider {
        /// `prometheus` or `web`.
        provider: &'static str,
        /// The URL called.
        url: String,
        /// What failed.
        reason: String,
    },
}

/// Parses a Go duration (`"30s"`, `"5m"`, `"1h30m"`, `"500ms"`; plain digits are seconds) into whole seconds.
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    parse_go_duration_millis(s).map(|ms| ms / 1000)
}

/// Parses a Go duration (`"30s"`, `"5m"`, `"1h30m"`, `"500ms"`; plain digits are seconds) into milliseconds.
pub fn parse_go_duration_millis(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(1000))
            .ok_or_else(|| "number too large".to_string());
    }
    let mut millis = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or("missing unit (use ms, s, m or h)")?;
        if n == 0 {
            return Err("expected a number".into());
        }
        let number: f64 = rest[..n].parse().map_err(|_| "bad number".to_string())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        millis += number
            * match &rest[..u] {
                "ms" => 1.0,
                "s" => 1_000.0,
                "m" => 60_000.0,
                "h" => 3_600_000.0,
                other => return Err(format!("unknown unit {other:?} (use ms, s, m or h)")),
            };
        rest = &rest[u..];
    }
    if !millis.is_finite() || millis > 9e15 {
        return Err("duration too large".into());
    }
    Ok(millis as i64)
}
