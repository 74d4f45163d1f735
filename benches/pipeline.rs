//! The whole reader+scanner pipeline against a live process, next to the
//! read-only floors it is measured against.
//!
//! The bench starts `memscan-target bench` (256 MiB of heap-like data
//! with 64 planted secrets, `MEMSCAN_BENCH_SIZE` to change it), scans it
//! through the library exactly as the command line does, and times four
//! settings with `Throughput::Bytes` of the bytes actually read:
//!
//! - `search_jN`: the whole pipeline with the default pairs (one per core);
//! - `search_j1`: one pair, to show what the second core buys;
//! - `floor_j1`: one pair, reading without searching (the copy alone);
//! - `floor_jN`: one pair per core, reading without searching.
//!
//! At the end it prints the pipeline's speed as a ratio of each floor,
//! taken from criterion's own estimates. The target is stopped on every
//! exit path: by a drop guard, and by `PR_SET_PDEATHSIG` should the bench
//! itself be killed. Run `cargo bench --bench pipeline` as root (or with
//! ptrace rights over a child, which Yama's default scope allows).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use memscan::pattern::Patterns;
use memscan::pipeline::{Pipeline, Settings};
use memscan::scan::{scan_process, Options};
use memscan::target::{by_pid, Process};

/// Cargo builds the binaries of the package before its benchmarks and
/// says where (see "Environment variables Cargo sets for crates").
const TARGET_EXE: &str = env!("CARGO_BIN_EXE_memscan-target");
const SECRETS: u64 = 64;
const GROUP: &str = "pipeline";

/// A `memscan-target bench` process this bench started; it is stopped and
/// reaped when the guard drops, also when a benchmark panics.
struct Target {
    child: Child,
    pid: i32,
}

impl Target {
    fn start(size: &str) -> Target {
        let mut command = Command::new(TARGET_EXE);
        command
            .args(["bench", "--size", size, "--secrets"])
            .arg(SECRETS.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        // SAFETY: prctl is async-signal-safe and touches no memory of
        // the parent; it only asks for SIGTERM when the bench dies, so a
        // bench killed by Ctrl-C leaves no target behind.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{TARGET_EXE}: cannot start: {e}"));
        let pid = child.id() as i32;
        // From here on the guard owns the child, so a failure below
        // still stops it.
        let mut target = Target { child, pid };
        let stdout = target.child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("memscan-target: cannot read its JSON line");
        let info: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("memscan-target said {line:?}: {e}"));
        assert_eq!(info["pid"], pid, "memscan-target reported another pid");
        assert_eq!(info["secrets"], SECRETS);
        target
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // The target waits for SIGTERM and exits cleanly on it; SIGKILL
        // is the fallback when it does not answer within a second.
        let _ = kill(Pid::from_raw(self.pid), Signal::SIGTERM);
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The settings of one benchmark: the defaults, but for pairs and search.
fn settings(pairs: usize, search: bool) -> Settings {
    Settings { pairs, search, ..Settings::default() }
}

/// One scan of `process`; returns matches and bytes read.
fn scan_once(
    process: &Process,
    patterns: &Patterns,
    pipeline: &mut Pipeline,
) -> (u64, u64) {
    let stop = AtomicBool::new(false);
    let scan =
        scan_process(process, patterns, pipeline, Options::default(), &stop)
            .unwrap_or_else(|e| panic!("scan failed: {e}"));
    assert!(!scan.exited, "the target exited during the bench");
    (scan.total_hits, scan.bytes_scanned())
}

/// Where criterion keeps its results, resolved the way criterion does it,
/// with the bench executable's own target folder as the last resort.
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Path::new(&dir).join("criterion");
    }
    // The bench runs as <target>/<profile>/deps/pipeline-<hash>.
    let exe = std::env::current_exe().expect("current_exe");
    let target = exe.ancestors().nth(3).expect("bench lives in target/*/deps");
    target.join("criterion")
}

/// Criterion's median estimate for one benchmark, in nanoseconds; `None`
/// when it did not run in this process (a filter, or `--test`), so that
/// an old result is never taken for a new one.
fn median_ns(home: &Path, id: &str, since: SystemTime) -> Option<f64> {
    let path = home.join(GROUP).join(id).join("new/estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn main() {
    let size =
        std::env::var("MEMSCAN_BENCH_SIZE").unwrap_or_else(|_| "256M".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let default_pairs = Settings::default().pairs;
    let home = criterion_home();
    let began = SystemTime::now();
    let mut criterion = Criterion::default()
        .output_directory(&home)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    let target = Target::start(&size);
    let process = by_pid(target.pid).expect("the target is alive");
    let patterns = Patterns::new(&["topsecret_".into()], &[], 256).unwrap();

    // The search and the floors must read the same bytes, and the search
    // must find every planted secret, or the ratios mean nothing.
    let mut check = Pipeline::new(settings(default_pairs, true));
    let (found, bytes) = scan_once(&process, &patterns, &mut check);
    assert_eq!(found, SECRETS, "planted secrets found");
    let mut check = Pipeline::new(settings(1, false));
    let (_, floor_bytes) = scan_once(&process, &patterns, &mut check);
    assert_eq!(floor_bytes, bytes, "the floor reads what the search reads");
    eprintln!(
        "pipeline: pid {} ({size}), {bytes} bytes read per scan, \
         {default_pairs} pairs by default, {cores} cores",
        target.pid
    );

    let runs = [
        (format!("search_j{default_pairs}"), settings(default_pairs, true)),
        ("search_j1".to_string(), settings(1, true)),
        ("floor_j1".to_string(), settings(1, false)),
        (format!("floor_j{cores}"), settings(cores, false)),
    ];
    let mut group = criterion.benchmark_group(GROUP);
    group.throughput(Throughput::Bytes(bytes));
    // A scan takes tens of milliseconds, far too long for criterion's
    // linear sampling to fit ten samples in a few seconds.
    group.sampling_mode(SamplingMode::Flat);
    for (id, run) in &runs {
        let mut pipeline = Pipeline::new(*run);
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| scan_once(&process, &patterns, &mut pipeline))
        });
    }
    group.finish();
    criterion.final_summary();
    drop(target);

    let median = |id: &str| median_ns(&home, id, began);
    let search = format!("search_j{default_pairs}");
    if let Some(pipeline) = median(&search) {
        for floor in ["floor_j1".to_string(), format!("floor_j{cores}")] {
            if let Some(ns) = median(&floor) {
                println!(
                    "pipeline: {search} runs at {:.2} x the speed of {floor}",
                    ns / pipeline
                );
            }
        }
    }
}
