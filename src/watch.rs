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
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use crate::cli::{Config, Selector};
use crate::clock::{rfc3339, time_of_day};
use crate::exit::Exit;
use crate::pipeline::Pipeline;
use crate::report::{errno_name, escape, size};
use crate::resolve;
use crate::scan::{scan_process, TargetScan};
use crate::target::{self, Process, TargetError};
use crate::track::{Change, Live, TargetKey, Tracker};

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
}

fn exe_of(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// Writes events as human lines or NDJSON.
struct Events<'a, W: Write> {
    out: &'a mut W,
    json: bool,
}

impl<W: Write> Events<'_, W> {
    fn emit(
        &mut self,
        now: SystemTime,
        human: String,
        mut value: Value,
    ) -> io::Result<()> {
        if self.json {
            value["ts"] = json!(rfc3339(now));
            writeln!(self.out, "{value}")
        } else {
            writeln!(self.out, "{} {human}", time_of_day(now))
        }
    }

    fn target_new(
        &mut self,
        now: SystemTime,
        p: &Process,
        reason: &str,
    ) -> io::Result<()> {
        let human = format!(
            "start pid {} ({}) [{reason}]: {}",
            p.pid, p.comm, p.cmdline
        );
        let value = json!({
            "type": "target_new",
            "reason": reason,
            "pid": p.pid,
            "process": crate::json::process(p),
        });
        self.emit(now, human, value)
    }

    fn target_exit(
        &mut self,
        now: SystemTime,
        p: &Process,
        reason: &str,
    ) -> io::Result<()> {
        let human = format!("exit  pid {} ({}) [{reason}]", p.pid, p.comm);
        let value =
            json!({ "type": "target_exit", "reason": reason, "pid": p.pid });
        self.emit(now, human, value)
    }

    fn change(&mut self, now: SystemTime, change: &Change) -> io::Result<()> {
        match change {
            Change::New(l) => {
                let kinds: Vec<&str> =
                    l.kinds.iter().map(|k| k.name()).collect();
                let human = format!(
                    "new   pid {} {} {:#x} {}",
                    l.target.pid,
                    kinds.join(","),
                    l.addr,
                    escape(&l.text, false)
                );
                let value = json!({
                    "type": "match_new",
                    "pid": l.target.pid,
                    "text": escape(&l.text, false),
                    "address": crate::json::hex(l.addr),
                    "kinds": kinds,
                });
                self.emit(now, human, value)
            }
            Change::Gone(l) => {
                let human = format!(
                    "gone  pid {} {} after {:.1} s, {} polls",
                    l.target.pid,
                    escape(&l.text, false),
                    l.lifetime().as_secs_f64(),
                    l.polls
                );
                let value = json!({
                    "type": "match_gone",
                    "pid": l.target.pid,
                    "text": escape(&l.text, false),
                    "first_seen": rfc3339(l.first_seen),
                    "last_seen": rfc3339(l.last_seen),
                    "polls": l.polls,
                    "lifetime_s": l.lifetime().as_secs_f64(),
                });
                self.emit(now, human, value)
            }
        }
    }
}

