//! Finding the pages of a region that can hold anything but zeros.
//!
//! A page that was never touched, in an anonymous private mapping, is
//! neither present nor swapped, and reading it would only return zeros
//! (while making the kernel map the zero page into the target). memscan
//! asks `/proc/PID/pagemap` which pages are present or swapped and reads
//! only those. On Linux 6.7+ the `PAGEMAP_SCAN` ioctl returns whole runs
//! of such pages and skips empty page tables in the kernel; older kernels
//! get the 8-byte-per-page entries read in blocks.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

/// The page size memscan assumes for pagemap arithmetic.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

// Page categories of PAGEMAP_SCAN, from include/uapi/linux/fs.h.
const PAGE_IS_PRESENT: u64 = 1 << 3;
const PAGE_IS_SWAPPED: u64 = 1 << 4;
const PAGE_IS_PFNZERO: u64 = 1 << 5;

/// `struct pm_scan_arg` from include/uapi/linux/fs.h.
#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `struct page_region` from include/uapi/linux/fs.h.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

/// `_IOWR('f', 16, struct pm_scan_arg)`.
const PAGEMAP_SCAN: u64 = (3 << 30)
    | ((std::mem::size_of::<PmScanArg>() as u64) << 16)
    | ((b'f' as u64) << 8)
    | 16;

// Bits of a classic pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
const PM_PRESENT: u64 = 1 << 63;
const PM_SWAPPED: u64 = 1 << 62;

/// An open `/proc/PID/pagemap`.
pub struct Pagemap {
    file: File,
    /// Cleared once the kernel has shown it lacks `PAGEMAP_SCAN`.
    scan_ioctl: bool,
    page: u64,
}

impl Pagemap {
    pub fn open(pid: i32) -> io::Result<Pagemap> {
        let file = File::open(format!("/proc/{pid}/pagemap"))?;
        Ok(Pagemap { file, scan_ioctl: true, page: page_size() })
    }

    /// For each wanted range (sorted by address, disjoint, tagged with
    /// the caller's index), the runs of pages in it that are present or
    /// swapped, in address order.
    ///
    /// With `PAGEMAP_SCAN` one walk covers the whole span, since the
    /// kernel skips unmapped gaps and empty page tables by itself: one
    /// call instead of one per region. The entry-by-entry fallback has
    /// to read 8 bytes per page, so it reads only the wanted ranges.
    pub fn resident_in(
        &mut self,
        wanted: &[(usize, Range<u64>)],
    ) -> io::Result<Vec<(usize, Range<u64>)>> {
        let mut out = Vec::new();
        let (Some(first), Some(last)) = (wanted.first(), wanted.last()) else {
            return Ok(out);
        };
        if self.scan_ioctl {
            let mut runs = Vec::new();
            match self.scan(first.1.start..last.1.end, &mut runs) {
                Ok(()) => {
                    intersect(&runs, wanted, &mut out);
                    return Ok(out);
                }
                // ENOTTY or EINVAL: a kernel before 6.7.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOTTY) | Some(libc::EINVAL)
                    ) =>
                {
                    log::debug!(
                        "pagemap: no PAGEMAP_SCAN ({e}), reading entries"
                    );
                    self.scan_ioctl = false;
                }
                Err(e) => return Err(e),
            }
        }
        let mut runs = Vec::new();
        for (tag, range) in wanted {
            runs.clear();
            self.entries(range.clone(), &mut runs)?;
            out.extend(runs.drain(..).map(|r| (*tag, r)));
        }
        Ok(out)
    }

    fn scan(
        &self,
        range: Range<u64>,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        let mut found = [PageRegion::default(); 256];
        let mut start = range.start;
        while start < range.end {
            let mut arg = PmScanArg {
                size: std::mem::size_of::<PmScanArg>() as u64,
                start,
                end: range.end,
                vec: found.as_mut_ptr() as u64,
                vec_len: found.len() as u64,
                // Pages mapped to the shared zero page were read-faulted
                // only and hold zeros, so they are left out too.
                category_inverted: PAGE_IS_PFNZERO,
                category_mask: PAGE_IS_PFNZERO,
                category_anyof_mask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                return_mask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                ..PmScanArg::default()
            };
            // SAFETY: `arg` is a correctly sized pm_scan_arg whose `vec`
            // points at `found`, which outlives the call and has room for
            // `vec_len` page_region entries; the kernel writes only there
            // and into `arg`.
            let n = unsafe {
                libc::ioctl(self.file.as_raw_fd(), PAGEMAP_SCAN as _, &mut arg)
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            for region in &found[..n as usize] {
                push_merged(out, region.start..region.end);
            }
            if arg.walk_end <= start {
                break;
            }
            start = arg.walk_end;
        }
        Ok(())
    }

    fn entries(
        &self,
        range: Range<u64>,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        const BLOCK: usize = 8192;
        let mut raw = vec![0u8; BLOCK * 8];
        let mut page = range.start / self.page;
        let last = range.end.div_ceil(self.page);
        while page < last {
            let want = ((last - page) as usize).min(BLOCK);
            let n = self.file.read_at(&mut raw[..want * 8], page * 8)?;
            if n < 8 {
                break;
            }
            for (i, entry) in raw[..n - n % 8].chunks_exact(8).enumerate() {
                let bits =
                    u64::from_ne_bytes(entry.try_into().unwrap_or([0; 8]));
                if bits & (PM_PRESENT | PM_SWAPPED) != 0 {
                    let addr = (page + i as u64) * self.page;
                    push_merged(out, addr..addr + self.page);
                }
            }
            page += (n / 8) as u64;
        }
        Ok(())
    }
}

