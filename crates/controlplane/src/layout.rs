//! Where the local control plane keeps its files: binaries in the XDG cache, state in the XDG state home.

use std::path::{Path, PathBuf};

use crate::{Error, Result, Versions};

/// Where the local control plane keeps its binaries (cache) and its running state.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `${XDG_CACHE_HOME:-$HOME/.cache}/tack/control-plane/<versions>`: binaries and KWOK stages.
    pub cache: PathBuf,
    /// `${XDG_STATE_HOME:-$HOME/.local/state}/tack/dev`: PKI, etcd data, logs, kubeconfig, state file.
    pub state: PathBuf,
}

impl Layout {
    /// The default layout for the pinned versions, from the XDG variables or `$HOME`.
    pub fn default_for(versions: &Versions) -> Result<Self> {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = env("HOME");
        let cache_home = env("XDG_CACHE_HOME").or_else(|| home.as_ref().map(|h| h.join(".cache")));
        let state_home = env("XDG_STATE_HOME").or_else(|| home.as_ref().map(|h| h.join(".local/state")));
        let (Some(cache_home), Some(state_home)) = (cache_home, state_home) else {
            return Err(Error::NoHome);
        };
        Ok(Self::new(
            cache_home.join("tack/control-plane").join(versions.cache_key()),
            state_home.join("tack/dev"),
        ))
    }

    /// The layout of the control plane called `name`: the same binaries, its own state directory
    /// (`.../tack/dev-<name>`), so several independent control planes run side by side (`tack dev up --name`).
    /// `None` is the default one. A name is lowercase letters, digits and `-`, at most 40 characters.
    pub fn named(versions: &Versions, name: Option<&str>) -> Result<Self> {
        let mut layout = Self::default_for(versions)?;
        if let Some(name) = name {
            let valid = !name.is_empty()
                && name.len() <= 40
                && !name.starts_with('-')
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                return Err(Error::InvalidName(name.to_string()));
            }
            layout.state = layout.state.with_file_name(format!("dev-{name}"));
        }
        Ok(layout)
    }

    /// A layout rooted at explicit directories.
    pub fn new(cache: impl Into<PathBuf>, state: impl Into<PathBuf>) -> Self {
        Layout {
            cache: cache.into(),
            state: state.into(),
        }
    }

    /// Directory holding the built binaries.
    pub fn bin(&self) -> PathBuf {
        self.cache.join("bin")
    }
    /// A binary by name.
    pub fn binary(&self, name: &str) -> PathBuf {
        self.bin().join(name)
    }
    /// KWOK's stock stages, copied from the kwok module by the build script.
    pub fn stock_stages(&self) -> PathBuf {
        self.cache.join("stages")
    }
    /// The kubeconfig written by `up`.
    pub fn kubeconfig(&self) -> PathBuf {
        self.state.join("kubeconfig")
    }
    /// The record of running processes.
    pub fn state_file(&self) -> PathBuf {
        self.state.join("state.json")
    }
    /// Certificates and keys.
    pub fn pki(&self) -> PathBuf {
        self.state.join("pki")
    }
    /// Per-component working directories (etcd data, generated configs).
    pub fn run(&self) -> PathBuf {
        self.state.join("run")
    }
    /// A component's log file, beside the kubeconfig.
    pub fn log(&self, name: &str) -> PathBuf {
        self.state.join(format!("{name}.log"))
    }
    /// The build log.
    pub fn build_log(&self) -> PathBuf {
        self.cache.with_extension("build.log")
    }
}

pub(crate) fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(Error::io("creating", dir))?;
    }
    std::fs::write(path, contents).map_err(Error::io("writing", path))
}

pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..]
        .iter()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_control_planes_have_their_own_state() {
        let versions = Versions::pinned();
        let (Ok(default), Ok(edge)) = (
            Layout::default_for(&versions),
            Layout::named(&versions, Some("edge")),
        ) else {
            return; // no home directory to derive the layout from
        };
        assert_eq!(edge.cache, default.cache, "the binaries are shared");
        assert_eq!(edge.state, default.state.with_file_name("dev-edge"));
        assert_ne!(edge.kubeconfig(), default.kubeconfig());
        for bad in ["", "Edge", "-a", "a/b", "..", &"a".repeat(41)] {
            let err = Layout::named(&versions, Some(bad)).err().map(|e| e.to_string());
            assert!(
                err.unwrap_or_default().contains("not a control plane name"),
                "{bad:?}"
            );
        }
    }
}
