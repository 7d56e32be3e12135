//! Semantic versions and Masterminds/semver v3 constraints, for a chart's `kubeVersion` and for matching a
//! dependency's `version` range against the subchart in `charts/`.

use std::cmp::Ordering;

/// A version `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]` (a leading `v` and missing parts accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The major version.
    pub major: u64,
    /// The minor version (0 when missing).
    pub minor: u64,
    /// The patch version (0 when missing).
    pub patch: u64,
    /// The pre-release part after `-`, empty for a release; the build part after `+` is dropped.
    pub pre: String,
}

impl Version {
    /// Parses `s` (surrounding spaces and a leading `v` allowed); `None` when it is not a version.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let s = s.split('+').next()?;
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) if !p.is_empty() => (c, p.to_string()),
            Some(_) => return None,
            None => (s, String::new()),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return None;
        }
        let mut n = [0u64; 3];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            n[i] = p.parse().ok()?;
        }
        Some(Version {
            major: n[0],
            minor: n[1],
            patch: n[2],
            pre,
        })
    }

    fn cmp_pre(a: &str, b: &str) -> Ordering {
        match (a.is_empty(), b.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => {}
        }
        let (ap, bp): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
        for (x, y) in ap.iter().zip(bp.iter()) {
            let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                (Ok(i), Ok(j)) => i.cmp(&j),
                (Ok(_), Err(_)) => Ordering::Less,
                (Err(_), Ok(_)) => Ordering::Greater,
                _ => x.cmp(y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        ap.len().cmp(&bp.len())
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| Version::cmp_pre(&self.pre, &o.pre))
    }
}

/// One `OP VERSION` term; missing or wildcard parts are `None`.
#[derive(Debug, Clone)]
struct Term {
    op: String,
    parts: [Option<u64>; 3],
    pre: String,
}

impl Term {
    fn parse(s: &str) -> Option<Term> {
        let s = s.trim();
        let op_len = s
            .find(|c: char| c.is_ascii_alphanumeric() || c == '*')
            .unwrap_or(s.len());
        let op = s[..op_len].trim().to_string();
        if !["", "=", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^"].contains(&op.as_str()) {
            return None;
        }
        let v = s[op_len..].trim();
        let v = v.strip_prefix('v').unwrap_or(v);
        let v = v.split('+').next()?;
        let (core, pre) = match v.split_once('-') {
            Some((c, p)) => (c, p.to_string()),
            None => (v, String::new()),
        };
        let mut parts = [None; 3];
        for (i, p) in core.split('.').enumerate() {
            if i >= 3 {
                return None;
            }
            parts[i] = match p {
                "x" | "X" | "*" => None,
                _ if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
                _ => return None,
            };
        }
        Some(Term { op, parts, pre })
    }

    fn floor(&self) -> Version {
        Version {
            major: self.parts[0].unwrap_or(0),
            minor: self.parts[1].unwrap_or(0),
            patch: self.parts[2].unwrap_or(0),
            pre: self.pre.clone(),
        }
    }

    /// The first version above the wildcard range `[floor, ceil)` of a partial version.
    fn ceil_of_wildcard(&self) -> Option<Version> {
        let v = |a, b, c| {
            Some(Version {
                major: a,
                minor: b,
                patch: c,
                pre: String::new(),
            })
        };
        match self.parts {
            [None, _, _] => None,
            [Some(a), None, _] => v(a + 1, 0, 0),
            [Some(a), Some(b), None] => v(a, b + 1, 0),
            [Some(_), Some(_), Some(_)] => None,
        }
    }

