//! Name-reference fixing: after renames (prefix, suffix, hash, namespace), fields that refer to
//! a renamed object by its old name are rewritten to its new name.

use std::collections::HashMap;

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

/// One possible referral's old name looked up for one referrer and one name-reference entry.
struct Picker<'a> {
    snapshot: &'a [Referral],
    by_prev_name: &'a HashMap<&'a str, Vec<usize>>,
    target: &'a Gvk,
    referrer_ns: &'a str,
    referrer_cluster: bool,
    /// For a RoleBinding: the namespaces named by its ServiceAccount subjects.
    subject_namespaces: &'a [String],
    referrer_prefixes: &'a [String],
    referrer_suffixes: &'a [String],
}

impl Picker<'_> {
    /// The new (name, namespace) of the object `old` refers to, by Kustomize's sieve: previous
    /// name and kind, namespace, then prefixes and suffixes (empty lists matching anything first,
    /// then exactly).
    fn pick(
        &self,
        old: &str,
        ns_hint: Option<&str>,
        kind_hint: Option<&str>,
        mapping: bool,
    ) -> Result<Option<(String, String)>, Error> {
        let snapshot = self.snapshot;
        if let Some(ns) = ns_hint {
            // A map with a namespace: candidates grouped by original namespace if any
            // candidate had it, else by current namespace.
            let by_org = snapshot
                .iter()
                .any(|c| self.may_refer_to(c) && c.org_ns_eff == ns);
            let keep = |c: &Referral| {
                if by_org {
                    c.org_ns_eff == ns
                } else {
                    c.cur_ns_eff == ns
                }
            };
            return self.sieve(old, kind_hint, &keep, mapping);
        }
        self.sieve(old, kind_hint, &|_: &Referral| true, mapping)
    }

    /// Whether the referrer may refer to `c` at all (Kustomize's "subset that could be
    /// referenced"): cluster-scoped referrers anything; otherwise cluster-scoped objects, objects
    /// of the referrer's namespace, and for a RoleBinding objects in the namespaces of its
    /// ServiceAccount subjects.
    fn may_refer_to(&self, c: &Referral) -> bool {
        self.referrer_cluster
            || c.cluster
            || ns_eq(&c.namespace, self.referrer_ns)
            || self.subject_namespaces.contains(&c.namespace)
    }

    /// Kustomize's candidate sieve for an old name, among the candidates `keep` accepts.
    fn sieve(
        &self,
        old: &str,
        kind_hint: Option<&str>,
        keep: &dyn Fn(&Referral) -> bool,
        mapping: bool,
    ) -> Result<Option<(String, String)>, Error> {
        let snapshot = self.snapshot;
        let mut cands: Vec<&Referral> = self
            .by_prev_name
            .get(old)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .map(|&i| &snapshot[i])
            .filter(|c| {
                self.may_refer_to(c)
                    && keep(c)
                    && c.gvk.is_selected(self.target)
                    && c.prev.iter().any(|(pn, _)| pn == old)
            })
            .collect();
        if let Some(k) = kind_hint {
            cands.retain(|c| c.gvk.kind == k);
        }
        if !self.referrer_cluster {
            cands.retain(|c| {
                c.cluster || c.gvk.kind == "ServiceAccount" || ns_eq(&c.namespace, self.referrer_ns)
            });
        }
        for allow_empty in [true, false] {
            if cands.len() > 1 {
                cands.retain(|c| {
                    affixes_match(&c.prefixes, self.referrer_prefixes, allow_empty)
                        && affixes_match(&c.suffixes, self.referrer_suffixes, allow_empty)
                });
            }
        }
        match cands.len() {
            0 => Ok(None),
            1 => Ok(Some((cands[0].name.clone(), cands[0].namespace.clone()))),
            _ => {
                // Candidates are the same referral when they agree on what is copied from them: the
                // name, and for a mapping reference (name and namespace) the namespace too.
                let all_same = cands
                    .iter()
                    .all(|c| c.name == cands[0].name && (!mapping || c.namespace == cands[0].namespace));
                if all_same {
                    Ok(Some((cands[0].name.clone(), cands[0].namespace.clone())))
                } else {
                    Err(Error::msg(format!(
                        "found multiple possible referrals for {} {old}",
                        self.target.kind
                    )))
                }
            }
        }
    }
}

