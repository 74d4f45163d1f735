//! The `memscan` command: parse arguments, run, exit with grep's codes.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use memscan::cli::Args;
use memscan::exit::Exit;

fn main() -> ExitCode {
    let args = Args::parse();
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
    let result = result.and_then(|exit| {
        out.flush()?;
        Ok(exit)
    });
    match result {
        Ok(exit) => ExitCode::from(exit.code() as u8),
        // The reader of our output went away (`| head`): not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(&format!("writing output: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("memscan: {message}");
    ExitCode::from(Exit::Error.code() as u8)
}
