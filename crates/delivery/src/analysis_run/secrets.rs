//! Arguments taken from Secrets (`valueFrom.secretKeyRef`), read just before measuring and never written back,
//! logged or put in an error: every value read is redacted (`*****`) from measurement messages and values.

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use tack_analysis::spec::{Argument, Measurement};

use super::Error;

/// What replaces a secret value in measurement messages and values.
pub const REDACTED: &str = "*****";

/// The run's arguments with `secretKeyRef` values filled in, and the values read (for redaction).
pub struct ResolvedArgs {
    /// Every argument with a `value`.
    pub args: Vec<Argument>,
    /// Secret values read, to redact.
    pub secrets: Vec<String>,
}

fn reference(arg: &Argument) -> Result<Option<(String, String)>, Error> {
    let Some(vf) = &arg.value_from else {
        return Ok(None);
    };
    if arg.value.is_some() {
        return Err(Error::Args(format!(
            "argument {:?} has both value and valueFrom",
            arg.name
        )));
    }
    let Some(r) = &vf.secret_key_ref else {
        return Err(Error::Args(format!(
            "argument {:?}: an AnalysisRun resolves only valueFrom.secretKeyRef (fieldRef and \
             podTemplateHashValue are resolved by the Rollout that creates the run)",
            arg.name
        )));
    };
    if r.name.is_empty() || r.key.is_empty() {
        return Err(Error::Args(format!(
            "argument {:?}: valueFrom.secretKeyRef needs a name and a key",
            arg.name
        )));
    }
    Ok(Some((r.name.clone(), r.key.clone())))
}

/// Reads every `secretKeyRef` argument from the run's namespace.
pub async fn resolve(
    client: &kube::Client,
    namespace: &str,
    args: &[Argument],
) -> Result<ResolvedArgs, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut out = Vec::with_capacity(args.len());
    let mut secrets = Vec::new();
    for a in args {
        let Some((name, key)) = reference(a)? else {
            out.push(a.clone());
            continue;
        };
        let secret = api
            .get_opt(&name)
            .await
            .map_err(|e| Error::Args(format!("argument {:?}: reading Secret {name}: {e}", a.name)))?
            .ok_or_else(|| Error::Args(format!("argument {:?}: Secret {name:?} not found", a.name)))?;
        let bytes = secret
            .data
            .as_ref()
            .and_then(|d| d.get(&key))
            .map(|b| b.0.clone())
            .or_else(|| {
                secret
                    .string_data
                    .as_ref()
                    .and_then(|d| d.get(&key))
                    .map(|s| s.clone().into_bytes())
            })
            .ok_or_else(|| {
                Error::Args(format!(
                    "argument {:?}: key {key:?} does not exist in Secret {name:?}",
                    a.name
                ))
            })?;
        let value = String::from_utf8(bytes).map_err(|_| {
            Error::Args(format!(
                "argument {:?}: key {key:?} of Secret {name:?} is not UTF-8 text",
                a.name
            ))
        })?;
        if !value.is_empty() {
            secrets.push(value.clone());
        }
        out.push(Argument {
            name: a.name.clone(),
            value: Some(value),
            value_from: None,
        });
    }
    // Longest first, so a value containing another is redacted whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    Ok(ResolvedArgs { args: out, secrets })
}

/// Replaces every secret value in `text`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() && out.contains(s.as_str()) {
            out = out.replace(s.as_str(), REDACTED);
        }
    }
    out
}

/// Redacts a measurement's message, value and metadata.
pub fn redact_measurement(m: &mut Measurement, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    if let Some(msg) = &m.message {
        m.message = Some(redact(msg, secrets));
    }
    if let Some(v) = &m.value {
        m.value = Some(redact(v, secrets));
    }
    for v in m.metadata.values_mut() {
        *v = redact(v, secrets);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_every_occurrence_longest_first() {
        let secrets = vec!["s3cr3t-long".to_string(), "s3cr3t".to_string()];
        assert_eq!(
            redact("GET http://x/?t=s3cr3t-long&u=s3cr3t failed", &secrets),
            "GET http://x/?t=*****&u=***** failed"
        );
        let mut m = Measurement {
            message: Some("token s3cr3t refused".into()),
            value: Some("s3cr3t".into()),
            ..Measurement::default()
        };
        redact_measurement(&mut m, &secrets);
        assert_eq!(m.message.as_deref(), Some("token ***** refused"));
        assert_eq!(m.value.as_deref(), Some("*****"));
    }

    #[test]
    fn references_are_checked() {
        let arg = |v: serde_json::Value| -> Argument { serde_json::from_value(v).expect("arg") };
        assert_eq!(
            reference(&arg(json!({"name": "a", "value": "x"}))).ok(),
            Some(None)
        );
        assert_eq!(
            reference(&arg(
                json!({"name": "a", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}})
            ))
            .ok(),
            Some(Some(("s".to_string(), "k".to_string())))
        );
        assert!(
            reference(&arg(
                json!({"name": "a", "valueFrom": {"fieldRef": {"fieldPath": "x"}}})
            ))
            .is_err_and(|e| e.to_string().contains("Rollout"))
        );
        assert!(
            reference(&arg(
                json!({"name": "a", "value": "v", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}})
            ))
            .is_err_and(|e| e.to_string().contains("both"))
        );
    }
}