    fn check(&self, v: &Version) -> bool {
        let floor = self.floor();
        let dirty = self.parts.iter().any(Option::is_none);
        let below = |c: Option<Version>| c.is_none_or(|c| *v < c);
        match self.op.as_str() {
            "" | "=" => {
                if dirty {
                    *v >= floor && below(self.ceil_of_wildcard())
                } else {
                    *v == floor
                }
            }
            "!=" => {
                if dirty {
                    !(*v >= floor && below(self.ceil_of_wildcard()))
                } else {
                    *v != floor
                }
            }
            ">" => {
                if dirty {
                    self.ceil_of_wildcard().is_some_and(|c| *v >= c)
                } else {
                    *v > floor
                }
            }
            ">=" | "=>" => *v >= floor,
            "<" => *v < floor,
            "<=" | "=<" => {
                if dirty {
                    below(self.ceil_of_wildcard())
                } else {
                    *v <= floor
                }
            }
            "~" | "~>" => {
                let ceil = match self.parts {
                    [Some(a), None, _] => Version {
                        major: a + 1,
                        minor: 0,
                        patch: 0,
                        pre: String::new(),
                    },
                    [Some(a), Some(b), _] => Version {
                        major: a,
                        minor: b + 1,
                        patch: 0,
                        pre: String::new(),
                    },
                    [None, _, _] => return true,
                };
                *v >= floor && *v < ceil
            }
            "^" => {
                let ceil = match self.parts {
                    [None, _, _] => return true,
                    [Some(a), _, _] if a > 0 => Version {
                        major: a + 1,
                        minor: 0,
                        patch: 0,
                        pre: String::new(),
                    },
                    [Some(0), None, _] => Version {
                        major: 1,
                        minor: 0,
                        patch: 0,
                        pre: String::new(),
                    },
                    [Some(0), Some(b), _] if b > 0 => Version {
                        major: 0,
                        minor: b + 1,
                        patch: 0,
                        pre: String::new(),
                    },
                    [Some(0), Some(0), None] => Version {
                        major: 0,
                        minor: 1,
                        patch: 0,
                        pre: String::new(),
                    },
                    [Some(_), Some(_), Some(c)] => Version {
                        major: 0,
                        minor: 0,
                        patch: c + 1,
                        pre: String::new(),
                    },
                    _ => return true,
                };
                *v >= floor && *v < ceil
            }
            _ => false,
        }
    }
}

/// A constraint: terms joined by `,` or spaces (all must hold), groups joined by `||` (any may hold).
#[derive(Debug, Clone)]
pub struct Constraint {
    groups: Vec<Vec<Term>>,
}

impl Constraint {
    /// Parses a constraint such as `>= 1.2, < 2 || ^3`; `None` when it is not one.
    pub fn parse(s: &str) -> Option<Constraint> {
        let mut groups = Vec::new();
        for group in s.split("||") {
            let group = group.trim();
            let mut terms = Vec::new();
            // Hyphen ranges: "1.2 - 1.4.5".
            if let Some((lo, hi)) = group.split_once(" - ") {
                terms.push(Term::parse(&format!(">={}", lo.trim()))?);
                terms.push(Term::parse(&format!("<={}", hi.trim()))?);
                groups.push(terms);
                continue;
            }
            let mut tokens: Vec<String> = Vec::new();
            for tok in group.split([',', ' ']).filter(|t| !t.is_empty()) {
                // An operator separated from its version by a space: ">= 1.2".
                if let Some(last) = tokens.last_mut()
                    && !last.is_empty()
                    && last.chars().all(|c| "=<>!~^".contains(c))
                {
                    last.push_str(tok);
                    continue;
                }
                tokens.push(tok.to_string());
            }
            if tokens.is_empty() {
                tokens.push("*".into());
            }
            for t in tokens {
                terms.push(Term::parse(&t)?);
            }
            groups.push(terms);
        }
        Some(Constraint { groups })
    }

    /// Whether `v` satisfies the constraint. A prerelease version only satisfies a group with a prerelease
    /// term, as in Masterminds/semver.
    pub fn check(&self, v: &Version) -> bool {
        self.groups.iter().any(|g| {
            if !v.pre.is_empty() && !g.iter().any(|t| !t.pre.is_empty()) {
                return false;
            }
            g.iter().all(|t| t.check(v))
        })
    }
}

/// Helm's `IsCompatibleRange`: false when either side does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (Constraint::parse(constraint), Version::parse(version)) {
        (Some(c), Some(v)) => c.check(&v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_compatible_range as ok;

    #[test]
    fn constraints() {
        assert!(ok("^1.2.0", "1.9.0"));
        assert!(!ok("^1.2.0", "2.0.0"));
        assert!(ok("~1.2.3", "1.2.9"));
        assert!(!ok("~1.2.3", "1.3.0"));
        assert!(ok(">=1.20.0-0", "v1.37.0"));
        assert!(!ok(">=1.40.0-0", "v1.37.0"));
        assert!(ok("1.x", "1.4.0"));
        assert!(ok(">=1 <2", "1.5.0"));
        assert!(ok("1.0.0 - 2.0.0", "1.5.0"));
        assert!(ok("<1 || >=3", "3.1.0"));
        assert!(!ok(">=1.0.0", "1.1.0-beta"));
        assert!(ok("*", "0.1.0"));
        assert!(ok("", "0.1.0"));
    }
}
