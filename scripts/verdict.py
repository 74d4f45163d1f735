#!/usr/bin/env python3
"""Two-line verdict of the demo, from memscan's NDJSON of both targets.

Usage: verdict.py PLAIN.json SECRETMEM.json
Exits 0 when the plain target leaked at least two secrets and the
protected one none, with its protected region reported unreadable.
"""

import json
import sys


def summaries(path):
    found = [json.loads(line) for line in open(path)]
    found = [o for o in found if o["type"] == "summary"]
    if not found:
        sys.exit(f"verdict: no summary in {path}")
    return found


def describe(label, objs):
    matches = sum(o["matches"] for o in objs)
    refused = [r for o in objs for r in o["unreadable"] if r["protected"]]
    where = objs[0]["process"].get("container") or {}
    who = where.get("name") or f"pid {objs[0]['pid']}"
    how = ", ".join(f"{r['kind']} {r['size'] // 1024} KiB {r['errno']}" for r in refused)
    print(f"{label:<13}{who}: {matches} plaintext secrets readable by root; "
          f"protected and unreadable: {how or 'none'}")
    return matches, refused


plain, _ = describe("unprotected", summaries(sys.argv[1]))
secret, refused = describe("memfd_secret", summaries(sys.argv[2]))
sys.exit(0 if plain >= 2 and secret == 0 and refused else 1)
