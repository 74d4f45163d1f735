//! The human report: one block per target, ending in a verdict line.
//!
//! Matched bytes are shown escaped (printable ASCII as is, everything
//! else as `\xNN`) and cut at `scanner::SHOWN` bytes, so a report never
//! puts raw memory on a terminal.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use humansize::{format_size, BINARY};
use nix::errno::Errno;

use crate::pattern::Patterns;
use crate::region::Kind;
use crate::scan::{Status, TargetScan};

/// Sizes the way people read them: `4 KiB`, `1.25 MiB`.
pub fn size(bytes: u64) -> String {
    format_size(bytes, BINARY)
}

/// `EFAULT`, the symbolic name, or the number when the name is unknown.
pub fn errno_name(errno: Errno) -> String {
    let name = format!("{errno:?}");
    if name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        name
    } else {
        format!("errno {}", errno as i32)
    }
}

/// Escapes bytes for display; `truncated` adds an ellipsis.
pub fn escape(bytes: &[u8], truncated: bool) -> String {
    let mut out = String::with_capacity(bytes.len() + 3);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if truncated {
        out.push_str("...");
    }
    out
}

/// Text a target controls (its `comm`, file names, command line) with
/// control characters escaped, so that it cannot move the cursor, clear
/// the screen or forge report lines.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// One line naming the target: pid, comm and, where known, the container
/// and the pid inside it.
pub fn target_line(scan: &TargetScan) -> String {
    let p = &scan.process;
    let mut line = format!("pid {} ({})", p.pid, p.comm);
    if let Some(origin) = &p.origin {
        let _ = write!(line, " in container {}", origin.container);
        if let Some(ns) = p.ns_pid {
            let _ = write!(line, " (pid {ns} inside)");
        }
    }
    if !p.cmdline.is_empty() {
        let shown: String = p.cmdline.chars().take(100).collect();
        let cut = if shown.len() < p.cmdline.len() { "..." } else { "" };
        let _ = write!(line, ": {shown}{cut}");
    }
    line
}

/// Per-kind totals for the region table (and the JSON `kinds` list).
#[derive(Default)]
pub struct KindRow {
    pub regions: usize,
    pub size: u64,
    pub scanned: u64,
    pub not_resident: u64,
    pub failed_pages: u64,
    pub unreadable: Option<Errno>,
    pub unreadable_count: usize,
    pub page_errno: Option<Errno>,
    pub skipped: Option<&'static str>,
}

pub fn kind_rows(scan: &TargetScan) -> BTreeMap<Kind, KindRow> {
    let mut rows: BTreeMap<Kind, KindRow> = BTreeMap::new();
    for (region, status) in scan.regions.iter().zip(&scan.statuses) {
        let row = rows.entry(region.kind).or_default();
        row.regions += 1;
        row.size += region.len();
        match *status {
            Status::Scanned { bytes, not_resident, failed_pages, errno } => {
                row.scanned += bytes;
                row.not_resident += not_resident;
                row.failed_pages += failed_pages;
                row.page_errno = row.page_errno.or(errno);
            }
            Status::Unreadable { errno } => {
                row.unreadable = row.unreadable.or(Some(errno));
                row.unreadable_count += 1;
            }
            Status::Skipped { reason } => {
                row.skipped = row.skipped.or(Some(reason))
            }
        }
    }
    rows
}

/// Protected regions the kernel refused, added up for one line of a
/// verdict or a summary: how many, how large, and which errnos.
#[derive(Clone, Debug, Default)]
pub struct ProtectedTally {
    pub regions: usize,
    pub bytes: u64,
    /// Symbolic names, sorted and distinct.
    pub errnos: BTreeSet<String>,
}

impl ProtectedTally {
    pub fn add(&mut self, bytes: u64, errno: Errno) {
        self.regions += 1;
        self.bytes += bytes;
        self.errnos.insert(errno_name(errno));
    }

    /// Adds up the protected regions refused in `scans`.
    pub fn of<'a>(scans: impl IntoIterator<Item = &'a TargetScan>) -> Self {
        let mut tally = ProtectedTally::default();
        for scan in scans {
            for (region, errno) in scan.protected_unreadable() {
                tally.add(region.len(), errno);
            }
        }
        tally
    }

    /// `EFAULT, EIO`.
    pub fn errno_list(&self) -> String {
        self.errnos.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
    }

    /// `1 (4 KiB, EFAULT)`, or `0`.
    pub fn short(&self) -> String {
        if self.regions == 0 {
            return String::from("0");
        }
        format!(
            "{} ({}, {})",
            self.regions,
            size(self.bytes),
            self.errno_list()
        )
    }
}

