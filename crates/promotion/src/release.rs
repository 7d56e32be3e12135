//! A release: the tag of each promoted image.

use std::collections::BTreeMap;
use std::fmt;

use tack_model::PromotedImage;

use crate::Error;

/// The tags of a pipeline's images, by image name. Its text form is the tag alone for a pipeline of one image
/// (`v5`), otherwise `short-name:tag` pairs joined by `,` (`gb-frontend:v5,redis:7`), in `spec.images` order.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release {
    /// Image name → tag, in the pipeline's order of images.
    pub tags: Vec<(String, String)>,
}

impl Release {
    /// A release from the tags found in a stage's configuration; `None` unless every image has a tag.
    pub fn from_tags(images: &[PromotedImage], found: &BTreeMap<String, String>) -> Option<Release> {
        let tags = images
            .iter()
            .map(|i| found.get(&i.name).map(|t| (i.name.clone(), t.clone())))
            .collect::<Option<Vec<_>>>()?;
        Some(Release { tags })
    }

    /// Parses the text form (see [`Release`]); a short name is the image name's last path segment.
    pub fn parse(images: &[PromotedImage], text: &str) -> Result<Release, Error> {
        let err = |reason: String| Error::Release {
            release: text.to_string(),
            reason,
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(err("empty".into()));
        }
        if images.len() == 1 && !text.contains(',') && !text.contains(':') {
            return Ok(Release {
                tags: vec![(images[0].name.clone(), text.to_string())],
            });
        }
        let mut found = BTreeMap::new();
        for part in text.split(',') {
            let (name, tag) = part
                .rsplit_once(':')
                .ok_or_else(|| err(format!("{part:?} is not NAME:TAG")))?;
            let image = images
                .iter()
                .find(|i| i.name == name || short_name(&i.name) == name)
                .ok_or_else(|| err(format!("{name:?} is not one of the pipeline's images")))?;
            found.insert(image.name.clone(), tag.to_string());
        }
        Release::from_tags(images, &found)
            .ok_or_else(|| err("every image of the pipeline needs a tag".into()))
    }

    /// `name:tag` for each image.
    pub fn references(&self) -> Vec<String> {
        self.tags.iter().map(|(n, t)| format!("{n}:{t}")).collect()
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [(_, tag)] = self.tags.as_slice() {
            return f.write_str(tag);
        }
        let parts: Vec<String> = self
            .tags
            .iter()
            .map(|(n, t)| format!("{}:{t}", short_name(n)))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// The last path segment of an image name.
pub fn short_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(n: &str) -> PromotedImage {
        PromotedImage {
            name: n.into(),
            helm_tag_key: None,
        }
    }

    #[test]
    fn text_form_round_trips() {
        let one = [img("gcr.io/x/gb-frontend")];
        let r = Release::parse(&one, "v5").expect("parse");
        assert_eq!(r.to_string(), "v5");
        assert_eq!(r.references(), vec!["gcr.io/x/gb-frontend:v5"]);
        let two = [img("gcr.io/x/gb-frontend"), img("redis")];
        let r = Release::parse(&two, "redis:7,gb-frontend:v5").expect("parse");
        assert_eq!(r.to_string(), "gb-frontend:v5,redis:7");
        assert_eq!(Release::parse(&two, &r.to_string()).expect("round trip"), r);
        assert!(Release::parse(&two, "v5").is_err());
        assert!(Release::parse(&two, "redis:7").is_err());
        assert!(Release::parse(&two, "nginx:1").is_err());
    }
}
