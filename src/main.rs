//! The `memscan` command: parse arguments, run, exit with grep's codes.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use memscan::cli::Args;
use memscan::exit::Exit;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => return usage_error(e),
    };
    let level = match args.verbose {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Info,
        _ => log::LevelFilter::Debug,
    };
    env_logger::Builder::new()
        .filter_level(level)
        .format_timestamp(None)
        .parse_env("MEMSCAN_LOG")
        .init();

    let config = match args.into_config() {
        Ok(config) => config,
        Err(e) => return fail(&format!("{e:#}")),
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = match config.watch {
        Some(watch) => memscan::watch::watch(&config, watch, &mut out),
        None => memscan::run::once(&config, &mut out),
    };
    let result = result.and_then(|exit| match out.flush() {
        // The reader left after the last write (`| head`): not an error.
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(exit),
    });
    match result {
        Ok(exit) => ExitCode::from(exit.code() as u8),
        Err(e) => fail(&format!("writing output: {e}")),
    }
}

/// Help and version go to stdout as clap writes them; a usage error is
/// cut to its first line, in memscan's one error voice.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    let first = first.trim_start_matches("error: ");
    fail(&format!("{first} (see memscan --help)"))
}

fn fail(message: &str) -> ExitCode {
    memscan::exit::complain(message);
    ExitCode::from(Exit::Error.code() as u8)
}
