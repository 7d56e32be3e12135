//! The pinned component versions (`testenv/versions.env`) and the cache key built from them.

/// The pinned component versions, read from `testenv/versions.env` (embedded at build time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    /// Kubernetes (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl), without `v`.
    pub kubernetes: String,
    /// etcd, without `v`.
    pub etcd: String,
    /// KWOK, without `v`.
    pub kwok: String,
}

pub(crate) const VERSIONS_ENV: &str = include_str!("../../../testenv/versions.env");

impl Versions {
    /// The versions this build of tack pins.
    pub fn pinned() -> Self {
        Self::parse(VERSIONS_ENV)
    }

    fn parse(text: &str) -> Self {
        let get = |key: &str| {
            text.lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        Versions {
            kubernetes: get("KUBERNETES_VERSION"),
            etcd: get("ETCD_VERSION"),
            kwok: get("KWOK_VERSION"),
        }
    }

    /// The cache key: one directory per combination of versions.
    pub fn cache_key(&self) -> String {
        format!("k8s-{}_etcd-{}_kwok-{}", self.kubernetes, self.etcd, self.kwok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_versions_are_complete() {
        let v = Versions::pinned();
        assert!(v.kubernetes.starts_with("1.36."), "{v:?}");
        assert!(v.etcd.starts_with("3.6."), "{v:?}");
        assert!(v.kwok.starts_with("0.8."), "{v:?}");
        assert_eq!(
            v.cache_key(),
            format!("k8s-{}_etcd-{}_kwok-{}", v.kubernetes, v.etcd, v.kwok)
        );
    }

    #[test]
    fn parse_ignores_comments_and_spaces() {
        let v = Versions::parse("# c\nKUBERNETES_VERSION = 1.2.3\nETCD_VERSION=4\nKWOK_VERSION=5\n");
        assert_eq!(
            v,
            Versions {
                kubernetes: "1.2.3".into(),
                etcd: "4".into(),
                kwok: "5".into()
            }
        );
    }
}
