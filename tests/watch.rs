//! `--watch` against real processes: secrets appear poll after poll,
//! exits and execs are followed, Ctrl-C ends cleanly, memory stays flat.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// memscan running in the background, its NDJSON lines arriving on a
/// channel; killed on drop if it is still running.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Watch {
    fn start(args: &[&str]) -> Watch {
        let mut child = memscan()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start memscan");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("bad json {line:?}: {e}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines }
    }

    /// The next event, failing the test if none comes in time.
    fn next(&self) -> Value {
        self.lines.recv_timeout(WAIT).expect("memscan went quiet")
    }

    /// Events up to and including the first of type `kind`.
    fn until(&self, kind: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let v = self.next();
            let done = v["type"] == kind;
            seen.push(v);
            if done {
                return seen;
            }
        }
    }

    /// Waits for memscan to exit by itself; returns its status code and
    /// the rest of its events.
    fn finish(mut self) -> (Option<i32>, Vec<Value>) {
        let end = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < end, "memscan did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_ne!(status.code(), Some(101), "memscan panicked");
        let rest = std::iter::from_fn(|| {
            self.lines.recv_timeout(Duration::from_secs(5)).ok()
        })
        .collect();
        (status.code(), rest)
    }

    fn rss_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!(
            "/proc/{}/status",
            self.child.id()
        ))
        .unwrap();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `memscan --pid PID -e topsecret_ --watch --json` at `interval`.
fn watch_pid(pid: &str, interval: &str, extra: &[&str]) -> Watch {
    let mut args = vec!["--pid", pid, "-e", "topsecret_", "--watch", "--json"];
    args.extend(["--interval", interval]);
    args.extend(extra);
    Watch::start(&args)
}

fn is_secret(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 46
        && text.starts_with("topsecret_")
        && b[10..13].iter().all(u8::is_ascii_digit)
        && b[13] == b'_'
        && b[14..46].iter().all(|c| c.is_ascii_hexdigit())
}

fn of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

