//! `semver` and `semverCompare` with Masterminds/semver v3 rules: loose versions (`v1.2` is 1.2.0),
//! constraints with `||`, `,`/space conjunctions, `=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `~>`, `^`, wildcards
//! and hyphen ranges; a prerelease version satisfies a comparison only when the constraint has a
//! prerelease too (`>=1.19-0`).

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;
use tack_gotemplate::{FuncError, Funcs, Object, Value};

use crate::convert::{arity, str_arg};

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"!=|>=|=>|<=|=<|~>|=|>|<|~|\^";

static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$")
        .expect("static regex")
});
static CONSTRAINT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"^\s*({OPS}|)\s*({CV})\s*$")).expect("static regex"));
static RANGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"\s*({CV})\s+-\s+({CV})\s*")).expect("static regex"));
static FIND: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"({OPS}|)\s*({CV})")).expect("static regex"));
static VALID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(\s*({OPS}|)\s*({CV})\s*)((?:\s+|,\s*)({OPS}|)\s*({CV})\s*)*$"
    ))
    .expect("static regex")
});

/// A parsed version (Masterminds `*semver.Version`).
#[derive(Clone, Debug)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

impl Version {
    /// `semver.NewVersion`.
    pub fn parse(v: &str) -> Result<Version, String> {
        let m = VERSION.captures(v).ok_or("invalid semantic version")?;
        let num = |i: usize| -> Result<u64, String> {
            match m.get(i) {
                None => Ok(0),
                Some(x) => x
                    .as_str()
                    .trim_start_matches('.')
                    .parse::<u64>()
                    .map_err(|e| format!("error parsing version segment: {e}")),
            }
        };
        let pre = m.get(5).map(|x| x.as_str().to_string()).unwrap_or_default();
        for part in pre.split('.').filter(|_| !pre.is_empty()) {
            if part.len() > 1 && part.starts_with('0') && part.bytes().all(|c| c.is_ascii_digit()) {
                return Err("version segment starts with 0".into());
            }
        }
        Ok(Version {
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre,
            metadata: m.get(8).map(|x| x.as_str().to_string()).unwrap_or_default(),
            original: v.to_string(),
        })
    }

    pub fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let (sa, sb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..sa.len().max(sb.len()) {
        let (x, y) = (sa.get(i).copied().unwrap_or(""), sb.get(i).copied().unwrap_or(""));
        let d = compare_pre_part(x, y);
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => s.cmp(o),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(x), Ok(y)) => x.cmp(&y),
    }
}

