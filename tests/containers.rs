//! memscan against real containers: the reference images on a real
//! Docker engine, found by name, scanned from the host.
//!
//! Every container here is started by the test, with `--network none`,
//! named `memscan-e2e-<pid>-<role>`, and removed on drop. The tests fail,
//! never skip, without an engine or images: `scripts/test.sh` runs
//! `scripts/ensure-docker.sh` and `scripts/build-images.sh` first. They
//! run one at a time, since `--all-containers` must see only their own.

mod common;

use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use common::*;
use serde_json::Value;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A container this test started; removed on drop.
struct Container {
    name: String,
}

impl Container {
    /// Runs `image` detached, with a short secret interval, and waits for
    /// `lines` lines of its output.
    fn start(role: &str, image: &str, lines: usize) -> Container {
        let name = format!("memscan-e2e-{}-{role}", std::process::id());
        let _ = docker(&["rm", "-f", &name]);
        docker_ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            &name,
            "-e",
            "SECRET_INTERVAL=0.2",
            image,
        ]);
        let c = Container { name };
        let ready = wait_until(Duration::from_secs(30), || {
            stdout(&docker(&["logs", &c.name])).lines().count() >= lines
        });
        assert!(
            ready,
            "{}: no output: {}",
            c.name,
            stdout(&docker(&["logs", &c.name]))
        );
        c
    }

    fn pid(&self) -> i64 {
        docker_ok(&["inspect", "-f", "{{.State.Pid}}", &self.name])
            .parse()
            .unwrap()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.name]);
    }
}

const PLAIN: &str = "memscan/unprotected:local";
const SECRETMEM: &str = "memscan/secretmem:local";

