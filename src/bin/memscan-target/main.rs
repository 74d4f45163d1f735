//! memscan-target: a process that plants known secrets in its own memory,
//! for memscan's integration tests and benchmarks.
//!
//! `fixtures` puts one secret in each kind of place a scanner must get
//! right; `bench` fills a large region with heap-like data and a known
//! number of secrets. Either prints one JSON line saying where they are,
//! then waits to be killed. See `--help` for the command line.
//!
//! The promise tests rely on: the process holds no copy of a secret, nor
//! of the prefix, beyond the planted ones, so that memscan and `gcore` +
//! `grep` must both count exactly those. The `secret` module keeps it.

mod args;
mod bench;
mod fill;
mod fixtures;
mod mem;
mod secret;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, Signal};

use args::Command;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("memscan-target: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<()> {
    let command = args::parse(std::env::args_os().skip(1))?;
    // Block the ending signals before any thread starts, so every thread
    // inherits the mask and only `wait_for_end` ever receives them; that
    // leaves a clean exit path for SIGTERM and SIGINT as well.
    let signals = ending_signals();
    signals.thread_block().context("cannot block signals")?;
    match command {
        Command::Help => println!("{}", args::USAGE),
        Command::Fixtures { dir, chunk, exit_after } => {
            let file = fixtures::file_path(&dir);
            let result =
                fixtures::plant_all(&dir, chunk).and_then(|planted| {
                    print_line(&fixtures_json(&planted))?;
                    wait_for_end(&signals, exit_after)
                });
            // The file holds a secret on disk; remove it on every exit
            // path but SIGKILL, where the owner of DIR has to.
            let _ = std::fs::remove_file(file);
            result?;
        }
        Command::Bench { config, exit_after } => {
            let (region, tally) = bench::build(&config)?;
            eprintln!(
                "memscan-target: planted {} secrets: {} across 4 MiB \
                 boundaries, {} across 1 MiB boundaries, {} at the end",
                config.secrets, tally.across_4m, tally.across_1m, tally.at_end
            );
            print_line(&format!(
                "{{\"pid\":{},\"secrets\":{},\"region_start\":{},\
                 \"region_len\":{},\"touched\":{}}}",
                std::process::id(),
                config.secrets,
                region.start,
                region.len,
                region.touched
            ))?;
            wait_for_end(&signals, exit_after)?;
        }
    }
    Ok(())
}

fn fixtures_json(planted: &[fixtures::Planted]) -> String {
    let secrets: Vec<String> = planted
        .iter()
        .map(|p| {
            format!(
                "{{\"place\":\"{}\",\"addr\":{},\"len\":{}}}",
                p.place, p.addr, p.len
            )
        })
        .collect();
    format!(
        "{{\"pid\":{},\"secrets\":[{}]}}",
        std::process::id(),
        secrets.join(",")
    )
}

/// Print one line and flush it, since the reader waits for it.
fn print_line(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

fn ending_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        set.add(signal);
    }
    set
}

/// Wait for one of `signals`, or until `limit` has passed.
fn wait_for_end(signals: &SigSet, limit: Option<Duration>) -> Result<()> {
    let Some(limit) = limit else {
        signals.wait().context("sigwait failed")?;
        return Ok(());
    };
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left =
            deadline.saturating_duration_since(std::time::Instant::now());
        let timeout = libc::timespec {
            tv_sec: left.as_secs().try_into().unwrap_or(libc::time_t::MAX),
            tv_nsec: left.subsec_nanos().into(),
        };
        // SAFETY: both pointers refer to live values for the whole call,
        // and a null siginfo pointer is allowed by sigtimedwait(2).
        let got = unsafe {
            libc::sigtimedwait(
                signals.as_ref(),
                std::ptr::null_mut(),
                &timeout,
            )
        };
        if got >= 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            // EAGAIN means the time ran out with no signal.
            Some(libc::EAGAIN) => return Ok(()),
            Some(libc::EINTR) => continue,
            _ => return Err(err).context("sigtimedwait failed"),
        }
    }
}
