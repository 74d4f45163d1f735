//! Failures are one line on stderr and exit status 2, never a panic.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use common::*;

/// Asserts exit status 2 and a single `memscan: ...` line on stderr.
fn one_line_error(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("memscan: "), "{err}");
    err
}

#[test]
fn nonexistent_pid_is_one_line() {
    // Above any pid_max (at most 2^22), so it cannot exist.
    let err = one_line_error(&["--pid", "99999999", "-e", "x"]);
    assert!(err.contains("pid 99999999: no such process"), "{err}");
}

#[test]
fn missing_or_bad_patterns_are_refused() {
    let err = one_line_error(&["--pid", "99999999"]);
    assert!(err.contains("no pattern"), "{err}");
    let err = one_line_error(&["--pid", "99999999", "-e", ""]);
    assert!(err.contains("empty pattern"), "{err}");
    let err = one_line_error(&["--pid", "99999999", "-E", "topsecret_(["]);
    assert!(err.contains("invalid regex"), "{err}");
    let err = one_line_error(&["--pid", "99999999", "-E", "x*"]);
    assert!(err.contains("empty string"), "{err}");
}

#[test]
fn zombie_has_no_memory_to_scan() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    // Not reaped yet, so it stays a zombie until `wait` below.
    let zombie = wait_until(Duration::from_secs(10), || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default();
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    });
    assert!(zombie, "child {pid} never became a zombie");
    let err = one_line_error(&["--pid", &pid.to_string(), "-e", "x"]);
    child.wait().unwrap();
    assert!(err.contains("zombie, no user memory to scan"), "{err}");
}

#[test]
fn unprivileged_user_gets_a_permission_hint() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test starts a root-owned target"
    );
    let target = Spawned::start({
        let mut c = Command::new("sleep");
        c.arg("600");
        c
    });
    // The checkout may sit in a folder `nobody` cannot enter, so run a
    // copy of the binary from a world-readable place.
    let dir = tempdir_world_readable();
    let copy = dir.join("memscan");
    std::fs::copy(env!("CARGO_BIN_EXE_memscan"), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
        .unwrap();
    // Another test thread may fork while our copy's write descriptor is
    // still open, and its child holds it until exec: ETXTBSY for a
    // moment. Retry briefly rather than fail on that race.
    let mut tries = 0;
    let out = loop {
        let result = Command::new(&copy)
            .args(["--pid", &target.pid.to_string(), "-e", "x"])
            .uid(65534)
            .gid(65534)
            .output();
        match result {
            Err(e)
                if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 =>
            {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("permission denied"), "{err}");
    assert!(err.contains("root or CAP_SYS_PTRACE"), "{err}");
}

fn tempdir_world_readable() -> std::path::PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("memscan-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
        .unwrap();
    dir
}
