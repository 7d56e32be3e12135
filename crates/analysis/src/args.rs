//! `{{args.NAME}}` substitution, as Argo Rollouts does it: in every string of a metric.

use serde_json::Value;

use crate::Error;
use crate::spec::{Argument, Metric};

/// Merges template argument declarations (defaults) with the values passed by the Rollout; passed values win.
/// Every argument must end up with a value.
pub fn resolve_args(declared: &[Argument], passed: &[Argument]) -> Result<Vec<Argument>, Error> {
    let mut out: Vec<Argument> = declared.to_vec();
    for p in passed {
        match out.iter_mut().find(|a| a.name == p.name) {
            Some(a) => {
                if p.value.is_some() {
                    a.value.clone_from(&p.value);
                }
                if p.value_from.is_some() {
                    a.value_from.clone_from(&p.value_from);
                }
            }
            None => out.push(p.clone()),
        }
    }
    for a in &out {
        if a.value.is_none() && a.value_from.is_none() {
            return Err(Error::Arg {
                name: a.name.clone(),
                reason: "has no value (pass it in the Rollout's analysis args)".into(),
            });
        }
    }
    Ok(out)
}

/// Replaces `{{args.NAME}}` (spaces inside the braces allowed) in `text`.
pub fn substitute(text: &str, args: &[Argument]) -> Result<String, Error> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = after[..end].trim();
        if let Some(name) = inner.strip_prefix("args.") {
            let arg = args.iter().find(|a| a.name == name).ok_or_else(|| Error::Arg {
                name: name.to_string(),
                reason: "is used but not declared".into(),
            })?;
            let value = arg.value.as_deref().ok_or_else(|| Error::Arg {
                name: name.to_string(),
                reason: "has no resolved value (valueFrom must be resolved by the controller)".into(),
            })?;
            out.push_str(value);
        } else {
            // Not an argument (e.g. a Go template in a query): kept as written.
            out.push_str(&rest[start..start + 2 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn walk(v: &mut Value, args: &[Argument]) -> Result<(), Error> {
    match v {
        Value::String(s) => *s = substitute(s, args)?,
        Value::Array(items) => {
            for i in items {
                walk(i, args)?;
            }
        }
        Value::Object(map) => {
            for (_, i) in map.iter_mut() {
                walk(i, args)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Substitutes arguments in every string of `metric` (query, address, URL, headers, conditions, limits).
pub fn resolve_metric(metric: &Metric, args: &[Argument]) -> Result<Metric, Error> {
    let mut v = serde_json::to_value(metric).map_err(|e| Error::Metric {
        metric: metric.name.clone(),
        reason: e.to_string(),
    })?;
    walk(&mut v, args)?;
    serde_json::from_value(v).map_err(|e| Error::Metric {
        metric: metric.name.clone(),
        reason: format!("after argument substitution: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(name: &str, value: Option<&str>) -> Argument {
        Argument {
            name: name.into(),
            value: value.map(str::to_string),
            value_from: None,
        }
    }

    #[test]
    fn substitutes_and_reports_missing() {
        let args = vec![arg("service", Some("web")), arg("ns", Some("prod"))];
        assert_eq!(
            substitute(
                "sum(rate(x{svc=\"{{args.service}}\",ns=\"{{ args.ns }}\"}[5m]))",
                &args
            )
            .ok()
            .as_deref(),
            Some("sum(rate(x{svc=\"web\",ns=\"prod\"}[5m]))")
        );
        assert_eq!(
            substitute("{{other}} {{", &args).ok().as_deref(),
            Some("{{other}} {{")
        );
        let e = substitute("{{args.missing}}", &args).expect_err("missing");
        assert_eq!(e.to_string(), "argument \"missing\" is used but not declared");
    }

    #[test]
    fn passed_values_override_defaults() {
        let declared = vec![arg("service", None), arg("threshold", Some("0.95"))];
        let passed = vec![arg("service", Some("web"))];
        let r = resolve_args(&declared, &passed).expect("resolved");
        assert_eq!(r[0].value.as_deref(), Some("web"));
        assert_eq!(r[1].value.as_deref(), Some("0.95"));
        assert!(resolve_args(&declared, &[]).is_err());
    }

    #[test]
    fn metric_strings_are_substituted() {
        let m: Metric = serde_json::from_value(serde_json::json!({
            "name": "sr", "successCondition": "result[0] >= {{args.threshold}}", "failureLimit": "{{args.limit}}",
            "provider": {"prometheus": {"address": "http://{{args.host}}:9090", "query": "q{app=\"{{args.app}}\"}"}}
        }))
        .expect("metric");
        let args = vec![
            arg("threshold", Some("0.9")),
            arg("limit", Some("2")),
            arg("host", Some("prom")),
            arg("app", Some("web")),
        ];
        let r = resolve_metric(&m, &args).expect("resolved");
        assert_eq!(r.success_condition.as_deref(), Some("result[0] >= 0.9"));
        let p = r.provider.prometheus.expect("prometheus");
        assert_eq!(p.address, "http://prom:9090");
        assert_eq!(p.query, "q{app=\"web\"}");
        assert_eq!(
            r.failure_limit,
            Some(crate::spec::IntOrString::String("2".into()))
        );
    }
}
