//! Copying target memory into memscan's buffers.
//!
//! The reader moves bytes and never interprets them. It uses
//! `process_vm_readv(2)`, which copies straight from the target's pages
//! without stopping it, and falls back to `pread` on `/proc/PID/mem` only
//! where cross-memory attach is refused (EPERM from some container seccomp
//! profiles) or missing (ENOSYS). Callers never hand it device memory:
//! through `/proc/PID/mem` a read could reach the hardware.

use std::fs::File;
use std::io::IoSliceMut;
use std::os::unix::fs::FileExt;

use nix::errno::Errno;
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

/// The largest transfer one call may make: the kernel caps a single
/// `process_vm_readv` at MAX_RW_COUNT (INT_MAX rounded down to a page).
pub const MAX_READ: usize = 0x7fff_f000;

/// How the reader reaches the target's memory.
#[derive(Debug)]
enum Method {
    VmReadv,
    ProcMem(File),
}

/// Reads one process's memory; shared by all reader threads.
#[derive(Debug)]
pub struct Reader {
    pid: Pid,
    method: Method,
}

impl Reader {
    /// Opens a reader for `pid`, choosing the method by reading one byte
    /// at `probe`, an address the caller expects to be readable.
    ///
    /// A zero-length read would not do: the kernel returns 0 before it
    /// checks permissions. Only EPERM and ENOSYS switch to
    /// `/proc/PID/mem`; any other answer means `process_vm_readv` works.
    pub fn open(pid: i32, probe: Option<u64>) -> Result<Reader, Errno> {
        let vm = Reader { pid: Pid::from_raw(pid), method: Method::VmReadv };
        let Some(addr) = probe else { return Ok(vm) };
        match vm.read(addr, &mut [0u8; 1]) {
            Err(Errno::EPERM) | Err(Errno::ENOSYS) => {
                let path = format!("/proc/{pid}/mem");
                let file = File::open(path).map_err(|e| {
                    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
                })?;
                log::debug!(
                    "reader: pid {pid}: process_vm_readv refused, \
                     using /proc/{pid}/mem"
                );
                Ok(Reader { pid: vm.pid, method: Method::ProcMem(file) })
            }
            Err(Errno::ESRCH) => Err(Errno::ESRCH),
            _ => Ok(vm),
        }
    }

    /// True when reads go through `/proc/PID/mem`.
    pub fn uses_proc_mem(&self) -> bool {
        matches!(self.method, Method::ProcMem(_))
    }

    /// One read of up to `buf.len()` bytes at `addr`.
    ///
    /// Both methods stop at the first page they cannot read and return
    /// what came before it; an error means the very first page failed.
    /// ESRCH means the target is gone.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        debug_assert!(buf.len() <= MAX_READ);
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let result = match &self.method {
                Method::VmReadv => {
                    let remote =
                        [RemoteIoVec { base: addr as usize, len: buf.len() }];
                    let mut local = [IoSliceMut::new(buf)];
                    process_vm_readv(self.pid, &mut local, &remote)
                }
                Method::ProcMem(file) => match file.read_at(buf, addr) {
                    // A descriptor that outlived its process (or its
                    // process's exec) reads nothing at all.
                    Ok(0) => Err(Errno::ESRCH),
                    Ok(n) => Ok(n),
                    Err(e) => Err(Errno::from_raw(
                        e.raw_os_error().unwrap_or(libc::EIO),
                    )),
                },
            };
            match result {
                Err(Errno::EINTR) => continue,
                other => return other,
            }
        }
    }

    /// Fills `buf` from `addr` on, as far as the memory is readable.
    ///
    /// Returns the number of bytes filled and, when that is short of
    /// `buf.len()`, the error of the page right after them. A short count
    /// alone is not an error: `process_vm_readv` stops at the first
    /// unreadable page, so one more call tells why it stopped.
    pub fn fill(&self, addr: u64, buf: &mut [u8]) -> (usize, Option<Errno>) {
        let mut filled = 0;
        while filled < buf.len() {
            match self.read(addr + filled as u64, &mut buf[filled..]) {
                Ok(n) => filled += n,
                Err(e) => return (filled, Some(e)),
            }
        }
        (filled, None)
    }
}

/// Whether an error ends the reading of one page only (true) or of the
/// whole target (false).
pub fn is_page_error(errno: Errno) -> bool {
    // EFAULT: unmapped, PROT_NONE, secretmem, enclave, beyond EOF of a
    // file; EIO: the same through /proc/PID/mem; ENOMEM: the page could
    // not be brought in.
    matches!(errno, Errno::EFAULT | Errno::EIO | Errno::ENOMEM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_memory_and_stops_at_unmapped_page() {
        let pid = std::process::id() as i32;
        let data = b"hello from the reader test".to_vec();
        let reader = Reader::open(pid, Some(data.as_ptr() as u64)).unwrap();
        let mut buf = vec![0u8; data.len()];
        let (n, err) = reader.fill(data.as_ptr() as u64, &mut buf);
        assert_eq!((n, err), (data.len(), None));
        assert_eq!(buf, data);

        // Address zero is never mapped in a Rust process.
        let mut page = [0u8; 16];
        assert_eq!(reader.fill(0, &mut page), (0, Some(Errno::EFAULT)));
    }
}
