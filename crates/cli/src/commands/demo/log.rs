//! Where the log lines of the demo's in-process controllers go, so that standard output carries the demo's
//! narrative alone: a file (`${XDG_STATE_HOME:-~/.local/state}/tack/demo.log`, written afresh by each run) by
//! default, or standard error with `tack demo --log-to-stderr`.

use std::path::PathBuf;

use tack_controlplane::{Layout, Versions};

/// Where the log lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard error (colour codes only when it is a terminal).
    Stderr,
    /// This file, without colour codes.
    File(PathBuf),
}

/// The demo's log file: `demo.log` beside the local control plane's state directory (`tack dev down` removes
/// that directory, not this file).
pub fn default_file() -> Option<PathBuf> {
    let layout = Layout::default_for(&Versions::pinned()).ok()?;
    Some(layout.state.with_file_name("demo.log"))
}

/// The target `tack demo` asks for: the file unless `to_stderr` (or no state directory is known).
pub fn target(to_stderr: bool) -> LogTarget {
    match default_file() {
        Some(path) if !to_stderr => LogTarget::File(path),
        _ => LogTarget::Stderr,
    }
}

/// Creates (or truncates) the log file, with its directory.
pub fn open(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::File::create(path)
}
