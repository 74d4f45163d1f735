//! Following matches from poll to poll.
//!
//! A match is known by its target (pid and start time, since pids are
//! reused) and its text: the matched bytes plus the printable bytes that
//! follow them (`-A`). With `-e topsecret_` every match has the same
//! bytes; what follows (`001_3f9a...`) is what tells one secret from the
//! next. The tracker turns each poll's scans into `New` and `Gone`
//! events, and keeps its memory bounded: past `cap` live matches, new
//! ones are counted as dropped instead of tracked.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use crate::region::Kind;
use crate::scan::TargetScan;
use crate::scanner::Hit;

/// Which process a match lives in: a pid alone could be reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetKey {
    pub pid: i32,
    pub start_time: u64,
}

impl TargetKey {
    pub fn of(scan: &TargetScan) -> TargetKey {
        TargetKey {
            pid: scan.process.pid,
            start_time: scan.process.start_time,
        }
    }
}

/// A match being followed.
#[derive(Clone, Debug)]
pub struct Live {
    pub target: TargetKey,
    /// Matched bytes plus the printable bytes after them.
    pub text: Vec<u8>,
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
    /// Polls in which it was present; at least 1.
    pub polls: u64,
    /// Address where it was first seen (it may be at several).
    pub addr: u64,
    pub kinds: BTreeSet<Kind>,
}

impl Live {
    pub fn lifetime(&self) -> Duration {
        self.last_seen.duration_since(self.first_seen).unwrap_or_default()
    }
}

/// What changed in one poll.
#[derive(Clone, Debug)]
pub enum Change {
    New(Live),
    Gone(Live),
}

/// All matches followed so far, and the run's totals.
#[derive(Debug)]
pub struct Tracker {
    live: HashMap<(TargetKey, Vec<u8>), Live>,
    /// Most live matches kept; at least 1.
    cap: usize,
    /// Matches not tracked because `cap` was reached.
    pub dropped: u64,
    /// `New` changes so far.
    pub distinct: u64,
    /// The match that stayed longest, once gone or at the end.
    pub longest: Option<Live>,
}

/// The identity text of a hit: its bytes, then what follows up to the
/// first byte that is not printable ASCII.
pub fn identity(hit: &Hit) -> Vec<u8> {
    let tail = hit.after.iter().take_while(|b| (0x20..0x7f).contains(*b));
    hit.bytes.iter().chain(tail).copied().collect()
}

