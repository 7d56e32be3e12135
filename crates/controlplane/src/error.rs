//! The errors of the local control plane, phrased for people: what failed and where to look.

use std::path::PathBuf;

use crate::Component;

/// Everything that can go wrong while building, starting, inspecting or stopping the local control plane.
///
/// Each variant says what failed and, where a component is involved, where its log is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Go is needed to build the control plane binaries the first time.
    #[error(
        "Go is not installed, and the control plane binaries are not built yet ({cache}). \
         Install Go 1.26 or newer (https://go.dev/doc/install or your package manager) and run the command again"
    )]
    GoMissing {
        /// Where the built binaries are expected.
        cache: PathBuf,
    },
    /// The build script failed.
    #[error("building the control plane binaries failed ({status}); build log: {log}\n{tail}")]
    Build {
        /// How the build script exited.
        status: String,
        /// The full build log.
        log: PathBuf,
        /// The last lines of the build log.
        tail: String,
    },
    /// A port the user asked for is already bound by another process.
    #[error(
        "port {port} wanted by {component} is already in use; stop whatever listens there or choose another port"
    )]
    PortInUse {
        /// The component that wants the port.
        component: Component,
        /// The port on 127.0.0.1.
        port: u16,
    },
    /// A component process could not be spawned.
    #[error("could not start {component} ({binary}): {source}")]
    Spawn {
        /// The component.
        component: Component,
        /// Its binary.
        binary: PathBuf,
        /// Why it could not be spawned.
        source: std::io::Error,
    },
    /// A component exited while the control plane was starting.
    #[error("{component} exited during start-up ({status}); its log is {log}. Last lines:\n{tail}")]
    Crashed {
        /// The component.
        component: Component,
        /// How it exited.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log.
        tail: String,
    },
    /// A component did not become healthy in time.
    #[error("{component} was not ready after {seconds} s; its log is {log}. Last lines:\n{tail}")]
    NotReady {
        /// The component.
        component: Component,
        /// How long it was waited for, in seconds.
        seconds: u64,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log.
        tail: String,
    },
    /// Nodes did not become Ready in time.
    #[error("the KWOK nodes were not Ready and untainted after {seconds} s ({detail}); logs: {logs}")]
    NodesNotReady {
        /// How long they were waited for, in seconds.
        seconds: u64,
        /// How many nodes are Ready and untainted, of how many.
        detail: String,
        /// The state directory, which holds the components' logs.
        logs: PathBuf,
    },
    /// Generating the PKI failed.
    #[error("generating the control plane certificates failed: {0}")]
    Pki(#[from] rcgen::Error),
    /// Talking to the API server failed.
    #[error("talking to the local API server failed: {0}")]
    Kube(#[from] kube::Error),
    /// The kubeconfig could not be loaded.
    #[error("the local kubeconfig {path} could not be loaded: {detail}")]
    Kubeconfig {
        /// The kubeconfig file.
        path: PathBuf,
        /// Why it could not be loaded.
        detail: String,
    },
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`creating`, `opening lock`, ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The state file is unreadable.
    #[error("the state file {path} is corrupt ({source}); run `tack dev down` to clean it")]
    State {
        /// The state file.
        path: PathBuf,
        /// Why it does not parse.
        source: serde_json::Error,
    },
    /// No HOME or XDG directory could be found.
    #[error("cannot find a home directory: set HOME or XDG_STATE_HOME and XDG_CACHE_HOME")]
    NoHome,
    /// A control plane name (`tack dev up --name`) that cannot name a directory.
    #[error("`{0}` is not a control plane name: use 1-40 lowercase letters, digits and '-'")]
    InvalidName(String),
    /// A process did not stop after SIGTERM and SIGKILL.
    #[error("{component} (pid {pid}) did not stop")]
    Unstoppable {
        /// The component.
        component: Component,
        /// Its process id.
        pid: u32,
    },
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
