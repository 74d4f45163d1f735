//! The one hint memscan gives when the kernel refuses access.
//!
//! Reading another process's maps or memory needs ptrace-attach rights
//! (`ptrace_may_access` with PTRACE_MODE_ATTACH for memory, READ for
//! maps): root, CAP_SYS_PTRACE, or the same user when Yama allows it and
//! the target is dumpable. The hint names the cause most likely to apply
//! here rather than listing them all.

/// CAP_SYS_PTRACE is bit 19 of the capability sets.
const CAP_SYS_PTRACE: u64 = 1 << 19;

/// A short, specific suggestion for a permission failure.
pub fn permission() -> String {
    let status =
        std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let in_container = std::path::Path::new("/.dockerenv").exists()
        || std::path::Path::new("/run/.containerenv").exists();
    if cap_eff & CAP_SYS_PTRACE == 0 {
        if euid != 0 {
            return String::from(
                "needs root or CAP_SYS_PTRACE: try sudo memscan",
            );
        }
        if in_container {
            return String::from(
                "memscan runs in a container without CAP_SYS_PTRACE: \
                 start it with --pid=host --cap-add SYS_PTRACE",
            );
        }
        return String::from("CAP_SYS_PTRACE is missing from this root shell");
    }
    let yama = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok());
    if yama == Some(3) {
        return String::from(
            "Yama ptrace_scope is 3, which forbids all attaching",
        );
    }
    String::from(
        "the target may be non-dumpable or guarded by an LSM \
         (SELinux, AppArmor)",
    )
}
