//! The whole reader+scanner pipeline against a live process, next to the
//! read-only floors it is measured against.
//!
//! The bench starts `memscan-target bench` (256 MiB of heap-like data
//! with 64 planted secrets; `MEMSCAN_BENCH_SIZE` changes it, as
//! `MEMSCAN_BENCH_CHUNK` changes the chunk from 1 MiB), scans it
//! through the library exactly as the command line does, and times four
//! settings with `Throughput::Bytes` of the bytes actually read:
//!
//! - `search_jN`: the whole pipeline with the default pairs (one per core);
//! - `search_j1`: one pair, to show what the second core buys;
//! - `floor_j1`: one pair, reading without searching (the copy alone);
//! - `floor_jN`: one pair per core, reading without searching.
//!
//! A second group, `region`, times the same settings on the planted
//! region alone through `Pipeline::run`, without listing maps or reading
//! pagemap, to tell the per-scan setup from the copy; next to them,
//! `fused_jN` is a sketch of another shape for the work (each of N
//! threads fills a buffer and searches it itself, no channels), kept here
//! as evidence for issue 5, not as memscan code; and `copy_j1_page` and
//! `copy_j1_page16` time the bare copy into a page-aligned buffer and
//! into one 16 bytes past a page, to show what buffer alignment costs.
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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use memscan::pattern::Patterns;
use memscan::pipeline::{Job, Pipeline, Settings};
use memscan::reader::Reader;
use memscan::scan::{scan_process, Options};
use memscan::scanner::{scan, Filled, Hits};
use memscan::target::{by_pid, Process};

/// Cargo builds the binaries of the package before its benchmarks and
/// says where (see "Environment variables Cargo sets for crates").
const TARGET_EXE: &str = env!("CARGO_BIN_EXE_memscan-target");
const SECRETS: u64 = 64;
const GROUP: &str = "pipeline";
const REGION_GROUP: &str = "region";
const PAGE: usize = 4096;

/// A `memscan-target bench` process this bench started; it is stopped and
/// reaped when the guard drops, also when a benchmark panics.
struct Target {
    child: Child,
    pid: i32,
    /// The planted region, `start..start + len`.
    start: u64,
    len: u64,
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
        let mut target = Target { child, pid, start: 0, len: 0 };
        let stdout = target.child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("memscan-target: cannot read its JSON line");
        let info: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("memscan-target said {line:?}: {e}"));
        assert_eq!(info["pid"], pid, "memscan-target reported another pid");
        assert_eq!(info["secrets"], SECRETS);
        target.start = info["region_start"].as_u64().expect("region_start");
        target.len = info["region_len"].as_u64().expect("region_len");
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

/// The settings of one benchmark: the defaults, but for pairs, search
/// and, when `MEMSCAN_BENCH_CHUNK` gives one in bytes, the chunk size.
fn settings(pairs: usize, search: bool) -> Settings {
    let chunk = std::env::var("MEMSCAN_BENCH_CHUNK")
        .ok()
        .map(|v| v.parse().expect("MEMSCAN_BENCH_CHUNK is a byte count"))
        .unwrap_or(Settings::default().chunk);
    Settings { pairs, search, chunk, ..Settings::default() }
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

/// The sketch measured as `fused_jN`: each thread takes the next job,
/// fills its own buffer and searches it, so no buffer crosses a thread
/// and the search reads bytes the copy has just left in cache. Returns
/// the matches found.
fn fused(
    reader: &Reader,
    patterns: &Patterns,
    jobs: &[Job],
    buffers: &mut [Vec<u8>],
) -> u64 {
    let next = AtomicUsize::new(0);
    let found = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for buf in buffers.iter_mut() {
            let (next, found) = (&next, &found);
            s.spawn(move || {
                let mut hits = Hits::with_cap(1000);
                while let Some(job) =
                    jobs.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    let want = (job.read_end - job.start) as usize;
                    let (n, err) = reader.fill(job.start, &mut buf[..want]);
                    assert!(err.is_none(), "{:#x}: {err:?}", job.start);
                    let chunk = Filled {
                        buf: std::mem::take(buf),
                        at: 0,
                        len: n,
                        addr: job.start,
                        pre: 0,
                        own: (job.own_end - job.start) as usize,
                        region: job.region,
                    };
                    scan(patterns, &chunk, 0, &mut hits);
                    *buf = chunk.buf;
                }
                found.fetch_add(hits.total as usize, Ordering::Relaxed);
            });
        }
    });
    found.into_inner() as u64
}