/// Kustomize's prefix/suffix comparison of a candidate and a referrer: one list ends the other
/// (`allow_empty`: an empty list matches anything).
fn affixes_match(a: &[String], b: &[String], allow_empty: bool) -> bool {
    if allow_empty && (a.is_empty() || b.is_empty()) {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long.ends_with(short)
}

fn referral(r: &Resource) -> Referral {
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
}

/// Rewrites references in all resources.
pub fn fix(res: &mut [Resource], refs: &[NameRef]) -> Result<(), Error> {
    let snapshot: Vec<Referral> = res.iter().map(referral).collect();
    let mut by_prev_name: HashMap<&str, Vec<usize>> = HashMap::new();
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
        let referrer_prefixes = referrer.prefixes.clone();
        let referrer_suffixes = referrer.suffixes.clone();
        let subject_namespaces = if referrer_gvk.kind == "RoleBinding" {
            subject_namespaces(referrer)?
        } else {
            Vec::new()
        };
        let mut obj = Value::Object(std::mem::take(&mut referrer.obj));
        let mut result = Ok(());
        for nr in refs {
            let picker = Picker {
                snapshot: &snapshot,
                by_prev_name: &by_prev_name,
                target: &nr.target,
                referrer_ns: &referrer_ns,
                referrer_cluster: referrer_gvk.is_cluster_scoped(),
                subject_namespaces: &subject_namespaces,
                referrer_prefixes: &referrer_prefixes,
                referrer_suffixes: &referrer_suffixes,
            };
            for spec in nr.referrers.iter().filter(|s| s.applies_to(&referrer_gvk)) {
                if let Err(e) = fix_field(&mut obj, &spec.path, &picker) {
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

/// The namespaces a RoleBinding's ServiceAccount subjects name; a subject whose `namespace` is
/// null or not a string is refused, as Kustomize does.
fn subject_namespaces(rb: &Resource) -> Result<Vec<String>, Error> {
    let Some(Value::Array(subjects)) = rb.obj.get("subjects") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for s in subjects {
        if s.get("kind").and_then(|k| k.as_str()) != Some("ServiceAccount") {
            continue;
        }
        match s.get("namespace") {
            None => {}
            Some(Value::String(ns)) => out.push(ns.clone()),
            Some(_) => {
                let id = rb.cur_id();
                let group = if id.gvk.group.is_empty() {
                    "[noGrp]"
                } else {
                    id.gvk.group.as_str()
                };
                let ns = if id.namespace.is_empty() {
                    "[noNs]"
                } else {
                    id.namespace.as_str()
                };
                return Err(Error::msg(format!(
                    "Invalid Input: namespace is blank for resource \"{}.{}.{group}/{}.{ns}\"",
                    id.gvk.kind, id.gvk.version, id.name
                )));
            }
        }
    }
    Ok(out)
}

/// Rewrites the references found at one referrer field.
fn fix_field(obj: &mut Value, path: &[String], picker: &Picker<'_>) -> Result<(), Error> {
    let is_subjects = path.last().map(String::as_str) == Some("subjects");
    let is_roleref = path.first().map(String::as_str) == Some("roleRef");
    let roleref_kind = if is_roleref {
        obj.get("roleRef")
            .and_then(|r| r.get("kind"))
            .and_then(|k| k.as_str())
            .map(str::to_string)
    } else {
        None
    };
    let target_kind = picker.target.kind.as_str();
    let fix_map = |m: &mut serde_json::Map<String, Value>| -> Result<(), Error> {
        let old = m.get("name").and_then(|x| x.as_str()).unwrap_or("").to_string();
        let ns = m.get("namespace").and_then(|x| x.as_str()).map(str::to_string);
        if let Some((name, new_ns)) = picker.pick(&old, ns.as_deref(), None, true)? {
            set_name_ns(m, &old, name, new_ns);
        }
        Ok(())
    };
    visit_path_strict(obj, path, &mut |n| {
        match n {
            Value::String(s) => {
                if let Some((name, _)) = picker.pick(s, None, roleref_kind.as_deref(), false)? {
                    *s = name;
                }
            }
            Value::Array(items) if !is_subjects => {
                for it in items.iter_mut() {
                    if let Value::String(s) = it
                        && let Some((name, _)) = picker.pick(s, None, None, false)?
                    {
                        *s = name;
                    }
                }
            }
            Value::Array(items) => {
                for it in items.iter_mut() {
                    if let Value::Object(m) = it
                        && m.get("kind").and_then(|k| k.as_str()) == Some(target_kind)
                    {
                        fix_map(m)?;
                    }
                }
            }
            Value::Object(m) => fix_map(m)?,
            _ => {}
        }
        Ok(())
    })
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
        Value::Object(m) => match m.get_mut(path[0].strip_suffix("[]").unwrap_or(&path[0])) {
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
