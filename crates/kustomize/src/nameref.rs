//! Name-reference fixing: after renames (prefix, suffix, hash, namespace), fields that refer to
//! a renamed object by its old name are rewritten to its new name.

use serde_json::Value;

use crate::Error;
use crate::config::NameRef;
use crate::resource::{Gvk, Resource};

/// What name-reference fixing needs to know about a possible referral.
struct Referral {
    gvk: Gvk,
    /// Previous (name, namespace) pairs.
    prev: Vec<(String, String)>,
    name: String,
    namespace: String,
    cluster: bool,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    /// Effective original and current namespaces (`default` for empty, a marker when
    /// cluster-scoped).
    org_ns_eff: String,
    cur_ns_eff: String,
}

fn effective_ns(ns: &str, cluster: bool) -> String {
    if cluster {
        "_non_namespaceable_".to_string()
    } else if ns.is_empty() {
        "default".to_string()
    } else {
        ns.to_string()
    }
}

fn ns_eq(a: &str, b: &str) -> bool {
    let n = |s: &str| if s.is_empty() { "default" } else { s }.to_string();
    n(a) == n(b)
}

/// Rewrites references in all resources.
pub fn fix(res: &mut [Resource], refs: &[NameRef]) -> Result<(), Error> {
    let snapshot: Vec<Referral> = res
        .iter()
        .map(|r| {
            let gvk = r.gvk();
            let cluster = gvk.is_cluster_scoped();
            let cur_ns = r.namespace();
            let org_ns = r
                .prev_ids
                .first()
                .map(|i| i.namespace.clone())
                .unwrap_or_else(|| cur_ns.clone());
            Referral {
                org_ns_eff: effective_ns(&org_ns, cluster),
                cur_ns_eff: effective_ns(&cur_ns, cluster),
                cluster,
                gvk,
                prev: r
                    .prev_ids
                    .iter()
                    .map(|i| (i.name.clone(), i.namespace.clone()))
                    .collect(),
                name: r.name(),
                namespace: r.namespace(),
                prefixes: r.prefixes.clone(),
                suffixes: r.suffixes.clone(),
            }
        })
        .collect();
    let mut by_prev_name: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, r) in snapshot.iter().enumerate() {
        for (n, _) in &r.prev {
            let e = by_prev_name.entry(n.as_str()).or_default();
            if e.last() != Some(&i) {
                e.push(i);
            }
        }
    }
    for referrer in res.iter_mut() {
        let referrer_gvk = referrer.gvk();
        let referrer_ns = referrer.namespace();
        let referrer_cluster = referrer_gvk.is_cluster_scoped();
        let referrer_prefixes = referrer.prefixes.clone();
        let referrer_suffixes = referrer.suffixes.clone();
        let mut obj = Value::Object(std::mem::take(&mut referrer.obj));
        let mut result = Ok(());
        for nr in refs {
            for spec in nr.referrers.iter().filter(|s| s.applies_to(&referrer_gvk)) {
                let pick = |old: &str,
                            ns_hint: Option<&str>,
                            kind_hint: Option<&str>|
                 -> Result<Option<(String, String)>, Error> {
                    let mut cands: Vec<&Referral> = by_prev_name
                        .get(old)
                        .map(|v| v.as_slice())
                        .unwrap_or(&[])
                        .iter()
                        .map(|&i| &snapshot[i])
                        .filter(|c| c.gvk.is_selected(&nr.target) && c.prev.iter().any(|(pn, _)| pn == old))
                        .collect();
                    if let Some(ns) = ns_hint {
                        // A map with a namespace: candidates grouped by original namespace if any
                        // resource had it, else by current namespace.
                        if snapshot.iter().any(|c| c.org_ns_eff == ns) {
                            cands.retain(|c| c.org_ns_eff == ns);
                        } else {
                            cands.retain(|c| c.cur_ns_eff == ns);
                        }
                    }
                    if let Some(k) = kind_hint {
                        cands.retain(|c| c.gvk.kind == k);
                    }
                    if !referrer_cluster {
                        cands.retain(|c| {
                            c.cluster || c.gvk.kind == "ServiceAccount" || ns_eq(&c.namespace, &referrer_ns)
                        });
                    }
                    if cands.len() > 1 {
                        cands.retain(|c| c.prefixes == referrer_prefixes && c.suffixes == referrer_suffixes);
                    }
                    match cands.len() {
                        0 => Ok(None),
                        1 => Ok(Some((cands[0].name.clone(), cands[0].namespace.clone()))),
                        _ => {
                            let all_same = cands
                                .iter()
                                .all(|c| c.name == cands[0].name && c.namespace == cands[0].namespace);
                            if all_same {
                                Ok(Some((cands[0].name.clone(), cands[0].namespace.clone())))
                            } else {
                                Err(Error::msg(format!(
                                    "found multiple possible referrals for {} {old}",
                                    nr.target.kind
                                )))
                            }
                        }
                    }
                };
                let is_subjects = spec.path.last().map(String::as_str) == Some("subjects");
                let is_roleref = spec.path.first().map(String::as_str) == Some("roleRef");
                let roleref_kind = if is_roleref {
                    obj.get("roleRef")
                        .and_then(|r| r.get("kind"))
                        .and_then(|k| k.as_str())
                        .map(str::to_string)
                } else {
                    None
                };
                let r = visit_path_strict(&mut obj, &spec.path, &mut |n| {
                    match n {
                        Value::String(s) => {
                            if let Some((name, _)) = pick(s, None, roleref_kind.as_deref())? {
                                *s = name;
                            }
                        }
                        Value::Array(items) if !is_subjects => {
                            for it in items.iter_mut() {
                                if let Value::String(s) = it
                                    && let Some((name, _)) = pick(s, None, None)?
                                {
                                    *s = name;
                                }
                            }
                        }
                        Value::Array(items) => {
                            for it in items.iter_mut() {
                                if let Value::Object(m) = it {
                                    if m.get("kind").and_then(|k| k.as_str()) != Some(nr.target.kind.as_str())
                                    {
                                        continue;
                                    }
                                    let old =
                                        m.get("name").and_then(|x| x.as_str()).unwrap_or("").to_string();
                                    let ns = m.get("namespace").and_then(|x| x.as_str()).map(str::to_string);
                                    if let Some((name, new_ns)) = pick(&old, ns.as_deref(), None)? {
                                        set_name_ns(m, &old, name, new_ns);
                                    }
                                }
                            }
                        }
                        Value::Object(m) => {
                            let old = m.get("name").and_then(|x| x.as_str()).unwrap_or("").to_string();
                            let ns = m.get("namespace").and_then(|x| x.as_str()).map(str::to_string);
                            if let Some((name, new_ns)) = pick(&old, ns.as_deref(), None)? {
                                set_name_ns(m, &old, name, new_ns);
                            }
                        }
                        _ => {}
                    }
                    Ok(())
                });
                if let Err(e) = r {
                    result = Err(e);
                }
            }
        }
        if let Value::Object(m) = obj {
            referrer.obj = m;
        }
        result?;
    }
    Ok(())
}

