//! Deadlines of the Git network operations: connecting, waiting for data (idle), and the whole fetch.
//!
//! A `git://` connection is opened here, on a socket whose reads wake up every [`TICK`] to look at the deadlines
//! and at the interrupt flag, so that a server that accepts and never answers fails the fetch after
//! [`Deadlines::idle`], and an interrupt (shutdown) ends it within a second. HTTP(S) fetches get the same connect
//! and idle deadlines from the HTTP client. When a deadline fires, the fetch fails with
//! [`crate::Error::Stalled`] naming the phase.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a blocked read looks at the deadlines and the interrupt flag.
const TICK: Duration = Duration::from_millis(500);

/// The deadlines of one fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// Opening the connection (TCP connect, and for HTTPS the TLS handshake).
    pub connect: Duration,
    /// The longest wait for any data from the server.
    pub idle: Duration,
    /// The whole fetch, transfer included.
    pub total: Duration,
}

impl Default for Deadlines {
    /// 15 s to connect, 60 s without data, 10 min in all.
    fn default() -> Self {
        Deadlines {
            connect: Duration::from_secs(15),
            idle: Duration::from_secs(60),
            total: Duration::from_secs(600),
        }
    }
}

/// The phase of a fetch in which a deadline fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Opening the connection.
    Connect,
    /// Waiting for the server's data.
    Idle,
    /// The fetch as a whole took too long.
    Total,
    /// The fetch was interrupted (shutdown).
    Interrupted,
}

impl Phase {
    /// `connecting`, `waiting for data`, ...
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Connect => "connecting",
            Phase::Idle => "waiting for data from the server",
            Phase::Total => "fetching (the whole fetch took too long)",
            Phase::Interrupted => "fetching (interrupted by shutdown)",
        }
    }
}

/// Which deadline fired during one fetch, if any: shared by the connection and the caller.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stall(Arc<Mutex<Option<(Phase, Duration)>>>);

impl Stall {
    fn fire(&self, phase: Phase, after: Duration) -> io::Error {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert((phase, after));
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("deadline: {} after {}", phase.describe(), humantime(after)),
        )
    }

    /// The deadline that fired.
    pub fn fired(&self) -> Option<(Phase, Duration)> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn humantime(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A socket whose reads and writes obey the deadlines.
pub(crate) struct TimedStream {
    stream: TcpStream,
    deadlines: Deadlines,
    started: Instant,
    interrupt: Option<Arc<AtomicBool>>,
    stall: Stall,
}

impl TimedStream {
    /// Connects to `host:port` within [`Deadlines::connect`].
    pub fn connect(
        host: &str,
        port: u16,
        deadlines: Deadlines,
        interrupt: Option<Arc<AtomicBool>>,
        stall: &Stall,
    ) -> io::Result<TimedStream> {
        let started = Instant::now();
        let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host}: no address"));
        for addr in (host, port).to_socket_addrs()? {
            let left = deadlines.connect.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(stall.fire(Phase::Connect, deadlines.connect));
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(TICK))?;
                    stream.set_write_timeout(Some(deadlines.idle))?;
                    return Ok(TimedStream {
                        stream,
                        deadlines,
                        started,
                        interrupt,
                        stall: stall.clone(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return Err(stall.fire(Phase::Connect, deadlines.connect));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// A second handle on the same socket (one reads, the other writes).
    pub fn try_clone(&self) -> io::Result<TimedStream> {
        Ok(TimedStream {
            stream: self.stream.try_clone()?,
            deadlines: self.deadlines,
            started: self.started,
            interrupt: self.interrupt.clone(),
            stall: self.stall.clone(),
        })
    }

    fn check(&self, waiting_since: Instant) -> io::Result<()> {
        if self.interrupt.as_ref().is_some_and(|f| f.load(Ordering::Relaxed)) {
            return Err(self.stall.fire(Phase::Interrupted, self.started.elapsed()));
        }
        if self.started.elapsed() >= self.deadlines.total {
            return Err(self.stall.fire(Phase::Total, self.deadlines.total));
        }
        if waiting_since.elapsed() >= self.deadlines.idle {
            return Err(self.stall.fire(Phase::Idle, self.deadlines.idle));
        }
        Ok(())
    }
}

impl Read for TimedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let waiting_since = Instant::now();
        loop {
            self.check(waiting_since)?;
            match self.stream.read(buf) {
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

impl Write for TimedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check(Instant::now())?;
        match self.stream.write(buf) {
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Err(self.stall.fire(Phase::Idle, self.deadlines.idle))
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_silent_server_fails_the_read_after_the_idle_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let _hold = std::thread::spawn(move || {
            let conns: Vec<_> = listener.incoming().take(1).collect();
            std::thread::sleep(Duration::from_secs(5));
            drop(conns);
        });
        let deadlines = Deadlines {
            connect: Duration::from_secs(2),
            idle: Duration::from_secs(1),
            total: Duration::from_secs(30),
        };
        let stall = Stall::default();
        let mut s = TimedStream::connect("127.0.0.1", port, deadlines, None, &stall).expect("connect");
        let started = Instant::now();
        let err = s.read(&mut [0u8; 16]).expect_err("no data ever comes");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(stall.fired(), Some((Phase::Idle, Duration::from_secs(1))));
    }

    #[test]
    fn an_interrupt_ends_a_blocked_read_within_a_second() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let _hold = std::thread::spawn(move || {
            let conns: Vec<_> = listener.incoming().take(1).collect();
            std::thread::sleep(Duration::from_secs(5));
            drop(conns);
        });
        let flag = Arc::new(AtomicBool::new(false));
        let stall = Stall::default();
        let mut s = TimedStream::connect(
            "127.0.0.1",
            port,
            Deadlines::default(),
            Some(flag.clone()),
            &stall,
        )
        .expect("connect");
        let setter = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            setter.store(true, Ordering::Relaxed);
        });
        let started = Instant::now();
        assert!(s.read(&mut [0u8; 16]).is_err());
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(stall.fired().map(|f| f.0), Some(Phase::Interrupted));
    }
}