/// The closing line of a target's report.
pub fn verdict(scan: &TargetScan) -> String {
    let p = &scan.process;
    let mut line = match scan.total_hits {
        0 => format!("no matches in pid {} ({})", p.pid, p.comm),
        1 => format!("1 match in pid {} ({})", p.pid, p.comm),
        n => format!("{n} matches in pid {} ({})", p.pid, p.comm),
    };
    let protected = ProtectedTally::of([scan]);
    if protected.regions > 0 {
        let noun = if protected.regions == 1 { "region" } else { "regions" };
        let _ = write!(
            line,
            "; {} protected {noun} ({}) unreadable: {}",
            protected.regions,
            size(protected.bytes),
            protected.errno_list()
        );
    }
    if scan.exited {
        line.push_str("; the process exited during the scan");
    }
    line
}

/// Writes the full human report for one target.
pub fn write_target(
    out: &mut impl Write,
    scan: &TargetScan,
    patterns: &Patterns,
) -> io::Result<()> {
    writeln!(out, "{}", target_line(scan))?;
    writeln!(
        out,
        "  {:<12} {:>7} {:>11} {:>11}  status",
        "kind", "regions", "size", "scanned"
    )?;
    for (kind, row) in kind_rows(scan) {
        let mut status = Vec::new();
        if row.not_resident > 0 {
            status.push(format!("{} not resident", size(row.not_resident)));
        }
        if row.failed_pages > 0 {
            let errno = row.page_errno.map(errno_name).unwrap_or_default();
            status.push(format!(
                "{} pages unreadable: {errno}",
                row.failed_pages
            ));
        }
        if let Some(errno) = row.unreadable {
            let what = if kind.is_protected() {
                "protected, unreadable"
            } else {
                "unreadable"
            };
            status.push(format!(
                "{what}: {} ({})",
                errno_name(errno),
                errno.desc()
            ));
        }
        if let Some(reason) = row.skipped {
            status.push(format!("skipped: {reason}"));
        }
        let line = format!(
            "  {:<12} {:>7} {:>11} {:>11}  {}",
            kind.name(),
            row.regions,
            size(row.size),
            size(row.scanned),
            status.join("; ")
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    if scan.via_proc_mem {
        writeln!(
            out,
            "  read through /proc/{}/mem: process_vm_readv was refused \
             (EPERM, e.g. a seccomp profile without SYS_PTRACE)",
            scan.process.pid
        )?;
    }
    if !scan.hits.is_empty() {
        writeln!(out, "  matches:")?;
    }
    for hit in &scan.hits {
        let region = &scan.regions[hit.region];
        let place = format!(
            "{} +{:#x}",
            region.display_path(),
            hit.addr - region.start
        );
        writeln!(
            out,
            "    {:#014x}  {:<10} {:<40} {}{}",
            hit.addr,
            region.kind.name(),
            place,
            shown(hit),
            if patterns.len() > 1 {
                format!("  [{}]", patterns.name(hit.pattern))
            } else {
                String::new()
            }
        )?;
    }
    if scan.total_hits > scan.hits.len() as u64 {
        writeln!(
            out,
            "    ... {} more matches not shown (--max-matches)",
            scan.total_hits - scan.hits.len() as u64
        )?;
    }
    writeln!(out, "{}", verdict(scan))
}

/// The match, then what follows it, escaped; a long match is cut and
/// shown without its tail.
fn shown(hit: &crate::scanner::Hit) -> String {
    if hit.len > hit.bytes.len() {
        escape(&hit.bytes, true)
    } else {
        // Context ends at the first NUL: past it lies the next object
        // in memory, which is noise to a reader (JSON keeps it all).
        let after = hit.after.split(|&b| b == 0).next().unwrap_or(&[]);
        let mut text = escape(&hit.bytes, false);
        text.push_str(&escape(after, false));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_text_and_hides_bytes() {
        assert_eq!(escape(b"topsecret_001", false), "topsecret_001");
        assert_eq!(escape(b"a\0\xff\\\n", true), "a\\x00\\xff\\\\\\n...");
    }

    #[test]
    fn errno_names_are_symbolic() {
        assert_eq!(errno_name(Errno::EFAULT), "EFAULT");
        assert_eq!(errno_name(Errno::EIO), "EIO");
    }
}
