//! The control plane binaries: the embedded build script (`testenv/build.sh`) run against the cache, its
//! progress lines passed on, its outcome (cached, built, Go missing, failed) reported.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[cfg(test)]
use crate::Versions;
use crate::layout::{tail, write_file};
use crate::{Error, Layout, Result};

const BUILD_SCRIPT: &str = include_str!("../../../testenv/build.sh");

/// What [`ensure_binaries`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutcome {
    /// Every binary was already in the cache.
    Cached(PathBuf),
    /// Some binaries were built now.
    Built(PathBuf),
}

impl BuildOutcome {
    /// The directory holding the binaries.
    pub fn bin(&self) -> &PathBuf {
        match self {
            BuildOutcome::Cached(p) | BuildOutcome::Built(p) => p,
        }
    }
}

/// Makes sure etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok are built
/// into `layout.cache`, building missing or corrupted ones from Go modules (`testenv/build.sh`).
///
/// `progress` receives the build script's progress lines; everything also goes to the build log.
pub fn ensure_binaries(layout: &Layout, progress: &mut dyn FnMut(&str)) -> Result<BuildOutcome> {
    // The script itself checks every cached binary (well under a second when all are present and run).
    let bin = layout.bin();
    let dir = layout.cache.with_extension("script");
    // Written atomically (temp file + rename): a script another process is running keeps its own copy.
    write_atomic(&dir.join("build.sh"), BUILD_SCRIPT)?;
    write_atomic(&dir.join("versions.env"), crate::versions::VERSIONS_ENV)?;
    let log_path = layout.build_log();
    let mut log = std::fs::File::create(&log_path).map_err(Error::io("creating", &log_path))?;
    let mut child = Command::new("bash")
        .arg(dir.join("build.sh"))
        .env("TACK_CONTROL_PLANE_CACHE", &layout.cache)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(Error::io("running", dir.join("build.sh")))?;
    let stdout = child.stdout.take();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut o) = stdout {
            let _ = std::io::Read::read_to_string(&mut o, &mut s);
        }
        s
    });
    let mut built = false;
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(std::result::Result::ok) {
            let _ = writeln!(log, "{line}");
            if let Some(msg) = line.strip_prefix("testenv: ") {
                built |= msg.starts_with("building");
                progress(msg);
            }
        }
    }
    let status = child
        .wait()
        .map_err(Error::io("waiting for", dir.join("build.sh")))?;
    let _ = out_thread.join();
    match status.code() {
        Some(0) if built => Ok(BuildOutcome::Built(bin)),
        Some(0) => Ok(BuildOutcome::Cached(bin)),
        Some(3) => Err(Error::GoMissing {
            cache: layout.cache.clone(),
        }),
        _ => Err(Error::Build {
            status: status.to_string(),
            log: log_path.clone(),
            tail: tail(&log_path, 15),
        }),
    }
}

fn write_atomic(path: &std::path::Path, contents: &str) -> Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    write_file(&tmp, contents)?;
    std::fs::rename(&tmp, path).map_err(Error::io("renaming into", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_is_embedded_with_its_versions() {
        assert!(!Versions::pinned().kubernetes.is_empty());
        assert!(BUILD_SCRIPT.contains("versions.env"));
        assert!(BUILD_SCRIPT.contains("TACK_CONTROL_PLANE_CACHE"));
    }

    #[test]
    fn missing_go_is_reported_clearly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let script_dir = dir.path().join("script");
        write_file(&script_dir.join("build.sh"), BUILD_SCRIPT).expect("write");
        write_file(&script_dir.join("versions.env"), crate::versions::VERSIONS_ENV).expect("write");
        // A PATH with the shell tools the script needs but no `go`: it must stop at once with exit 3.
        let tools = dir.path().join("path");
        std::fs::create_dir_all(&tools).expect("mkdir");
        for tool in [
            "bash", "dirname", "mkdir", "rm", "date", "cat", "sed", "cut", "awk", "grep",
        ] {
            if let Some(p) = which(tool) {
                std::os::unix::fs::symlink(p, tools.join(tool)).expect("symlink");
            }
        }
        let out = Command::new(tools.join("bash"))
            .arg(script_dir.join("build.sh"))
            .env("PATH", &tools)
            .env("TACK_CONTROL_PLANE_CACHE", dir.path().join("cache"))
            .output()
            .expect("run script");
        assert_eq!(
            out.status.code(),
            Some(3),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("Go is not installed"));
    }

    fn which(tool: &str) -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join(tool))
            .find(|c| c.is_file())
    }
}