/// Writes a referral's name and namespace into a `{name, namespace}` map like Kustomize: an
/// empty referral namespace is a wild card and is not written.
fn set_name_ns(m: &mut serde_json::Map<String, Value>, old: &str, name: String, ns: String) {
    if name == old && ns.is_empty() {
        return;
    }
    m.insert("name".into(), Value::String(name));
    if !ns.is_empty() {
        m.insert("namespace".into(), Value::String(ns));
    }
}

/// Like `resource::visit_path`, but a scalar met before the end of the path is an error (as in
/// Kustomize's name-reference filter).
fn visit_path_strict(
    node: &mut Value,
    path: &[String],
    f: &mut dyn FnMut(&mut Value) -> Result<(), Error>,
) -> Result<(), Error> {
    if path.is_empty() {
        return f(node);
    }
    match node {
        Value::Array(items) => {
            for it in items {
                visit_path_strict(it, path, f)?;
            }
            Ok(())
        }
        Value::Object(m) => match m.get_mut(path[0].as_str()) {
            Some(child) => visit_path_strict(child, &path[1..], f),
            None => Ok(()),
        },
        Value::Null => Ok(()),
        _ => Err(Error::msg(format!(
            "updating name reference: considering field '{}': expected sequence or mapping node",
            path.join("/")
        ))),
    }
}
