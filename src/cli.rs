//! Command-line arguments, parsed by clap and then checked into a
//! [`Config`] that the rest of memscan trusts.

use clap::Parser;

use crate::exit::EXIT_CODES_HELP;
use crate::pattern::{Patterns, DEFAULT_MAX_MATCH_LEN};
use crate::pipeline::Settings;
use crate::scan::Options;
use crate::watch::WatchConfig;

/// Find plaintext secrets in the memory of live Linux processes.
///
/// memscan reads a running process's memory with process_vm_readv,
/// without stopping it and without writing anything to disk, and reports
/// every match with its address and region, and every region the kernel
/// refused to hand out (SGX enclaves, memfd_secret) with the reason.
#[derive(Parser, Debug)]
#[command(
    name = "memscan",
    version,
    after_help = EXIT_CODES_HELP,
    override_usage = "memscan [OPTIONS] (-e LITERAL | -E REGEX)... \
                      (--pid PID | --name NAME | --container NAME | \
                      --all-containers)..."
)]
pub struct Args {
    /// Search for this literal (repeatable).
    #[arg(short = 'e', long = "pattern", value_name = "LITERAL")]
    pub patterns: Vec<String>,

    /// Search for this regex over bytes (repeatable).
    #[arg(short = 'E', long = "regex", value_name = "REGEX")]
    pub regexes: Vec<String>,

    /// Scan this process (repeatable).
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pids: Vec<i32>,

    /// Scan every process whose comm or argv[0] basename is NAME.
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub names: Vec<String>,

    /// Scan every process of this Docker or Podman container, found
    /// through the engine's API socket (repeatable).
    #[arg(short = 'c', long = "container", value_name = "NAME|ID")]
    pub containers: Vec<String>,

    /// Scan every running container: one summary line each, then the
    /// details.
    #[arg(long)]
    pub all_containers: bool,

    /// Print NDJSON (one object per line) instead of the report.
    #[arg(long)]
    pub json: bool,

    /// Also read pages that are not in memory: never-touched ones (which
    /// hold zeros) and file pages not loaded yet, faulting them into the
    /// target. By default only present and swapped-out pages are read.
    #[arg(long)]
    pub all_pages: bool,

    /// Longest match a regex may make before it can be cut at a chunk
    /// boundary; regexes with a bounded length use their own bound.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MATCH_LEN)]
    pub max_match_len: usize,

    /// Matches kept per target; more are counted but not shown.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_matches: usize,

    /// Bytes shown after each match, for context.
    #[arg(short = 'A', long, value_name = "BYTES", default_value_t = 40)]
    pub after: usize,

    /// Bytes read per chunk (K, M suffixes).
    #[arg(
        long,
        value_name = "SIZE",
        default_value = "1M",
        value_parser = parse_size
    )]
    pub chunk_size: usize,

    /// Reader/scanner thread pairs [default: one per core, at most 4].
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    /// Poll again and again, reporting matches as they appear and go.
    #[arg(short = 'w', long)]
    pub watch: bool,

    /// Time between polls with --watch (500ms, 2s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "2s",
          value_parser = crate::watch::parse_duration)]
    pub interval: std::time::Duration,

    /// Stop after N polls (implies --watch).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Read without searching (a benchmark floor: the copy alone).
    #[arg(long, hide = true)]
    pub no_search: bool,

    /// Log what memscan does on stderr (repeat for more).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

const MAX_MATCH_LEN: usize = 1 << 20;
const MIN_CHUNK: usize = 64 << 10;
const MAX_CHUNK: usize = 256 << 20;

/// Parses `4096`, `64K`, `1M`, `2G` (powers of 1024).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 10),
        Some((i, 'm' | 'M')) => (&t[..i], 20),
        Some((i, 'g' | 'G')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: usize =
        digits.parse().map_err(|_| format!("invalid size {text:?}"))?;
    let bytes = n.checked_shl(shift).filter(|b| b >> shift == n);
    match bytes {
        Some(b) if b > 0 => Ok(b),
        _ => Err(format!("invalid size {text:?}: must be between 1 and 2^63")),
    }
}

/// What to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    Pid(i32),
    Name(String),
    Container(String),
    AllContainers,
}

/// Everything a run needs, checked.
pub struct Config {
    pub selectors: Vec<Selector>,
    pub patterns: Patterns,
    pub settings: Settings,
    pub options: Options,
    pub json: bool,
    pub verbose: u8,
    /// Set for `--watch` (or `--count`).
    pub watch: Option<WatchConfig>,
}

impl Args {
    /// Checks the arguments; the error is one line for the user.
    pub fn into_config(self) -> anyhow::Result<Config> {
        if !(1..=MAX_MATCH_LEN).contains(&self.max_match_len) {
            anyhow::bail!("--max-match-len must be between 1 and 1048576");
        }
        let patterns =
            Patterns::new(&self.patterns, &self.regexes, self.max_match_len)?;
        let mut selectors: Vec<Selector> =
            self.pids.iter().map(|&p| Selector::Pid(p)).collect();
        selectors.extend(self.names.iter().cloned().map(Selector::Name));
        for name in &self.containers {
            // Checked here so a bad name fails before anything is asked.
            crate::container::validate_name(name)?;
            selectors.push(Selector::Container(name.clone()));
        }
        if self.all_containers {
            selectors.push(Selector::AllContainers);
        }
        if selectors.is_empty() {
            anyhow::bail!(
                "no target given: use --pid PID, --name NAME, \
                 --container NAME or --all-containers"
            );
        }
        // One process named twice is scanned once.
        let mut seen = Vec::new();
        selectors.retain(|s| {
            let new = !seen.contains(s);
            seen.push(s.clone());
            new
        });
        if self.count == Some(0) {
            anyhow::bail!("--count must be at least 1");
        }
        // Small chunks mean many jobs (and syscalls); large ones mean
        // large buffers. Both ends are bounded so memory stays small.
        if !(MIN_CHUNK..=MAX_CHUNK).contains(&self.chunk_size) {
            anyhow::bail!("--chunk-size must be between 64K and 256M");
        }
        let mut settings = Settings {
            chunk: self.chunk_size,
            max_hits: self.max_matches,
            after: self.after.min(4096),
            search: !self.no_search,
            ..Settings::default()
        };
        if let Some(n) = self.threads {
            if n == 0 || n > 64 {
                anyhow::bail!("--threads must be between 1 and 64");
            }
            settings.pairs = n;
        }
        Ok(Config {
            selectors,
            patterns,
            settings,
            options: Options { all_pages: self.all_pages },
            json: self.json,
            verbose: self.verbose,
            watch: (self.watch || self.count.is_some()).then_some(
                WatchConfig { interval: self.interval, count: self.count },
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("-1K").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }

    #[test]
    fn missing_target_is_an_error() {
        let args = Args::parse_from(["memscan", "-e", "x"]);
        let err = args.into_config().err().unwrap();
        assert!(err.to_string().contains("--pid"), "{err}");
    }
}
