//! Reader and scanner threads, joined by bounded channels.
//!
//! The work is a list of [`Job`]s, each one chunk of target memory. One
//! *pair* is a reader thread that fills buffers with `process_vm_readv`
//! and a scanner thread that searches them: the reader sends a
//! [`Filled`] buffer over `filled`, the scanner sends the emptied `Vec`
//! back over `recycle`. Each pair owns `depth` buffers, so memory stays
//! at `pairs * depth * (chunk + overlap)` whatever the target's size, and
//! the reader copies the next chunk while the scanner searches the last.
//!
//! Jobs carry their own overlap, so they are independent: pairs take
//! them from a shared counter in address order, and one pair per core
//! keeps every core busy (the copy itself is the bottleneck). The
//! buffers live in the [`Pipeline`] between runs, so a watch that scans
//! every second allocates nothing after its first poll.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crossbeam_channel::bounded;
use nix::errno::Errno;

use crate::pattern::Patterns;
use crate::reader::{is_page_error, Reader};
use crate::scanner::{scan, Filled, Hits};

/// One chunk of work: read `read_start..read_end`, report matches that
/// start in `start..own_end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Index of the region in the target's region list.
    pub region: usize,
    /// `start` less the look-behind, where the run allows it.
    pub read_start: u64,
    pub start: u64,
    /// `start < own_end <= read_end`.
    pub own_end: u64,
    /// `own_end` plus the overlap, clipped to the end of the run.
    pub read_end: u64,
}

/// Bytes read before a chunk's own span, so that a regex assertion at
/// its first byte (`\b`, `(?m)^`; ASCII only, Unicode is off) sees what
/// precedes it. The overlap at the end carries one byte more for the
/// same reason looking ahead.
const LOOK_BEHIND: u64 = 1;
const LOOK_AHEAD: usize = 1;

/// Splits runs of readable memory into jobs.
///
/// Boundaries fall on absolute multiples of `chunk` (not on offsets from
/// the run's start), so the same memory is cut the same way whichever
/// pages around it happen to be resident.
pub fn plan(
    runs: &[(usize, Range<u64>)],
    chunk: u64,
    overlap: u64,
) -> Vec<Job> {
    assert!(chunk > 0);
    let mut jobs = Vec::new();
    for (region, run) in runs {
        let mut start = run.start;
        while start < run.end {
            let boundary = (start / chunk + 1).saturating_mul(chunk);
            let own_end = boundary.min(run.end);
            let read_end = own_end.saturating_add(overlap).min(run.end);
            let read_start = start.saturating_sub(LOOK_BEHIND).max(run.start);
            jobs.push(Job {
                region: *region,
                read_start,
                start,
                own_end,
                read_end,
            });
            start = own_end;
        }
    }
    jobs
}

/// How one region fared in the reader.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Bytes searched, counting each byte once (overlap excluded).
    pub scanned: u64,
    /// Pages that failed to read.
    pub failed_pages: u64,
    /// The error of the first failed page.
    pub errno: Option<Errno>,
}

/// What one run of the pipeline found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub hits: Hits,
    /// Per region index; regions without jobs are absent.
    pub tallies: HashMap<usize, Tally>,
    /// The target exited (ESRCH) while being read.
    pub gone: bool,
    /// An error that ended reading of the whole target.
    pub fatal: Option<Errno>,
    /// Set when the run stopped early because `stop` was raised.
    pub interrupted: bool,
}

/// Sizes that shape the pipeline.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Bytes each job owns; a power of two is not required.
    pub chunk: usize,
    /// Reader/scanner pairs; one per core is the sweet spot.
    pub pairs: usize,
    /// Buffers per pair, so also the bound of each channel.
    pub depth: usize,
    /// Matches kept per run (more are only counted).
    pub max_hits: usize,
    /// Bytes kept after each match to show what follows it.
    pub after: usize,
    /// False to read without searching: the copy alone, the floor that
    /// benchmarks compare the whole pipeline against.
    pub search: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        let cores =
            std::thread::available_parallelism().map_or(1, |n| n.get());
        Settings {
            chunk: 1 << 20,
            pairs: cores.clamp(1, 4),
            depth: 3,
            max_hits: 10_000,
            after: 0,
            search: true,
        }
    }
}

