//! NDJSON output: one object per line, each with a `type` field.
//!
//! Addresses are strings of hexadecimal (`"0x7f..."`) because JSON
//! numbers lose precision past 2^53 in many readers. The schema is in the
//! README; fields are only ever added.

use serde_json::{json, Value};

use crate::pattern::Patterns;
use crate::region::Region;
use crate::report::{errno_name, escape, kind_rows};
use crate::scan::{Status, TargetScan};
use crate::scanner::Hit;
use crate::target::Process;

pub fn hex(addr: u64) -> String {
    format!("{addr:#x}")
}

pub fn process(p: &Process) -> Value {
    json!({
        "pid": p.pid,
        "ns_pid": p.ns_pid,
        "comm": p.comm,
        "cmdline": p.cmdline,
        "container": p.origin.as_ref().map(|o| json!({
            "name": o.container,
            "id": o.id,
            "image": o.image,
        })),
    })
}

pub fn region(r: &Region) -> Value {
    json!({
        "start": hex(r.start),
        "end": hex(r.end),
        "size": r.len(),
        "kind": r.kind.name(),
        "perms": r.perms.to_string(),
        "path": r.display_path(),
    })
}

/// One `match` object.
pub fn hit(scan: &TargetScan, hit: &Hit, patterns: &Patterns) -> Value {
    let r = &scan.regions[hit.region];
    json!({
        "type": "match",
        "pid": scan.process.pid,
        "address": hex(hit.addr),
        "offset": hit.addr - r.start,
        "file_offset": (r.inode != 0).then(|| r.offset + (hit.addr - r.start)),
        "region": region(r),
        "pattern": patterns.name(hit.pattern),
        "length": hit.len,
        "bytes": escape(&hit.bytes, hit.len > hit.bytes.len()),
        "after": escape(&hit.after, false),
    })
}

/// One `summary` object for a scanned target.
pub fn summary(scan: &TargetScan) -> Value {
    let mut counts = [0usize; 3];
    let mut unreadable = Vec::new();
    let mut skipped = Vec::new();
    for (r, s) in scan.regions.iter().zip(&scan.statuses) {
        match s {
            Status::Scanned { .. } => counts[0] += 1,
            Status::Unreadable { errno } => {
                counts[1] += 1;
                let mut v = region(r);
                v["protected"] = json!(r.kind.is_protected());
                v["errno"] = json!(errno_name(*errno));
                v["error"] = json!(errno.desc());
                unreadable.push(v);
            }
            Status::Skipped { reason } => {
                counts[2] += 1;
                let mut v = region(r);
                v["reason"] = json!(reason);
                skipped.push(v);
            }
        }
    }
    let kinds: Vec<Value> = kind_rows(scan)
        .into_iter()
        .map(|(kind, row)| {
            json!({
                "kind": kind.name(),
                "regions": row.regions,
                "size": row.size,
                "scanned": row.scanned,
                "not_resident": row.not_resident,
                "failed_pages": row.failed_pages,
            })
        })
        .collect();
    json!({
        "type": "summary",
        "process": process(&scan.process),
        "pid": scan.process.pid,
        "matches": scan.total_hits,
        "matches_shown": scan.hits.len(),
        "bytes_scanned": scan.bytes_scanned(),
        "regions": {
            "total": scan.regions.len(),
            "scanned": counts[0],
            "unreadable": counts[1],
            "skipped": counts[2],
        },
        "kinds": kinds,
        "unreadable": unreadable,
        "skipped": skipped,
        "exited": scan.exited,
        "via_proc_mem": scan.via_proc_mem,
        "elapsed_ms": millis(scan.elapsed),
    })
}

/// Milliseconds with three decimals, without float noise in the output.
pub fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// An `error` object: a target that could not be scanned at all.
pub fn error(message: &str) -> Value {
    json!({ "type": "error", "message": message })
}
