//! Scanning one process: list its regions, decide what to read, run the
//! pipeline, and account for every region.
//!
//! Every region ends in exactly one [`Status`]: scanned (with the pages
//! that failed, if any), unreadable (tried once, refused, with the
//! kernel's errno), or skipped (not tried, with the reason). The report
//! is built from that; nothing is left out silently, unlike a core dump.

use std::ops::Range;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::maps;
use crate::pagemap::Pagemap;
use crate::pattern::Patterns;
use crate::pipeline::Pipeline;
use crate::reader::Reader;
use crate::region::{Policy, Region};
use crate::scanner::Hit;
use crate::shmem;
use crate::target::{Process, TargetError};

/// Choices that change what is read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Read every page, not just the present or swapped ones.
    pub all_pages: bool,
}

/// What happened to one region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Scanned {
        /// Bytes searched.
        bytes: u64,
        /// Bytes left out because no page was ever there (see `pagemap`).
        not_resident: u64,
        /// Pages that failed to read, and the first error.
        failed_pages: u64,
        errno: Option<Errno>,
    },
    /// Tried once and refused by the kernel.
    Unreadable {
        errno: Errno,
    },
    Skipped {
        reason: &'static str,
    },
}

/// The result of scanning one process.
#[derive(Debug)]
pub struct TargetScan {
    pub process: Process,
    pub regions: Vec<Region>,
    /// `statuses[i]` is the fate of `regions[i]`.
    pub statuses: Vec<Status>,
    /// Kept matches, in address order.
    pub hits: Vec<Hit>,
    /// All matches, including those beyond the cap.
    pub total_hits: u64,
    /// The process exited while it was being scanned.
    pub exited: bool,
    /// Reads went through `/proc/PID/mem`.
    pub via_proc_mem: bool,
    pub elapsed: Duration,
}

impl TargetScan {
    pub fn bytes_scanned(&self) -> u64 {
        self.statuses
            .iter()
            .map(|s| match s {
                Status::Scanned { bytes, .. } => *bytes,
                _ => 0,
            })
            .sum()
    }

    /// Protected regions the kernel refused, with their errno.
    pub fn protected_unreadable(
        &self,
    ) -> impl Iterator<Item = (&Region, Errno)> {
        self.regions.iter().zip(&self.statuses).filter_map(|(r, s)| match s {
            Status::Unreadable { errno } if r.kind.is_protected() => {
                Some((r, *errno))
            }
            _ => None,
        })
    }
}

