//! The demo's local Git repositories: `git` run with a fixed identity and no user or system configuration.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// Prints one line of the narrative.
pub(super) fn say(text: &str) {
    println!("{text}");
}

/// `git ARGS` in `dir`: its trimmed standard output, or an error with its standard error.
pub(super) fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "tack demo")
        .env("GIT_AUTHOR_EMAIL", "demo@tack.invalid")
        .env("GIT_COMMITTER_NAME", "tack demo")
        .env("GIT_COMMITTER_EMAIL", "demo@tack.invalid")
        .output()
        .context("running git (the demo needs git on PATH to create its repository)")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