/// Times the planted region alone: `Pipeline::run` with and without the
/// search, and the fused sketch, all on the same jobs.
fn bench_region(c: &mut Criterion, target: &Target, patterns: &Patterns) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let default_pairs = Settings::default().pairs;
    let reader = Reader::open(target.pid, Some(target.start)).unwrap();
    let runs = [(0, target.start..target.start + target.len)];
    let probe = Pipeline::new(settings(default_pairs, true));
    let jobs = probe.plan(&runs, patterns);
    let stop = AtomicBool::new(false);

    let mut group = c.benchmark_group(REGION_GROUP);
    group.throughput(Throughput::Bytes(target.len));
    group.sampling_mode(SamplingMode::Flat);
    let shapes = [
        (format!("search_j{default_pairs}"), settings(default_pairs, true)),
        ("floor_j1".to_string(), settings(1, false)),
        (format!("floor_j{cores}"), settings(cores, false)),
    ];
    for (id, run) in &shapes {
        let mut pipeline = Pipeline::new(*run);
        let outcome = pipeline.run(&reader, patterns, &jobs, &stop);
        if run.search {
            assert_eq!(outcome.hits.total, SECRETS, "{id}: planted secrets");
        }
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| pipeline.run(&reader, patterns, &jobs, &stop).hits.total)
        });
    }
    let size = probe.settings().chunk + probe.overlap(patterns);
    let mut buffers = vec![vec![0u8; size]; default_pairs];
    assert_eq!(fused(&reader, patterns, &jobs, &mut buffers), SECRETS);
    group.bench_function(
        BenchmarkId::from_parameter(format!("fused_j{default_pairs}")),
        |b| b.iter(|| fused(&reader, patterns, &jobs, &mut buffers)),
    );
    // The copy alone on one thread, into a page-aligned buffer and into
    // one 16 bytes past a page boundary, which is where glibc puts a
    // large `Vec` (mmap'd chunk plus its 16-byte header).
    let mut raw = vec![0u8; size + 2 * PAGE];
    let aligned = raw.as_ptr().align_offset(PAGE);
    for (id, at) in
        [("copy_j1_page", aligned), ("copy_j1_page16", aligned + 16)]
    {
        let buf = &mut raw[at..at + size];
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| copy_all(&reader, &jobs, buf))
        });
    }
    group.finish();
}

/// Reads every job into `buf`, searching nothing; returns bytes read.
fn copy_all(reader: &Reader, jobs: &[Job], buf: &mut [u8]) -> usize {
    let mut total = 0;
    for job in jobs {
        let want = (job.read_end - job.start) as usize;
        let (n, err) = reader.fill(job.start, &mut buf[..want]);
        assert!(err.is_none(), "{:#x}: {err:?}", job.start);
        total += n;
    }
    total
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
fn median_ns(
    home: &Path,
    group: &str,
    id: &str,
    since: SystemTime,
) -> Option<f64> {
    let path = home.join(group).join(id).join("new/estimates.json");
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
    bench_region(&mut criterion, &target, &patterns);
    criterion.final_summary();
    drop(target);

    for group in [GROUP, REGION_GROUP] {
        let median = |id: &str| median_ns(&home, group, id, began);
        let search = format!("search_j{default_pairs}");
        let Some(pipeline) = median(&search) else { continue };
        for other in [
            "floor_j1".to_string(),
            format!("floor_j{cores}"),
            format!("fused_j{default_pairs}"),
        ] {
            if let Some(ns) = median(&other) {
                println!(
                    "{group}: {search} runs at {:.2} x the speed of {other}",
                    ns / pipeline
                );
            }
        }
    }
    let median = |id: &str| median_ns(&home, REGION_GROUP, id, began);
    if let (Some(page), Some(page16)) =
        (median("copy_j1_page"), median("copy_j1_page16"))
    {
        println!(
            "region: copy_j1_page runs at {:.2} x the speed of copy_j1_page16",
            page16 / page
        );
    }
}
