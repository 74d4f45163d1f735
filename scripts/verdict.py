#!/usr/bin/env python3
"""Two-line verdict of the demo, from memscan's NDJSON of both targets.

Usage: verdict.py PLAIN.json SECRETMEM.json
The scans behind the files search for whole secrets (the full regex), so
every match is a secret; several copies of one secret count once.
Exits 0 when the plain target leaked at least two whole secrets and the
protected one none, with its protected region reported unreadable.
"""

import json
import sys


def load(path):
    objs = [json.loads(line) for line in open(path)]
    summaries = [o for o in objs if o["type"] == "summary"]
    if not summaries:
        sys.exit(f"verdict: no summary in {path}")
    matches = [o for o in objs if o["type"] == "match"]
    return summaries, matches


def describe(label, path):
    summaries, matches = load(path)
    distinct = len({m["bytes"] for m in matches})
    refused = [r for o in summaries for r in o["unreadable"] if r["protected"]]
    where = summaries[0]["process"].get("container") or {}
    who = where.get("name") or f"pid {summaries[0]['pid']}"
    how = ", ".join(f"{r['kind']} {r['size'] // 1024} KiB {r['errno']}" for r in refused)
    print(f"{label:<13}{who}: {distinct} distinct secrets readable by root "
          f"({len(matches)} copies); protected and unreadable: {how or 'none'}")
    return len(matches), refused


plain, _ = describe("unprotected", sys.argv[1])
secret, refused = describe("memfd_secret", sys.argv[2])
sys.exit(0 if plain >= 2 and secret == 0 and refused else 1)
