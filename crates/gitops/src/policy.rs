//! TenantPolicy matching, pure: which policies govern a namespace, and whether an application's repository,
//! destinations and rendered kinds satisfy every one of them. A refusal names the policy, the rule and what
//! broke it. Patterns are globs: `*` matches any run of characters (`/` included), `?` one character.

use std::collections::BTreeMap;

use tack_model::{LabelRequirement, NamespaceSelector, TenantPolicy};

/// The cluster the controller runs in, as destination rules name it.
pub const IN_CLUSTER: &str = "in-cluster";

/// A broken rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The TenantPolicy's name.
    pub policy: String,
    /// The rule: `sourceRepos`, `destinations`, `deniedKinds`, `denyClusterScoped`.
    pub rule: &'static str,
    /// What broke it.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TenantPolicy {}: rule {}: {}",
            self.policy, self.rule, self.message
        )
    }
}

/// One object an application would deploy, as the kind rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployed {
    /// The API group (`""` for the core group).
    pub group: String,
    /// The kind.
    pub kind: String,
    /// The name, for messages.
    pub name: String,
    /// The namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Whether the kind is namespaced.
    pub namespaced: bool,
}

/// Whether `text` matches the glob `pattern` (`*`: any run of characters, `?`: one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen and the text position it was tried at (classic backtracking).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A repository URL without user information (`https://user:token@host/…` → `https://host/…`): what patterns
/// match and messages show.
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

fn requirement_holds(r: &LabelRequirement, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&r.key);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| r.values.contains(v)),
        "NotIn" => value.is_none_or(|v| !r.values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        // An operator Kubernetes does not know selects nothing.
        _ => false,
    }
}

fn selector_matches(s: &NamespaceSelector, labels: &BTreeMap<String, String>) -> bool {
    s.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
        && s.match_expressions.iter().all(|r| requirement_holds(r, labels))
}

/// Whether `policy` governs the applications of `namespace` (with these labels).
pub fn governs(policy: &TenantPolicy, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
    policy.spec.namespaces.iter().any(|p| glob(p, namespace))
        || policy
            .spec
            .namespace_selector
            .as_ref()
            .is_some_and(|s| selector_matches(s, labels))
}

fn name_of(policy: &TenantPolicy) -> String {
    policy.metadata.name.clone().unwrap_or_default()
}

/// The repository `url` is allowed by every policy (checked before anything is fetched or rendered).
pub fn check_repository(policies: &[TenantPolicy], url: &str) -> Result<(), Violation> {
    let shown = without_credentials(url);
    for p in policies {
        let Some(allowed) = &p.spec.source_repos else {
            continue;
        };
        if !allowed.iter().any(|pattern| glob(pattern, &shown)) {
            return Err(Violation {
                policy: name_of(p),
                rule: "sourceRepos",
                message: format!(
                    "repository {shown} matches none of the allowed patterns [{}]",
                    allowed.join(", ")
                ),
            });
        }
    }
    Ok(())
}

fn check_destination(p: &TenantPolicy, namespace: &str, cluster: &str, what: &str) -> Result<(), Violation> {
    let Some(allowed) = &p.spec.destinations else {
        return Ok(());
    };
    let ok = allowed
        .iter()
        .any(|d| glob(&d.namespace, namespace) && d.cluster.as_deref().is_none_or(|c| glob(c, cluster)));
    if ok {
        return Ok(());
    }
    let listed: Vec<String> = allowed
        .iter()
        .map(|d| match &d.cluster {
            Some(c) => format!("{c}/{}", d.namespace),
            None => d.namespace.clone(),
        })
        .collect();
    Err(Violation {
        policy: name_of(p),
        rule: "destinations",
        message: format!(
            "{what} deploys to namespace {namespace} of cluster {cluster}, which matches none of the allowed \
             destinations [{}]",
            listed.join(", ")
        ),
    })
}

fn check_kind(p: &TenantPolicy, d: &Deployed) -> Result<(), Violation> {
    let shown = || {
        let kind = if d.group.is_empty() {
            d.kind.clone()
        } else {
            format!("{}.{}", d.kind, d.group)
        };
        format!("{kind}/{}", d.name)
    };
    if p.spec.deny_cluster_scoped && !d.namespaced {
        return Err(Violation {
            policy: name_of(p),
            rule: "denyClusterScoped",
            message: format!(
                "{} is cluster-scoped, and this policy denies cluster-scoped objects",
                shown()
            ),
        });
    }
    if let Some(rule) = p
        .spec
        .denied_kinds
        .iter()
        .find(|r| glob(&r.group, &d.group) && glob(&r.kind, &d.kind))
    {
        return Err(Violation {
            policy: name_of(p),
            rule: "deniedKinds",
            message: format!(
                "{} is of a denied kind (group {:?}, kind {:?})",
                shown(),
                rule.group,
                rule.kind
            ),
        });
    }
    Ok(())
}