/// Tries a protected region at its first, middle and last page, one
/// byte each: memory the kernel really protects refuses every page, so
/// one readable page means the region is not what it claims. Returns the
/// first page's error when all three fail.
fn probe_protected(reader: &Reader, region: &Region) -> Result<(), Errno> {
    let page = crate::pagemap::page_size();
    let last = region.end - page;
    let middle = region.start + (region.len() / 2 / page) * page;
    let mut first_error = None;
    for addr in [region.start, middle, last] {
        match reader.read(addr, &mut [0u8; 1]) {
            Ok(_) => return Ok(()),
            Err(Errno::ESRCH) => return Err(Errno::ESRCH),
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    Err(first_error.unwrap_or(Errno::EFAULT))
}

/// Adds to the resident runs the data of shared memory that is not
/// mapped in the process (see `shmem`), region by region.
fn with_shared_data(
    pid: i32,
    regions: &[Region],
    resident: Vec<(usize, Range<u64>)>,
) -> Vec<(usize, Range<u64>)> {
    let mut out = Vec::with_capacity(resident.len());
    let mut extra: Vec<(usize, Vec<Range<u64>>)> = Vec::new();
    for (i, region) in regions.iter().enumerate() {
        if region.policy() != Policy::Scan
            || !shmem::may_hold_unmapped_data(region)
        {
            continue;
        }
        if let Some(data) = shmem::data_ranges(pid, region) {
            extra.push((i, data));
        }
    }
    if extra.is_empty() {
        return resident;
    }
    for (i, data) in extra.iter_mut() {
        data.extend(
            resident.iter().filter(|(j, _)| j == i).map(|(_, r)| r.clone()),
        );
    }
    out.extend(
        resident
            .into_iter()
            .filter(|(j, _)| !extra.iter().any(|(i, _)| i == j)),
    );
    for (i, data) in extra {
        out.extend(shmem::union(data).into_iter().map(|r| (i, r)));
    }
    out
}

/// A failure to read the target's memory at all: gone (ESRCH), denied
/// (EPERM, EACCES, with the hint), or another errno.
fn memory_error(pid: i32, errno: Errno) -> TargetError {
    TargetError::from_io(pid, "memory", std::io::Error::from(errno))
}

/// Scans `process` for `patterns`.
///
/// Failures on single regions or pages are recorded in the result; only
/// failures on the whole target (gone before the first read, access
/// denied) are errors.
pub fn scan_process(
    process: &Process,
    patterns: &Patterns,
    pipeline: &mut Pipeline,
    options: Options,
    stop: &AtomicBool,
) -> Result<TargetScan, TargetError> {
    let began = Instant::now();
    let pid = process.pid;
    let quick = maps::read_quick(pid)
        .map_err(|e| TargetError::from_io(pid, "memory maps", e))?;
    if quick.is_empty() {
        // A process that turned zombie (or exited) after it was resolved
        // has an empty maps file.
        return Err(TargetError::Zombie(pid, process.comm.clone()));
    }
    let readable =
        quick.iter().find(|r| r.policy() == Policy::Scan).map(|r| r.start);
    let reader =
        Reader::open(pid, readable).map_err(|e| memory_error(pid, e))?;

    let mut pagemap = if options.all_pages {
        None
    } else {
        Pagemap::open(pid)
            .map_err(|e| {
                log::debug!(
                    "scan: pid {pid}: no pagemap ({e}), reading all pages"
                )
            })
            .ok()
    };
    // smaps only where its flags decide something (see
    // `Region::needs_flags`): reading every page or reading through
    // /proc/PID/mem, which does not refuse device memory, always does.
    let quick_enough = pagemap.is_some()
        && !reader.uses_proc_mem()
        && !quick.iter().any(Region::needs_flags);
    let regions = if quick_enough {
        quick
    } else {
        maps::read(pid)
            .map_err(|e| TargetError::from_io(pid, "memory maps", e))?
    };
    let mut statuses = Vec::with_capacity(regions.len());
    let mut runs: Vec<(usize, Range<u64>)> = Vec::new();
    let mut wanted: Vec<(usize, Range<u64>)> = Vec::new();
    let mut exited = false;
    for (i, region) in regions.iter().enumerate() {
        let whole = region.start..region.end;
        match region.policy() {
            Policy::Skip(reason) => {
                log::debug!(
                    "scan: pid {pid}: {:#x} ({}) skipped: {reason}",
                    region.start,
                    region.kind
                );
                statuses.push(Status::Skipped { reason });
                continue;
            }
            Policy::Probe => match probe_protected(&reader, region) {
                Err(errno) => {
                    log::debug!(
                        "scan: pid {pid}: {:#x} ({}) refused: {errno}",
                        region.start,
                        region.kind
                    );
                    exited |= errno == Errno::ESRCH;
                    statuses.push(Status::Unreadable { errno });
                    continue;
                }
                Ok(()) => {
                    // A debug enclave read through /proc/PID/mem, or a
                    // region that only looks protected: the protection
                    // is off, so search it like the rest.
                    log::warn!(
                        "scan: pid {pid}: protected region {:#x} ({}) \
                         is readable",
                        region.start,
                        region.kind
                    );
                    wanted.push((i, whole));
                }
            },
            Policy::Scan => wanted.push((i, whole)),
        }
        statuses.push(Status::Scanned {
            bytes: 0,
            not_resident: 0,
            failed_pages: 0,
            errno: None,
        });
    }

    match &mut pagemap {
        Some(pm) => match pm.resident_in(&wanted) {
            Ok(resident) => {
                runs.extend(with_shared_data(pid, &regions, resident))
            }
            Err(e) => {
                log::debug!(
                    "scan: pid {pid}: pagemap: {e}, reading all pages"
                );
                runs.extend(wanted);
            }
        },
        None => runs.extend(wanted),
    }
    runs.sort_by_key(|(_, r)| r.start);
    let jobs = pipeline.plan(&runs, patterns);
    log::debug!(
        "scan: pid {pid}: {} regions, {} runs, {} jobs, reading with {}",
        regions.len(),
        runs.len(),
        jobs.len(),
        if reader.uses_proc_mem() {
            "/proc/PID/mem"
        } else {
            "process_vm_readv"
        }
    );
    let outcome = if exited {
        Default::default()
    } else {
        pipeline.run(&reader, patterns, &jobs, stop)
    };
    if let Some(errno) = outcome.fatal {
        return Err(memory_error(pid, errno));
    }

    let mut planned = vec![0u64; regions.len()];
    for (i, run) in &runs {
        planned[*i] += run.end - run.start;
    }
    for (i, status) in statuses.iter_mut().enumerate() {
        if let Status::Scanned { bytes, not_resident, failed_pages, errno } =
            status
        {
            let tally = outcome.tallies.get(&i).copied().unwrap_or_default();
            *bytes = tally.scanned;
            *not_resident = regions[i].len() - planned[i];
            *failed_pages = tally.failed_pages;
            *errno = tally.errno;
        }
    }
    Ok(TargetScan {
        process: process.clone(),
        regions,
        statuses,
        hits: outcome.hits.list,
        total_hits: outcome.hits.total,
        exited: exited || outcome.gone,
        via_proc_mem: reader.uses_proc_mem(),
        elapsed: began.elapsed(),
    })
}
