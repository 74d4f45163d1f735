//! What a mapping is, and what memscan does with it.
//!
//! A [`Region`] is one line of `/proc/PID/maps` plus the `VmFlags` line
//! that `smaps` adds, when it was read. This module classifies regions into
//! [`Kind`]s and decides a [`Policy`] for each: scan it, try it once
//! (protected memory), or leave it alone with a reason. It never reads
//! target memory; parsing the text lives in `maps`.

use std::fmt;

/// Access bits from the second column of `/proc/PID/maps`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    /// `s` (shared) rather than `p` (private, copy-on-write).
    pub shared: bool,
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bit = |on: bool, c: char| if on { c } else { '-' };
        write!(
            f,
            "{}{}{}{}",
            bit(self.read, 'r'),
            bit(self.write, 'w'),
            bit(self.exec, 'x'),
            if self.shared { 's' } else { 'p' }
        )
    }
}

/// The two-letter `VmFlags` mnemonics of `smaps` that memscan acts on.
///
/// The kernel prints them in `show_smap_vma_flags` (fs/proc/task_mmu.c).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmFlags {
    /// `io`: VM_IO, memory-mapped I/O; reads may have side effects.
    pub io: bool,
    /// `pf`: VM_PFNMAP, raw page frames with no `struct page` behind them.
    pub pfnmap: bool,
    /// `dd`: VM_DONTDUMP, left out of core dumps (MADV_DONTDUMP).
    pub dontdump: bool,
    /// `lo`: VM_LOCKED, pinned in RAM (secretmem always is).
    pub locked: bool,
    /// `um`, `uw` or `ui`: registered with userfaultfd, so a read of a
    /// missing page waits until the handler serves it.
    pub userfault: bool,
    /// `ht`: backed by hugetlbfs.
    pub hugetlb: bool,
    /// A `VmFlags` line was seen; false when `smaps` was unavailable.
    pub known: bool,
}

impl VmFlags {
    /// Parses the value of a `VmFlags:` line; unknown mnemonics are
    /// ignored because new kernels add them.
    pub fn parse(text: &str) -> VmFlags {
        let mut flags = VmFlags { known: true, ..VmFlags::default() };
        for word in text.split_ascii_whitespace() {
            match word {
                "io" => flags.io = true,
                "pf" => flags.pfnmap = true,
                "dd" => flags.dontdump = true,
                "lo" => flags.locked = true,
                "um" | "uw" | "ui" => flags.userfault = true,
                "ht" => flags.hugetlb = true,
                _ => {}
            }
        }
        flags
    }
}

/// What a region holds, judged from its path and its `VmFlags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Heap,
    Stack,
    Anonymous,
    File,
    Shared,
    Vdso,
    Vvar,
    Vsyscall,
    Device,
    Guard,
    Enclave,
    SecretMem,
}

impl Kind {
    /// The lowercase name used in reports and in the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Heap => "heap",
            Kind::Stack => "stack",
            Kind::Anonymous => "anonymous",
            Kind::File => "file",
            Kind::Shared => "shared",
            Kind::Vdso => "vdso",
            Kind::Vvar => "vvar",
            Kind::Vsyscall => "vsyscall",
            Kind::Device => "device",
            Kind::Guard => "guard",
            Kind::Enclave => "sgx-enclave",
            Kind::SecretMem => "secretmem",
        }
    }

    /// True for memory whose owner asked the hardware or the kernel to
    /// keep it from everyone else: these are what memscan proves safe.
    pub fn is_protected(self) -> bool {
        matches!(self, Kind::Enclave | Kind::SecretMem)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// What memscan does with a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Read every resident page and search it.
    Scan,
    /// Try a single read and report the kernel's answer. Protected
    /// regions can span a terabyte (a Gramine enclave with EDMM), so
    /// walking them page by page would take hours for nothing.
    Probe,
    /// Do not touch it; the reason says why.
    Skip(&'static str),
}

/// The paths under which the SGX drivers expose enclave memory: the
/// upstream driver (5.11+), the old DCAP driver and the out-of-tree one.
const ENCLAVE_PATHS: [&str; 3] =
    ["/dev/sgx_enclave", "/dev/sgx/enclave", "/dev/isgx"];

/// One mapping of the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// First address; page aligned.
    pub start: u64,
    /// One past the last address; always greater than `start`.
    pub end: u64,
    pub perms: Perms,
    /// Offset into the mapped file (or the page offset for anonymous
    /// memory, which means nothing).
    pub offset: u64,
    /// Inode of the mapped file; 0 for anonymous memory.
    pub inode: u64,
    /// Everything after the inode column, with the kernel's `\012`
    /// escape turned back into a newline; empty for anonymous memory.
    pub path: String,
    /// `known` is false when only `maps` was read.
    pub flags: VmFlags,
    pub kind: Kind,
}

