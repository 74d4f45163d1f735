#!/usr/bin/env bash
# Times memscan against the check it replaces, `gcore PID` + `grep`, on
# targets this script starts itself, and writes the table and the plot.
#
# Usage: scripts/bench-vs-gcore.sh [--quick] [--no-scanner] [--sparse-gcore]
#                                  [--wait-idle SECONDS] [--out DIR]
#   --quick         only the 256 MiB target and the Python program, fewer
#                   runs (under a minute once built); writes to
#                   $CARGO_TARGET_DIR/bench-quick unless --out is given
#   --no-scanner    skip `cargo bench --bench scan` (the scanner ratios)
#   --sparse-gcore  also gcore the sparse target once: gdb writes the whole
#                   64 GiB reservation to disk, so it is off by default
#   --wait-idle S   on a shared machine: before each timed round, wait up
#                   to S seconds for 2 s in which other processes use less
#                   than 10% of the CPU (the table shows the load anyway)
#   --out DIR       where latest.md, time-vs-size.png and raw/ go
#                   (default docs/bench)
#
# Targets: memscan-target bench at 256 MiB, 1 GiB and 4 GiB (dense, 64
# planted secrets each), the sparse case (64 GiB reserved, 256 MiB
# touched) and containers/app/secret.py. For each, hyperfine times memscan
# (-e topsecret_), the single-thread read-only floor (-j 1 --no-search)
# and the all-cores floor (-j <cores> --no-search), interleaved in rounds,
# then gcore + grep -c, after one cold gcore run timed on its own. It checks that memscan and gcore
# count the planted secrets, records memscan's peak RSS and bytes written
# (from /usr/bin/time), the target's RSS before and after memscan, and
# the core's size. scripts/bench/report.py prints the table and writes it
# as markdown; scripts/bench/plot.py draws the plot.
#
# Needs root (memscan and gdb read another process's memory). Installs
# hyperfine, gdb, time and matplotlib when they are missing (apt-get, or
# pip for matplotlib). Only processes started here are measured, and they
# are stopped by their PID on every exit path; core files go to a
# temporary folder that is removed on every exit path.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

quick=0
scanner=1
sparse_gcore=0
idle_wait=0
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --no-scanner) scanner=0 ;;
        --sparse-gcore) sparse_gcore=1 ;;
        --out)
            [ $# -ge 2 ] || { echo "--out needs a folder" >&2; exit 2; }
            out=$2
            shift
            ;;
        --wait-idle)
            [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "--wait-idle needs seconds" >&2; exit 2; }
            idle_wait=$2
            shift
            ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
if [ -z "$out" ]; then
    if [ "$quick" = 1 ]; then out=$CARGO_TARGET_DIR/bench-quick; else out=$root/docs/bench; fi
fi
# The prefix every target's secrets start with.
needle=topsecret_

if [ "$(id -u)" != 0 ] &&
    [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" != 0 ]; then
    echo "bench-vs-gcore: needs root (memscan and gcore read other processes)" >&2
    exit 2
fi

# --- tools ---------------------------------------------------------------

# Prints a python3 that can import matplotlib, if there is one.
plot_python() {
    local py
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null && "$py" -c 'import matplotlib' 2>/dev/null; then
            command -v "$py"
            return 0
        fi
    done
    return 1
}

install_tools() {
    local missing=()
    command -v hyperfine >/dev/null || missing+=(hyperfine)
    command -v gcore >/dev/null || missing+=(gdb)
    [ -x /usr/bin/time ] || missing+=(time)
    plot_python >/dev/null || missing+=(python3-matplotlib)
    [ ${#missing[@]} -gt 0 ] || return 0
    echo "==> installing ${missing[*]}"
    if command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    # Without apt (or without its python3), matplotlib can come from PyPI.
    if ! plot_python >/dev/null; then
        python3 -m pip install --quiet matplotlib
    fi
    local tool
    for tool in hyperfine gcore /usr/bin/time; do
        command -v "$tool" >/dev/null || { echo "bench-vs-gcore: cannot install $tool" >&2; exit 2; }
    done
}

install_tools
py=$(plot_python)

echo "==> building memscan and memscan-target (release)"
cargo build --release --quiet --bins
bin=$CARGO_TARGET_DIR/release
memscan=$bin/memscan
cores=$(nproc)

# --- processes and files we own -----------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/memscan-bench.XXXXXX")
pids=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    # Core files hold the targets' secrets: they never outlive the run.
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

stop_target() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local kept=() pid
    for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
    pids=("${kept[@]}")
}

raw=$work/raw
mkdir -p "$raw" "$work/cwd"

# memscan and its floors are timed in rounds: each round is one hyperfine
# call that runs every command (one warmup, then `scan_runs` runs), and
# report.py pools the rounds. On a shared machine a burst of other work
# then spreads over all three commands instead of skewing one ratio.
if [ "$quick" = 1 ]; then
    rounds=2 scan_runs=3 gcore_warmup=1 gcore_runs=3
else
    rounds=5 scan_runs=3 gcore_warmup=1 gcore_runs=5
fi

# rss_kib PID: the resident set of PID in KiB.
rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# json_field FILE FIELD: a number from the last summary line of memscan --json.
json_field() {
    python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
summary = [l for l in lines if l.get("type") == "summary"][-1]
print(summary[sys.argv[2]])' "$1" "$2"
}

# cpu_ticks: the machine's busy and total clock ticks (from /proc/stat;
# idle and iowait count as not busy), and the ticks this script's reaped
# children used (cutime + cstime, fields 16 and 17 of /proc/PID/stat).
cpu_ticks() {
    local machine own
    machine=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    own=$(awk '{ print $16 + $17 }' "/proc/$$/stat")
    echo "$machine $own"
}

# other_load BEFORE AFTER: the share of the machine's CPU time that went
# to processes other than this script's, between two cpu_ticks.
other_load() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        total = y[2] - x[2]; other = (y[1] - x[1]) - (y[3] - x[3])
        printf "%.2f", (total > 0 && other > 0) ? other / total : 0 }'
}

