"""Draws time vs size from the raw results of scripts/bench-vs-gcore.sh.

Usage: plot.py RAW_DIR OUT.png

One line per tool (memscan, the two read-only floors, gcore + grep) over
the bytes each target had to be read (memscan's bytes_scanned), log-log.
The sparse target reads what the 256 MiB one reads, so it is drawn as
separate points rather than on the lines.
"""

import json
import os
import sys

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# report.py sits next to this file, so it is on the path.
from report import medians  # noqa: E402

ORDER = ["python", "256m", "1g", "4g"]
TOOLS = [
    ("memscan", "memscan", "memscan", "C0", "o", "-"),
    ("memscan", "floor-1", "read-only floor, 1 thread", "C2", "v", "--"),
    ("memscan", "floor-all", "read-only floor, all cores", "C1", "^", "--"),
    ("gcore", "gcore+grep", "gcore + grep -c (steady)", "C3", "s", "-"),
]


def load(path):
    with open(path) as f:
        return json.load(f)


def median(raw, key, kind, command):
    return medians(raw, key, kind).get(command, (None, None))[0]


def main():
    raw, out_path = sys.argv[1], sys.argv[2]
    machine = load(os.path.join(raw, "machine.json"))
    metas = {}
    for key in ORDER + ["sparse"]:
        path = os.path.join(raw, f"{key}.meta.json")
        if os.path.exists(path):
            metas[key] = load(path)

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    for kind, command, label, color, marker, style in TOOLS:
        points = []
        for key in ORDER:
            if key in metas:
                t = median(raw, key, kind, command)
                if t is not None:
                    points.append((metas[key]["bytes_scanned"] / 2**20, t))
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, style, color=color, marker=marker, label=label)
    if "sparse" in metas:
        x = metas["sparse"]["bytes_scanned"] / 2**20
        for kind, command, label, color, marker, _ in TOOLS[:3]:
            t = median(raw, "sparse", kind, command)
            if t is not None:
                ax.plot(
                    [x * 1.12], [t], marker=marker, color=color,
                    markerfacecolor="none", linestyle="none",
                )
        t = median(raw, "sparse", "memscan", "memscan")
        if t is not None:
            ax.annotate(
                "hollow: sparse, 64 GiB reserved",
                (x * 1.12, t), xytext=(12, -18),
                textcoords="offset points", fontsize=8,
            )
    for key in ORDER:
        if key in metas:
            x = metas[key]["bytes_scanned"] / 2**20
            t = median(raw, key, "gcore", "gcore+grep")
            if t is not None:
                name = "Python" if key == "python" else metas[key]["label"]
                ax.annotate(
                    name.replace(" dense", ""), (x, t), xytext=(-10, 8),
                    textcoords="offset points", fontsize=8, ha="right",
                )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(
            lambda x, _: f"{x / 1024:g} GiB" if x >= 1024 else f"{x:g} MiB"
        )
    )
    ax.yaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(
            lambda y, _: f"{y:g} s" if y >= 1 else f"{y * 1000:g} ms"
        )
    )
    ax.set_xlabel("memory read (memscan's bytes_scanned), log scale")
    ax.set_ylabel("wall time, median, log scale")
    ax.set_title(
        f"memscan vs gcore + grep ({machine['cores']} cores, "
        f"{machine['date'][:10]})"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    fig.savefig(out_path)


if __name__ == "__main__":
    main()