impl Region {
    /// Builds a region and classifies it.
    pub fn new(
        start: u64,
        end: u64,
        perms: Perms,
        offset: u64,
        inode: u64,
        path: String,
        flags: VmFlags,
    ) -> Region {
        debug_assert!(end > start, "empty region {start:#x}");
        let kind = classify(&path, perms, inode, flags);
        Region { start, end, perms, offset, inode, path, flags, kind }
    }

    /// Records the `VmFlags` that `smaps` gives after the region line and
    /// judges the region again with them.
    pub fn set_flags(&mut self, flags: VmFlags) {
        self.flags = flags;
        self.kind = classify(&self.path, self.perms, self.inode, flags);
    }

    /// Whether only `VmFlags` can tell what this region is or whether a
    /// read of it is safe.
    ///
    /// Without flags memscan relies on three kernel facts, which hold in
    /// the default mode (pagemap, process_vm_readv): the pagemap walk
    /// skips VM_IO/VM_PFNMAP mappings and get_user_pages refuses them, so
    /// device memory is never read; only present or swapped pages are
    /// read, which a userfaultfd MISSING handler never sees; and private
    /// anonymous memory can be neither device memory nor shared. What is
    /// left needs the flags: a claim to be protected (checked against
    /// the driver's flags), device files, and shared or memfd memory,
    /// whose untouched data memscan reads and which userfaultfd MINOR
    /// mode could intercept.
    pub fn needs_flags(&self) -> bool {
        let deleted =
            self.path.strip_suffix(" (deleted)").unwrap_or(&self.path);
        ENCLAVE_PATHS.contains(&deleted)
            || self.path == "/secretmem (deleted)"
            || self.path.starts_with("/dev/")
            || self.path.starts_with("anon_inode:")
            || self.perms.shared
            || crate::shmem::may_hold_unmapped_data(self)
    }

    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    pub fn contains(&self, addr: u64) -> bool {
        (self.start..self.end).contains(&addr)
    }

    /// Decides what to do with this region. The order matters: a
    /// protected region is probed even though it carries `io pf`, and
    /// device memory is never read even when its permissions allow it.
    pub fn policy(&self) -> Policy {
        // userfaultfd first: even a one-byte probe of such a region can
        // wait forever for a fault the target never serves.
        if self.flags.userfault {
            return Policy::Skip(
                "registered with userfaultfd: a read could block",
            );
        }
        match self.kind {
            Kind::Enclave | Kind::SecretMem => Policy::Probe,
            Kind::Vvar => Policy::Skip("kernel data page, not process memory"),
            Kind::Vsyscall => {
                Policy::Skip("legacy kernel page, the same in every process")
            }
            Kind::Device => Policy::Skip(
                "device memory (io/pfnmap): a read may touch hardware",
            ),
            Kind::Guard => Policy::Skip("no access (PROT_NONE)"),
            _ if !self.perms.read => Policy::Skip("not readable"),
            _ => Policy::Scan,
        }
    }

    /// The path as shown to people: control characters escaped (a
    /// target names its own files, and must not drive the terminal), and
    /// a placeholder for anonymous memory.
    pub fn display_path(&self) -> String {
        if self.path.is_empty() {
            String::from("[anon]")
        } else {
            crate::report::printable(&self.path)
        }
    }
}

