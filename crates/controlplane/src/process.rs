//! Process identity and signalling, by pid and never by name.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// True when `pid` is alive (not a zombie) and runs `binary`, so a reused pid is never mistaken for ours.
pub(crate) fn is_ours(pid: u32, binary: &Path) -> bool {
    if !alive(pid) {
        return false;
    }
    match std::fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(exe) => {
            exe == binary || exe.to_string_lossy().trim_end_matches(" (deleted)") == binary.to_string_lossy()
        }
        Err(_) => false,
    }
}

/// True when the process exists and is not a zombie.
pub(crate) fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|s| s != "Z" && s != "X"),
        Err(_) => false,
    }
}

/// Sends SIGTERM, waits up to `grace`, then SIGKILL. Returns true once the process is gone.
pub(crate) fn stop(pid: u32, grace: Duration) -> bool {
    let Ok(raw) = i32::try_from(pid) else { return true };
    let target = Pid::from_raw(raw);
    if kill(target, Signal::SIGTERM).is_err() {
        return !alive(pid);
    }
    if wait_gone(pid, grace) {
        return true;
    }
    let _ = kill(target, Signal::SIGKILL);
    wait_gone(pid, Duration::from_secs(5))
}

fn wait_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !alive(pid)
}

/// True when something listens on 127.0.0.1:`port`.
pub(crate) fn port_in_use(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_err()
}

/// A free loopback port chosen by the kernel, avoiding the ones in `taken`.
pub(crate) fn free_port(taken: &[u16]) -> std::io::Result<u16> {
    loop {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
            .local_addr()?
            .port();
        if !taken.contains(&port) {
            return Ok(port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_ours_and_a_stopped_child_is_gone() {
        let me = std::process::id();
        let exe = std::env::current_exe().expect("exe");
        assert!(is_ours(me, &exe));
        assert!(!is_ours(me, Path::new("/bin/not-this")));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let pid = child.id();
        assert!(alive(pid));
        let handle = std::thread::spawn(move || child.wait());
        assert!(stop(pid, Duration::from_secs(2)));
        let _ = handle.join();
        assert!(!alive(pid));
    }

    #[test]
    fn ports() {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        let p = l.local_addr().expect("addr").port();
        assert!(port_in_use(p));
        let free = free_port(&[p]).expect("free");
        assert_ne!(free, p);
    }
}
