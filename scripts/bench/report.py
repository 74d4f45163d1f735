"""Turns the raw results of scripts/bench-vs-gcore.sh into the table.

Usage: report.py RAW_DIR OUT.md

RAW_DIR holds, per target KEY, KEY.meta.json (written by the script),
KEY.memscan.rN.json (one hyperfine export per round) and KEY.gcore.json,
plus
machine.json and, when the scanner bench ran, criterion-scanner/. The
table and the goals (from issue 5) are printed and written as markdown;
the exit status is 3 when memscan or gcore missed a planted secret.
Standard library only, so the table never depends on the plotting.
"""

import glob
import json
import os
import statistics
import sys

ORDER = ["python", "256m", "1g", "4g", "sparse"]
GIB = 1 << 30
MIB = 1 << 20


def load(path):
    with open(path) as f:
        return json.load(f)


def medians(raw, key, tool):
    """(median, stddev) in seconds per command name, pooling the runs of
    every hyperfine export of one target and tool (KEY.TOOL.json, or the
    rounds KEY.TOOL.rN.json); fails when a run exited with an error
    (status 2 or more)."""
    paths = [os.path.join(raw, f"{key}.{tool}.json")]
    paths += sorted(glob.glob(os.path.join(raw, f"{key}.{tool}.r*.json")))
    times = {}
    for path in paths:
        if not os.path.exists(path):
            continue
        for result in load(path)["results"]:
            codes = result.get("exit_codes") or []
            bad = [c for c in codes if c not in (0, 1)]
            if bad:
                sys.exit(f"report: {path}: {result['command']} exited {bad[0]}")
            times.setdefault(result["command"], []).extend(result["times"])
    return {
        command: (
            statistics.median(t),
            statistics.stdev(t) if len(t) > 1 else 0.0,
        )
        for command, t in times.items()
    }


def fmt_time(s):
    if s is None:
        return "-"
    if s < 1:
        return f"{s * 1000:.0f} ms" if s >= 0.01 else f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def fmt_bytes(n):
    if n is None:
        return "-"
    if n >= GIB:
        return f"{n / GIB:.2f} GiB"
    if n >= MIB:
        return f"{n / MIB:.0f} MiB" if n >= 10 * MIB else f"{n / MIB:.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n} B"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f} x"


def div(a, b):
    return None if a is None or not b else a / b


def targets(raw):
    rows = []
    for key in ORDER:
        meta_path = os.path.join(raw, f"{key}.meta.json")
        if not os.path.exists(meta_path):
            continue
        meta = load(meta_path)
        scan = medians(raw, key, "memscan")
        gcore = medians(raw, key, "gcore")
        for name, times, command in [
            ("memscan", scan, "memscan"),
            ("floor1", scan, "floor-1"),
            ("floorall", scan, "floor-all"),
            ("gcore", gcore, "gcore+grep"),
        ]:
            median, stddev = times.get(command, (None, None))
            meta[f"t_{name}"] = median
            meta[f"sd_{name}"] = div(stddev, median)
        rows.append(meta)
    return rows


def secrets_cell(r):
    if r["kind"] == "python":
        return (
            f"{r['memscan_matches']} / {r['gcore_matches']} "
            f"({r['printed']}-{r.get('printed_end', '?')} printed)"
        )
    gcore = "-" if r["gcore_matches"] is None else r["gcore_matches"]
    ok = r["memscan_matches"] == r["planted"] and gcore in ("-", r["planted"])
    mark = "ok" if ok else "MISMATCH"
    return f"{r['memscan_matches']} / {gcore} of {r['planted']} {mark}"


def size_cell(r):
    if r["kind"] == "sparse":
        return (
            f"{fmt_bytes(r['size_bytes'])} of "
            f"{fmt_bytes(r['reserved_bytes'])}"
        )
    if r["kind"] == "python":
        return f"{fmt_bytes(r['size_bytes'])} RSS"
    return fmt_bytes(r["size_bytes"])