/// Judges a region from its path first, then its flags and permissions.
///
/// The path alone is not enough: a GPU driver maps device memory under
/// an ordinary-looking path, which only `io`/`pf` gives away, and an
/// anonymous region can be named by `prctl(PR_SET_VMA_ANON_NAME)`.
fn classify(path: &str, perms: Perms, inode: u64, flags: VmFlags) -> Kind {
    // A path is only a claim: a target can map a file of its own under
    // /dev/sgx_enclave (in its mount namespace) or unlink one named
    // /secretmem. The flags are set by the kernel alone: the SGX driver
    // maps with VM_IO | VM_PFNMAP, secretmem with VM_LOCKED and
    // VM_DONTDUMP on a shared mapping. Without smaps the path decides.
    let deleted = path.strip_suffix(" (deleted)").unwrap_or(path);
    if ENCLAVE_PATHS.contains(&deleted)
        && (!flags.known || flags.io || flags.pfnmap)
    {
        return Kind::Enclave;
    }
    // memfd_secret(2) backs its mappings with an unlinked inode of the
    // internal secretmem mount, which maps shows as this name.
    let secretmem_flags = flags.locked && flags.dontdump && perms.shared;
    if path == "/secretmem (deleted)" && (!flags.known || secretmem_flags) {
        return Kind::SecretMem;
    }
    match path {
        "[vvar]" | "[vvar_vclock]" => return Kind::Vvar,
        "[vsyscall]" => return Kind::Vsyscall,
        "[vdso]" => return Kind::Vdso,
        _ => {}
    }
    if flags.io || flags.pfnmap {
        return Kind::Device;
    }
    if !perms.read && !perms.write && !perms.exec {
        return Kind::Guard;
    }
    match path {
        "[heap]" => return Kind::Heap,
        "[stack]" => return Kind::Stack,
        _ => {}
    }
    if perms.shared {
        return Kind::Shared;
    }
    // Named anonymous memory (`[anon:NAME]`, `[anon_shmem:NAME]`) and
    // other bracketed pseudo-paths are not files.
    if inode != 0 && !path.is_empty() && !path.starts_with('[') {
        return Kind::File;
    }
    Kind::Anonymous
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(text: &str) -> Perms {
        let b = text.as_bytes();
        Perms {
            read: b[0] == b'r',
            write: b[1] == b'w',
            exec: b[2] == b'x',
            shared: b[3] == b's',
        }
    }

    fn kind(path: &str, p: &str, inode: u64, flags: &str) -> Kind {
        classify(path, perms(p), inode, VmFlags::parse(flags))
    }

    #[test]
    fn enclave_recognised_under_every_driver_path() {
        for path in ENCLAVE_PATHS {
            assert_eq!(
                kind(path, "rw-s", 7, "rd wr sh io pf dd"),
                Kind::Enclave
            );
        }
        assert_eq!(
            kind("/dev/sgx_enclave (deleted)", "r-xs", 7, "io pf"),
            Kind::Enclave
        );
    }

    #[test]
    fn secretmem_is_protected_and_probed() {
        let r = Region::new(
            0x1000,
            0x2000,
            perms("rw-s"),
            0,
            1234,
            "/secretmem (deleted)".into(),
            VmFlags::parse("rd wr sh mr mw me ms lo dd"),
        );
        assert_eq!(r.kind, Kind::SecretMem);
        assert!(r.kind.is_protected());
        assert_eq!(r.policy(), Policy::Probe);
    }

    #[test]
    fn protected_paths_without_kernel_flags_are_not_protected() {
        // A file the target mapped under the enclave's name, or a file
        // it called /secretmem and unlinked: ordinary memory.
        assert_eq!(
            kind("/dev/sgx_enclave", "rw-s", 7, "rd wr sh"),
            Kind::Shared
        );
        assert_eq!(
            kind("/secretmem (deleted)", "rw-s", 7, "rd wr sh"),
            Kind::Shared
        );
        assert_eq!(
            kind("/secretmem (deleted)", "rw-p", 7, "rd wr lo dd"),
            Kind::File
        );
    }

    #[test]
    fn userfaultfd_wins_over_probing() {
        let r = Region::new(
            0,
            0x1000,
            perms("rw-s"),
            0,
            7,
            "/dev/sgx_enclave".into(),
            VmFlags::parse("rd wr sh io pf um"),
        );
        assert!(matches!(r.policy(), Policy::Skip(_)));
    }

    #[test]
    fn only_ambiguous_regions_need_flags() {
        let region = |path: &str, p: &str, inode: u64| {
            Region::new(
                0,
                0x1000,
                perms(p),
                0,
                inode,
                path.into(),
                VmFlags::default(),
            )
        };
        assert!(!region("", "rw-p", 0).needs_flags());
        assert!(!region("[heap]", "rw-p", 0).needs_flags());
        assert!(!region("/usr/lib/libc.so.6", "r-xp", 9).needs_flags());
        assert!(region("/dev/sgx_enclave", "rw-s", 9).needs_flags());
        assert!(region("/secretmem (deleted)", "rw-s", 9).needs_flags());
        assert!(region("/dev/dri/card0", "rw-p", 9).needs_flags());
        assert!(region("/dev/zero (deleted)", "rw-s", 9).needs_flags());
        assert!(region("/memfd:x (deleted)", "rw-p", 9).needs_flags());
    }

    #[test]
    fn device_memory_found_by_flags_not_path() {
        assert_eq!(
            kind("/dev/dri/card0", "rw-s", 9, "rd wr sh io pf"),
            Kind::Device
        );
        assert_eq!(kind("/some/file", "r--p", 9, "rd pf"), Kind::Device);
        // The same path without the flags is an ordinary shared mapping.
        assert_eq!(
            kind("/dev/dri/card0", "rw-s", 9, "rd wr sh"),
            Kind::Shared
        );
    }

    #[test]
    fn kernel_pages_classified_by_name() {
        assert_eq!(kind("[vvar]", "r--p", 0, "rd mr pf io de dd"), Kind::Vvar);
        assert_eq!(
            kind("[vvar_vclock]", "r--p", 0, "rd pf io dd"),
            Kind::Vvar
        );
        assert_eq!(kind("[vdso]", "r-xp", 0, "rd ex mr mw me de"), Kind::Vdso);
        assert_eq!(kind("[vsyscall]", "--xp", 0, ""), Kind::Vsyscall);
    }

    #[test]
    fn prot_none_is_a_guard() {
        assert_eq!(kind("", "---p", 0, "mr mw me"), Kind::Guard);
        assert_eq!(
            kind("/usr/lib/libc.so.6", "---p", 5, "mr mw me"),
            Kind::Guard
        );
    }

    #[test]
    fn ordinary_memory_kinds() {
        assert_eq!(kind("[heap]", "rw-p", 0, "rd wr"), Kind::Heap);
        assert_eq!(kind("[stack]", "rw-p", 0, "rd wr gd"), Kind::Stack);
        assert_eq!(kind("", "rw-p", 0, "rd wr"), Kind::Anonymous);
        assert_eq!(kind("[anon:glibc]", "rw-p", 0, "rd wr"), Kind::Anonymous);
        assert_eq!(kind("/usr/bin/python3.11", "r--p", 77, "rd"), Kind::File);
        assert_eq!(
            kind("/dev/zero (deleted)", "rw-s", 4, "rd wr sh"),
            Kind::Shared
        );
        assert_eq!(
            kind("/memfd:x (deleted)", "rw-s", 4, "rd wr sh"),
            Kind::Shared
        );
    }

    #[test]
    fn policy_leaves_dangerous_regions_alone() {
        let region = |path: &str, p: &str, flags: &str| {
            Region::new(
                0,
                0x1000,
                perms(p),
                0,
                0,
                path.into(),
                VmFlags::parse(flags),
            )
        };
        assert!(matches!(
            region("[vvar]", "r--p", "pf io").policy(),
            Policy::Skip(_)
        ));
        assert!(matches!(region("", "---p", "").policy(), Policy::Skip(_)));
        assert!(matches!(
            region("", "rw-p", "rd wr um").policy(),
            Policy::Skip(_)
        ));
        assert!(matches!(region("", "-w-p", "wr").policy(), Policy::Skip(_)));
        assert_eq!(region("", "rw-p", "rd wr dd").policy(), Policy::Scan);
        assert_eq!(
            region("/dev/sgx_enclave", "rw-s", "io pf").policy(),
            Policy::Probe
        );
    }

    #[test]
    fn display_path_escapes_newline_again() {
        let r = Region::new(
            0,
            0x1000,
            perms("r--p"),
            0,
            3,
            "/tmp/a\nb".into(),
            VmFlags::default(),
        );
        assert_eq!(r.display_path(), "/tmp/a\\nb");
    }
}
