//! `.helmignore`: Helm's line-based ignore rules (`pkg/ignore`), with its exact matching semantics.

use crate::glob::path_match;

#[derive(Debug, Clone)]
struct Pattern {
    rule: String,
    negate: bool,
    must_dir: bool,
    kind: MatchKind,
}

#[derive(Debug, Clone, Copy)]
enum MatchKind {
    /// A rule with a leading `/` or containing `/`: matched against the whole path.
    Path,
    /// A rule without `/`: matched against the base name.
    Base,
}

/// A parsed `.helmignore`.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    patterns: Vec<Pattern>,
}

impl Rules {
    /// Parses the text of a `.helmignore` file.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut rules = Rules::default();
        for line in text.lines() {
            rules.parse_rule(line)?;
        }
        Ok(rules)
    }

    /// Helm's default rule: every dotfile under `templates/` is ignored.
    pub fn add_defaults(&mut self) {
        let _ = self.parse_rule("templates/.?*");
    }

    fn parse_rule(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        path_match(rule, "abc")?;
        let mut r = rule;
        let negate = r.starts_with('!');
        if negate {
            r = &r[1..];
        }
        let must_dir = r.ends_with('/');
        if must_dir {
            r = &r[..r.len() - 1];
        }
        let (r, kind) = if let Some(rest) = r.strip_prefix('/') {
            (rest, MatchKind::Path)
        } else if r.contains('/') {
            (r, MatchKind::Path)
        } else {
            (r, MatchKind::Base)
        };
        self.patterns.push(Pattern {
            rule: r.to_string(),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Whether the slash-separated `path` (relative to the chart root) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for p in &self.patterns {
            let matched = || {
                let subject = match p.kind {
                    MatchKind::Path => path,
                    MatchKind::Base => path.rsplit('/').next().unwrap_or(path),
                };
                path_match(&p.rule, subject).unwrap_or(false)
            };
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !matched() {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if matched() {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_and_path_rules() {
        let mut r = Rules::parse("# c\n*.bak\n/secret.txt\ndocs/\n").expect("valid");
        r.add_defaults();
        assert!(r.ignore("a/b.bak", false));
        assert!(r.ignore("secret.txt", false));
        assert!(!r.ignore("x/secret.txt", false));
        assert!(r.ignore("docs", true));
        assert!(!r.ignore("docs", false));
        assert!(r.ignore("templates/.hidden", false));
        assert!(!r.ignore("templates/a.yaml", false));
    }

    #[test]
    fn double_star_is_refused() {
        assert!(Rules::parse("a/**/b").is_err());
    }
}
