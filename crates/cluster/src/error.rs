//! Errors of API calls, phrased for people: what failed, on which object, and what to do.

use std::fmt;
use std::time::Duration;

/// One field another field manager owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The other field manager, e.g. `kubectl-edit`.
    pub manager: String,
    /// The field, e.g. `.spec.replicas`.
    pub field: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is owned by field manager \"{}\"", self.field, self.manager)
    }
}

/// Why a request to the API server (or the connection to it) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// No usable kubeconfig / context.
    #[error(
        "{message}; pass --kubeconfig/--context, set KUBECONFIG, or start the local control plane with `tack dev up`"
    )]
    Config {
        /// What is wrong with the kubeconfig or context.
        message: String,
    },

    /// Discovery failed (the API server is unreachable or broken).
    #[error(
        "cannot list the API server's resource types: {message}; is the cluster reachable (`kubectl cluster-info`)?"
    )]
    Discovery {
        /// Why discovery failed.
        message: String,
    },

    /// Server-side apply found fields owned by other field managers.
    #[error(
        "{what}: conflict with other field managers: {}; tack did not change these fields. Remove them from \
         the manifest, or take them over with --force",
        conflicts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    Conflict {
        /// What was being applied, on which object.
        what: String,
        /// The fields other managers own.
        conflicts: Vec<Conflict>,
    },

    /// The API server refused the object (validation, admission, unknown field...).
    #[error("{what}: rejected by the API server: {message}")]
    Rejected {
        /// What was being done, on which object (`applying Deployment/web`).
        what: String,
        /// The HTTP status code (422, 403, ...).
        code: u16,
        /// The API server's `reason` (`Invalid`, `Forbidden`, ...).
        reason: String,
        /// The API server's message.
        message: String,
    },

    /// The object's namespace does not exist.
    #[error(
        "{what}: {message}; create the namespace first (tack sync --create-namespace) or fix metadata.namespace"
    )]
    NamespaceNotFound {
        /// What was being done, on which object.
        what: String,
        /// The API server's message.
        message: String,
    },

    /// Any other API error.
    #[error("{what}: {message}")]
    Api {
        /// What was being done, on which object.
        what: String,
        /// The HTTP status code.
        code: u16,
        /// The API server's message.
        message: String,
    },

    /// The API server could not be reached.
    #[error("{what}: cannot reach the API server: {message}")]
    Transport {
        /// What was being done, on which object.
        what: String,
        /// Why the connection failed.
        message: String,
    },

    /// The answer could not be decoded.
    #[error("{what}: unexpected answer from the API server: {message}")]
    Decode {
        /// What was being done, on which object.
        what: String,
        /// Why the answer could not be decoded.
        message: String,
    },

    /// A wait ran out of time.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited, e.g. a CustomResourceDefinition to become Established.
        what: String,
        /// How long it waited.
        after: Duration,
    },
}

impl ClusterError {
    pub(crate) fn discovery(e: kube::Error) -> ClusterError {
        ClusterError::Discovery {
            message: e.to_string(),
        }
    }

    /// Classifies a kube error on `what`. For Secrets, quoted values are removed from the message, since
    /// validation messages may quote the value they reject.
    pub(crate) fn from_kube(e: kube::Error, what: &str, secret: bool) -> ClusterError {
        let what = what.to_string();
        match e {
            kube::Error::Api(status) => {
                let message = if secret {
                    scrub_values(&status.message)
                } else {
                    status.message.clone()
                };
                let code = status.code;
                let reason = status.reason.clone();
                if code == 409 && reason == "Conflict" {
                    let mut conflicts: Vec<Conflict> = status
                        .details
                        .as_ref()
                        .map(|d| {
                            d.causes
                                .iter()
                                .filter(|c| c.reason == "FieldManagerConflict")
                                .map(|c| Conflict {
                                    manager: manager_of(&c.message),
                                    field: c.field.clone(),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    if conflicts.is_empty() {
                        conflicts = parse_conflicts(&status.message);
                    }
                    if !conflicts.is_empty() {
                        return ClusterError::Conflict { what, conflicts };
                    }
                }
                if code == 404 && message.contains("namespaces \"") {
                    return ClusterError::NamespaceNotFound { what, message };
                }
                // Server-side apply reports fields unknown to the schema as an internal error.
                if matches!(code, 400 | 403 | 409 | 422)
                    || message.contains("failed to create typed patch object")
                {
                    return ClusterError::Rejected {
                        what,
                        code,
                        reason,
                        message,
                    };
                }
                ClusterError::Api { what, code, message }
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) => ClusterError::Transport {
                what,
                message: e.to_string(),
            },
            other => ClusterError::Api {
                what,
                code: 0,
                message: other.to_string(),
            },
        }
    }

    /// The conflicts, when this is a field-manager conflict.
    pub fn conflicts(&self) -> &[Conflict] {
        match self {
            ClusterError::Conflict { conflicts, .. } => conflicts,
            _ => &[],
        }
    }

    /// Whether the object's namespace did not exist.
    pub fn is_namespace_not_found(&self) -> bool {
        matches!(self, ClusterError::NamespaceNotFound { .. })
    }
}

/// `conflict with "kubectl-edit" using apps/v1` → `kubectl-edit`.
fn manager_of(message: &str) -> String {
    message.split('"').nth(1).unwrap_or(message).to_string()
}

/// Parses `Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas` (and the
/// plural form with one conflict per line).
fn parse_conflicts(message: &str) -> Vec<Conflict> {
    let mut out = Vec::new();
    for part in message.split("conflict with ").skip(1) {
        let manager = part.split('"').nth(1).unwrap_or("").to_string();
        let field = part
            .rsplit_once(": ")
            .map(|(_, f)| f.lines().next().unwrap_or("").trim().to_string())
            .unwrap_or_default();
        if !manager.is_empty() {
            out.push(Conflict { manager, field });
        }
    }
    out
}

/// Replaces `Invalid value: "..."` quotes by `Invalid value: (hidden)`.
fn scrub_values(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(i) = rest.find("Invalid value: \"") {
        let start = i + "Invalid value: ".len();
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let mut end = None;
        let mut escaped = false;
        for (j, c) in after.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                end = Some(j);
                break;
            }
        }
        out.push_str("(hidden)");
        match end {
            Some(j) => rest = &after[j + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_from_the_message() {
        let c = parse_conflicts(
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas",
        );
        assert_eq!(
            c,
            vec![Conflict {
                manager: "kubectl-edit".into(),
                field: ".spec.replicas".into()
            }]
        );
        let c = parse_conflicts(
            "Apply failed with 2 conflicts: conflicts with \"before-first-apply\" using v1:\n- .data.a\n- .data.b",
        );
        assert!(c.is_empty() || c[0].manager == "before-first-apply");
    }

    #[test]
    fn secret_values_are_scrubbed() {
        let m = "Secret \"s\" is invalid: data[x]: Invalid value: \"hunter\\\"2\": must be ok; b: Invalid value: \"x\"";
        let s = scrub_values(m);
        assert!(!s.contains("hunter"), "{s}");
        assert_eq!(
            s,
            "Secret \"s\" is invalid: data[x]: Invalid value: (hidden): must be ok; b: Invalid value: (hidden)"
        );
    }
}
