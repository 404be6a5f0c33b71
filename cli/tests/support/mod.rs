//! `hookline serve` as the CLI's tests start it: the real binary on 127.0.0.1 (any free port),
//! its log lines read as they come, stopped on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const HOOKLINE: &str = env!("CARGO_BIN_EXE_hookline");

/// A running `hookline serve`.
pub struct Serve {
    child: Child,
    /// Where it listens, `127.0.0.1:port`.
    pub addr: String,
    log: mpsc::Receiver<String>,
}

impl Serve {
    /// `hookline serve` on free ports, with `configure`'s flags and variables; waits until it
    /// listens.
    pub fn start(configure: impl FnOnce(&mut Command)) -> Self {
        Self::start_on("127.0.0.1:0", configure)
    }

    /// [`start`](Self::start), listening on `listen` (`0.0.0.0:0`: beyond loopback).
    #[allow(dead_code)] // each test binary compiles this module; not all of them listen elsewhere
    pub fn start_on(listen: &str, configure: impl FnOnce(&mut Command)) -> Self {
        let mut command = Command::new(HOOKLINE);
        command.args([
            "serve",
            "--listen",
            listen,
            "--provider-stub-listen",
            "127.0.0.1:0",
        ]);
        configure(&mut command);
        let mut child = command
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hookline serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, log) = mpsc::channel();
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut serve = Self {
            child,
            addr: String::new(),
            log,
        };
        let line = serve.wait_for("listening on http://");
        serve.addr = line
            .split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .to_string();
        serve
    }

    /// Sends it Ctrl-C (SIGINT), as a user at the terminal would.
    #[allow(dead_code)] // each test binary compiles this module; not all of them stop a server so
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits up to 30 s for a log line containing `needle`; returns it.
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_for_within(needle, 30)
    }

    pub fn wait_for_within(&self, needle: &str, secs: u64) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        panic!("no log line with {needle:?}");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
