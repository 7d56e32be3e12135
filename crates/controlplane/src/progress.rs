//! What `up` reports while it works, shown to people.
//!
//! The build script announces each binary it builds as `building <component> <version> (<i> of <n>)`
//! ([`BuildStep::parse`]). [`ProgressDisplay`] prints the progress lines of `up` on standard error, each
//! stamped with the time since it was created. On a terminal the line of the binary being built stays one
//! line that updates every second (which component, how many are left, how long it has been running) and is
//! replaced by `built <component> in <time>` when the next step starts; elsewhere every line is printed once,
//! plainly, with no escape codes.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One binary the build script is building.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStep {
    /// e.g. `kube-apiserver`.
    pub component: String,
    /// e.g. `v1.36.3`.
    pub version: String,
    /// 1-based position among the binaries this build makes.
    pub index: usize,
    /// How many binaries this build makes.
    pub total: usize,
}

impl BuildStep {
    /// Parses `building kube-apiserver v1.36.3 (1 of 6)`; `None` for any other line.
    pub fn parse(line: &str) -> Option<BuildStep> {
        let rest = line.strip_prefix("building ")?;
        let (head, count) = rest.strip_suffix(')')?.rsplit_once(" (")?;
        let (component, version) = head.split_once(' ')?;
        let (index, total) = count.split_once(" of ")?;
        Some(BuildStep {
            component: component.to_string(),
            version: version.to_string(),
            index: index.parse().ok()?,
            total: total.parse().ok()?,
        })
    }

    /// How many binaries remain after this one.
    pub fn left_after(&self) -> usize {
        self.total.saturating_sub(self.index)
    }

    /// `building kube-apiserver v1.36.3 · 1 of 6, 5 left after it · 2m03s`.
    pub fn describe(&self, running: Duration) -> String {
        format!(
            "building {} {} · {} of {}, {} left after it · {}",
            self.component,
            self.version,
            self.index,
            self.total,
            self.left_after(),
            minutes(running)
        )
    }
}

/// `42s`, `2m03s`, `1h05m00s`.
pub fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

/// `[  12.3s] message`.
fn stamped(since: Instant, message: &str) -> String {
    format!("[{:>6.1}s] {message}", since.elapsed().as_secs_f64())
}

/// The build in progress.
struct Current {
    step: BuildStep,
    started: Instant,
}

struct State {
    out: Box<dyn Write + Send>,
    terminal: bool,
    started: Instant,
    current: Option<Current>,
}

impl State {
    /// Redraws the updating line (terminal only).
    fn redraw(&mut self) {
        if let Some(c) = &self.current {
            let line = stamped(self.started, &c.step.describe(c.started.elapsed()));
            let _ = write!(self.out, "\r\x1b[2K{line}");
            let _ = self.out.flush();
        }
    }

    /// Ends the current build step with a permanent `built …` line.
    fn finish_step(&mut self) {
        if let Some(c) = self.current.take() {
            let done = format!(
                "built {} {} in {}",
                c.step.component,
                c.step.version,
                minutes(c.started.elapsed())
            );
            let clear = if self.terminal { "\r\x1b[2K" } else { "" };
            let _ = writeln!(self.out, "{clear}{}", stamped(self.started, &done));
        }
    }

    fn report(&mut self, message: &str) {
        self.finish_step();
        match BuildStep::parse(message) {
            Some(step) => {
                self.current = Some(Current {
                    step,
                    started: Instant::now(),
                });
                if self.terminal {
                    self.redraw();
                } else if let Some(c) = &self.current {
                    let line = stamped(self.started, &c.step.describe(Duration::ZERO));
                    let _ = writeln!(self.out, "{line}");
                }
            }
            None => {
                let _ = writeln!(self.out, "{}", stamped(self.started, message));
            }
        }
        let _ = self.out.flush();
    }
}

