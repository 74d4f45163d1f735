//! The reference scenario: the plain Python program leaks its secrets to
//! memscan, the memfd_secret one does not, and memscan says why.

mod common;

use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn plain_program_secrets_found_with_their_regions() {
    let mut target = python("secret.py", "0.1");
    let mut printed = Vec::new();
    for _ in 0..3 {
        printed.push(target.line(WAIT));
    }
    let pid = target.pid.to_string();
    // Forty bytes after the prefix hold the rest of any secret.
    let out = run(&["--pid", &pid, "-e", "topsecret_", "-A", "36", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects = ndjson(&out);
    let matches = of_type(&objects, "match");
    assert!(matches.len() >= 2, "only {} matches", matches.len());
    for m in &matches {
        let kind = m["region"]["kind"].as_str().unwrap();
        assert!(
            ["heap", "anonymous", "stack"].contains(&kind),
            "a secret in a {kind} region: {m}"
        );
        let addr = hex(&m["address"]);
        let start = hex(&m["region"]["start"]);
        assert_eq!(addr - start, m["offset"].as_u64().unwrap());
    }
    // The secret the program holds right now is in memory, whole.
    let texts: Vec<String> = matches
        .iter()
        .map(|m| {
            format!(
                "{}{}",
                m["bytes"].as_str().unwrap(),
                m["after"].as_str().unwrap()
            )
        })
        .collect();
    let newest = target.line(WAIT);
    let out = run(&["--pid", &pid, "-e", &newest]);
    assert_eq!(out.status.code(), Some(0), "newest secret not found");
    assert!(texts
        .iter()
        .any(|t| printed.iter().any(|p| t.starts_with(p.as_str()))));

    let summary = &of_type(&objects, "summary")[0];
    assert_eq!(summary["matches"].as_u64().unwrap(), matches.len() as u64);
    assert_eq!(summary["exited"], false);
}

#[test]
fn secretmem_program_has_no_match_and_a_protected_region() {
    let mut target = python("secret_memfd.py", "0.1");
    target.line(WAIT);
    target.line(WAIT);
    let pid = target.pid.to_string();

    let out = run(&["--pid", &pid, "-e", "topsecret_", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let objects = ndjson(&out);
    assert!(of_type(&objects, "match").is_empty());
    let summary = of_type(&objects, "summary")[0];
    let refused: Vec<&serde_json::Value> = summary["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "secretmem")
        .collect();
    assert!(!refused.is_empty(), "no secretmem region in {summary}");
    for r in refused {
        assert_eq!(r["protected"], true);
        assert_eq!(r["errno"], "EFAULT");
    }

    // The human report says the same in its table and verdict.
    let out = run(&["--pid", &pid, "-e", "topsecret_"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("protected, unreadable: EFAULT"), "{text}");
    let verdict = text.trim_end().lines().last().unwrap();
    assert!(verdict.starts_with("no matches in pid"), "{verdict}");
    assert!(
        verdict.contains("protected region") && verdict.contains("EFAULT"),
        "{verdict}"
    );
}

#[test]
fn regex_finds_the_live_secret_whole() {
    // A long interval: the secret printed is the one the program holds
    // while memscan reads it.
    let mut target = python("secret.py", "60");
    let live = target.line(WAIT);
    let pid = target.pid.to_string();
    let re = "topsecret_[0-9]{3}_[0-9a-f]{32}";
    let out = run(&["--pid", &pid, "-E", re, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects = ndjson(&out);
    let found: Vec<&str> = of_type(&objects, "match")
        .iter()
        .map(|m| m["bytes"].as_str().unwrap())
        .collect();
    assert!(found.iter().all(|s| s.len() == 46), "{found:?}");
    assert!(found.contains(&live.as_str()), "{live} not in {found:?}");
}
