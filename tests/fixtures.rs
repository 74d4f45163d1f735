//! memscan against `memscan-target`, which plants secrets at known
//! addresses: on the heap, a thread stack, in mappings, across chunk
//! boundaries, after a PROT_NONE page, in a file mapping longer than its
//! file, and in large dense and sparse regions.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

fn target(args: &[&str]) -> (Spawned, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_memscan-target"));
    cmd.args(args).stderr(Stdio::null());
    let mut spawned = Spawned::start(cmd);
    let line = spawned.line(WAIT);
    let info: Value =
        serde_json::from_str(&line).expect("memscan-target json");
    (spawned, info)
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("memscan-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Match addresses and their region kinds, with how often each address
/// was reported.
fn matches(out: &std::process::Output) -> BTreeMap<u64, (usize, String)> {
    let mut found: BTreeMap<u64, (usize, String)> = BTreeMap::new();
    for m in of_type(&ndjson(out), "match") {
        let kind = m["region"]["kind"].as_str().unwrap().to_string();
        found.entry(hex(&m["address"])).or_insert((0, kind)).0 += 1;
    }
    found
}

fn check_fixtures(chunk: &str, chunk_bytes: &str) {
    let dir = tempdir(&format!("fixtures-{chunk}"));
    let (t, info) = target(&[
        "fixtures",
        "--dir",
        dir.to_str().unwrap(),
        "--chunk-size",
        chunk_bytes,
    ]);
    let out = run(&[
        "--pid",
        &t.pid.to_string(),
        "-e",
        "topsecret_9",
        "--json",
        "--chunk-size",
        chunk,
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let found = matches(&out);
    let expected = [
        ("heap", "heap"),
        ("thread_stack", "anonymous"),
        ("anon_mmap", "anonymous"),
        ("straddle", "anonymous"),
        ("after_prot_none", "anonymous"),
        ("short_file", "file"),
    ];
    for secret in info["secrets"].as_array().unwrap() {
        let place = secret["place"].as_str().unwrap();
        let addr = secret["addr"].as_u64().unwrap();
        let (count, kind) = found.get(&addr).unwrap_or_else(|| {
            panic!("{place} secret at {addr:#x} not found: {found:?}")
        });
        assert_eq!(*count, 1, "{place} reported {count} times");
        let want = expected.iter().find(|(p, _)| *p == place).unwrap().1;
        assert_eq!(kind, want, "{place}");
    }
    assert_eq!(info["secrets"].as_array().unwrap().len(), expected.len());
}

#[test]
fn every_planted_secret_found_exactly_once() {
    check_fixtures("1M", "1048576");
}

#[test]
fn straddling_secret_found_once_with_small_chunks() {
    check_fixtures("64K", "65536");
}

#[test]
fn unreadable_pages_inside_a_mapping_are_skipped_exactly() {
    // With --all-pages the two pages past the end of the short file are
    // read too: each fails alone, and the page before them still counts.
    let dir = tempdir("allpages");
    let (t, info) = target(&["fixtures", "--dir", dir.to_str().unwrap()]);
    let out = run(&[
        "--pid",
        &t.pid.to_string(),
        "-e",
        "topsecret_9",
        "--all-pages",
        "--json",
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let found = matches(&out);
    let short = info["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["place"] == "short_file")
        .unwrap()["addr"]
        .as_u64()
        .unwrap();
    assert!(found.contains_key(&short), "short_file secret missing");
    let text = stdout(&run(&[
        "--pid",
        &t.pid.to_string(),
        "-e",
        "topsecret_9",
        "--all-pages",
    ]));
    let file_row =
        text.lines().find(|l| l.trim_start().starts_with("file ")).unwrap();
    assert!(file_row.contains("pages unreadable: EFAULT"), "{file_row}");
}

#[test]
fn dense_target_count_is_exact_across_boundaries() {
    let (t, info) = target(&["bench", "--size", "64M", "--secrets", "64"]);
    for chunk in ["1M", "4M", "64K"] {
        let out = run(&[
            "--pid",
            &t.pid.to_string(),
            "-e",
            "topsecret_",
            "--json",
            "--chunk-size",
            chunk,
        ]);
        let summary = &of_type(&ndjson(&out), "summary")[0].clone();
        assert_eq!(summary["matches"], info["secrets"], "chunk {chunk}");
        let found = matches(&out);
        assert!(
            found.values().all(|(n, _)| *n == 1),
            "a secret reported twice"
        );
    }
}

#[test]
fn sparse_target_scans_only_touched_pages_and_does_not_grow() {
    let (t, info) = target(&[
        "bench",
        "--size",
        "64M",
        "--sparse",
        "16G",
        "--secrets",
        "32",
    ]);
    let rss = || {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", t.pid))
                .unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .unwrap()
            .to_string();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap()
    };
    let before = rss();
    let out =
        run(&["--pid", &t.pid.to_string(), "-e", "topsecret_", "--json"]);
    let after = rss();
    let summary = &of_type(&ndjson(&out), "summary")[0].clone();
    assert_eq!(summary["matches"], info["secrets"]);
    // 16 GiB reserved, 64 MiB touched: far less than the reservation read.
    assert!(summary["bytes_scanned"].as_u64().unwrap() < 1 << 30, "{summary}");
    assert!(
        after <= before + 1024,
        "target grew from {before} to {after} KiB"
    );
}

#[test]
fn target_exiting_during_a_scan_reports_what_was_scanned() {
    let (mut t, _) = target(&["bench", "--size", "1G", "--secrets", "8"]);
    let scan = memscan()
        .args([
            "--pid",
            &t.pid.to_string(),
            "-e",
            "topsecret_",
            "--json",
            "-j",
            "1",
        ])
        .args(["--chunk-size", "64K"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(60));
    t.kill();
    let out = scan.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(101), "memscan panicked");
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&out)
    );
    let summary = &of_type(&ndjson(&out), "summary")[0].clone();
    assert_eq!(summary["exited"], true, "{summary}");
    let scanned = summary["bytes_scanned"].as_u64().unwrap();
    assert!(scanned < 1 << 30, "scanned all {scanned} bytes before the kill");
}
