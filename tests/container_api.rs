//! The container module against a live Docker engine.
//!
//! Each test starts its own containers from the local base image, named
//! `memscan-test-<pid>-<role>`, with no network, and removes them on drop,
//! also when an assertion fails. The tests fail, never skip, when the
//! engine or the image is missing: run `scripts/ensure-docker.sh` and
//! `scripts/make-base-image.sh` first (CI does).

mod common;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{docker, docker_ok};
use memscan::container::{self, Error};

const IMAGE: &str = "memscan/python-base:local";

/// Fails the test with the fix when the engine or the image is missing.
fn require_engine_and_image() {
    let info = docker(&["info", "--format", "{{.ServerVersion}}"]);
    assert!(
        info.status.success(),
        "docker engine not available ({}): run scripts/ensure-docker.sh; \
         this test needs it and does not skip",
        String::from_utf8_lossy(&info.stderr).trim()
    );
    let image = docker(&["image", "inspect", IMAGE]);
    assert!(
        image.status.success(),
        "image {IMAGE} missing: run scripts/make-base-image.sh"
    );
}

/// A container this test created; removed (forcibly) on drop.
struct TestContainer {
    name: String,
}

impl TestContainer {
    fn name_for(role: &str) -> String {
        format!("memscan-test-{}-{role}", std::process::id())
    }

    /// Starts a detached container that sleeps for ten minutes at most.
    fn sleeping(role: &str) -> TestContainer {
        let c = TestContainer { name: TestContainer::name_for(role) };
        docker_ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            &c.name,
            IMAGE,
            "python3",
            "-c",
            "import time; time.sleep(600)",
        ]);
        c
    }

    /// Runs a container to completion, leaving it in the exited state.
    fn exited(role: &str) -> TestContainer {
        let c = TestContainer { name: TestContainer::name_for(role) };
        docker_ok(&[
            "run",
            "--network",
            "none",
            "--name",
            &c.name,
            IMAGE,
            "python3",
            "-c",
            "pass",
        ]);
        c
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        // Removal is best effort: a failure here must not hide the
        // assertion that is unwinding.
        let _ = Command::new("docker").args(["rm", "-f", &self.name]).output();
    }
}

#[test]
fn running_container_inspected_with_host_pid() {
    require_engine_and_image();
    let tc = TestContainer::sleeping("run");
    let c = container::inspect(&tc.name).expect("inspect");
    assert_eq!(c.name, tc.name);
    assert!(c.running);
    assert_eq!(c.status, "running");
    assert_eq!(c.image, IMAGE);
    assert!(c.engine.ends_with(".sock"), "{}", c.engine);
    let want_pid = docker_ok(&["inspect", "-f", "{{.State.Pid}}", &tc.name]);
    assert_eq!(c.pid.to_string(), want_pid);
    let want_id = docker_ok(&["inspect", "-f", "{{.Id}}", &tc.name]);
    assert_eq!(c.id, want_id);
    // The ID and its prefix resolve to the same container.
    assert_eq!(container::inspect(&c.id).expect("inspect by id").name, c.name);
    assert_eq!(container::inspect(&c.id[..12]).expect("by prefix").id, c.id);
    // The host PID is the container's PID 1.
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", c.pid))
        .expect("host pid exists");
    assert!(comm.starts_with("python3"), "{comm}");
}

#[test]
fn processes_include_exec_sessions_from_the_cgroup() {
    require_engine_and_image();
    let tc = TestContainer::sleeping("exec");
    let c = container::inspect(&tc.name).expect("inspect");

    let first = container::processes(&c).expect("processes");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].host_pid, c.pid);
    assert_eq!(first[0].ns_pid, Some(1));

    // A docker exec process is not a descendant of PID 1: only the cgroup
    // walk finds it.
    docker_ok(&[
        "exec",
        "-d",
        &tc.name,
        "python3",
        "-c",
        "import time; time.sleep(600)",
    ]);
    // runc shows up in the cgroup first (as runc:[2:INIT]) and then execs
    // python3, so wait until the second process is the one we started.
    let is_python = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|comm| comm.trim() == "python3")
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let procs = loop {
        let procs = container::processes(&c).expect("processes");
        let settled =
            procs.len() == 2 && procs.iter().all(|p| is_python(p.host_pid));
        if settled || Instant::now() > deadline {
            break procs;
        }
        thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(procs.len(), 2, "{procs:?}");
    let exec = procs.iter().find(|p| p.host_pid != c.pid).expect("exec pid");
    assert!(is_python(exec.host_pid), "{exec:?} is not python3");
    let ns = exec.ns_pid.expect("ns pid");
    assert!(ns > 1, "exec process has ns pid {ns}");
}

#[test]
fn running_containers_listed_with_pids() {
    require_engine_and_image();
    let tc = TestContainer::sleeping("list");
    let stopped = TestContainer::exited("list-stopped");
    let want = container::inspect(&tc.name).expect("inspect");
    let list = container::list_running().expect("list");
    let got = list.iter().find(|c| c.name == tc.name).expect("listed");
    assert_eq!(got, &want);
    assert!(list.iter().all(|c| c.running && c.pid > 0));
    assert!(list.iter().all(|c| c.name != stopped.name));
}

#[test]
fn stopped_container_inspected_but_has_no_processes() {
    require_engine_and_image();
    let tc = TestContainer::exited("stopped");
    let c = container::inspect(&tc.name).expect("inspect");
    assert!(!c.running);
    assert_eq!(c.pid, 0);
    assert_eq!(c.status, "exited");
    let err = container::processes(&c).unwrap_err();
    assert!(matches!(err, Error::NotRunning { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("container {:?}: not running (status exited)", tc.name)
    );
}

#[test]
fn missing_container_not_found_names_the_socket() {
    require_engine_and_image();
    let name = TestContainer::name_for("absent");
    let err = container::inspect(&name).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&name) && text.contains(".sock"), "{text}");
}

#[test]
fn invalid_name_rejected_before_asking() {
    let err = container::inspect("../_ping").unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err}");
}
