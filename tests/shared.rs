//! Shared memory holds data that was never faulted into the process
//! scanned: memscan must read it anyway (but not allocate holes).

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

/// A child writes a secret into a shared anonymous mapping and exits;
/// the parent never touches that page, so pagemap shows it absent.
const SCRIPT: &str = r#"
import mmap, os, sys
page = mmap.PAGESIZE
m = mmap.mmap(-1, 64 * page)
pid = os.fork()
if pid == 0:
    secret = b"shared" + b"_secret_" + b"%d" % 4242
    m[7 * page:7 * page + len(secret)] = secret
    os._exit(0)
os.waitpid(pid, 0)
print("ready", flush=True)
sys.stdin.read()
"#;

#[test]
fn secret_written_by_a_child_into_shared_memory_is_found() {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", SCRIPT]);
    let mut target = Spawned::start_with_stdin(cmd);
    assert_eq!(target.line(Duration::from_secs(20)), "ready");
    let pid = target.pid.to_string();
    let before = shmem_kib(&pid);
    let out = run(&["--pid", &pid, "-e", "shared_secret_4242", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects = ndjson(&out);
    let kinds: Vec<&str> = of_type(&objects, "match")
        .iter()
        .map(|m| m["region"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["shared"]);
    // Only the page with data was read (and so mapped into the target):
    // had the 63 holes been read, the kernel would have allocated them.
    let after = shmem_kib(&pid);
    assert!(after <= before + 4, "holes faulted in: {before} -> {after} KiB");
}

fn shmem_kib(pid: &str) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("RssShmem:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}