/// Clips sorted `runs` to sorted, disjoint `wanted` ranges.
fn intersect(
    runs: &[Range<u64>],
    wanted: &[(usize, Range<u64>)],
    out: &mut Vec<(usize, Range<u64>)>,
) {
    let mut w = 0;
    for run in runs {
        while w < wanted.len() && wanted[w].1.end <= run.start {
            w += 1;
        }
        let mut k = w;
        while k < wanted.len() && wanted[k].1.start < run.end {
            let (tag, range) = &wanted[k];
            let start = run.start.max(range.start);
            let end = run.end.min(range.end);
            if start < end {
                out.push((*tag, start..end));
            }
            k += 1;
        }
    }
}

fn push_merged(out: &mut Vec<Range<u64>>, run: Range<u64>) {
    match out.last_mut() {
        Some(last) if last.end == run.start => last.end = run.end,
        _ => out.push(run),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Maps `pages` anonymous pages of our own, touching the given ones.
    fn mapping(pages: usize, touched: &[usize]) -> (*mut u8, usize) {
        let page = page_size() as usize;
        let len = pages * page;
        // SAFETY: a fresh private anonymous mapping; no existing memory is
        // affected, and the writes below stay inside it.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED);
        let base = ptr as *mut u8;
        for &i in touched {
            // SAFETY: i < pages, so the write is inside the mapping.
            unsafe { base.add(i * page).write_volatile(1) };
        }
        (base, len)
    }

    #[test]
    fn intersect_clips_runs_to_wanted_ranges() {
        let runs = [0..10, 15..40, 50..60];
        let wanted = [(0, 5..20), (1, 20..30), (2, 35..55), (3, 70..80)];
        let mut out = Vec::new();
        intersect(&runs, &wanted, &mut out);
        assert_eq!(
            out,
            [(0, 5..10), (0, 15..20), (1, 20..30), (2, 35..40), (2, 50..55)]
        );
    }

    #[test]
    fn only_touched_pages_are_resident() {
        let page = page_size();
        let (base, len) = mapping(16, &[1, 2, 9]);
        let start = base as u64;
        let mut pm = Pagemap::open(std::process::id() as i32).unwrap();
        let wanted = [
            (7, start..start + 2 * page),
            (8, start + 2 * page..start + len as u64),
        ];
        assert_eq!(
            pm.resident_in(&wanted).unwrap(),
            [
                (7, start + page..start + 2 * page),
                (8, start + 2 * page..start + 3 * page),
                (8, start + 9 * page..start + 10 * page)
            ]
        );
        let runs = [
            start + page..start + 3 * page,
            start + 9 * page..start + 10 * page,
        ];

        // Both paths must agree: the ioctl (on 6.7+) and the entries.
        let mut scanned = Vec::new();
        match pm.scan(start..start + len as u64, &mut scanned) {
            Ok(()) => assert_eq!(scanned, runs),
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ENOTTY)),
        }
        let mut entries = Vec::new();
        pm.entries(start..start + len as u64, &mut entries).unwrap();
        assert_eq!(entries, runs);
        // SAFETY: unmapping the mapping made above, no longer used.
        unsafe { libc::munmap(base.cast(), len) };
    }
}
