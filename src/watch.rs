//! `--watch`: poll the targets again and again and report what changes.
//!
//! Each poll re-reads every target's maps (regions come and go) and scans
//! it anew with the same pipeline, whose buffers carry over. Targets are
//! followed by pid *and* start time: a `--pid` target that exits is gone
//! for good even if its pid is reused, while `--name` targets are looked
//! up again on every poll. An `exec` keeps the pid but replaces the whole
//! memory image, so it ends the old image's matches and starts afresh.
//!
//! A poll that overruns the interval delays the next one; polls never
//! pile up, and the target is never stopped.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use crate::cli::{Config, Selector};
use crate::events::{summary, Events, Protected};
use crate::exit::Exit;
use crate::pipeline::Pipeline;
use crate::report::size;
use crate::resolve;
use crate::scan::scan_process;
use crate::target::{self, Process, TargetError};
use crate::track::{Change, TargetKey, Tracker};

/// How to poll.
#[derive(Clone, Copy, Debug)]
pub struct WatchConfig {
    pub interval: Duration,
    /// Stop after this many polls.
    pub count: Option<u64>,
}

/// Parses `500ms`, `2s`, `1m`, `1h`, or plain seconds (`1.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let value: f64 =
        number.parse().map_err(|_| format!("invalid duration {text:?}"))?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "invalid duration {text:?}: use ms, s, m or h"
            ))
        }
    };
    let secs = value * scale;
    if !(0.001..=86_400.0).contains(&secs) {
        return Err(format!(
            "invalid duration {text:?}: must be between 1ms and 24h"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A target being followed.
struct Followed {
    process: Process,
    /// What `/proc/PID/exe` and the command line were, to notice `exec`.
    exe: Option<PathBuf>,
    /// A pidfd: it names this very process, never a later one that got
    /// the same pid (start times have only clock-tick resolution).
    pidfd: Option<OwnedFd>,
}

/// Opens a pidfd for `pid` (Linux 5.3+); `None` where unsupported.
fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new
    // descriptor or -1; nothing else is touched.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative return is a descriptor we now own.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Whether the process behind a pidfd has exited (signal 0 reaches only
/// a live process: ESRCH once it is gone, whatever the pid now names).
fn pidfd_exited(fd: &OwnedFd) -> bool {
    // SAFETY: sending signal 0 checks existence and delivers nothing.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    r != 0
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

fn exe_of(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// The state of one watch.
struct Watcher<'a, W: Write> {
    config: &'a Config,
    pipeline: Pipeline,
    tracker: Tracker,
    followed: BTreeMap<TargetKey, Followed>,
    protected: Protected,
    events: Events<'a, W>,
    /// Some target could not be scanned.
    failed: bool,
    /// Some target was followed at some point; a watch that never had
    /// one (a mistyped `--name`) must not read as a clean result.
    ever_followed: bool,
    /// Names already reported as matching no process.
    missing_named: Vec<String>,
}

/// What one poll saw, for its status line.
#[derive(Default)]
struct PollTally {
    bytes: u64,
    new: usize,
    gone: usize,
}

/// The watch loop; returns the exit status.
pub fn watch(
    config: &Config,
    watch: WatchConfig,
    out: &mut impl Write,
) -> io::Result<Exit> {
    let stop = crate::signal::install();
    let mut w = Watcher {
        config,
        pipeline: Pipeline::new(config.settings),
        tracker: Tracker::new(config.settings.max_hits),
        followed: BTreeMap::new(),
        protected: Protected::new(),
        events: Events { out, json: config.json },
        failed: false,
        ever_followed: false,
        missing_named: Vec::new(),
    };
    // With only --pid targets the watch ends when they are all gone;
    // names and containers may come (back) at any time.
    let only_pids =
        config.selectors.iter().all(|s| matches!(s, Selector::Pid(_)));
    if !w.start()? || (only_pids && w.followed.is_empty()) {
        return Ok(Exit::Error);
    }
    let began = Instant::now();
    let mut polls = 0u64;
    loop {
        let started = Instant::now();
        polls += 1;
        match w.poll(polls, started) {
            Ok(()) => {}
            // Nobody reads any more (`| head`): end quietly, with the
            // status of what was seen.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                return Ok(w.status());
            }
            Err(e) => return Err(e),
        }
        let done = watch.count.is_some_and(|n| polls >= n)
            || (only_pids && w.followed.is_empty());
        if done || stop.load(Ordering::SeqCst) {
            break;
        }
        // Sleep out the rest of the interval, waking for Ctrl-C; a poll
        // that overran starts the next one at once.
        let next = started + watch.interval;
        while Instant::now() < next && !stop.load(Ordering::SeqCst) {
            let left = next.saturating_duration_since(Instant::now());
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    w.tracker.finish();
    let status = w.status();
    let elapsed = began.elapsed();
    summary(&mut w.events, &w.tracker, &w.protected, polls, elapsed, status)?;
    Ok(status)
}

impl<W: Write> Watcher<'_, W> {
    /// Found anything, ever: 0; else a target failed, or there never was
    /// one: 2; else 1.
    fn status(&self) -> Exit {
        if self.tracker.distinct > 0 {
            Exit::Found
        } else if self.failed || !self.ever_followed {
            Exit::Error
        } else {
            Exit::NotFound
        }
    }

    /// Binds `--pid` targets to the processes they name now and checks
    /// that named containers exist; false when one does not.
    fn start(&mut self) -> io::Result<bool> {
        let now = SystemTime::now();
        for selector in &self.config.selectors {
            match selector {
                Selector::Pid(pid) => match target::by_pid(*pid) {
                    Ok(p) => self.follow(p, now, "start")?,
                    Err(e) => self.error(SystemTime::now(), &e.to_string())?,
                },
                // A container that does not exist (or an engine that
                // cannot be reached) is an error; one that is stopped is
                // waited for.
                Selector::Container(name) => {
                    match crate::container::inspect(name) {
                        Ok(c) if !c.running => {
                            let status = &c.status;
                            crate::exit::complain(&format!(
                                "container {name:?}: not running \
                                 (status {status}), waiting"
                            ))
                        }
                        Ok(_) => {}
                        Err(e) => {
                            crate::exit::complain(&e.to_string());
                            return Ok(false);
                        }
                    }
                }
                Selector::Name(_) | Selector::AllContainers => {}
            }
        }
        Ok(true)
    }

    /// A target that could not be scanned: one line on stderr, and an
    /// `error` event so that NDJSON readers see it too.
    fn error(&mut self, now: SystemTime, message: &str) -> io::Result<()> {
        self.failed = true;
        crate::exit::complain(message);
        if self.events.json {
            let value = json!({ "type": "error", "message": message });
            self.events.emit(now, String::new(), value)?;
        }
        Ok(())
    }

    fn follow(
        &mut self,
        process: Process,
        now: SystemTime,
        reason: &str,
    ) -> io::Result<()> {
        let key =
            TargetKey { pid: process.pid, start_time: process.start_time };
        if let Entry::Vacant(slot) = self.followed.entry(key) {
            self.events.target_new(now, &process, reason)?;
            let exe = exe_of(process.pid);
            let pidfd = pidfd_open(process.pid);
            slot.insert(Followed { process, exe, pidfd });
            self.ever_followed = true;
        }
        Ok(())
    }

    /// One poll: refresh the targets, scan each, print what changed.
    fn poll(&mut self, number: u64, started: Instant) -> io::Result<()> {
        let now = SystemTime::now();
        let mut tally = PollTally::default();
        tally.gone += self.refresh(now)?;
        let never = AtomicBool::new(false);
        let keys: Vec<TargetKey> = self.followed.keys().copied().collect();
        for key in keys {
            let process = self.followed[&key].process.clone();
            let config = self.config;
            let scanned = scan_process(
                &process,
                &config.patterns,
                &mut self.pipeline,
                config.options,
                &never,
            );
            match scanned {
                Ok(scan) => {
                    tally.bytes += scan.bytes_scanned();
                    for (region, errno) in scan.protected_unreadable() {
                        self.protected
                            .entry((key, region.start))
                            .or_insert((region.len(), errno));
                    }
                    for c in self.tracker.observe(&scan, now) {
                        match c {
                            Change::New(_) => tally.new += 1,
                            Change::Gone(_) => tally.gone += 1,
                        }
                        self.events.change(now, &c)?;
                    }
                    if scan.exited {
                        tally.gone += self.end(key, now, "exit")?;
                    }
                }
                Err(TargetError::NoSuchPid(_) | TargetError::Zombie(..)) => {
                    tally.gone += self.end(key, now, "exit")?;
                }
                Err(e) => {
                    self.error(now, &e.to_string())?;
                    tally.gone += self.end(key, now, "error")?;
                }
            }
        }
        let elapsed = started.elapsed();
        let live = self.tracker.live_count();
        let human = format!(
            "poll {number}: {} ms, {} scanned, {} targets, {live} live, \
             {} new, {} gone",
            elapsed.as_millis(),
            size(tally.bytes),
            self.followed.len(),
            tally.new,
            tally.gone,
        );
        let value = json!({
            "type": "poll",
            "poll": number,
            "elapsed_ms": crate::json::millis(elapsed),
            "bytes_scanned": tally.bytes,
            "targets": self.followed.len(),
            "live": live,
            "new": tally.new,
            "gone": tally.gone,
            "dropped": self.tracker.dropped,
        });
        self.events.emit(SystemTime::now(), human, value)?;
        self.events.out.flush()
    }

    /// Checks that followed processes are still the ones they were (same
    /// start time, same executable), and looks named and container
    /// targets up again. Returns how many matches ended.
    fn refresh(&mut self, now: SystemTime) -> io::Result<usize> {
        let mut gone = 0;
        let keys: Vec<TargetKey> = self.followed.keys().copied().collect();
        for key in keys {
            if self.followed[&key].pidfd.as_ref().is_some_and(pidfd_exited) {
                gone += self.end(key, now, "exit")?;
                continue;
            }
            match target::start_time(key.pid) {
                Some(t) if t == key.start_time => {}
                // A different start time means the pid now names another
                // process: ours exited and the pid was reused.
                Some(_) => {
                    gone += self.end(key, now, "exit (pid reused)")?;
                    continue;
                }
                None => {
                    gone += self.end(key, now, "exit")?;
                    continue;
                }
            }
            let Ok(fresh) = target::by_pid(key.pid) else { continue };
            let exe = exe_of(key.pid);
            let old = &self.followed[&key];
            if exe != old.exe || fresh.cmdline != old.process.cmdline {
                // exec keeps the pid and start time but replaces the
                // whole memory image: end the old one, start afresh.
                let origin = old.process.origin.clone();
                gone += self.end(key, now, "exec")?;
                self.follow(Process { origin, ..fresh }, now, "exec")?;
            }
        }
        let config = self.config;
        for selector in &config.selectors {
            // Named and container targets are looked up afresh: a
            // restarted container comes back with new processes.
            let found = match selector {
                Selector::Pid(_) => continue,
                Selector::Name(name) => match target::by_name(name) {
                    Ok(list) => list,
                    Err(e) => {
                        // Said once per name: it may yet appear.
                        if !self.missing_named.contains(name) {
                            self.missing_named.push(name.clone());
                            crate::exit::complain(&format!("{e}, waiting"));
                        }
                        Vec::new()
                    }
                },
                Selector::Container(name) => {
                    match resolve::container_processes(name) {
                        Ok((_, list)) => list,
                        Err(e) => {
                            log::debug!("watch: {e}");
                            Vec::new()
                        }
                    }
                }
                Selector::AllContainers => {
                    resolve::resolve(std::slice::from_ref(selector))
                        .targets
                        .into_iter()
                        .flatten()
                        .collect()
                }
            };
            for p in found {
                self.follow(p, now, "start")?;
            }
        }
        Ok(gone)
    }

    /// Stops following a target and ends its matches; returns how many
    /// ended.
    fn end(
        &mut self,
        key: TargetKey,
        now: SystemTime,
        reason: &str,
    ) -> io::Result<usize> {
        let changes = self.tracker.forget(key);
        for c in &changes {
            self.events.change(now, c)?;
        }
        if let Some(f) = self.followed.remove(&key) {
            self.events.target_exit(now, &f.process, reason)?;
        }
        Ok(changes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("2 fortnights").is_err());
        assert!(parse_duration("nan").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
