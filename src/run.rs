//! One-shot runs: resolve every target, scan each in turn, print.
//!
//! A target that cannot be scanned gets one line on stderr and the run
//! goes on with the others; the exit status then says 2, as grep does
//! for an unreadable file.

use std::io::{self, Write};
use std::sync::atomic::AtomicBool;

use crate::cli::{Config, Selector};
use crate::exit::Exit;
use crate::pipeline::Pipeline;
use crate::scan::scan_process;
use crate::target::{self, Process};
use crate::{json, report};

/// Resolves selectors into processes, each pid once. Errors come back
/// alongside, in order, so they can be reported where they belong.
pub fn resolve(selectors: &[Selector]) -> Vec<Result<Process, String>> {
    let mut out: Vec<Result<Process, String>> = Vec::new();
    let mut push = |r: Result<Process, String>| {
        let dup = matches!(&r, Ok(p) if out.iter().any(|o| matches!(o, Ok(q) if q.pid == p.pid)));
        if !dup {
            out.push(r);
        }
    };
    for selector in selectors {
        match selector {
            Selector::Pid(pid) => {
                push(target::by_pid(*pid).map_err(|e| e.to_string()))
            }
            Selector::Name(name) => match target::by_name(name) {
                Ok(list) => list.into_iter().for_each(|p| push(Ok(p))),
                Err(e) => push(Err(e.to_string())),
            },
        }
    }
    out
}

/// Scans every target once and prints the results.
pub fn once(config: &Config, out: &mut impl Write) -> io::Result<Exit> {
    let mut pipeline = Pipeline::new(config.settings);
    let stop = AtomicBool::new(false);
    let mut found = false;
    let mut failed = false;
    for target in resolve(&config.selectors) {
        let result = target.and_then(|p| {
            scan_process(
                &p,
                &config.patterns,
                &mut pipeline,
                config.options,
                &stop,
            )
            .map_err(|e| e.to_string())
        });
        match result {
            Ok(scan) => {
                found |= scan.total_hits > 0;
                if config.json {
                    for hit in &scan.hits {
                        writeln!(
                            out,
                            "{}",
                            json::hit(&scan, hit, &config.patterns)
                        )?;
                    }
                    writeln!(out, "{}", json::summary(&scan))?;
                } else {
                    report::write_target(out, &scan, &config.patterns)?;
                    writeln!(out)?;
                }
            }
            Err(message) => {
                failed = true;
                eprintln!("memscan: {message}");
                if config.json {
                    writeln!(out, "{}", json::error(&message))?;
                }
            }
        }
        out.flush()?;
    }
    Ok(if failed {
        Exit::Error
    } else if found {
        Exit::Found
    } else {
        Exit::NotFound
    })
}