struct Constraint {
    op: String,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    let m = CONSTRAINT
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {}", crate::strings::go_quote(c)))?;
    let g = |i: usize| m.get(i).map(|x| x.as_str()).unwrap_or("");
    let (major, minor, patch, pre) = (g(3), g(4), g(5), g(6));
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let ver = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        dirty = true;
        minor_dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        op: g(1).to_string(),
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

/// `semver.NewConstraint(c).Check(v)`.
pub fn check(constraint: &str, version: &Version) -> Result<bool, String> {
    let mut rewritten = constraint.to_string();
    for caps in RANGE.captures_iter(constraint) {
        let whole = caps.get(0).map(|x| x.as_str()).unwrap_or("");
        let from = caps.get(1).map(|x| x.as_str()).unwrap_or("");
        let to = caps.get(11).map(|x| x.as_str()).unwrap_or("");
        rewritten = rewritten.replacen(whole, &format!(">= {from}, <= {to} "), 1);
    }
    let mut ors = Vec::new();
    for part in rewritten.split("||") {
        if !VALID.is_match(part) {
            return Err(format!("improper constraint: {}", crate::strings::go_quote(part)));
        }
        let found: Vec<&str> = FIND.find_iter(part).map(|m| m.as_str()).collect();
        let found = if found.is_empty() { vec![part] } else { found };
        ors.push(
            found
                .into_iter()
                .map(parse_constraint)
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    Ok(ors.iter().any(|ands| ands.iter().all(|c| check_one(version, c))))
}

fn check_one(v: &Version, c: &Constraint) -> bool {
    if !v.pre.is_empty() && c.con.pre.is_empty() {
        return false;
    }
    let cmp = v.compare(&c.con);
    match c.op.as_str() {
        "" | "=" => {
            if c.dirty {
                tilde(v, c)
            } else {
                cmp == Ordering::Equal
            }
        }
        "!=" => not_equal(v, c),
        ">" => {
            if !c.dirty {
                return cmp == Ordering::Greater;
            }
            if v.major != c.con.major {
                return v.major > c.con.major;
            }
            if c.minor_dirty {
                return false;
            }
            if c.patch_dirty {
                return v.minor > c.con.minor;
            }
            cmp == Ordering::Greater
        }
        "<" => cmp == Ordering::Less,
        ">=" | "=>" => cmp != Ordering::Less,
        "<=" | "=<" => {
            if !c.dirty {
                return cmp != Ordering::Greater;
            }
            if v.major > c.con.major {
                return false;
            }
            !(v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty)
        }
        "~" | "~>" => tilde(v, c),
        "^" => caret(v, c),
        _ => false,
    }
}

fn tilde(v: &Version, c: &Constraint) -> bool {
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty {
        return true;
    }
    if v.major != c.con.major {
        return false;
    }
    v.minor == c.con.minor || c.minor_dirty
}

fn caret(v: &Version, c: &Constraint) -> bool {
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major > 0 || c.minor_dirty {
        return v.major == c.con.major;
    }
    if v.major > 0 {
        return false;
    }
    if c.con.minor > 0 || c.patch_dirty {
        return v.minor == c.con.minor;
    }
    if v.minor > 0 {
        return false;
    }
    c.con.patch == v.patch
}

fn not_equal(v: &Version, c: &Constraint) -> bool {
    if c.dirty {
        if c.con.major != v.major {
            return true;
        }
        if c.con.minor != v.minor && !c.minor_dirty {
            return true;
        } else if c.minor_dirty {
            return false;
        } else if c.con.patch != v.patch && !c.patch_dirty {
            return true;
        } else if c.patch_dirty {
            if !v.pre.is_empty() || !c.con.pre.is_empty() {
                return compare_prerelease(&v.pre, &c.con.pre) != Ordering::Equal;
            }
            return false;
        }
    }
    v.compare(&c.con) != Ordering::Equal
}

/// `*semver.Version` as a template value.
struct VersionObject(Version);

impl Object for VersionObject {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let v = &self.0;
        Some(match name {
            "Major" => Value::Int64(v.major as i64),
            "Minor" => Value::Int64(v.minor as i64),
            "Patch" => Value::Int64(v.patch as i64),
            "Prerelease" => Value::string(v.pre.clone()),
            "Metadata" => Value::string(v.metadata.clone()),
            "Original" => Value::string(v.original.clone()),
            "String" => Value::string(v.to_string()),
            _ => return None,
        })
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        let other = || -> Result<Version, FuncError> {
            arity(name, args, 1)?;
            match &args[0] {
                Value::Object(o) if o.type_name() == "*semver.Version" => {
                    Version::parse(&o.display()).map_err(FuncError::new)
                }
                other => Err(FuncError::new(format!(
                    "wrong type for value; expected *semver.Version; got {}",
                    crate::convert::type_name(other)
                ))),
            }
        };
        let cmp = |f: fn(Ordering) -> Value| other().map(|o| f(self.0.compare(&o)));
        Some(match name {
            "Compare" => cmp(|o| Value::Int(o as i64)),
            "LessThan" => cmp(|o| Value::Bool(o == Ordering::Less)),
            "GreaterThan" => cmp(|o| Value::Bool(o == Ordering::Greater)),
            "Equal" => cmp(|o| Value::Bool(o == Ordering::Equal)),
            _ => return None,
        })
    }
    fn display(&self) -> String {
        self.0.to_string()
    }
    fn to_data(&self) -> Option<Value> {
        Some(Value::string(self.0.to_string()))
    }
}

pub fn register(funcs: &mut Funcs) {
    funcs.insert("semver", |_, a| {
        arity("semver", a, 1)?;
        let v = Version::parse(&str_arg(&a[0])?).map_err(FuncError::new)?;
        Ok(Value::Object(std::rc::Rc::new(VersionObject(v))))
    });
    funcs.insert("semverCompare", |_, a| {
        arity("semverCompare", a, 2)?;
        let (c, v) = (str_arg(&a[0])?, str_arg(&a[1])?);
        // Go parses the constraint first.
        check(
            &c,
            &Version {
                major: 0,
                minor: 0,
                patch: 0,
                pre: String::new(),
                metadata: String::new(),
                original: String::new(),
            },
        )
        .map_err(FuncError::new)?;
        let v = Version::parse(&v).map_err(FuncError::new)?;
        check(&c, &v).map(Value::Bool).map_err(FuncError::new)
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ok(c: &str, v: &str) -> bool {
        check(c, &Version::parse(v).unwrap()).unwrap()
    }

    #[test]
    fn constraints() {
        assert!(ok(">=1.19-0", "v1.20.0-gke.1"));
        assert!(!ok(">=1.19", "v1.20.0-gke.1"));
        assert!(ok("^1.2 || ~0.3", "0.3.9"));
        assert!(ok("1.2 - 1.4", "1.4.9"));
        assert!(!ok(">1", "1.2.3"));
        assert!(ok("~1.2.3", "1.2.9"));
        assert!(!ok("~1.2.3", "1.3.0"));
        assert!(ok("^0.2.3", "0.2.9"));
        assert!(!ok("^0.2.3", "0.3.0"));
        assert!(ok("1.x", "1.9.0"));
        assert!(ok(">= 1.2, < 2", "1.5.0"));
        assert!(ok("!=1.2.3", "1.2.4"));
        assert_eq!(
            check("!!1", &Version::parse("1.0.0").unwrap()).unwrap_err(),
            "improper constraint: \"!!1\""
        );
    }
}