# wait_idle: with --wait-idle, waits until other processes leave the
# machine alone for 2 s, or until the time given has passed.
wait_idle() {
    [ "$idle_wait" -gt 0 ] || return 0
    local waited=0 before
    while [ "$waited" -lt "$idle_wait" ]; do
        before=$(cpu_ticks)
        sleep 2
        awk -v l="$(other_load "$before" "$(cpu_ticks)")" 'BEGIN { exit !(l < 0.10) }' &&
            return 0
        waited=$((waited + 2))
    done
    echo "    machine still busy after ${idle_wait} s; measuring anyway"
}

# quiet: drops hyperfine's note on each command that exits 1 (the floors
# find nothing by design; report.py checks every exit code).
quiet() {
    { grep -vE '^ *$|Ignoring non-zero exit code' || true; } >&2
}

# seconds START END: the difference of two $EPOCHREALTIME values.
seconds() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'
}

# count_in_core CORE: prefix hits, counted per occurrence (grep -c counts
# lines, and a core has few newlines).
count_in_core() {
    { grep -ao "$needle" "$1" || true; } | wc -l
}

# measure KEY LABEL KIND PID SIZE RESERVED PLANTED PRINTED
# Runs every measurement of one target and writes raw/KEY.*.json.
measure() {
    local key=$1 label=$2 kind=$3 pid=$4 size=$5 reserved=$6 planted=$7 printed=$8
    local scan_args=(--pid "$pid" -e "$needle")
    echo "==> $label (pid $pid)"

    local rss_before
    rss_before=$(rss_kib "$pid")

    # One untimed floor run first: it also takes the hit of the kernel
    # updating the fresh binary's atime, a metadata write that %O would
    # otherwise charge to the first measured run.
    local floor rc
    rc=0
    "$memscan" "${scan_args[@]}" --json -j 1 --no-search >"$work/floor.json" || rc=$?
    [ "$rc" -le 1 ] || { echo "memscan --no-search failed ($rc)" >&2; exit 1; }
    floor=$(json_field "$work/floor.json" bytes_scanned)

    # Correctness and memory: three runs under /usr/bin/time; the
    # peak RSS is the largest, the bytes written the sum (ru_oublock
    # counts 512-byte units of write_bytes, see getrusage(2) and
    # task_io_get_oublock in the kernel). The report goes through a pipe,
    # so that %O counts only what memscan itself writes to disk.
    local peak=0 blocks=0 m o
    for _ in 1 2 3; do
        rc=0
        (cd "$work/cwd" && /usr/bin/time -f '%M %O' -o "$work/time" \
            "$memscan" "${scan_args[@]}" --json | cat >"$work/scan.json") ||
            rc=$?
        [ "$rc" -le 1 ] || { echo "memscan failed ($rc)" >&2; exit 1; }
        # time puts "Command exited with non-zero status" first on exit 1.
        read -r m o < <(tail -n 1 "$work/time")
        [ "$m" -gt "$peak" ] && peak=$m
        blocks=$((blocks + o))
    done
    local found scanned written_files
    found=$(json_field "$work/scan.json" matches)
    scanned=$(json_field "$work/scan.json" bytes_scanned)
    written_files=$(find "$work/cwd" -mindepth 1 | wc -l)
    if [ "$kind" != python ] && [ "$floor" != "$scanned" ]; then
        echo "the floor read $floor bytes, memscan $scanned" >&2
        exit 1
    fi

    # The floors find nothing, so they exit 1: -i lets hyperfine go on,
    # and report.py checks every run's exit code from the JSON.
    local runs=$scan_runs round
    [ "$kind" = python ] && runs=$((scan_runs * 3))
    local other_ticks=0 all_ticks=0 before after
    for round in $(seq 1 "$rounds"); do
        wait_idle
        before=$(cpu_ticks)
        echo "    memscan and floors, round $round of $rounds"
        hyperfine -N -i --style none --warmup 1 --runs "$runs" \
            --export-json "$raw/$key.memscan.r$round.json" \
            -n memscan "$memscan ${scan_args[*]}" \
            -n floor-1 "$memscan ${scan_args[*]} -j 1 --no-search" \
            -n floor-all "$memscan ${scan_args[*]} -j $cores --no-search" 2>&1 |
            quiet
        after=$(cpu_ticks)
        read -r other_ticks all_ticks < <(awk -v a="$before" -v b="$after" \
            -v o="$other_ticks" -v t="$all_ticks" 'BEGIN {
                split(a, x, " "); split(b, y, " ")
                other = (y[1] - x[1]) - (y[3] - x[3])
                print o + (other > 0 ? other : 0), t + y[2] - x[2] }')
    done
    local other
    other=$(awk -v o="$other_ticks" -v t="$all_ticks" \
        'BEGIN { printf "%.2f", (t > 0) ? o / t : 0 }')

    local rss_after
    rss_after=$(rss_kib "$pid")

    # gcore writes core.PID under the prefix given with -o.
    local core=$work/core.$pid gcore_found=null cold=null core_bytes=null
    local gcore_blocks=null skipped=null
    # gdb 13 writes never-touched pages out as zeros, not as holes (a
    # 2 GiB reservation with 16 MiB touched made a 2 GiB core).
    local free
    free=$(df -B1 --output=avail "$work" | tail -n 1)
    if [ "$kind" = sparse ] && [ "$sparse_gcore" = 0 ]; then
        skipped='"gdb would write the 64 GiB reservation to disk (--sparse-gcore)"'
    elif [ "$kind" = sparse ] && [ "$free" -lt $((reserved + (8 << 30))) ]; then
        skipped='"not enough free disk for a 64 GiB core"'
    else
        local start end
        wait_idle
        start=$EPOCHREALTIME
        echo "    gcore, cold"
        /usr/bin/time -f '%O' -o "$work/time" gcore -o "$work/core" "$pid" >/dev/null 2>&1
        grep -c "$needle" "$core" >/dev/null || true
        end=$EPOCHREALTIME
        cold=$(seconds "$start" "$end")
        gcore_blocks=$(tail -n 1 "$work/time")
        core_bytes=$(stat -c %s "$core")
        gcore_found=$(count_in_core "$core")
        rm -f "$core"
        if [ "$kind" != sparse ]; then
            # Each 4 GiB run writes 4 GiB to disk: three are enough.
            local runs=$gcore_runs
            [ "$size" -lt $((4 << 30)) ] || runs=$((gcore_runs < 3 ? gcore_runs : 3))
            wait_idle
            echo "    gcore + grep"
            hyperfine -i --style none --warmup "$gcore_warmup" --runs "$runs" \
                --prepare "rm -f $core" --export-json "$raw/$key.gcore.json" \
                -n gcore+grep "gcore -o $work/core $pid >/dev/null 2>&1 && grep -c $needle $core >/dev/null" 2>&1 |
                quiet
            rm -f "$core"
        fi
    fi

    cat >"$raw/$key.meta.json" <<EOF
{"key": "$key", "label": "$label", "kind": "$kind", "pid": $pid,
 "size_bytes": $size, "reserved_bytes": $reserved,
 "planted": $planted, "printed": $printed,
 "memscan_matches": $found, "gcore_matches": $gcore_found,
 "bytes_scanned": $scanned, "floor_bytes_scanned": $floor,
 "peak_rss_kib": $peak, "memscan_written_bytes": $((blocks * 512 / 3)),
 "memscan_files_left": $written_files,
 "rss_before_kib": $rss_before, "rss_after_kib": $rss_after,
 "gcore_cold_s": $cold, "core_bytes": $core_bytes,
 "gcore_written_blocks": $gcore_blocks, "gcore_skipped": $skipped,
 "other_load": $other}
EOF
}

