//! A remote Kustomize base's Git reference in a stage's kustomization: the `?ref=` (or `?version=`) of every
//! `resources:` or `components:` entry that names a directory of the base's repository, read and set while
//! keeping every other byte of the file. Entries are recognised as Kustomize reads them
//! ([`tack_kustomize::parse_remote`]), so `https://github.com/org/platform//app?ref=v1`,
//! `github.com/org/platform/app?ref=v1` and `git@github.com:org/platform.git//app?ref=v1` all name the
//! repository `https://github.com/org/platform`.

use tack_kustomize::{is_remote, parse_remote};
use tack_source::normalize_repo_url;

use crate::kustomization::top_level_block;
use crate::text::{Line, lines, scalar_value};

/// The lists of a kustomization whose entries may be remote bases.
const LISTS: [&str; 2] = ["resources", "components"];

/// The reference of the first entry naming `repo` (`None` without one, or when it has no `?ref=`).
pub fn reference(text: &str, repo: &str) -> Option<String> {
    let all = lines(text);
    let (_, entry) = entries(&all, repo).into_iter().next()?;
    let spec = parse_remote(&entry).ok()?;
    (!spec.git_ref.is_empty()).then_some(spec.git_ref)
}

/// `text` with every entry naming `repo` pointing at `reference`, and how many entries there were.
pub fn set_reference(text: &str, repo: &str, reference: &str) -> (String, usize) {
    let all = lines(text);
    let found = entries(&all, repo);
    let mut out = String::with_capacity(text.len() + 16 * found.len());
    for (i, l) in all.iter().enumerate() {
        match found.iter().find(|(line, _)| *line == i) {
            Some((_, entry)) => {
                let dash = l.body.find('-').map(|d| d + 1).unwrap_or(0);
                let (head, tail) = l.body.split_at(dash);
                out.push_str(head);
                out.push_str(&tail.replacen(entry.as_str(), &with_reference(entry, reference), 1));
            }
            None => out.push_str(l.body),
        }
        out.push_str(l.end);
    }
    (out, found.len())
}

/// `entry` with its `ref` (else `version`) query parameter set to `reference`, or `?ref=` added.
fn with_reference(entry: &str, reference: &str) -> String {
    let Some((head, query)) = entry.split_once('?') else {
        return format!("{entry}?ref={reference}");
    };
    let params: Vec<&str> = query.split('&').collect();
    let key = if params.iter().any(|p| p.starts_with("ref=")) {
        "ref"
    } else if params.iter().any(|p| p.starts_with("version=")) {
        "version"
    } else {
        return format!("{entry}&ref={reference}");
    };
    let params: Vec<String> = params
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k == key => format!("{k}={reference}"),
            _ => p.to_string(),
        })
        .collect();
    format!("{head}?{}", params.join("&"))
}

/// `(line, entry)` for each block-list entry of [`LISTS`] that is a remote base in `repo`.
fn entries(all: &[Line<'_>], repo: &str) -> Vec<(usize, String)> {
    let wanted = repository_key(repo);
    let mut out = Vec::new();
    for list in LISTS {
        let Some((key_idx, end)) = top_level_block(all, list) else {
            continue;
        };
        for (i, l) in all.iter().enumerate().take(end).skip(key_idx + 1) {
            let Some(item) = l.body.trim_start().strip_prefix("- ") else {
                continue;
            };
            let entry = scalar_value(item);
            let same = is_remote(&entry)
                && parse_remote(&entry).is_ok_and(|s| repository_key(&s.repo_url) == wanted);
            if same {
                out.push((i, entry));
            }
        }
    }
    out
}

/// A repository URL reduced to host and path, so that the forms Kustomize accepts for one repository compare
/// equal: Kustomize's own spellings (`git::…`, `gh:org/repo`) expanded, then the rule Git sources and webhooks
/// use ([`tack_source::normalize_repo_url`]: no scheme, user, `.git` suffix or trailing `/`, the `:` of the
/// SSH scp form read as `/`, the host in lower case).
pub fn repository_key(url: &str) -> String {
    let url = url.trim();
    let url = url
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("git::"))
        .map_or(url, |_| &url[5..]);
    match url.get(..3).filter(|p| p.eq_ignore_ascii_case("gh:")) {
        Some(_) => normalize_repo_url(&format!("https://github.com/{}", &url[3..])),
        None => normalize_repo_url(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_of_one_repository_compare_equal() {
        let key = repository_key("https://GitHub.com/org/platform");
        for form in [
            "https://github.com/org/platform.git",
            "github.com/org/platform",
            "git@github.com:org/platform.git",
            "ssh://git@github.com/org/platform",
            "gh:org/platform",
            "git::https://github.com/org/platform/",
        ] {
            assert_eq!(repository_key(form), key, "{form}");
        }
        assert_ne!(repository_key("https://github.com/org/platform-extra"), key);
        assert_eq!(
            repository_key("file:///srv/git/platform.git"),
            repository_key("file:///srv/git/platform")
        );
    }

    #[test]
    fn sets_the_reference_of_every_entry_of_the_repository() {
        let text = "# qa\nresources:\n- https://github.com/org/platform//apps/web?ref=v1.0.0 # shared\n- github.com/org/platform/apps/db?timeout=90s&version=v1.0.0\n- https://github.com/org/other//x?ref=v9\n- local.yaml\ncomponents:\n  - \"git@github.com:org/platform.git//components/tls\"\nnamespace: qa\n";
        let repo = "https://github.com/org/platform";
        assert_eq!(reference(text, repo).as_deref(), Some("v1.0.0"));
        let (out, n) = set_reference(text, repo, "v1.1.0");
        assert_eq!(n, 3);
        assert_eq!(
            out,
            "# qa\nresources:\n- https://github.com/org/platform//apps/web?ref=v1.1.0 # shared\n- github.com/org/platform/apps/db?timeout=90s&version=v1.1.0\n- https://github.com/org/other//x?ref=v9\n- local.yaml\ncomponents:\n  - \"git@github.com:org/platform.git//components/tls?ref=v1.1.0\"\nnamespace: qa\n"
        );
        assert_eq!(reference(&out, "github.com/org/other").as_deref(), Some("v9"));
        let (same, n) = set_reference(text, "https://github.com/org/none", "v2");
        assert_eq!((same.as_str(), n), (text, 0));
    }
}