/// The reusable part: settings and the buffers.
pub struct Pipeline {
    settings: Settings,
    /// Free buffers between runs, each `chunk + overlap` bytes long.
    pool: Vec<Vec<u8>>,
    page: u64,
}

impl Pipeline {
    pub fn new(settings: Settings) -> Pipeline {
        assert!(
            settings.chunk > 0 && settings.pairs > 0 && settings.depth > 0
        );
        Pipeline {
            settings,
            pool: Vec::new(),
            page: crate::pagemap::page_size(),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// How far chunks overlap: enough for the longest match and the
    /// bytes shown after it to be seen whole by the chunk it starts in.
    pub fn overlap(&self, patterns: &Patterns) -> usize {
        patterns.max_len() - 1 + self.settings.after + LOOK_AHEAD
    }

    /// Splits runs of readable memory into this pipeline's jobs.
    pub fn plan(
        &self,
        runs: &[(usize, Range<u64>)],
        patterns: &Patterns,
    ) -> Vec<Job> {
        plan(runs, self.settings.chunk as u64, self.overlap(patterns) as u64)
    }

    /// Runs all `jobs` against `reader`. Raising `stop` makes the readers
    /// finish their current chunk and return what was found so far.
    pub fn run(
        &mut self,
        reader: &Reader,
        patterns: &Patterns,
        jobs: &[Job],
        stop: &AtomicBool,
    ) -> Outcome {
        // A page more than the largest read, for `skew`.
        let size = LOOK_BEHIND as usize
            + self.settings.chunk
            + self.overlap(patterns)
            + self.page as usize;
        let pairs = self.settings.pairs.min(jobs.len()).max(1);
        let depth = self.settings.depth;
        // Take the pool; resize if the patterns changed the overlap.
        let mut pool = std::mem::take(&mut self.pool);
        pool.retain(|b| b.len() == size);
        pool.resize_with(pairs * depth, || vec![0u8; size]);

        let next = AtomicUsize::new(0);
        let halt = AtomicBool::new(false);
        let shared = Shared {
            reader,
            jobs,
            next: &next,
            stop,
            halt: &halt,
            page: self.page,
        };
        let outcome = Mutex::new(Outcome {
            hits: Hits::with_cap(self.settings.max_hits),
            ..Outcome::default()
        });
        let returned = Mutex::new(Vec::with_capacity(pool.len()));

        std::thread::scope(|s| {
            for _ in 0..pairs {
                let (filled_tx, filled_rx) = bounded::<Filled>(depth);
                let (recycle_tx, recycle_rx) = bounded::<Vec<u8>>(depth);
                for buf in pool.drain(..depth) {
                    // Cannot fail: the channel has room for `depth`.
                    let _ = recycle_tx.send(buf);
                }
                let shared = &shared;
                let outcome = &outcome;
                let returned = &returned;
                let max_hits = self.settings.max_hits;
                let after = self.settings.after;
                let search = self.settings.search;
                let scanner_recycle = recycle_tx.clone();
                s.spawn(move || {
                    crate::signal::keep_off_this_thread();
                    let mut hits = Hits::with_cap(max_hits);
                    for chunk in filled_rx {
                        if search {
                            scan(patterns, &chunk, after, &mut hits);
                        }
                        // The reader may have stopped; then the buffer
                        // waits in the channel to be collected below.
                        let _ = scanner_recycle.send(chunk.buf);
                    }
                    lock(outcome).hits.absorb(hits);
                });
                s.spawn(move || {
                    crate::signal::keep_off_this_thread();
                    let result = shared.read_jobs(&filled_tx, &recycle_rx);
                    // Closing `filled` ends the scanner's loop.
                    drop(filled_tx);
                    let spare = lock(outcome).merge(result);
                    drop(recycle_tx);
                    let mut back: Vec<Vec<u8>> = spare.into_iter().collect();
                    back.extend(recycle_rx.iter());
                    lock(returned).extend(back);
                });
            }
        });
        self.pool = returned.into_inner().unwrap_or_default();
        let mut outcome = outcome.into_inner().unwrap_or_default();
        outcome.hits.list.sort_by_key(|h| h.addr);
        outcome.interrupted = stop.load(Ordering::Relaxed);
        outcome
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock means another thread panicked; its data is still
    // consistent for counting purposes.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What every reader thread shares.
struct Shared<'a> {
    reader: &'a Reader,
    jobs: &'a [Job],
    /// Index of the next job to hand out.
    next: &'a AtomicUsize,
    /// Raised from outside (Ctrl-C).
    stop: &'a AtomicBool,
    /// Raised inside when the target is gone or unreadable.
    halt: &'a AtomicBool,
    page: u64,
}

/// What one reader thread reports back.
#[derive(Default)]
struct ReadResult {
    tallies: HashMap<usize, Tally>,
    gone: bool,
    fatal: Option<Errno>,
    /// A buffer the thread held when it stopped, to go back to the pool.
    spare: Option<Vec<u8>>,
}

impl Outcome {
    fn merge(&mut self, r: ReadResult) -> Option<Vec<u8>> {
        for (region, t) in r.tallies {
            let mine = self.tallies.entry(region).or_default();
            mine.scanned += t.scanned;
            mine.failed_pages += t.failed_pages;
            mine.errno = mine.errno.or(t.errno);
        }
        self.gone |= r.gone;
        self.fatal = self.fatal.or(r.fatal);
        r.spare
    }
}

impl Shared<'_> {
    fn halted(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.halt.load(Ordering::Relaxed)
    }

    /// The reader thread: takes jobs until none are left, filling buffers
    /// from `recycle` and sending them on `filled`.
    fn read_jobs(
        &self,
        filled: &crossbeam_channel::Sender<Filled>,
        recycle: &crossbeam_channel::Receiver<Vec<u8>>,
    ) -> ReadResult {
        let mut result = ReadResult::default();
        // A buffer that came back empty-handed (first page failed) is
        // kept here rather than sent round the loop.
        let mut spare: Option<Vec<u8>> = None;
        'jobs: while !self.halted() {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = self.jobs.get(i) else { break };
            let tally = result.tallies.entry(job.region).or_default();
            // `from` is where the next read starts, `pos` where the
            // next own span starts; `from < pos` by the look-behind.
            let mut from = job.read_start;
            let mut pos = job.start;
            while pos < job.own_end {
                let mut buf = match spare.take() {
                    Some(buf) => buf,
                    None => match recycle.recv() {
                        Ok(buf) => buf,
                        Err(_) => break 'jobs,
                    },
                };
                let want = (job.read_end - from) as usize;
                let at = skew(buf.as_ptr() as u64, from, self.page);
                let (n, err) = self.reader.fill(from, &mut buf[at..at + want]);
                let pre = (pos - from) as usize;
                let got = n.saturating_sub(pre);
                let own_len = (job.own_end - pos) as usize;
                let own =
                    if err.is_some() { got.min(own_len) } else { own_len };
                tally.scanned += own as u64;
                if got > 0 {
                    let chunk = Filled {
                        buf,
                        at,
                        len: n,
                        addr: from,
                        pre,
                        own,
                        region: job.region,
                    };
                    if filled.send(chunk).is_err() {
                        break 'jobs;
                    }
                } else {
                    spare = Some(buf);
                }
                let Some(errno) = err else { break };
                if errno == Errno::ESRCH {
                    result.gone = true;
                    self.halt.store(true, Ordering::Relaxed);
                    break 'jobs;
                }
                if !is_page_error(errno) {
                    result.fatal = Some(errno);
                    self.halt.store(true, Ordering::Relaxed);
                    break 'jobs;
                }
                let bad = from + n as u64;
                if bad < pos {
                    // Only the look-behind failed: read on without it.
                    from = pos;
                    continue;
                }
                // Only this page failed: skip exactly it. A failure in
                // the overlap belongs to the next job, which will meet it.
                if bad >= job.own_end {
                    break;
                }
                tally.failed_pages += 1;
                tally.errno = tally.errno.or(Some(errno));
                log::debug!("reader: page {bad:#x} unreadable: {errno}");
                pos = (bad / self.page + 1) * self.page;
                from = pos;
            }
        }
        result.spare = spare;
        result
    }
}

/// Where in a buffer at `base` to put the bytes read from `from`, so
/// that destination and source sit at the same offset within a page.
///
/// The kernel copies page by page; a destination misaligned against its
/// source makes every copy slower (on the AMD EPYC machines measured, a
/// buffer 16 bytes past a page, where glibc's malloc puts large blocks,
/// reads 1 GiB in 189 ms instead of 125 ms). The buffers carry one spare
/// page for this.
fn skew(base: u64, from: u64, page: u64) -> usize {
    ((from % page + page - base % page) % page) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_cuts_at_absolute_multiples_with_overlap() {
        let jobs = plan(&[(3, 0x1800..0x4400)], 0x1000, 0x10);
        let spans: Vec<(u64, u64, u64)> =
            jobs.iter().map(|j| (j.start, j.own_end, j.read_end)).collect();
        let starts: Vec<u64> = jobs.iter().map(|j| j.read_start).collect();
        // No look-behind before the run: that memory is not ours to read.
        assert_eq!(starts, [0x1800, 0x1fff, 0x2fff, 0x3fff]);
        assert_eq!(
            spans,
            [
                (0x1800, 0x2000, 0x2010),
                (0x2000, 0x3000, 0x3010),
                (0x3000, 0x4000, 0x4010),
                (0x4000, 0x4400, 0x4400)
            ]
        );
        assert!(jobs.iter().all(|j| j.region == 3));
    }

    #[test]
    fn skew_lines_destination_up_with_source() {
        let page = 4096;
        for (base, from) in
            [(0x1010, 0x7000), (0x2000, 0x7fff), (0x1ff0, 0x3001)]
        {
            let at = skew(base, from, page) as u64;
            assert!(at < page);
            assert_eq!((base + at) % page, from % page, "{base:#x} {from:#x}");
        }
    }

    #[test]
    fn plan_never_reads_past_a_run() {
        let jobs =
            plan(&[(0, 0x1000..0x1100), (1, 0x5000..0x6000)], 0x1000, 0x40);
        assert_eq!(jobs[0].read_end, 0x1100);
        assert_eq!(jobs[1].read_end, 0x6000);
    }

    /// Scans our own memory through the full pipeline: a secret planted
    /// across a chunk boundary is found exactly once.
    #[test]
    fn pipeline_finds_planted_secret_across_boundary_once() {
        let chunk = 4096usize;
        let mut memory = vec![0u8; 8 * chunk];
        let base = memory.as_ptr() as u64;
        // First chunk boundary inside the buffer, then 3 bytes before it.
        let boundary = (base / chunk as u64 + 2) * chunk as u64;
        let at = (boundary - base - 3) as usize;
        let needle = b"pipeline-needle-xyz".to_vec();
        memory[at..at + needle.len()].copy_from_slice(&needle);

        let patterns = Patterns::new(
            &[String::from_utf8(needle.clone()).unwrap()],
            &[],
            256,
        )
        .unwrap();
        let reader =
            Reader::open(std::process::id() as i32, Some(base)).unwrap();
        let jobs = plan(
            &[(0, base..base + memory.len() as u64)],
            chunk as u64,
            needle.len() as u64 - 1,
        );
        let settings = Settings {
            chunk,
            pairs: 2,
            depth: 2,
            max_hits: 100,
            after: 0,
            search: true,
        };
        let mut pipeline = Pipeline::new(settings);
        let stop = AtomicBool::new(false);
        for _ in 0..3 {
            let outcome = pipeline.run(&reader, &patterns, &jobs, &stop);
            assert_eq!(outcome.hits.total, 1);
            assert_eq!(outcome.hits.list[0].addr, base + at as u64);
            assert_eq!(outcome.tallies[&0].scanned, memory.len() as u64);
            // Every buffer came home for the next run.
            assert_eq!(pipeline.pool.len(), 4);
        }
    }
}