# bench_target KEY LABEL SIZE [RESERVE]: starts memscan-target, measures
# it, stops it.
bench_target() {
    local key=$1 label=$2 size=$3 reserve=${4:-}
    local args=(bench --size "$size" --secrets 64) kind=dense
    [ -n "$reserve" ] && { args+=(--sparse "$reserve"); kind=sparse; }
    "$bin/memscan-target" "${args[@]}" >"$work/$key.target" 2>"$work/$key.err" &
    local pid=$!
    pids+=("$pid")
    # Filling 4 GiB takes a while; the JSON line says it is done.
    local waited=0
    until [ -s "$work/$key.target" ]; do
        kill -0 "$pid" 2>/dev/null || { cat "$work/$key.err" >&2; exit 1; }
        [ "$waited" -lt 3000 ] || { echo "memscan-target: no answer" >&2; exit 1; }
        sleep 0.1
        waited=$((waited + 1))
    done
    local planted bytes reserved
    read -r planted bytes reserved < <(python3 -c '
import json, sys
t = json.loads(open(sys.argv[1]).readline())
assert t["pid"] == int(sys.argv[2]), "memscan-target reported another pid"
print(t["secrets"], t["touched"], t["region_len"])' "$work/$key.target" "$pid")
    [ -n "$reserve" ] || reserved=$bytes
    measure "$key" "$label" "$kind" "$pid" "$bytes" "$reserved" "$planted" null
    stop_target "$pid"
}

bench_python() {
    python3 -u containers/app/secret.py >"$work/python.out" 2>&1 &
    local pid=$!
    pids+=("$pid")
    # Two secrets printed (one now, one 2 s later) before the first scan.
    sleep 2.5
    kill -0 "$pid" 2>/dev/null || { cat "$work/python.out" >&2; exit 1; }
    measure python "Python secret.py" python "$pid" \
        "$(($(rss_kib "$pid") * 1024))" 0 null "$(wc -l <"$work/python.out")"
    # Secrets printed by the end of the measurements.
    python3 - "$raw/python.meta.json" "$(wc -l <"$work/python.out")" <<'EOF'
import json, sys
meta = json.load(open(sys.argv[1]))
meta["printed_end"] = int(sys.argv[2])
json.dump(meta, open(sys.argv[1], "w"))
EOF
    stop_target "$pid"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')

bench_target 256m "256 MiB dense" 256M
if [ "$quick" = 0 ]; then
    bench_target 1g "1 GiB dense" 1G
    bench_target 4g "4 GiB dense" 4G
    bench_target sparse "sparse: 256 MiB of 64 GiB" 256M 64G
fi
bench_python

if [ "$quick" = 0 ] && [ "$scanner" = 1 ]; then
    echo "==> scanner throughput (cargo bench --bench scan)"
    cargo bench --quiet --bench scan -- scanner/ >"$work/scan-bench.log" 2>&1 ||
        { cat "$work/scan-bench.log" >&2; exit 1; }
    cp -r "$CARGO_TARGET_DIR/criterion/scanner" "$raw/criterion-scanner"
fi

# Virtual machines often name the CPU only by brand; family and model
# tell its generation.
cpu=$(awk -F': ' '/^model name/ { n = $2 } /^cpu family/ { f = $2 }
    /^model[^ ]*\t*:/ && !/name/ { m = $2 }
    END { printf "%s (family %s, model %s)", n, f, m }' /proc/cpuinfo)
mem_gib=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
cat >"$raw/machine.json" <<EOF
{"date": "$started", "kernel": "$(uname -r)", "cpu": "$cpu",
 "cores": $cores, "mem_gib": $mem_gib,
 "commit": "$(git describe --always --dirty 2>/dev/null || echo unknown)",
 "quick": $([ "$quick" = 1 ] && echo true || echo false),
 "hyperfine": "$(hyperfine --version | cut -d' ' -f2)",
 "gdb": "$(gdb --version | head -n1 | awk '{ print $NF }')",
 "load_start": "$load_start", "load_end": "$(cut -d' ' -f1-3 /proc/loadavg)"}
EOF

mkdir -p "$out"
rm -rf "$out/raw"
cp -r "$raw" "$out/raw"
# report.py exits 3 when the tools disagree on the planted secrets; the
# plot is still drawn, and the status passed on.
rc=0
python3 scripts/bench/report.py "$out/raw" "$out/latest.md" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] || exit "$rc"
"$py" scripts/bench/plot.py "$out/raw" "$out/time-vs-size.png"
echo "==> wrote $out/latest.md and $out/time-vs-size.png"
[ "$rc" = 0 ] || echo "bench-vs-gcore: memscan and gcore disagree on the planted secrets" >&2
exit "$rc"
