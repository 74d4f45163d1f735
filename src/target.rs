//! Turning `--pid` and `--name` into processes to scan.
//!
//! A [`Process`] is what the report says about a target: its pid, the
//! pid inside its namespace, its command line and its start time (which,
//! unlike a pid, is never reused). Containers resolve to processes in
//! `container`; this module only needs to know which container a process
//! came from so the report can say so.

use procfs::process::Process as ProcfsProcess;
use procfs::ProcError;

use crate::report::printable;

/// PF_KTHREAD from include/linux/sched.h: set in `stat` flags for kernel
/// threads, which have no user memory at all.
const PF_KTHREAD: u32 = 0x0020_0000;

/// Where a process came from, when it was found through a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub container: String,
    /// Full container ID.
    pub id: String,
    pub image: String,
}

/// One process to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub pid: i32,
    /// The pid as the process sees it (last `NSpid` field), when it lives
    /// in another pid namespace.
    pub ns_pid: Option<i32>,
    /// `comm` (at most 15 bytes), control characters escaped.
    pub comm: String,
    /// Arguments joined by spaces, control characters escaped; empty for
    /// kernel threads and zombies.
    pub cmdline: String,
    /// Start time in clock ticks since boot; tells a reused pid apart.
    pub start_time: u64,
    pub origin: Option<Origin>,
}

/// Why a target could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("pid {0}: no such process")]
    NoSuchPid(i32),
    #[error("pid {0} ({1}): kernel thread, no user memory to scan")]
    KernelThread(i32, String),
    #[error("pid {0} ({1}): zombie, no user memory to scan")]
    Zombie(i32, String),
    #[error("no process named {0:?}")]
    NoSuchName(String),
    #[error("pid {pid}: permission denied reading {what} ({hint})")]
    Denied { pid: i32, what: &'static str, hint: String },
    #[error("pid {pid}: failed to read {what}: {source}")]
    Io {
        pid: i32,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl TargetError {
    /// Maps an I/O error on one of `pid`'s /proc files to the error a
    /// user can act on.
    pub fn from_io(
        pid: i32,
        what: &'static str,
        e: std::io::Error,
    ) -> TargetError {
        match e.kind() {
            std::io::ErrorKind::NotFound => TargetError::NoSuchPid(pid),
            std::io::ErrorKind::PermissionDenied => TargetError::Denied {
                pid,
                what,
                hint: crate::hint::permission(),
            },
            _ if e.raw_os_error() == Some(libc::ESRCH) => {
                TargetError::NoSuchPid(pid)
            }
            _ => TargetError::Io { pid, what, source: e },
        }
    }

    fn from_proc(pid: i32, what: &'static str, e: ProcError) -> TargetError {
        match e {
            ProcError::NotFound(_) => TargetError::NoSuchPid(pid),
            ProcError::PermissionDenied(_) => TargetError::Denied {
                pid,
                what,
                hint: crate::hint::permission(),
            },
            ProcError::Io(e, _) => TargetError::from_io(pid, what, e),
            other => TargetError::Io {
                pid,
                what,
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}

/// Looks up one pid and checks that it has user memory.
pub fn by_pid(pid: i32) -> Result<Process, TargetError> {
    if pid <= 0 {
        return Err(TargetError::NoSuchPid(pid));
    }
    let proc = ProcfsProcess::new(pid)
        .map_err(|e| TargetError::from_proc(pid, "/proc", e))?;
    let stat =
        proc.stat().map_err(|e| TargetError::from_proc(pid, "stat", e))?;
    // The process names itself (prctl PR_SET_NAME, argv): keep control
    // characters out of every report and message from here on.
    let comm = printable(&stat.comm);
    if stat.flags & PF_KTHREAD != 0 {
        return Err(TargetError::KernelThread(pid, comm));
    }
    if matches!(stat.state, 'Z' | 'X') {
        return Err(TargetError::Zombie(pid, comm));
    }
    let ns_pid = proc
        .status()
        .ok()
        .and_then(|s| s.nspid)
        .and_then(|list| list.last().copied())
        .filter(|&inner| inner != pid);
    let cmdline = proc
        .cmdline()
        .map(|args| printable(&args.join(" ")))
        .unwrap_or_default();
    Ok(Process {
        pid,
        ns_pid,
        comm,
        cmdline,
        start_time: stat.starttime,
        origin: None,
    })
}

/// Every process whose `comm` or argv[0] basename is `name`, memscan
/// itself excepted, in pid order.
pub fn by_name(name: &str) -> Result<Vec<Process>, TargetError> {
    let me = std::process::id() as i32;
    let all = procfs::process::all_processes()
        .map_err(|e| TargetError::from_proc(0, "/proc", e))?;
    let mut found = Vec::new();
    for proc in all.flatten() {
        if proc.pid == me {
            continue;
        }
        let Ok(stat) = proc.stat() else { continue };
        let argv0 = proc
            .cmdline()
            .ok()
            .and_then(|a| a.into_iter().next())
            .unwrap_or_default();
        if name_matches(name, &stat.comm, &argv0) {
            // Kernel threads and zombies have nothing to scan, and a
            // process that exited since the listing is simply gone.
            if let Ok(p) = by_pid(proc.pid) {
                found.push(p);
            }
        }
    }
    if found.is_empty() {
        return Err(TargetError::NoSuchName(name.to_string()));
    }
    found.sort_by_key(|p| p.pid);
    Ok(found)
}

/// `comm` holds at most 15 bytes (TASK_COMM_LEN - 1), so a longer name
/// matches its truncation too, as with pgrep.
fn name_matches(name: &str, comm: &str, argv0: &str) -> bool {
    let truncated = name.get(..name.len().min(15)).unwrap_or(name);
    let base = argv0.rsplit('/').next().unwrap_or(argv0);
    comm == name || (name.len() > 15 && comm == truncated) || base == name
}

/// Reads the start time of `pid`, to tell whether a pid still names the
/// same process.
pub fn start_time(pid: i32) -> Option<u64> {
    ProcfsProcess::new(pid).ok()?.stat().ok().map(|s| s.starttime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_matches_comm_truncation_and_argv0() {
        assert!(name_matches("python3", "python3", "/usr/bin/python3"));
        assert!(name_matches("python3", "secret.py", "python3"));
        assert!(name_matches(
            "a-very-long-program-name",
            "a-very-long-pro",
            ""
        ));
        assert!(!name_matches("python", "python3", "/usr/bin/python3"));
    }

    #[test]
    fn own_process_resolves_with_cmdline() {
        let me = by_pid(std::process::id() as i32).unwrap();
        assert!(!me.cmdline.is_empty());
        assert!(me.start_time > 0);
    }

    #[test]
    fn kernel_thread_refused() {
        // kthreadd is pid 2 on every Linux system with a pid namespace of
        // its own root; inside containers pid 2 may not exist.
        match by_pid(2) {
            Err(TargetError::KernelThread(2, _))
            | Err(TargetError::NoSuchPid(2)) => {}
            Ok(p) => assert!(p.comm != "kthreadd", "{p:?}"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn missing_pid_is_no_such_process() {
        // pid_max is at most 2^22, so this pid cannot exist.
        let err = by_pid(99_999_999).unwrap_err();
        assert_eq!(err.to_string(), "pid 99999999: no such process");
    }
}
