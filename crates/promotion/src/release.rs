//! A release: the version of each promoted part (image tags, chart versions, base references).

use std::collections::BTreeMap;
use std::fmt;

use crate::Error;
use crate::part::{Kind, Part};

/// The versions of a pipeline's parts ([`Part::of`]). Its text form is the version alone for a pipeline of one
/// part (`v5`), otherwise `short-name:version` pairs joined by `,` (`gb-frontend:v5,chart/redis:19.0.1`), in
/// the pipeline's order of parts.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release {
    /// Part → version, in the pipeline's order of parts.
    pub versions: Vec<(Part, String)>,
}

impl Release {
    /// A release from the versions found in a stage's configuration; `None` unless every part has one.
    pub fn from_versions(parts: &[Part], found: &BTreeMap<Part, String>) -> Option<Release> {
        let versions = parts
            .iter()
            .map(|p| found.get(p).map(|v| (p.clone(), v.clone())))
            .collect::<Option<Vec<_>>>()?;
        Some(Release { versions })
    }

    /// A release of images only, from `image name → tag` pairs.
    pub fn of_images<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Release {
        Release {
            versions: tags
                .into_iter()
                .map(|(n, t)| (Part::new(Kind::Image, n), t.to_string()))
                .collect(),
        }
    }

    /// Parses the text form (see [`Release`]).
    pub fn parse(parts: &[Part], text: &str) -> Result<Release, Error> {
        let err = |reason: String| Error::Release {
            release: text.to_string(),
            reason,
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(err("empty".into()));
        }
        if let [only] = parts
            && !text.contains(',')
            && !text.contains(':')
        {
            return Ok(Release {
                versions: vec![(only.clone(), text.to_string())],
            });
        }
        let mut found = BTreeMap::new();
        for piece in text.split(',') {
            let (name, version) = piece
                .rsplit_once(':')
                .filter(|(_, v)| !v.trim().is_empty())
                .ok_or_else(|| err(format!("{piece:?} is not NAME:VERSION")))?;
            let part = parts.iter().find(|p| p.is_named(name)).ok_or_else(|| {
                err(format!(
                    "{name:?} is not one of the pipeline's images, charts or bases"
                ))
            })?;
            found.insert(part.clone(), version.to_string());
        }
        Release::from_versions(parts, &found)
            .ok_or_else(|| err("every image, chart and base of the pipeline needs a version".into()))
    }

    /// The references of the parts of `kind` ([`Part::reference`]).
    pub fn references_of(&self, kind: Kind) -> Vec<String> {
        self.versions
            .iter()
            .filter(|(p, _)| p.kind == kind)
            .map(|(p, v)| p.reference(v))
            .collect()
    }

    /// `(label, reference)` for each part, as the commit message records them (`("Image", "name:tag")`).
    pub fn references(&self) -> Vec<(&'static str, String)> {
        self.versions
            .iter()
            .map(|(p, v)| (p.kind.label(), p.reference(v)))
            .collect()
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [(_, version)] = self.versions.as_slice() {
            return f.write_str(version);
        }
        let pieces: Vec<String> = self
            .versions
            .iter()
            .map(|(p, v)| format!("{}:{v}", p.short_name()))
            .collect();
        f.write_str(&pieces.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(n: &str) -> Part {
        Part::new(Kind::Image, n)
    }

    #[test]
    fn text_form_round_trips() {
        let one = [img("gcr.io/x/gb-frontend")];
        let r = Release::parse(&one, "v5").expect("parse");
        assert_eq!(r.to_string(), "v5");
        assert_eq!(
            r.references(),
            vec![("Image", "gcr.io/x/gb-frontend:v5".to_string())]
        );
        let two = [img("gcr.io/x/gb-frontend"), img("redis")];
        let r = Release::parse(&two, "redis:7,gb-frontend:v5").expect("parse");
        assert_eq!(r.to_string(), "gb-frontend:v5,redis:7");
        assert_eq!(Release::parse(&two, &r.to_string()).expect("round trip"), r);
        assert!(Release::parse(&two, "v5").is_err());
        assert!(Release::parse(&two, "redis:7").is_err());
        assert!(Release::parse(&two, "nginx:1").is_err());
    }

    #[test]
    fn charts_and_bases_have_names_of_their_own() {
        let parts = [
            img("docker.io/library/redis"),
            Part::new(Kind::Chart, "redis"),
            Part::new(Kind::Base, "https://github.com/org/platform"),
        ];
        let r = Release::parse(&parts, "base/platform:v2.1,chart/redis:19.0.1,redis:7.2").expect("parse");
        assert_eq!(r.to_string(), "redis:7.2,chart/redis:19.0.1,base/platform:v2.1");
        assert_eq!(Release::parse(&parts, &r.to_string()).expect("round trip"), r);
        assert_eq!(
            r.references(),
            vec![
                ("Image", "docker.io/library/redis:7.2".to_string()),
                ("Chart", "redis:19.0.1".to_string()),
                ("Base", "https://github.com/org/platform?ref=v2.1".to_string()),
            ]
        );
        let only_chart = [Part::new(Kind::Chart, "podinfo")];
        assert_eq!(
            Release::parse(&only_chart, "6.5.0")
                .expect("one part")
                .to_string(),
            "6.5.0"
        );
        assert_eq!(
            Release::parse(&only_chart, "chart/podinfo:6.5.0")
                .expect("named")
                .to_string(),
            "6.5.0"
        );
    }
}