def table(rows):
    head = [
        "target",
        "size",
        "scanned",
        "memscan",
        "GB/s",
        "floor-1",
        "floor-all",
        "gcore+grep",
        "gcore cold",
        "gcore / memscan",
        "vs floor-1",
        "vs floor-all",
        "memscan peak RSS",
        "target RSS before / after",
        "disk written memscan / gcore",
        "secrets memscan / gcore",
        "σ memscan / floor-1 / floor-all / gcore",
        "other load",
    ]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    for r in rows:
        gbps = div(r["bytes_scanned"], r["t_memscan"])
        gcore_t = r["t_gcore"]
        if r["gcore_skipped"]:
            gcore_cell = "not run"
        else:
            gcore_cell = fmt_time(gcore_t)
        disk_gcore = (
            "not run" if r["gcore_skipped"] else fmt_bytes(r["core_bytes"])
        )
        cells = [
            r["label"],
            size_cell(r),
            fmt_bytes(r["bytes_scanned"]),
            fmt_time(r["t_memscan"]),
            "-" if gbps is None else f"{gbps / 1e9:.2f}",
            fmt_time(r["t_floor1"]),
            fmt_time(r["t_floorall"]),
            gcore_cell,
            fmt_time(r["gcore_cold_s"]),
            fmt_ratio(div(gcore_t, r["t_memscan"])),
            fmt_ratio(div(r["t_floor1"], r["t_memscan"])),
            fmt_ratio(div(r["t_floorall"], r["t_memscan"])),
            fmt_bytes(r["peak_rss_kib"] * 1024),
            f"{fmt_bytes(r['rss_before_kib'] * 1024)} / "
            f"{fmt_bytes(r['rss_after_kib'] * 1024)}",
            f"{fmt_bytes(r['memscan_written_bytes'])} / {disk_gcore}",
            secrets_cell(r),
            " / ".join(
                "-" if r[f"sd_{n}"] is None else f"{r[f'sd_{n}'] * 100:.0f}%"
                for n in ["memscan", "floor1", "floorall", "gcore"]
            ),
            "-"
            if r.get("other_load") is None
            else f"{r['other_load'] * 100:.0f}%",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def scanner_ratios(raw):
    """Throughput of each pattern set relative to one literal, from the
    criterion medians (same bytes each, so a time ratio)."""
    home = os.path.join(raw, "criterion-scanner")
    times = {}
    for name in ["literal_1", "literals_100", "literals_1000", "regex_secret"]:
        path = os.path.join(home, name, "new", "estimates.json")
        if os.path.exists(path):
            times[name] = load(path)["median"]["point_estimate"] * 1e-9
    return times


def goals(rows, scanner):
    by = {r["key"]: r for r in rows}
    out = []

    def add(goal, need, value, ok, note=""):
        if value is None:
            out.append((goal, need, "not run", "-", note))
        else:
            out.append((goal, need, value, "pass" if ok else "FAIL", note))

    for key in ["1g", "4g"]:
        r = by.get(key)
        ratio = r and div(r["t_floor1"], r["t_memscan"])
        add(
            f"throughput vs single-thread floor, {key.upper().replace('G', ' GiB')}",
            ">= 1.4 x",
            ratio and f"{ratio:.2f} x",
            ratio is not None and ratio >= 1.4,
            ratio
            and f"vs all-cores floor {div(r['t_floorall'], r['t_memscan']):.2f} x",
        )
    for key, need in [("1g", 6), ("4g", 6), ("python", 15)]:
        r = by.get(key)
        ratio = r and div(r["t_gcore"], r["t_memscan"])
        name = "Python" if key == "python" else key.upper().replace("G", " GiB")
        cold = r and div(r["gcore_cold_s"], r["t_memscan"])
        add(
            f"faster than steady gcore+grep, {name}",
            f">= {need} x",
            ratio and f"{ratio:.1f} x",
            ratio is not None and ratio >= need,
            cold and f"vs the cold first gcore {cold:.1f} x",
        )
    if rows:
        worst = max(rows, key=lambda r: r["peak_rss_kib"])
        peak = worst["peak_rss_kib"] * 1024
        add(
            "memscan peak RSS, any target",
            "<= 32 MiB",
            f"{fmt_bytes(peak)} ({worst['label']})",
            peak <= 32 * MIB,
        )
    sparse, dense = by.get("sparse"), by.get("256m")
    ratio = sparse and dense and div(sparse["t_memscan"], dense["t_memscan"])
    add(
        "sparse time vs 256 MiB dense",
        "<= 1.5 x",
        ratio and f"{ratio:.2f} x",
        ratio is not None and ratio <= 1.5,
    )
    if sparse:
        grew = sparse["rss_after_kib"] - sparse["rss_before_kib"]
        add(
            "sparse target RSS growth during memscan runs",
            "none",
            f"{grew:+d} KiB",
            grew <= 0,
        )
    else:
        add("sparse target RSS growth during memscan runs", "none", None, 0)
    dense_rows = [r for r in rows if r["kind"] in ("dense", "sparse")]
    if dense_rows:
        bad = [r["label"] for r in dense_rows if "MISMATCH" in secrets_cell(r)]
        add(
            "planted secrets found by memscan and gcore",
            "all",
            "all" if not bad else "mismatch: " + ", ".join(bad),
            not bad,
        )
    one = scanner.get("literal_1")
    for name, need in [("literals_1000", 0.7), ("regex_secret", 0.8)]:
        ratio = one and div(one, scanner.get(name))
        add(
            f"scanner throughput, {name} vs literal_1",
            f">= {need} x",
            ratio and f"{ratio:.2f} x",
            ratio is not None and ratio >= need,
            scanner.get(name)
            and f"{16 * MIB / scanner[name] / 1e9:.2f} GB/s "
            f"vs {16 * MIB / one / 1e9:.2f} GB/s",
        )
    return out


def main():
    raw, out_path = sys.argv[1], sys.argv[2]
    machine = load(os.path.join(raw, "machine.json"))
    rows = targets(raw)
    scanner = scanner_ratios(raw)
    lines = [
        "# memscan vs gcore + grep",
        "",
        f"Measured {machine['date']} by `scripts/bench-vs-gcore.sh"
        f"{' --quick' if machine['quick'] else ''}` at commit "
        f"`{machine['commit']}`: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['mem_gib']} GiB, Linux {machine['kernel']}, "
        f"hyperfine {machine['hyperfine']}, gdb {machine['gdb']}. "
        f"Load average {machine['load_start']} at the start, "
        f"{machine['load_end']} at the end.",
        "",
    ]
    lines += table(rows)
    lines += [
        "",
        "## Goals (issue 5)",
        "",
        "| goal | needed | measured | result | also |",
        "|---|---|---|---|---|",
    ]
    for goal, need, value, result, note in goals(rows, scanner):
        lines.append(f"| {goal} | {need} | {value} | {result} | {note or ''} |")
    lines += [
        "",
        "## How to read it",
        "",
        "- Times are medians of whole command runs (process start, maps,"
        " pagemap, the read and the search), timed by hyperfine; memscan and"
        " its floors in interleaved rounds, pooled. memscan is"
        " `memscan --pid P -e topsecret_`; floor-1 is the same with"
        " `-j 1 --no-search` (one reader, nothing searched: the copy alone),"
        f" floor-all with `-j {machine['cores']} --no-search`.",
        "- GB/s is bytes scanned (memscan's `bytes_scanned`) per second of"
        " memscan's median; `vs floor-N` is the floor's median over"
        " memscan's (above 1: memscan is faster than that floor).",
        "- gcore+grep is `gcore -o DIR/core PID && grep -c topsecret_"
        " DIR/core.PID`, the core deleted before each run; gcore cold is the"
        " first such run against that target, timed alone before hyperfine's"
        " warmup (only the first target's is a cold start of gdb).",
        "- Secrets are counted per occurrence (`grep -ao | wc -l` for the"
        " core). For the Python program the counts differ by design: memscan"
        " also reads file-backed mappings, gcore leaves them out, and the"
        " program keeps making secrets while it is measured.",
        "- σ is each tool's standard deviation over its runs, as a share"
        " of its median: a large one means the machine was busy.",
        "- Other load is the share of the machine's CPU time that went to"
        " processes other than the script's while memscan and its floors"
        " were timed (from /proc/stat): 50% on two cores means one core was"
        " taken for the whole time, and the all-cores numbers mean little.",
        "- memscan peak RSS is the largest `%M` of three runs under"
        " `/usr/bin/time`; disk written is `%O` (the kernel's write_bytes in"
        " 512-byte units) per run; gcore's is the core's size.",
        "- The sparse target is not gcored by default: gdb would write the"
        " whole 64 GiB reservation to disk (`--sparse-gcore` does it once).",
    ]
    lines += ["", "![time vs size](time-vs-size.png)"]
    text = "\n".join(lines) + "\n"
    with open(out_path, "w") as f:
        f.write(text)
    print(text)
    if any("MISMATCH" in secrets_cell(r) for r in rows):
        sys.exit(3)


if __name__ == "__main__":
    main()