#[test]
fn unprotected_container_secrets_found_in_its_process() {
    let _serial = serial();
    let c = Container::start("plain", PLAIN, 3);
    // A second process in the container: found through the cgroup.
    docker_ok(&[
        "exec",
        "-d",
        &c.name,
        "python3",
        "-c",
        "import time; time.sleep(300)",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    let out = run(&["--container", &c.name, "-e", "topsecret_", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects = ndjson(&out);
    let summaries = of_type(&objects, "summary");
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    for s in &summaries {
        assert_eq!(s["process"]["container"]["name"], c.name.as_str());
    }
    let main = summaries
        .iter()
        .find(|s| s["pid"].as_i64() == Some(c.pid()))
        .expect("the container's main process");
    assert_eq!(main["process"]["ns_pid"], 1);
    assert!(main["matches"].as_u64().unwrap() >= 2, "{main}");
    // The matches are in the process that makes the secrets.
    for m in of_type(&objects, "match") {
        assert_eq!(m["pid"].as_i64(), Some(c.pid()), "{m}");
    }

    // The human report names the container and both pids.
    let out = run(&["--container", &c.name, "-e", "topsecret_"]);
    let text = stdout(&out);
    let line = format!(
        "pid {} (python3) in container {} (pid 1 inside)",
        c.pid(),
        c.name
    );
    assert!(text.contains(&line), "{text}");
}

#[test]
fn secretmem_container_shows_protected_region_and_no_match() {
    let _serial = serial();
    let c = Container::start("secretmem", SECRETMEM, 2);
    let out = run(&["--container", &c.name, "-e", "topsecret_", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let objects = ndjson(&out);
    assert!(of_type(&objects, "match").is_empty());
    let summary = of_type(&objects, "summary")[0];
    let refused: Vec<&Value> = summary["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "secretmem" && r["errno"] == "EFAULT")
        .collect();
    assert_eq!(refused.len(), 1, "{summary}");
}

#[test]
fn all_containers_lists_each_with_its_findings() {
    let _serial = serial();
    let plain = Container::start("all-plain", PLAIN, 2);
    let secret = Container::start("all-secretmem", SECRETMEM, 2);
    // --all-containers scans every running container: make sure that
    // means only ours.
    let running = docker_ok(&["ps", "--format", "{{.Names}}"]);
    let mut names: Vec<&str> = running.lines().collect();
    names.sort();
    let mut ours = vec![plain.name.as_str(), secret.name.as_str()];
    ours.sort();
    assert_eq!(names, ours, "other containers are running; stop them first");

    let out = run(&["--all-containers", "-e", "topsecret_", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects = ndjson(&out);
    let lines = of_type(&objects, "container");
    let find = |name: &str| {
        lines.iter().find(|l| l["name"] == name).copied().unwrap()
    };
    let p = find(&plain.name);
    assert!(
        p["matches"].as_u64().unwrap() >= 2 && p["protected_regions"] == 0,
        "{p}"
    );
    let s = find(&secret.name);
    assert!(s["matches"] == 0 && s["protected_regions"] == 1, "{s}");
    assert_eq!(s["image"], SECRETMEM);

    let out = run(&["--all-containers", "-e", "topsecret_"]);
    let text = stdout(&out);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("container") && first.contains("protected"),
        "{text}"
    );
}

#[test]
fn container_errors_are_one_line() {
    let _serial = serial();
    let check = |args: &[&str], envs: &[(&str, &str)], want: &str| {
        let out =
            memscan().args(args).envs(envs.iter().copied()).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
    };
    let missing = format!("memscan-e2e-{}-missing", std::process::id());
    check(&["--container", &missing, "-e", "x"], &[], "no such container");
    check(
        &["--container", "bad/name", "-e", "x"],
        &[],
        "invalid container name",
    );
    check(
        &["--container", "x", "-e", "x"],
        &[("DOCKER_HOST", "tcp://127.0.0.1:2375")],
        "DOCKER_HOST",
    );
    check(
        &["--container", "x", "-e", "x"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
        "/nonexistent/docker.sock",
    );

    let c = Container::start("stopped", PLAIN, 1);
    docker_ok(&["stop", "-t", "0", &c.name]);
    check(
        &["--container", &c.name, "-e", "x"],
        &[],
        "not running (status exited)",
    );
}

#[test]
fn watch_follows_a_restarted_container() {
    let _serial = serial();
    let c = Container::start("restart", PLAIN, 1);
    let before = c.pid();
    let mut watch = memscan()
        .args([
            "--container",
            &c.name,
            "-e",
            "topsecret_",
            "--watch",
            "--interval",
            "300ms",
        ])
        .arg("--json")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = watch.id() as i32;
    let mut reader = std::io::BufReader::new(watch.stdout.take().unwrap());
    let mut next = || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
        serde_json::from_str::<Value>(&line).unwrap_or(Value::Null)
    };
    let mut seen = Vec::new();
    while seen.iter().all(|e: &Value| e["type"] != "poll") {
        seen.push(next());
    }
    docker_ok(&["restart", "-t", "0", &c.name]);
    let after = c.pid();
    assert_ne!(before, after);
    // Within a few polls: the old process exits, the new one is followed.
    let mut exit_seen = false;
    let mut new_pid = None;
    for _ in 0..200 {
        let e = next();
        if e["type"] == "target_exit" && e["pid"].as_i64() == Some(before) {
            exit_seen = true;
        }
        if e["type"] == "target_new" {
            new_pid = e["pid"].as_i64();
        }
        if exit_seen && new_pid.is_some() {
            break;
        }
    }
    // SAFETY: kill(2) on the memscan child this test started.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let status = watch.wait().unwrap();
    assert!(exit_seen, "no target_exit for pid {before}");
    assert_eq!(new_pid, Some(after));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn memscan_runs_in_a_container_with_the_documented_flags() {
    let _serial = serial();
    let build = Command::new(root().join("scripts/build-images.sh"))
        .args(["--memscan", env!("CARGO_BIN_EXE_memscan")])
        .output()
        .unwrap();
    assert!(build.status.success(), "build-images: {}", stderr(&build));
    let c = Container::start("from-inside", PLAIN, 2);
    let out = docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--pid=host",
        "--cap-add",
        "SYS_PTRACE",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "memscan/memscan:local",
        "--container",
        &c.name,
        "-e",
        "topsecret_",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects = ndjson(&out);
    let summary = of_type(&objects, "summary")[0];
    assert_eq!(summary["pid"].as_i64(), Some(c.pid()));
    assert!(summary["matches"].as_u64().unwrap() >= 2, "{summary}");
}
