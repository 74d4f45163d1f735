//! Parses the command line into a `Command`, and nothing else: checks that
//! need the machine (sizes that fit, folders that exist) happen where the
//! memory or the file is made.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::bench;
use crate::secret::Prefix;

pub const USAGE: &str = "\
usage: memscan-target fixtures --dir DIR [--chunk-size BYTES]
                               [--exit-after-ms N]
       memscan-target bench --size SIZE [--secrets N] [--sparse RESERVE]
                            [--prefix-parts PART PART...]
                            [--exit-after-ms N]

Plants known secrets in its own memory for memscan's tests and
benchmarks, prints one JSON line describing them, then waits until it is
killed, gets SIGTERM, SIGINT or SIGHUP, or N ms have passed.

fixtures  one secret in each kind of place: heap, thread_stack,
          anon_mmap, straddle (across a multiple of --chunk-size,
          default 1M), after_prot_none and short_file (a file made in
          DIR, which the caller removes)
bench     N secrets (default 64) in SIZE bytes of heap-like data; with
          --sparse, SIZE bytes touched inside a RESERVE-byte reservation;
          --prefix-parts replaces the standard prefix, given in at least
          two parts so the arguments hold no copy of it

Sizes take a K, M or G suffix (powers of 1024). Exit status: 0 when
ended by a signal or the timer, 2 on any error.";

pub enum Command {
    Help,
    Fixtures { dir: PathBuf, chunk: usize, exit_after: Option<Duration> },
    Bench { config: bench::Config, exit_after: Option<Duration> },
}

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command> {
    let mut args = args.into_iter().map(|a| {
        a.into_string()
            .map_err(|a| anyhow::anyhow!("argument {a:?} is not valid UTF-8"))
    });
    let Some(sub) = args.next().transpose()? else {
        bail!("missing subcommand (see --help)");
    };
    let rest = args.collect::<Result<Vec<String>>>()?;
    if sub == "-h" || sub == "--help" || rest.iter().any(|a| a == "--help") {
        return Ok(Command::Help);
    }
    let mut options = Options::new(rest);
    let exit_after = options
        .value("--exit-after-ms")?
        .map(|v| number(&v, "--exit-after-ms").map(Duration::from_millis))
        .transpose()?;
    let command = match sub.as_str() {
        "fixtures" => {
            let dir = options.value("--dir")?.context("missing --dir")?;
            let chunk = match options.value("--chunk-size")? {
                Some(v) => parse_size(&v).context("--chunk-size")?,
                None => 1 << 20,
            };
            if chunk == 0 {
                bail!("--chunk-size must not be zero");
            }
            Command::Fixtures { dir: dir.into(), chunk, exit_after }
        }
        "bench" => {
            let size = options.value("--size")?.context("missing --size")?;
            let size = parse_size(&size).context("--size")?;
            let secrets = match options.value("--secrets")? {
                Some(v) => number(&v, "--secrets")?,
                None => 64,
            };
            let sparse = options.value("--sparse")?;
            let sparse = sparse
                .map(|v| parse_size(&v).context("--sparse"))
                .transpose()?;
            let prefix = match options.list("--prefix-parts") {
                Some(parts) => Prefix::from_parts(parts)?,
                None => Prefix::standard(),
            };
            let config = bench::Config { size, secrets, sparse, prefix };
            Command::Bench { config, exit_after }
        }
        other => bail!("unknown subcommand {other:?} (see --help)"),
    };
    options.finish()?;
    Ok(command)
}

/// Parse a byte count with an optional K, M or G suffix (powers of 1024).
pub fn parse_size(text: &str) -> Result<usize> {
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'K' | b'k') => (&text[..text.len() - 1], 10),
        Some(b'M' | b'm') => (&text[..text.len() - 1], 20),
        Some(b'G' | b'g') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        bail!("{text:?} is not a size (digits and an optional K, M or G)");
    }
    digits
        .parse::<usize>()
        .ok()
        .and_then(|value| value.checked_mul(1 << shift))
        .with_context(|| format!("size {text:?} is too large"))
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T> {
    // FromStr accepts a leading '+'; a size should be digits only.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        bail!("{what}: {text:?} is not a number");
    }
    text.parse().map_err(|_| anyhow::anyhow!("{what}: {text:?} is too large"))
}

/// The options after the subcommand; each getter removes what it uses,
/// so whatever is left over at the end is an error.
struct Options {
    args: Vec<String>,
}

impl Options {
    fn new(args: Vec<String>) -> Options {
        Options { args }
    }

    /// The value of `--name VALUE` or `--name=VALUE`, if given.
    fn value(&mut self, name: &str) -> Result<Option<String>> {
        let with_eq = format!("{name}=");
        let Some(i) = self
            .args
            .iter()
            .position(|a| a == name || a.starts_with(&with_eq))
        else {
            return Ok(None);
        };
        let arg = self.args.remove(i);
        if let Some(value) = arg.strip_prefix(&with_eq) {
            return Ok(Some(value.to_string()));
        }
        if i >= self.args.len() || self.args[i].starts_with("--") {
            bail!("{name} needs a value");
        }
        Ok(Some(self.args.remove(i)))
    }

    /// The values after `name` up to the next option, if `name` is given.
    fn list(&mut self, name: &str) -> Option<Vec<String>> {
        let i = self.args.iter().position(|a| a == name)?;
        let end = self.args[i + 1..]
            .iter()
            .position(|a| a.starts_with("--"))
            .map_or(self.args.len(), |n| i + 1 + n);
        let values = self.args.drain(i..end).skip(1).collect();
        Some(values)
    }

    fn finish(self) -> Result<()> {
        match self.args.first() {
            Some(arg) => bail!("unexpected argument {arg:?} (see --help)"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("64K").unwrap(), 64 << 10);
        assert_eq!(parse_size("256m").unwrap(), 256 << 20);
        assert_eq!(parse_size("64G").unwrap(), 64 << 30);
    }

    #[test]
    fn bad_sizes_are_errors() {
        for bad in ["", "G", "-1", "+5", "1.5G", "12T", "1 G", "99999999999G"]
        {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bench_options_parse() {
        let cmd = parse_strs(&[
            "bench",
            "--size=256M",
            "--sparse",
            "64G",
            "--prefix-parts",
            "ab",
            "cd",
            "--secrets",
            "5",
        ])
        .unwrap();
        let Command::Bench { config, exit_after } = cmd else {
            panic!("not bench");
        };
        assert_eq!(config.size, 256 << 20);
        assert_eq!(config.sparse, Some(64 << 30));
        assert_eq!(config.secrets, 5);
        assert_eq!(config.prefix.len(), 4);
        assert!(exit_after.is_none());
    }

    #[test]
    fn fixtures_defaults_and_errors() {
        let cmd = parse_strs(&["fixtures", "--dir", "/tmp/x"]).unwrap();
        let Command::Fixtures { chunk, exit_after, .. } = cmd else {
            panic!("not fixtures");
        };
        assert_eq!(chunk, 1 << 20);
        assert!(exit_after.is_none());
        assert!(parse_strs(&["fixtures"]).is_err());
        assert!(parse_strs(&["fixtures", "--dir"]).is_err());
        assert!(parse_strs(&["fixtures", "--dir", "d", "--bogus"]).is_err());
        assert!(parse_strs(&["bench", "--size", "1M", "--prefix-parts", "a"])
            .is_err());
        assert!(parse_strs(&["nope"]).is_err());
        assert!(parse_strs(&[]).is_err());
    }
}
