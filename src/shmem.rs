//! Finding the data of shared memory that the process has not touched.
//!
//! `pagemap` tells which pages are mapped in the process, which for
//! private anonymous memory is all there is. Shared memory is different:
//! a page of a `MAP_SHARED` anonymous mapping written by a child, or of
//! a memfd filled with `write(2)`, holds data in the kernel's page cache
//! while never having been faulted into this process. The process can
//! read it at any time, so memscan must too.
//!
//! For mappings of memory-only files (tmpfs, which backs shared
//! anonymous memory, memfd and /dev/shm; and hugetlbfs), this module
//! opens the mapped file through `/proc/PID/map_files` and asks it for
//! its data ranges with `lseek(SEEK_DATA/SEEK_HOLE)`: holes are never
//! read, so no page is allocated in the target. Disk files are left to
//! `pagemap`: their unloaded pages hold what the disk holds.

use std::fs::File;
use std::ops::Range;
use std::os::fd::AsRawFd;

use crate::region::Region;

/// `f_type` of tmpfs/shmem and of hugetlbfs (include/uapi/linux/magic.h).
const TMPFS_MAGIC: i64 = 0x0102_1994;
const HUGETLBFS_MAGIC: i64 = 0x9584_58f6;

/// Whether a region may hold data that is not mapped in the process.
pub fn may_hold_unmapped_data(region: &Region) -> bool {
    region.inode != 0
        && (region.perms.shared
            || region.path.starts_with("/memfd:")
            || region.path.starts_with("/dev/shm/"))
}

/// The address ranges of `region` backed by data in its memory-only
/// file; `None` when the file is on disk or cannot be opened (reading
/// `map_files` needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE).
pub fn data_ranges(pid: i32, region: &Region) -> Option<Vec<Range<u64>>> {
    let path =
        format!("/proc/{pid}/map_files/{:x}-{:x}", region.start, region.end);
    let file = File::open(&path)
        .map_err(|e| log::debug!("shmem: {path}: {e}"))
        .ok()?;
    let fd = file.as_raw_fd();
    // SAFETY: statfs is plain data; fstatfs only writes into it.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open for the duration of the call and `fs` is a
    // valid, writable statfs.
    if unsafe { libc::fstatfs(fd, &mut fs) } != 0 {
        return None;
    }
    let kind = fs.f_type as i64;
    if kind != TMPFS_MAGIC && kind != HUGETLBFS_MAGIC {
        return None;
    }
    let first = region.offset;
    let last = region.offset + region.len();
    let mut ranges = Vec::new();
    let mut at = first;
    while at < last {
        let Some(data) = seek(fd, at, libc::SEEK_DATA) else { break };
        if data >= last {
            break;
        }
        let hole = seek(fd, data, libc::SEEK_HOLE).unwrap_or(last).min(last);
        let start = region.start + (data - first);
        let end = region.start + (hole - first);
        ranges.push(start..end);
        at = hole;
    }
    Some(ranges)
}

/// `lseek` that answers `None` for "no more data" (ENXIO) and errors.
fn seek(fd: i32, offset: u64, whence: i32) -> Option<u64> {
    // SAFETY: lseek only moves the file offset of an open descriptor.
    let at = unsafe { libc::lseek(fd, offset as libc::off_t, whence) };
    (at >= 0).then_some(at as u64)
}

/// Merges sorted-or-not ranges into sorted, disjoint ones.
pub fn union(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => {
                last.end = last.end.max(r.end)
            }
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_merges_overlaps_and_neighbours() {
        assert_eq!(
            union(vec![5..9, 0..2, 2..3, 8..12, 20..21]),
            [0..3, 5..12, 20..21]
        );
    }

    /// A shared anonymous mapping whose page was written through another
    /// mapping of the same memory: not in this mapping's page tables,
    /// but data all the same.
    #[test]
    fn data_written_elsewhere_is_found() {
        let page = crate::pagemap::page_size() as usize;
        let len = 8 * page;
        // SAFETY: fresh shared anonymous mapping; nothing else uses it.
        let first = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(first, libc::MAP_FAILED);
        let regions = crate::maps::read(std::process::id() as i32).unwrap();
        let region =
            regions.iter().find(|r| r.start == first as u64).unwrap().clone();
        // Write page 5 through a second mapping of the same file, so the
        // first mapping never faults it in.
        let path = format!(
            "/proc/self/map_files/{:x}-{:x}",
            region.start, region.end
        );
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        use std::os::unix::fs::FileExt;
        file.write_at(b"data", 5 * page as u64).unwrap();

        assert!(may_hold_unmapped_data(&region));
        let ranges = data_ranges(std::process::id() as i32, &region).unwrap();
        let at = first as u64 + 5 * page as u64;
        assert_eq!(ranges.len(), 1);
        assert_eq!(ranges[0], at..at + page as u64);
        // SAFETY: unmapping the mapping made above.
        unsafe { libc::munmap(first, len) };
    }
}
