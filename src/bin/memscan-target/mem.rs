//! Maps the memory the targets plant secrets in.
//!
//! Mappings made here stay until the process exits unless a caller
//! unmaps one explicitly: they must stay readable until the target is
//! killed, and the kernel takes them down at exit. So a `Mapping` is only
//! an address and a length, with no Drop, and handing out a mutable slice
//! of it is the unsafe step that callers build on.

use std::fs::File;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;

use anyhow::{bail, Context, Result};
use nix::sys::mman::{self, MapFlags, ProtFlags};

pub const PAGE: usize = 4096;

/// A mapping that lives until the process exits.
///
/// Invariant: `addr..addr + len` is one mapping made by this module and
/// still mapped (only `unmap`, which consumes it, ends that); `len` is a
/// multiple of `PAGE`.
pub struct Mapping {
    pub addr: usize,
    pub len: usize,
}

impl Mapping {
    /// Map `len` bytes of private anonymous read-write memory.
    ///
    /// With `noreserve` the kernel does not count the mapping against
    /// overcommit, so a 64 GiB reservation costs only the pages touched.
    pub fn anon(len: usize, noreserve: bool) -> Result<Mapping> {
        let len = round_up(len)?;
        let mut flags = MapFlags::MAP_PRIVATE;
        if noreserve {
            flags |= MapFlags::MAP_NORESERVE;
        }
        // SAFETY: a fresh anonymous mapping at an address the kernel
        // picks cannot overlap memory that Rust code already uses.
        let ptr =
            unsafe { mman::mmap_anonymous(None, nonzero(len)?, rw(), flags) }
                .with_context(|| {
                    format!("mmap of {len} anonymous bytes failed")
                })?;
        Ok(Mapping { addr: ptr.as_ptr() as usize, len })
    }

    /// Map `len` bytes of `file` from offset 0 with `prot` and `flags`.
    pub fn file(
        file: &File,
        len: usize,
        prot: ProtFlags,
        flags: MapFlags,
    ) -> Result<Mapping> {
        let len = round_up(len)?;
        // SAFETY: the kernel picks a fresh address, so no Rust reference
        // aliases the new mapping; the file stays mapped after `file` is
        // closed.
        let ptr = unsafe {
            mman::mmap(None, nonzero(len)?, prot, flags, file.as_fd(), 0)
        }
        .context("mmap of a file failed")?;
        Ok(Mapping { addr: ptr.as_ptr() as usize, len })
    }

    /// The whole mapping as a mutable byte slice.
    ///
    /// Callers take this once per mapping and only for read-write
    /// mappings, so no two live slices alias.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the invariant says the range is mapped for the life of
        // the process, and the `&mut self` borrow is the only way to it.
        unsafe {
            std::slice::from_raw_parts_mut(self.addr as *mut u8, self.len)
        }
    }

    /// Change the protection of the pages at `offset..offset + len`.
    pub fn protect(
        &self,
        offset: usize,
        len: usize,
        prot: ProtFlags,
    ) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len && offset % PAGE == 0 => {}
            _ => bail!("mprotect range outside the mapping"),
        }
        let ptr = std::ptr::NonNull::new((self.addr + offset) as *mut _)
            .context("mprotect of a null address")?;
        // SAFETY: the range lies inside this mapping, and no slice of
        // those pages is alive while callers change their protection.
        unsafe { mman::mprotect(ptr, len, prot) }.context("mprotect failed")
    }

    /// Unmap the mapping now rather than at exit.
    pub fn unmap(self) -> Result<()> {
        let ptr = std::ptr::NonNull::new(self.addr as *mut _)
            .context("munmap of a null address")?;
        // SAFETY: `self` is consumed, so no slice of the mapping can
        // outlive this call.
        unsafe { mman::munmap(ptr, self.len) }.context("munmap failed")
    }

    /// Ask the kernel to fault in `offset..offset + len` for writing now,
    /// which is faster than taking one page fault per page while filling.
    ///
    /// MADV_POPULATE_WRITE appeared in Linux 5.14; on older kernels the
    /// fill touches the pages anyway, so a failure is ignored.
    pub fn populate(&self, offset: usize, len: usize) {
        // SAFETY: madvise with this advice only faults pages in; it never
        // changes their contents or the mapping itself.
        unsafe {
            libc::madvise(
                (self.addr + offset) as *mut _,
                len,
                libc::MADV_POPULATE_WRITE,
            );
        }
    }
}

fn rw() -> ProtFlags {
    ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
}

fn nonzero(len: usize) -> Result<NonZeroUsize> {
    NonZeroUsize::new(len).context("cannot map zero bytes")
}

fn round_up(len: usize) -> Result<usize> {
    len.checked_next_multiple_of(PAGE).context("mapping length overflows")
}
