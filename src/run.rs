//! One-shot runs: resolve every target, scan each in turn, print.
//!
//! A target that cannot be scanned gets one line on stderr and the run
//! goes on with the others; the exit status then says 2, as grep does
//! for an unreadable file.

use std::io::{self, Write};
use std::sync::atomic::AtomicBool;

use crate::cli::{Config, Selector};
use crate::container::Container;
use crate::exit::Exit;
use crate::pipeline::Pipeline;
use crate::report::ProtectedTally;
use crate::resolve::resolve;
use crate::scan::{scan_process, TargetScan};
use crate::target::TargetError;
use crate::{json, report};

/// Scans every target once and prints the results.
pub fn once(config: &Config, out: &mut impl Write) -> io::Result<Exit> {
    let mut outcome = Outcome::default();
    match scan_all(config, out, &mut outcome) {
        Ok(()) => {}
        // The reader of our output went away (`| head`): stop quietly,
        // with the status of what was seen so far.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(e),
    }
    Ok(if outcome.failed {
        Exit::Error
    } else if outcome.found {
        Exit::Found
    } else {
        Exit::NotFound
    })
}

/// What decides the exit status of a one-shot run.
#[derive(Default)]
struct Outcome {
    found: bool,
    failed: bool,
}

fn scan_all(
    config: &Config,
    out: &mut impl Write,
    outcome: &mut Outcome,
) -> io::Result<()> {
    let resolved = resolve(&config.selectors);
    // With --all-containers the summary lines come first, so the details
    // wait until every container is done.
    let grouped = config.selectors.contains(&Selector::AllContainers);
    let mut held = Vec::new();
    let mut pipeline = Pipeline::new(config.settings);
    let stop = AtomicBool::new(false);
    for target in resolved.targets {
        let process = match target {
            Ok(p) => p,
            Err(message) => {
                outcome.failed = true;
                error(out, config, &message)?;
                continue;
            }
        };
        let options = config.options;
        let patterns = &config.patterns;
        match scan_process(&process, patterns, &mut pipeline, options, &stop) {
            Ok(scan) => {
                outcome.found |= scan.total_hits > 0;
                if grouped {
                    held.push(scan);
                } else {
                    write_scan(out, config, &scan)?;
                }
            }
            // A container's process that ended since it was listed was
            // not the user's target; the container is.
            Err(TargetError::NoSuchPid(_) | TargetError::Zombie(..))
                if process.origin.is_some() => {}
            Err(e) => {
                outcome.failed = true;
                error(out, config, &e.to_string())?;
            }
        }
    }
    if grouped {
        write_container_lines(out, config, &resolved.containers, &held)?;
        for scan in &held {
            write_scan(out, config, scan)?;
        }
    }
    Ok(())
}

fn error(
    out: &mut impl Write,
    config: &Config,
    message: &str,
) -> io::Result<()> {
    crate::exit::complain(message);
    if config.json {
        writeln!(out, "{}", json::error(message))?;
    }
    Ok(())
}

fn write_scan(
    out: &mut impl Write,
    config: &Config,
    scan: &TargetScan,
) -> io::Result<()> {
    if config.json {
        for hit in &scan.hits {
            writeln!(out, "{}", json::hit(scan, hit, &config.patterns))?;
        }
        writeln!(out, "{}", json::summary(scan))?;
    } else {
        report::write_target(out, scan, &config.patterns)?;
        writeln!(out)?;
    }
    out.flush()
}

/// One line per container: what was scanned in it and what was found.
fn write_container_lines(
    out: &mut impl Write,
    config: &Config,
    containers: &[Container],
    scans: &[TargetScan],
) -> io::Result<()> {
    if !config.json {
        writeln!(
            out,
            "{:<28} {:<28} {:>9} {:>11} {:>8}  protected",
            "container", "image", "processes", "scanned", "matches"
        )?;
    }
    for c in containers {
        let mine: Vec<&TargetScan> = scans
            .iter()
            .filter(|s| {
                s.process.origin.as_ref().is_some_and(|o| o.id == c.id)
            })
            .collect();
        let bytes: u64 = mine.iter().map(|s| s.bytes_scanned()).sum();
        let matches: u64 = mine.iter().map(|s| s.total_hits).sum();
        let protected = ProtectedTally::of(mine.iter().copied());
        if config.json {
            let value = serde_json::json!({
                "type": "container",
                "name": c.name,
                "id": c.id,
                "image": c.image,
                "processes": mine.len(),
                "bytes_scanned": bytes,
                "matches": matches,
                "protected_regions": protected.regions,
                "protected_bytes": protected.bytes,
                "protected_errnos": protected.errnos,
            });
            writeln!(out, "{value}")?;
            continue;
        }
        writeln!(
            out,
            "{:<28} {:<28} {:>9} {:>11} {:>8}  {}",
            c.name,
            c.image,
            mine.len(),
            report::size(bytes),
            matches,
            protected.short()
        )?;
    }
    if !config.json {
        writeln!(out)?;
    }
    Ok(())
}
