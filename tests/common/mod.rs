//! Shared helpers for the integration tests: start target processes,
//! kill them on drop, run memscan and parse its NDJSON.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn memscan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_memscan"))
}

/// A process this test started; killed and reaped when dropped, by the
/// pid we spawned and never by name.
pub struct Spawned {
    pub child: Child,
    pub pid: i32,
    lines: Option<BufReader<ChildStdout>>,
}

impl Spawned {
    pub fn start(mut command: Command) -> Spawned {
        command.stdin(Stdio::null());
        Spawned::spawn(command)
    }

    /// Like `start`, but the target's stdin is a pipe that stays open
    /// until the target is dropped (for targets that wait on it).
    pub fn start_with_stdin(mut command: Command) -> Spawned {
        command.stdin(Stdio::piped());
        Spawned::spawn(command)
    }

    fn spawn(mut command: Command) -> Spawned {
        command.stdout(Stdio::piped());
        let mut child = command.spawn().expect("start target");
        let pid = child.id() as i32;
        let lines = child.stdout.take().map(BufReader::new);
        Spawned { child, pid, lines }
    }

    /// Reads one line of the target's stdout, failing the test after
    /// `timeout`.
    pub fn line(&mut self, timeout: Duration) -> String {
        let reader = self.lines.as_mut().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        // BufReader has no timeout, so read on a scoped thread and give
        // up waiting (the read ends when the process is killed).
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let _ = tx.send(line);
            });
            match rx.recv_timeout(timeout) {
                Ok(line) if !line.is_empty() => line.trim_end().to_string(),
                _ => {
                    // SAFETY-free: kill by our own pid so the reader
                    // thread sees EOF and the scope can end.
                    let _ = self.child.kill();
                    panic!(
                        "pid {}: no output line within {timeout:?}",
                        self.pid
                    )
                }
            }
        })
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts one of the reference Python programs with a short interval.
pub fn python(script: &str, interval: &str) -> Spawned {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg(root().join("containers/app").join(script));
    cmd.env("SECRET_INTERVAL", interval);
    Spawned::start(cmd)
}

/// Runs memscan and returns its output; a panic in memscan shows up as
/// status 101, which no test accepts.
pub fn run(args: &[&str]) -> Output {
    let out = memscan().args(args).output().expect("run memscan");
    assert_ne!(
        out.status.code(),
        Some(101),
        "memscan panicked: {}",
        stderr(&out)
    );
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parses NDJSON output, every line of it.
pub fn ndjson(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("bad json {l:?}: {e}"))
        })
        .collect()
}

pub fn of_type<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["type"] == kind).collect()
}

pub fn hex(v: &Value) -> u64 {
    let s = v.as_str().expect("hex string");
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex")
}

/// Waits until `check` holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Runs the docker client; a missing client fails the test with the fix.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("docker {args:?}: {e} (run scripts/ensure-docker.sh)")
        })
}

/// Runs docker and fails the test unless it succeeds; returns stdout.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(out.status.success(), "docker {args:?}: {}", stderr(&out));
    stdout(&out).trim().to_string()
}