/// The watch loop; returns the exit status.
pub fn watch(
    config: &Config,
    watch: WatchConfig,
    out: &mut impl Write,
) -> io::Result<Exit> {
    let stop = crate::signal::install();
    let never = AtomicBool::new(false);
    let mut pipeline = Pipeline::new(config.settings);
    let mut tracker = Tracker::new(config.settings.max_hits);
    let mut followed: BTreeMap<TargetKey, Followed> = BTreeMap::new();
    let mut protected: BTreeMap<(TargetKey, u64), (u64, String)> =
        BTreeMap::new();
    let mut events = Events { out, json: config.json };
    let only_pids =
        config.selectors.iter().all(|s| matches!(s, Selector::Pid(_)));
    let began = Instant::now();
    let mut polls = 0u64;
    let mut failed = false;

    // The pids given by --pid are bound to the process they name now.
    for selector in &config.selectors {
        if let Selector::Pid(pid) = selector {
            match target::by_pid(*pid) {
                Ok(p) => {
                    let key =
                        TargetKey { pid: p.pid, start_time: p.start_time };
                    events.target_new(SystemTime::now(), &p, "start")?;
                    let exe = exe_of(p.pid);
                    followed.insert(key, Followed { process: p, exe });
                }
                Err(e) => {
                    failed = true;
                    eprintln!("memscan: {e}");
                }
            }
        }
    }
    if only_pids && followed.is_empty() {
        return Ok(Exit::Error);
    }
    // A container that does not exist (or an engine that cannot be
    // reached) is an error; one that is stopped is waited for.
    for selector in &config.selectors {
        if let Selector::Container(name) = selector {
            match crate::container::inspect(name) {
                Ok(c) if !c.running => {
                    eprintln!(
                        "memscan: container {name:?}: not running ({}), \
                         waiting",
                        c.status
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("memscan: {e}");
                    return Ok(Exit::Error);
                }
            }
        }
    }

    loop {
        let started = Instant::now();
        let now = SystemTime::now();
        polls += 1;
        refresh_targets(
            config,
            &mut followed,
            &mut tracker,
            &mut events,
            now,
        )?;

        let mut bytes = 0u64;
        let (mut new, mut gone) = (0usize, 0usize);
        let keys: Vec<TargetKey> = followed.keys().copied().collect();
        for key in keys {
            let process = followed[&key].process.clone();
            match scan_process(
                &process,
                &config.patterns,
                &mut pipeline,
                config.options,
                &never,
            ) {
                Ok(scan) => {
                    bytes += scan.bytes_scanned();
                    note_protected(&scan, key, &mut protected);
                    let changes = tracker.observe(&scan, now);
                    for c in &changes {
                        match c {
                            Change::New(_) => new += 1,
                            Change::Gone(_) => gone += 1,
                        }
                        events.change(now, c)?;
                    }
                    if scan.exited {
                        gone += end_target(
                            &mut followed,
                            key,
                            &mut tracker,
                            &mut events,
                            now,
                            "exit",
                        )?;
                    }
                }
                Err(TargetError::NoSuchPid(_))
                | Err(TargetError::Zombie(..)) => {
                    gone += end_target(
                        &mut followed,
                        key,
                        &mut tracker,
                        &mut events,
                        now,
                        "exit",
                    )?;
                }
                Err(e) => {
                    eprintln!("memscan: {e}");
                    failed = true;
                    gone += end_target(
                        &mut followed,
                        key,
                        &mut tracker,
                        &mut events,
                        now,
                        "error",
                    )?;
                }
            }
        }
        let elapsed = started.elapsed();
        let human = format!(
            "poll {polls}: {} ms, {} scanned, {} targets, {} live, \
             {new} new, {gone} gone",
            elapsed.as_millis(),
            size(bytes),
            followed.len(),
            tracker.live_count()
        );
        let value = json!({
            "type": "poll",
            "poll": polls,
            "elapsed_ms": elapsed.as_secs_f64() * 1000.0,
            "bytes_scanned": bytes,
            "targets": followed.len(),
            "live": tracker.live_count(),
            "new": new,
            "gone": gone,
            "dropped": tracker.dropped,
        });
        events.emit(SystemTime::now(), human, value)?;
        events.out.flush()?;

        if watch.count.is_some_and(|n| polls >= n)
            || stop.load(Ordering::SeqCst)
        {
            break;
        }
        if only_pids && followed.is_empty() {
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

    tracker.finish();
    let status = if tracker.distinct > 0 {
        Exit::Found
    } else if failed && tracker.distinct == 0 && only_pids && polls == 0 {
        Exit::Error
    } else {
        Exit::NotFound
    };
    summary(
        &mut events,
        &tracker,
        &protected,
        polls,
        began.elapsed(),
        status,
    )?;
    Ok(status)
}

/// Looks `--name` targets up again, and checks that followed processes
/// are still the ones they were: same start time, same executable.
fn refresh_targets<W: Write>(
    config: &Config,
    followed: &mut BTreeMap<TargetKey, Followed>,
    tracker: &mut Tracker,
    events: &mut Events<'_, W>,
    now: SystemTime,
) -> io::Result<()> {
    let keys: Vec<TargetKey> = followed.keys().copied().collect();
    for key in keys {
        match target::start_time(key.pid) {
            Some(t) if t == key.start_time => {}
            // A different start time means the pid now names another
            // process: ours exited and the pid was reused.
            Some(_) => {
                end_target(
                    followed,
                    key,
                    tracker,
                    events,
                    now,
                    "exit (pid reused)",
                )?;
                continue;
            }
            None => {
                end_target(followed, key, tracker, events, now, "exit")?;
                continue;
            }
        }
        let exe = exe_of(key.pid);
        let f = followed
            .get_mut(&key)
            .map(|f| (f.exe.clone(), f.process.cmdline.clone()));
        let Some((old_exe, old_cmdline)) = f else { continue };
        let Ok(fresh) = target::by_pid(key.pid) else { continue };
        if exe != old_exe || fresh.cmdline != old_cmdline {
            let old = followed[&key].process.clone();
            for c in tracker.forget(key) {
                events.change(now, &c)?;
            }
            events.target_exit(now, &old, "exec")?;
            let mut process = fresh;
            process.origin = old.origin;
            events.target_new(now, &process, "exec")?;
            if let Some(f) = followed.get_mut(&key) {
                f.process = process;
                f.exe = exe;
            }
        }
    }
    for selector in &config.selectors {
        // Named and container targets are looked up afresh: a restarted
        // container comes back with new processes.
        let found = match selector {
            Selector::Pid(_) => continue,
            Selector::Name(name) => target::by_name(name).unwrap_or_default(),
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
            let key = TargetKey { pid: p.pid, start_time: p.start_time };
            if let Entry::Vacant(slot) = followed.entry(key) {
                events.target_new(now, &p, "start")?;
                let exe = exe_of(p.pid);
                slot.insert(Followed { process: p, exe });
            }
        }
    }
    Ok(())
}

/// Drops a target, ends its matches, and returns how many ended.
fn end_target<W: Write>(
    followed: &mut BTreeMap<TargetKey, Followed>,
    key: TargetKey,
    tracker: &mut Tracker,
    events: &mut Events<'_, W>,
    now: SystemTime,
    reason: &str,
) -> io::Result<usize> {
    let changes = tracker.forget(key);
    for c in &changes {
        events.change(now, c)?;
    }
    if let Some(f) = followed.remove(&key) {
        events.target_exit(now, &f.process, reason)?;
    }
    Ok(changes.len())
}

fn note_protected(
    scan: &TargetScan,
    key: TargetKey,
    seen: &mut BTreeMap<(TargetKey, u64), (u64, String)>,
) {
    for (region, errno) in scan.protected_unreadable() {
        seen.entry((key, region.start))
            .or_insert((region.len(), errno_name(errno)));
    }
}

fn summary<W: Write>(
    events: &mut Events<'_, W>,
    tracker: &Tracker,
    protected: &BTreeMap<(TargetKey, u64), (u64, String)>,
    polls: u64,
    elapsed: Duration,
    status: Exit,
) -> io::Result<()> {
    let bytes: u64 = protected.values().map(|(b, _)| b).sum();
    let errnos: BTreeSet<&str> =
        protected.values().map(|(_, e)| e.as_str()).collect();
    let errnos: Vec<&str> = errnos.into_iter().collect();
    let longest = tracker.longest.as_ref();
    let describe = |l: &Live| {
        format!(
            "{} in pid {}, {:.1} s over {} polls",
            escape(&l.text, false),
            l.target.pid,
            l.lifetime().as_secs_f64(),
            l.polls
        )
    };
    let human = format!(
        "summary: {polls} polls in {:.1} s; {} distinct matches ({} dropped); \
         longest-lived: {}; protected regions seen: {} ({}{}{})",
        elapsed.as_secs_f64(),
        tracker.distinct,
        tracker.dropped,
        longest.map_or_else(|| String::from("none"), describe),
        protected.len(),
        size(bytes),
        if errnos.is_empty() { "" } else { ", " },
        errnos.join(", ")
    );
    let value = json!({
        "type": "watch_summary",
        "polls": polls,
        "elapsed_s": elapsed.as_secs_f64(),
        "distinct_matches": tracker.distinct,
        "dropped": tracker.dropped,
        "longest": longest.map(|l| json!({
            "pid": l.target.pid,
            "text": escape(&l.text, false),
            "lifetime_s": l.lifetime().as_secs_f64(),
            "polls": l.polls,
        })),
        "protected_regions": protected.len(),
        "protected_bytes": bytes,
        "protected_errnos": errnos,
        "status": status.code(),
    });
    events.emit(SystemTime::now(), human, value)?;
    events.out.flush()
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
