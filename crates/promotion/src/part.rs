//! The parts of a release: the images, Helm charts and remote Kustomize bases a pipeline promotes, each with
//! the name it has in a release's text form.

use tack_model::PipelineSpec;

/// What kind of versioned thing a part is; the order of the kinds is the order of a release's parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A container image; its version is the tag.
    Image,
    /// A Helm chart; its version is the chart version.
    Chart,
    /// A remote Kustomize base; its version is the Git reference (`?ref=`).
    Base,
}

impl Kind {
    /// The noun of the kind (`image`), as the spec's list is named in the plural (`spec.images`).
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Chart => "chart",
            Kind::Base => "base",
        }
    }

    /// The word of the commit message line recording a part of this kind (`Image: name:tag`).
    pub fn label(self) -> &'static str {
        match self {
            Kind::Image => "Image",
            Kind::Chart => "Chart",
            Kind::Base => "Base",
        }
    }
}

/// One versioned part of a release, as the pipeline's spec names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Part {
    /// Its kind.
    pub kind: Kind,
    /// The image name, the chart name, or the base repository as written in the spec.
    pub name: String,
    /// For an image in stages configured by a Helm values file: the key holding its tag.
    pub helm_tag_key: Option<String>,
}

impl Part {
    /// The parts of a pipeline's release: its images, then its charts, then its bases, in spec order.
    pub fn of(spec: &PipelineSpec) -> Vec<Part> {
        let images = spec.images.iter().map(|i| Part {
            kind: Kind::Image,
            name: i.name.clone(),
            helm_tag_key: i.helm_tag_key.clone(),
        });
        let charts = spec.charts.iter().map(|c| Part::new(Kind::Chart, &c.name));
        let bases = spec.bases.iter().map(|b| Part::new(Kind::Base, &b.repo));
        images.chain(charts).chain(bases).collect()
    }

    /// A part without a Helm tag key.
    pub fn new(kind: Kind, name: &str) -> Part {
        Part {
            kind,
            name: name.to_string(),
            helm_tag_key: None,
        }
    }

    /// The name in a release's text form: an image's last path segment (`gb-frontend`), `chart/NAME`, or
    /// `base/` and the repository's last path segment without `.git` (`base/platform`).
    pub fn short_name(&self) -> String {
        match self.kind {
            Kind::Image => last_segment(&self.name).to_string(),
            Kind::Chart => format!("chart/{}", self.name),
            Kind::Base => format!(
                "base/{}",
                last_segment(self.name.trim_end_matches('/')).trim_end_matches(".git")
            ),
        }
    }

    /// Whether `text` names this part in a release's text form: its short name or its full name
    /// (`chart/` and `base/` followed by the name as in the spec are accepted too).
    pub fn is_named(&self, text: &str) -> bool {
        let full = match self.kind {
            Kind::Image => None,
            Kind::Chart => text.strip_prefix("chart/"),
            Kind::Base => text.strip_prefix("base/"),
        };
        text == self.short_name()
            || full == Some(self.name.as_str())
            || (self.kind == Kind::Image && text == self.name)
            || (self.kind == Kind::Base && text == self.name)
    }

    /// How a commit message records this part at `version`: `name:tag` for an image, `name:version` for a
    /// chart, `repo?ref=version` for a base.
    pub fn reference(&self, version: &str) -> String {
        match self.kind {
            Kind::Image | Kind::Chart => format!("{}:{version}", self.name),
            Kind::Base => format!("{}?ref={version}", self.name),
        }
    }
}

/// The last path segment of a name.
pub fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_and_references() {
        let image = Part::new(Kind::Image, "gcr.io/x/gb-frontend");
        assert_eq!(image.short_name(), "gb-frontend");
        assert!(image.is_named("gb-frontend") && image.is_named("gcr.io/x/gb-frontend"));
        assert_eq!(image.reference("v5"), "gcr.io/x/gb-frontend:v5");
        let chart = Part::new(Kind::Chart, "podinfo");
        assert_eq!(chart.short_name(), "chart/podinfo");
        assert!(chart.is_named("chart/podinfo") && !chart.is_named("podinfo"));
        assert_eq!(chart.reference("6.5.0"), "podinfo:6.5.0");
        let base = Part::new(Kind::Base, "https://github.com/org/platform.git/");
        assert_eq!(base.short_name(), "base/platform");
        assert!(base.is_named("base/platform") && base.is_named("https://github.com/org/platform.git/"));
        assert_eq!(
            base.reference("v1.2"),
            "https://github.com/org/platform.git/?ref=v1.2"
        );
    }
}
