//! Where tack keeps fetched sources: one definition for the CLI, the controller and every renderer.

use std::path::PathBuf;

/// `${XDG_CACHE_HOME:-~/.cache}/tack/sources`: Git mirrors (`mirrors/`), checked-out trees by commit
/// (`trees/<sha>/`), and charts fetched from chart repositories and OCI registries.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("tack")
        .join("sources")
}