impl Tracker {
    pub fn new(cap: usize) -> Tracker {
        Tracker {
            live: HashMap::new(),
            cap: cap.max(1),
            dropped: 0,
            distinct: 0,
            longest: None,
        }
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// Folds one target's scan in: its matches that are new, and those of
    /// its earlier matches that are no longer there.
    pub fn observe(
        &mut self,
        scan: &TargetScan,
        now: SystemTime,
    ) -> Vec<Change> {
        let target = TargetKey::of(scan);
        let mut seen: HashMap<Vec<u8>, (u64, BTreeSet<Kind>)> = HashMap::new();
        for hit in &scan.hits {
            let kind = scan.regions[hit.region].kind;
            let entry = seen
                .entry(identity(hit))
                .or_insert_with(|| (hit.addr, BTreeSet::new()));
            entry.1.insert(kind);
        }
        let mut changes = Vec::new();
        let mut texts: Vec<Vec<u8>> = seen.keys().cloned().collect();
        // Report new matches in address order, as a person reads memory.
        texts.sort_by_key(|t| seen[t].0);
        for text in texts {
            let (addr, kinds) = seen.remove(&text).unwrap_or_default();
            let key = (target, text);
            if let Some(live) = self.live.get_mut(&key) {
                live.last_seen = now;
                live.polls += 1;
                live.kinds.extend(kinds);
                continue;
            }
            if self.live.len() >= self.cap {
                self.dropped += 1;
                continue;
            }
            let live = Live {
                target,
                text: key.1.clone(),
                first_seen: now,
                last_seen: now,
                polls: 1,
                addr,
                kinds,
            };
            self.distinct += 1;
            changes.push(Change::New(live.clone()));
            self.live.insert(key, live);
        }
        let gone: Vec<(TargetKey, Vec<u8>)> = self
            .live
            .iter()
            .filter(|(k, live)| k.0 == target && live.last_seen != now)
            .map(|(k, _)| k.clone())
            .collect();
        changes.extend(gone.into_iter().filter_map(|k| self.retire(&k)));
        changes
    }

    /// Ends every match of a target that exited or exec'd.
    pub fn forget(&mut self, target: TargetKey) -> Vec<Change> {
        let keys: Vec<(TargetKey, Vec<u8>)> =
            self.live.keys().filter(|k| k.0 == target).cloned().collect();
        keys.iter().filter_map(|k| self.retire(k)).collect()
    }

    /// Ends the run: the longest-lived match among those still live
    /// counts too.
    pub fn finish(&mut self) {
        let live: Vec<Live> = self.live.values().cloned().collect();
        for l in live {
            self.consider(&l);
        }
    }

    fn retire(&mut self, key: &(TargetKey, Vec<u8>)) -> Option<Change> {
        let live = self.live.remove(key)?;
        self.consider(&live);
        Some(Change::Gone(live))
    }

    fn consider(&mut self, live: &Live) {
        let longer = match &self.longest {
            Some(best) => live.lifetime() > best.lifetime(),
            None => true,
        };
        if longer {
            self.longest = Some(live.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::{Perms, Region, VmFlags};
    use crate::scan::Status;
    use crate::target::Process;

    fn scan(pid: i32, texts: &[&str]) -> TargetScan {
        let region = Region::new(
            0x1000,
            0x9000,
            Perms { read: true, write: true, exec: false, shared: false },
            0,
            0,
            String::from("[heap]"),
            VmFlags::default(),
        );
        let hits = texts
            .iter()
            .enumerate()
            .map(|(i, t)| Hit {
                addr: 0x1000 + i as u64 * 64,
                region: 0,
                pattern: 0,
                len: 4,
                bytes: t.as_bytes()[..4].to_vec(),
                after: [&t.as_bytes()[4..], b"\0garbage"].concat(),
            })
            .collect::<Vec<_>>();
        TargetScan {
            process: Process {
                pid,
                ns_pid: None,
                comm: "t".into(),
                cmdline: String::new(),
                start_time: 77,
                origin: None,
            },
            regions: vec![region],
            statuses: vec![Status::Scanned {
                bytes: 0x8000,
                not_resident: 0,
                failed_pages: 0,
                errno: None,
            }],
            total_hits: hits.len() as u64,
            hits,
            exited: false,
            via_proc_mem: false,
            elapsed: Duration::ZERO,
        }
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn names(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                Change::New(l) => {
                    format!("+{}", String::from_utf8_lossy(&l.text))
                }
                Change::Gone(l) => {
                    format!("-{}", String::from_utf8_lossy(&l.text))
                }
            })
            .collect()
    }

    #[test]
    fn same_prefix_told_apart_by_what_follows() {
        let mut t = Tracker::new(100);
        let c = t.observe(&scan(1, &["top_001", "top_002"]), at(0));
        assert_eq!(names(&c), ["+top_001", "+top_002"]);
        let c = t.observe(&scan(1, &["top_002", "top_003"]), at(2));
        assert_eq!(names(&c), ["+top_003", "-top_001"]);
        assert_eq!(t.distinct, 3);
        assert_eq!(t.live_count(), 2);
    }

    #[test]
    fn lifetime_and_polls_counted() {
        let mut t = Tracker::new(100);
        t.observe(&scan(1, &["top_001"]), at(0));
        t.observe(&scan(1, &["top_001"]), at(2));
        t.observe(&scan(1, &["top_001"]), at(4));
        let c = t.observe(&scan(1, &[]), at(6));
        let Change::Gone(live) = &c[0] else { panic!("{c:?}") };
        assert_eq!((live.polls, live.lifetime()), (3, Duration::from_secs(4)));
        assert_eq!(t.longest.as_ref().unwrap().text, b"top_001");
    }

    #[test]
    fn targets_do_not_mix_and_exit_ends_their_matches() {
        let mut t = Tracker::new(100);
        t.observe(&scan(1, &["top_001"]), at(0));
        let c = t.observe(&scan(2, &["top_001"]), at(0));
        assert_eq!(names(&c), ["+top_001"]);
        let c = t.forget(TargetKey { pid: 1, start_time: 77 });
        assert_eq!(names(&c), ["-top_001"]);
        assert_eq!(t.live_count(), 1);
    }

    #[test]
    fn cap_bounds_memory_and_counts_the_rest() {
        let mut t = Tracker::new(2);
        t.observe(&scan(1, &["top_001", "top_002", "top_003"]), at(0));
        assert_eq!((t.live_count(), t.dropped), (2, 1));
    }
}
