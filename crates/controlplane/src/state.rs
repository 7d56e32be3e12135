//! The record of what `up` started (`state.json`), read by `status` and `down`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::layout::write_file;
use crate::{Component, Error, Result};

/// What `up` started: written to `state.json` so `status` and `down` act on exactly these processes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// The API server URL.
    pub server: String,
    /// The kubeconfig path.
    pub kubeconfig: PathBuf,
    /// One record per started process, in start order.
    pub components: Vec<ComponentRecord>,
}

/// One started process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ComponentRecord {
    /// Which component.
    pub component: Component,
    /// Its process id.
    pub pid: u32,
    /// The port it serves its API or health endpoint on.
    pub port: u16,
    /// The binary it runs (checked before signalling the pid, so a reused pid is never killed).
    pub binary: PathBuf,
    /// Its log file.
    pub log: PathBuf,
}

impl State {
    /// Reads the state file; `Ok(None)` if there is none.
    pub fn load(path: &Path) -> Result<Option<State>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| Error::State {
                    path: path.to_path_buf(),
                    source,
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("reading", path)(e)),
        }
    }

    /// Writes the state file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(|source| Error::State {
            path: path.to_path_buf(),
            source,
        })?;
        write_file(path, text)
    }

    /// The record of one component.
    pub fn record(&self, component: Component) -> Option<&ComponentRecord> {
        self.components.iter().find(|r| r.component == component)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reports_corruption() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        assert_eq!(State::load(&path).expect("load"), None);
        let s = State {
            server: "https://127.0.0.1:1".into(),
            kubeconfig: dir.path().join("kubeconfig"),
            components: vec![ComponentRecord {
                component: Component::Etcd,
                pid: 42,
                port: 2379,
                binary: "/bin/etcd".into(),
                log: dir.path().join("etcd.log"),
            }],
        };
        s.save(&path).expect("save");
        assert_eq!(State::load(&path).expect("load"), Some(s));
        std::fs::write(&path, "{not json").expect("write");
        let err = State::load(&path).expect_err("corrupt");
        assert!(err.to_string().contains("tack dev down"), "{err}");
    }
}