/// Prints the progress lines of `up` (see the module documentation). Dropping it ends the updating line.
pub struct ProgressDisplay {
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl ProgressDisplay {
    /// On standard error; the line updates in place only when standard error is a terminal.
    pub fn stderr() -> ProgressDisplay {
        let terminal = std::io::stderr().is_terminal();
        ProgressDisplay::new(Box::new(std::io::stderr()), terminal)
    }

    /// On `out`; `terminal` chooses the updating line (with escape codes) over plain lines.
    pub fn new(out: Box<dyn Write + Send>, terminal: bool) -> ProgressDisplay {
        let state = Arc::new(Mutex::new(State {
            out,
            terminal,
            started: Instant::now(),
            current: None,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = terminal.then(|| {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    if let Ok(mut s) = state.lock() {
                        s.redraw();
                    }
                }
            })
        });
        ProgressDisplay { state, stop, ticker }
    }

    /// Shows one progress line of `up`.
    pub fn report(&self, message: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.report(message);
        }
    }
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        if let Ok(mut s) = self.state.lock() {
            s.finish_step();
            let _ = s.out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_lines_parse() {
        let step = BuildStep::parse("building kube-apiserver v1.36.3 (1 of 6)").expect("a build step");
        assert_eq!(
            step,
            BuildStep {
                component: "kube-apiserver".into(),
                version: "v1.36.3".into(),
                index: 1,
                total: 6
            }
        );
        assert_eq!(step.left_after(), 5);
        assert_eq!(
            step.describe(Duration::from_secs(123)),
            "building kube-apiserver v1.36.3 · 1 of 6, 5 left after it · 2m03s"
        );
        assert_eq!(
            BuildStep::parse("resolving k8s.io/kubernetes v1.36.3 (module download)"),
            None
        );
        assert_eq!(BuildStep::parse("starting etcd"), None);
        assert_eq!(BuildStep::parse("building kwok v0.8.0 (x of 2)"), None);
    }

    #[test]
    fn durations_read_as_minutes() {
        assert_eq!(minutes(Duration::from_secs(42)), "42s");
        assert_eq!(minutes(Duration::from_secs(60)), "1m00s");
        assert_eq!(minutes(Duration::from_secs(3900)), "1h05m00s");
    }

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            self.0
                .lock()
                .map(|v| String::from_utf8_lossy(&v).to_string())
                .unwrap_or_default()
        }
    }

    fn without_stamps(text: &str) -> Vec<String> {
        text.lines()
            .map(|l| l.split_once("] ").map_or(l, |(_, m)| m).to_string())
            .collect()
    }

    #[test]
    fn plain_lines_without_a_terminal() {
        let out = Captured::default();
        let display = ProgressDisplay::new(Box::new(out.clone()), false);
        display.report("resolving k8s.io/kubernetes v1.36.3 (module download)");
        display.report("building etcd v3.6.16 (1 of 2)");
        display.report("building kwok v0.8.0 (2 of 2)");
        display.report("control plane ready");
        drop(display);
        let text = out.text();
        assert!(!text.contains('\x1b') && !text.contains('\r'), "{text:?}");
        assert_eq!(
            without_stamps(&text),
            [
                "resolving k8s.io/kubernetes v1.36.3 (module download)",
                "building etcd v3.6.16 · 1 of 2, 1 left after it · 0s",
                "built etcd v3.6.16 in 0s",
                "building kwok v0.8.0 · 2 of 2, 0 left after it · 0s",
                "built kwok v0.8.0 in 0s",
                "control plane ready",
            ]
        );
    }

    #[test]
    fn one_updating_line_on_a_terminal() {
        let out = Captured::default();
        let display = ProgressDisplay::new(Box::new(out.clone()), true);
        display.report("building etcd v3.6.16 (1 of 1)");
        std::thread::sleep(Duration::from_millis(1000));
        display.report("starting etcd");
        drop(display);
        let text = out.text();
        // The build line was drawn several times in place, then replaced by its permanent summary.
        let redraws = text.matches("\r\x1b[2K").count();
        assert!(redraws >= 3, "{text:?}");
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines.len(), 3, "{text:?}");
        assert!(
            lines[0].contains("building etcd v3.6.16 · 1 of 1, 0 left after it"),
            "{text:?}"
        );
        // About one second passed: the summary says 0 s or 1 s depending on the machine's load.
        assert!(
            lines[0].ends_with("built etcd v3.6.16 in 0s") || lines[0].ends_with("built etcd v3.6.16 in 1s"),
            "{text:?}"
        );
        assert!(lines[1].ends_with("] starting etcd"), "{text:?}");
    }
}