/// The application's destination namespace and every object it would deploy are allowed by every policy
/// (checked after rendering, before anything is written).
pub fn check_objects(
    policies: &[TenantPolicy],
    destination: &str,
    cluster: &str,
    objects: &[Deployed],
) -> Result<(), Violation> {
    for p in policies {
        check_destination(p, destination, cluster, "the application")?;
        for d in objects {
            check_kind(p, d)?;
            if d.namespaced && !d.namespace.is_empty() && d.namespace != destination {
                let what = format!("{}/{}", d.kind, d.name);
                check_destination(p, &d.namespace, cluster, &what)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tack_model::{DestinationRule, KindRule, TenantPolicySpec};

    fn policy(name: &str, spec: TenantPolicySpec) -> TenantPolicy {
        TenantPolicy::new(name, spec)
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn obj(group: &str, kind: &str, namespace: &str, namespaced: bool) -> Deployed {
        Deployed {
            group: group.into(),
            kind: kind.into(),
            name: "x".into(),
            namespace: namespace.into(),
            namespaced,
        }
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("*", "https://a/b"));
        assert!(glob(
            "https://git.example.com/team-a/*",
            "https://git.example.com/team-a/web.git"
        ));
        assert!(glob(
            "https://git.example.com/team-a/*",
            "https://git.example.com/team-a/x/y"
        ));
        assert!(!glob(
            "https://git.example.com/team-a/*",
            "https://git.example.com/team-b/web"
        ));
        assert!(!glob(
            "https://git.example.com/team-a/*",
            "https://git.example.com/team-a"
        ));
        assert!(glob("team-?", "team-a"));
        assert!(!glob("team-?", "team-ab"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
        assert!(glob("", ""));
        assert!(!glob("", "a"));
        assert!(glob("**", "abc"));
    }

    #[test]
    fn credentials_are_not_matched_nor_shown() {
        assert_eq!(
            without_credentials("https://bot:s3cret@git.example.com/team-a/web"),
            "https://git.example.com/team-a/web"
        );
        assert_eq!(
            without_credentials("https://git.example.com/a@b"),
            "https://git.example.com/a@b"
        );
        assert_eq!(without_credentials("file:///srv/git/a"), "file:///srv/git/a");
        let p = policy(
            "team-a",
            TenantPolicySpec {
                source_repos: Some(vec!["https://git.example.com/team-a/*".into()]),
                ..Default::default()
            },
        );
        let v = check_repository(&[p], "https://bot:s3cret@git.example.com/team-b/web").err();
        let text = v.map(|v| v.to_string()).unwrap_or_default();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains(
            "TenantPolicy team-a: rule sourceRepos: repository https://git.example.com/team-b/web"
        ));
    }

    #[test]
    fn namespaces_by_name_or_label() {
        let by_name = policy(
            "p",
            TenantPolicySpec {
                namespaces: vec!["team-a".into(), "shop-*".into()],
                ..Default::default()
            },
        );
        assert!(governs(&by_name, "team-a", &labels(&[])));
        assert!(governs(&by_name, "shop-eu", &labels(&[])));
        assert!(!governs(&by_name, "team-b", &labels(&[])));
        let by_label = policy(
            "p",
            TenantPolicySpec {
                namespace_selector: Some(NamespaceSelector {
                    match_labels: labels(&[("tenant", "yes")]),
                    match_expressions: vec![
                        LabelRequirement {
                            key: "tier".into(),
                            operator: "In".into(),
                            values: vec!["a".into(), "b".into()],
                        },
                        LabelRequirement {
                            key: "legacy".into(),
                            operator: "DoesNotExist".into(),
                            values: vec![],
                        },
                    ],
                }),
                ..Default::default()
            },
        );
        assert!(governs(
            &by_label,
            "x",
            &labels(&[("tenant", "yes"), ("tier", "b")])
        ));
        assert!(!governs(
            &by_label,
            "x",
            &labels(&[("tenant", "yes"), ("tier", "c")])
        ));
        assert!(!governs(
            &by_label,
            "x",
            &labels(&[("tenant", "yes"), ("tier", "a"), ("legacy", "")])
        ));
        assert!(!governs(&by_label, "x", &labels(&[("tier", "a")])));
        let everything = policy(
            "p",
            TenantPolicySpec {
                namespace_selector: Some(NamespaceSelector::default()),
                ..Default::default()
            },
        );
        assert!(governs(&everything, "any", &labels(&[])));
        let nothing = policy("p", TenantPolicySpec::default());
        assert!(!governs(&nothing, "any", &labels(&[])));
        let odd = LabelRequirement {
            key: "a".into(),
            operator: "Gt".into(),
            values: vec![],
        };
        assert!(!requirement_holds(&odd, &labels(&[("a", "1")])));
        let not_in = LabelRequirement {
            key: "a".into(),
            operator: "NotIn".into(),
            values: vec!["1".into()],
        };
        assert!(requirement_holds(&not_in, &labels(&[])));
        assert!(!requirement_holds(&not_in, &labels(&[("a", "1")])));
    }

    #[test]
    fn every_policy_must_allow_the_repository() {
        let open = policy("open", TenantPolicySpec::default());
        let a = policy(
            "a",
            TenantPolicySpec {
                source_repos: Some(vec!["https://git.example.com/*".into()]),
                ..Default::default()
            },
        );
        let b = policy(
            "b",
            TenantPolicySpec {
                source_repos: Some(vec!["https://git.example.com/team-a/*".into()]),
                ..Default::default()
            },
        );
        let none = policy(
            "none",
            TenantPolicySpec {
                source_repos: Some(vec![]),
                ..Default::default()
            },
        );
        let url = "https://git.example.com/team-b/web";
        assert!(check_repository(&[open.clone(), a.clone()], url).is_ok());
        let v = check_repository(&[open, a, b], url).err();
        assert_eq!(
            v.as_ref().map(|v| (v.policy.as_str(), v.rule)),
            Some(("b", "sourceRepos"))
        );
        assert!(check_repository(&[none], url).is_err());
        assert!(check_repository(&[], url).is_ok());
    }

    #[test]
    fn destinations_and_kinds() {
        let p = policy(
            "team-a",
            TenantPolicySpec {
                destinations: Some(vec![
                    DestinationRule {
                        namespace: "team-a".into(),
                        cluster: None,
                    },
                    DestinationRule {
                        namespace: "team-a-*".into(),
                        cluster: Some(IN_CLUSTER.into()),
                    },
                ]),
                denied_kinds: vec![KindRule {
                    group: "rbac.authorization.k8s.io".into(),
                    kind: "*".into(),
                }],
                deny_cluster_scoped: true,
                ..Default::default()
            },
        );
        let ps = [p];
        let ok = [
            obj("", "ConfigMap", "team-a", true),
            obj("apps", "Deployment", "team-a-canary", true),
        ];
        assert!(check_objects(&ps, "team-a", IN_CLUSTER, &ok).is_ok());
        let v = check_objects(&ps, "team-b", IN_CLUSTER, &[]).err();
        assert_eq!(v.as_ref().map(|v| v.rule), Some("destinations"));
        let v = check_objects(&ps, "team-a-x", "other", &[]).err();
        assert_eq!(v.as_ref().map(|v| v.rule), Some("destinations"));
        let v = check_objects(
            &ps,
            "team-a",
            IN_CLUSTER,
            &[obj("", "Secret", "kube-system", true)],
        )
        .err();
        let text = v.map(|v| v.to_string()).unwrap_or_default();
        assert!(
            text.contains("rule destinations: Secret/x deploys to namespace kube-system"),
            "{text}"
        );
        let v = check_objects(&ps, "team-a", IN_CLUSTER, &[obj("", "Namespace", "", false)]).err();
        assert_eq!(v.as_ref().map(|v| v.rule), Some("denyClusterScoped"));
        let v = check_objects(
            &ps,
            "team-a",
            IN_CLUSTER,
            &[obj("rbac.authorization.k8s.io", "Role", "team-a", true)],
        )
        .err();
        let text = v.map(|v| v.to_string()).unwrap_or_default();
        assert!(
            text.contains("rule deniedKinds: Role.rbac.authorization.k8s.io/x"),
            "{text}"
        );
        let core_only = policy(
            "core",
            TenantPolicySpec {
                denied_kinds: vec![KindRule {
                    group: "".into(),
                    kind: "Secret".into(),
                }],
                ..Default::default()
            },
        );
        assert!(
            check_objects(
                std::slice::from_ref(&core_only),
                "a",
                IN_CLUSTER,
                &[obj("x.io", "Secret", "a", true)]
            )
            .is_ok()
        );
        assert!(check_objects(&[core_only], "a", IN_CLUSTER, &[obj("", "Secret", "a", true)]).is_err());
    }
}