#[test]
fn new_secrets_appear_poll_after_poll() {
    let mut target = python("secret.py", "0.4");
    target.line(WAIT);
    let pid = target.pid.to_string();
    let out = run(&[
        "--pid",
        &pid,
        "-e",
        "topsecret_",
        "--watch",
        "--interval",
        "500ms",
        "--count",
        "6",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events = ndjson(&out);
    assert_eq!(of(&events, "poll").len(), 6);
    assert_eq!(events.last().unwrap()["type"], "watch_summary");

    // Which poll each event belongs to: polls close their events.
    let mut poll = 1;
    let mut new_secrets = Vec::new();
    for e in &events {
        if e["type"] == "poll" {
            poll += 1;
        } else if e["type"] == "match_new"
            && is_secret(e["text"].as_str().unwrap())
        {
            new_secrets.push((
                poll,
                e["text"].as_str().unwrap().to_string(),
                e["ts"].clone(),
            ));
        }
    }
    let polls_with_news: std::collections::BTreeSet<i32> =
        new_secrets.iter().map(|(p, ..)| *p).collect();
    assert!(new_secrets.len() >= 4, "{new_secrets:?}");
    assert!(
        polls_with_news.len() >= 3,
        "news only in polls {polls_with_news:?}"
    );
    let stamps: Vec<&str> =
        new_secrets.iter().map(|(.., ts)| ts.as_str().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
    assert!(stamps.first() < stamps.last(), "{stamps:?}");
}

#[test]
fn killed_target_ends_the_watch_with_target_exit() {
    let mut target = python("secret.py", "0.2");
    target.line(WAIT);
    let pid = target.pid.to_string();
    let watch = watch_pid(&pid, "200ms", &[]);
    watch.until("poll");
    watch.until("poll");
    target.kill();
    let (status, rest) = watch.finish();
    let exits = of(&rest, "target_exit");
    assert_eq!(exits.len(), 1, "{rest:?}");
    assert_eq!(exits[0]["pid"].as_i64(), Some(target.pid as i64));
    assert_eq!(rest.last().unwrap()["type"], "watch_summary");
    // Secrets were found before the exit, so the status is 0.
    assert_eq!(status, Some(0));
}

#[test]
fn exec_is_followed_into_the_new_image() {
    let script = root().join("containers/app/secret.py");
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg("echo ready; sleep 1.5; exec python3 -u \"$0\"")
        .arg(&script)
        .env("SECRET_INTERVAL", "0.2");
    let mut target = Spawned::start(cmd);
    assert_eq!(target.line(WAIT), "ready");
    let pid = target.pid.to_string();
    let watch = watch_pid(&pid, "250ms", &[]);
    let mut events = watch.until("target_new"); // the start
    events.extend(watch.until("target_exit"));
    assert_eq!(events.last().unwrap()["reason"], "exec");
    let renewed = watch.until("target_new");
    assert_eq!(renewed.last().unwrap()["reason"], "exec");
    assert_eq!(
        renewed.last().unwrap()["pid"].as_i64(),
        Some(target.pid as i64)
    );
    // After the exec the new image's secrets are found.
    let deadline = Instant::now() + WAIT;
    loop {
        let e = watch.next();
        if e["type"] == "match_new" && is_secret(e["text"].as_str().unwrap()) {
            break;
        }
        assert!(Instant::now() < deadline, "no secret after exec");
    }
    target.kill();
    let (status, _) = watch.finish();
    assert_eq!(status, Some(0));
}

#[test]
fn sigint_ends_with_a_summary() {
    let mut target = python("secret.py", "0.2");
    target.line(WAIT);
    let pid = target.pid.to_string();
    let watch = watch_pid(&pid, "100ms", &[]);
    watch.until("poll");
    watch.until("poll");
    // SAFETY: kill(2) on the pid of the memscan child we started.
    unsafe { libc::kill(watch.child.id() as i32, libc::SIGINT) };
    let (status, rest) = watch.finish();
    let summary = rest.last().expect("events after SIGINT");
    assert_eq!(summary["type"], "watch_summary", "{rest:?}");
    assert!(summary["distinct_matches"].as_u64().unwrap() >= 1);
    assert!(summary["longest"]["lifetime_s"].as_f64().is_some());
    assert_eq!(status, Some(0));
    // The target was not harmed.
    assert!(target.child.try_wait().unwrap().is_none());
}

#[test]
fn long_watch_keeps_memory_flat() {
    let target = Spawned::start({
        let mut c = Command::new("sleep");
        c.arg("600");
        c
    });
    let pid = target.pid.to_string();
    let watch = watch_pid(&pid, "1ms", &["--count", "3000"]);
    let poll_number = |w: &Watch| loop {
        let e = w.next();
        if e["type"] == "poll" {
            return e["poll"].as_u64().unwrap();
        }
    };
    while poll_number(&watch) < 300 {}
    let early = watch.rss_kib("VmRSS:");
    while poll_number(&watch) < 2900 {}
    let late = watch.rss_kib("VmRSS:");
    let peak = watch.rss_kib("VmHWM:");
    let (status, _) = watch.finish();
    assert_eq!(status, Some(1), "nothing to find in sleep");
    assert!(late <= early + 1024, "grew from {early} KiB to {late} KiB");
    assert!(peak <= 32 * 1024, "peak {peak} KiB");
}

#[test]
fn second_signal_exits_at_once_with_130() {
    let mut target = python("secret.py", "0.2");
    target.line(WAIT);
    let pid = target.pid.to_string();
    // A long interval: the first signal alone would end the watch only
    // after its sleep slice; the second must not wait for anything.
    let watch = watch_pid(&pid, "30s", &[]);
    watch.until("poll");
    let child = watch.child.id() as i32;
    // Two different signals, since two pending SIGINTs would merge.
    // SAFETY: kill(2) on the pid of the memscan child we started.
    unsafe {
        libc::kill(child, libc::SIGINT);
        libc::kill(child, libc::SIGTERM);
    }
    let (status, _) = watch.finish();
    assert_eq!(status, Some(130));
}

#[test]
fn watch_of_a_name_that_never_matches_is_an_error_not_a_clean_result() {
    let name = format!("memscan-no-such-{}", std::process::id());
    let out = run(&[
        "--name",
        &name,
        "-e",
        "x",
        "--count",
        "2",
        "--interval",
        "50ms",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no process named"), "{}", stderr(&out));
}

#[test]
fn failed_target_shows_as_an_error_event() {
    let mut target = python("secret.py", "60");
    target.line(WAIT);
    let pid = target.pid.to_string();
    let out = run(&[
        "--pid",
        "99999999",
        "--pid",
        &pid,
        "-e",
        "topsecret_",
        "--count",
        "1",
        "--json",
    ]);
    let events = ndjson(&out);
    let errors = of(&events, "error");
    assert_eq!(errors.len(), 1, "{events:?}");
    assert!(errors[0]["message"].as_str().unwrap().contains("99999999"));
    // Secrets were found in the other target: that decides the status.
    assert_eq!(out.status.code(), Some(0));
}
