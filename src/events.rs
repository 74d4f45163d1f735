//! The output of `--watch`: events as human lines or NDJSON, and the
//! closing summary.
//!
//! Every event carries a wall-clock time; the human view shows it as the
//! time of day, NDJSON as RFC 3339 in `ts`. Match texts are escaped the
//! same way the one-shot report escapes them.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use nix::errno::Errno;
use serde_json::{json, Value};

use crate::clock::{rfc3339, time_of_day};
use crate::exit::Exit;
use crate::report::{escape, ProtectedTally};
use crate::target::Process;
use crate::track::{Change, Live, TargetKey, Tracker};

/// Protected regions seen during a watch, each once: by target and start
/// address, their size and the kernel's answer.
pub type Protected = BTreeMap<(TargetKey, u64), (u64, Errno)>;

/// Writes events as human lines or NDJSON.
pub struct Events<'a, W: Write> {
    pub out: &'a mut W,
    pub json: bool,
}

impl<W: Write> Events<'_, W> {
    pub fn emit(
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

    pub fn target_new(
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

    pub fn target_exit(
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

    pub fn change(
        &mut self,
        now: SystemTime,
        change: &Change,
    ) -> io::Result<()> {
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
                    "gone  pid {} {} (seen {:.1} s, in {} poll{})",
                    l.target.pid,
                    escape(&l.text, false),
                    l.lifetime().as_secs_f64(),
                    l.polls,
                    if l.polls == 1 { "" } else { "s" }
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

pub fn summary<W: Write>(
    events: &mut Events<'_, W>,
    tracker: &Tracker,
    protected: &Protected,
    polls: u64,
    elapsed: Duration,
    status: Exit,
) -> io::Result<()> {
    let mut seen = ProtectedTally::default();
    for &(bytes, errno) in protected.values() {
        seen.add(bytes, errno);
    }
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
         longest-lived: {}; protected regions seen: {}",
        elapsed.as_secs_f64(),
        tracker.distinct,
        tracker.dropped,
        longest.map_or_else(|| String::from("none"), describe),
        seen.short()
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
        "protected_regions": seen.regions,
        "protected_bytes": seen.bytes,
        "protected_errnos": seen.errnos,
        "status": status.code(),
    });
    events.emit(SystemTime::now(), human, value)?;
    events.out.flush()
}
