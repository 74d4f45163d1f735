"""Check memscan-target from the outside, the way memscan will see it.

    python3 check_target.py PATH/TO/memscan-target [--big]

fixtures: every reported address holds a well-formed secret (read with
process_vm_readv), each place has the property it claims (chunk
boundary, PROT_NONE page before, pages past EOF, heap, thread stack),
reading every readable page of the process finds exactly the 6 planted
secrets, and gcore finds 5, with the default coredump_filter and with
0x3f alike.  The default leaves out file-backed private mappings; 0x3f
includes them (and so the binary's text and rodata), but gdb writes the
short_file mapping as zeros, first page included, because the read of
its pages past EOF fails.  SIGTERM ends the target with status 0 and
removes the file it made.

bench: a 64 MiB dense instance holds exactly 64 secrets by gcore (both
filters), by reading its region and by reading the whole process; a
64 GiB sparse reservation with 256 MiB touched holds exactly 64 in its
present pages, and its Rss is about 256 MiB.  With --big, also time a
dense 1 GiB fill.

Only processes started here are inspected, and they are killed by PID
in every exit path.  Secret bytes are never printed.  Exit 0 when all
checks pass, 1 otherwise.
"""

import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile
import time

NEEDLE = b"top" + b"secret_"
SECRET = re.compile(re.escape(NEEDLE) + rb"(\d{3,})_[0-9a-f]{32}")
PAGE = 4096
CHUNK = 1 << 20


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


libc = ctypes.CDLL(None, use_errno=True)
libc.process_vm_readv.restype = ctypes.c_ssize_t


def read(pid, addr, length):
    """Read remote memory; return bytes (maybe short) or None on error."""
    buf = ctypes.create_string_buffer(length)
    local = IoVec(ctypes.cast(buf, ctypes.c_void_p), length)
    remote = IoVec(addr, length)
    n = libc.process_vm_readv(
        pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0
    )
    return None if n < 0 else buf.raw[:n]


def maps(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split(maxsplit=5)
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5].strip() if len(fields) > 5 else ""
            yield lo, hi, fields[1], name


def mapping_of(pid, addr):
    for lo, hi, perms, name in maps(pid):
        if lo <= addr < hi:
            return lo, hi, perms, name
    return None


def count_process(pid):
    """Count the needle in every readable page of every mapping.

    Reads go page by page after a short read, since process_vm_readv
    stops at the first page it cannot read.
    """
    total = 0
    for lo, hi, perms, name in list(maps(pid)):
        if perms[0] != "r" or name in ("[vvar]", "[vvar_vclock]"):
            continue
        carry = b""
        addr = lo
        while addr < hi:
            got = read(pid, addr, min(CHUNK, hi - addr))
            if not got:
                carry = b""
                addr += PAGE
                continue
            data = carry + got
            total += data.count(NEEDLE)
            # Shorter than the needle, so no match is counted twice.
            carry = data[-(len(NEEDLE) - 1):]
            addr += len(got)
    return total


def gcore_count(pid, tmp, coredump_filter=None):
    if coredump_filter is not None:
        with open(f"/proc/{pid}/coredump_filter", "w") as f:
            f.write(coredump_filter)
    prefix = os.path.join(tmp, "core")
    subprocess.run(
        ["gcore", "-o", prefix, str(pid)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    path = f"{prefix}.{pid}"
    try:
        with open(path, "rb") as f:
            return f.read().count(NEEDLE)
    finally:
        os.remove(path)


def start(args):
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        return proc, json.loads(proc.stdout.readline())
    except ValueError:
        stop(proc)
        raise RuntimeError(
            f"{args[1]}: no JSON line, exit {proc.returncode}"
        ) from None


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


class Checks:
    def __init__(self):
        self.failed = 0

    def expect(self, ok, what):
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
        self.failed += not ok


def check_fixtures(binary, checks, tmp):
    chunk = 1 << 20
    files = os.path.join(tmp, "files")
    os.mkdir(files)
    proc, info = start([binary, "fixtures", "--dir", files])
    try:
        pid = info["pid"]
        checks.expect(pid == proc.pid, "fixtures: pid matches")
        places = {s["place"]: s for s in info["secrets"]}
        checks.expect(len(places) == 6, f"fixtures: 6 places {list(places)}")
        numbers = set()
        for place, s in places.items():
            data = read(pid, s["addr"], s["len"])
            m = data and SECRET.fullmatch(data)
            checks.expect(bool(m), f"{place}: well-formed secret")
            if m:
                numbers.add(m.group(1))
        checks.expect(len(numbers) == 6, "fixtures: numbers are distinct")
        heap = mapping_of(pid, places["heap"]["addr"])
        checks.expect(heap[3] == "[heap]", f"heap: in {heap[3]!r}")
        stack = mapping_of(pid, places["thread_stack"]["addr"])
        checks.expect(
            stack[3] == "" and stack[2] == "rw-p",
            f"thread_stack: in an anonymous {stack[2]} mapping",
        )
        anon = mapping_of(pid, places["anon_mmap"]["addr"])
        checks.expect(anon[3] == "", "anon_mmap: in an anonymous mapping")
        addr = places["straddle"]["addr"]
        checks.expect(
            (addr + 7) % chunk == 0,
            "straddle: 7 bytes before a 1 MiB multiple",
        )
        addr = places["after_prot_none"]["addr"]
        hole = mapping_of(pid, addr - PAGE)
        checks.expect(
            addr % PAGE == 0
            and hole[2] == "---p"
            and hole[1] - hole[0] == PAGE
            and read(pid, addr - PAGE, 1) is None,
            "after_prot_none: page-aligned, right after one ---p page",
        )
        addr = places["short_file"]["addr"]
        lo, hi, perms, name = mapping_of(pid, addr)
        checks.expect(
            addr - lo == 100
            and hi - lo == 3 * PAGE
            and perms == "r--p"
            and name.startswith(files),
            f"short_file: offset 100 of a 3-page r--p map of {name}",
        )
        got = read(pid, lo, 3 * PAGE)
        checks.expect(
            got is not None and len(got) == PAGE,
            "short_file: a read of all 3 pages stops after page 1",
        )
        n = count_process(pid)
        checks.expect(n == 6, f"fixtures: whole-process read finds {n}")
        n = gcore_count(pid, tmp)
        checks.expect(n == 5, f"fixtures: gcore finds {n}, want 5")
        n = gcore_count(pid, tmp, "0x3f")
        checks.expect(n == 5, f"fixtures: gcore 0x3f finds {n}, want 5")
    finally:
        stop(proc)

    proc, info = start([binary, "fixtures", "--dir", files])
    try:
        proc.terminate()
        code = proc.wait(timeout=10)
    finally:
        stop(proc)
    # The first instance was killed with SIGKILL and left its file.
    mine = f"memscan-target-{info['pid']}.bin"
    checks.expect(
        code == 0 and mine not in os.listdir(files),
        f"fixtures: SIGTERM exits {code} and removes the file",
    )


def count_region(pid, start, length):
    """Count the needle in present pages of start..start+length."""
    total = 0
    carry = b""
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for addr in range(start, start + length, CHUNK):
            size = min(CHUNK, start + length - addr)
            pagemap.seek(addr // PAGE * 8)
            entries = pagemap.read(size // PAGE * 8)
            present = any(
                entries[i + 7] & 0x80 for i in range(0, len(entries), 8)
            )
            if not present:
                # Absent anonymous pages read as zeros: nothing to find.
                carry = b""
                continue
            data = carry + read(pid, addr, size)
            total += data.count(NEEDLE)
            carry = data[-(len(NEEDLE) - 1):]
    return total


def rss_of(pid, start):
    with open(f"/proc/{pid}/smaps") as f:
        inside = False
        for line in f:
            if re.match(r"[0-9a-f]+-", line):
                inside = int(line.split("-")[0], 16) == start
            elif inside and line.startswith("Rss:"):
                return int(line.split()[1]) * 1024
    return None


def check_bench(binary, checks, tmp, big):
    proc, info = start([binary, "bench", "--size", "64M"])
    try:
        pid = info["pid"]
        start_, length = info["region_start"], info["region_len"]
        checks.expect(info["secrets"] == 64, "bench 64M: reports 64")
        n = count_region(pid, start_, length)
        checks.expect(n == 64, f"bench 64M: region read finds {n}")
        n = count_process(pid)
        checks.expect(n == 64, f"bench 64M: whole-process read finds {n}")
        n = gcore_count(pid, tmp)
        checks.expect(n == 64, f"bench 64M: gcore finds {n}, want 64")
        n = gcore_count(pid, tmp, "0x3f")
        checks.expect(n == 64, f"bench 64M: gcore 0x3f finds {n}, want 64")
        last = read(pid, start_ + length - 46, 46)
        checks.expect(
            bool(SECRET.fullmatch(last)), "bench 64M: secret in last bytes"
        )
    finally:
        stop(proc)

    began = time.monotonic()
    proc, info = start([binary, "bench", "--size", "256M", "--sparse", "64G"])
    took = time.monotonic() - began
    try:
        pid = info["pid"]
        start_, length = info["region_start"], info["region_len"]
        checks.expect(length == 64 << 30, "sparse: 64 GiB region")
        rss = rss_of(pid, start_)
        checks.expect(
            256 << 20 <= rss < 260 << 20, f"sparse: Rss {rss >> 20} MiB"
        )
        n = count_region(pid, start_, length)
        checks.expect(n == 64, f"sparse: present pages hold {n}, want 64")
        print(f"     sparse 256M in 64G ready in {took:.2f} s")
    finally:
        stop(proc)

    if big:
        began = time.monotonic()
        proc, info = start([binary, "bench", "--size", "1G"])
        took = time.monotonic() - began
        stop(proc)
        checks.expect(took < 5, f"bench 1G: ready in {took:.2f} s")


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    binary = os.path.abspath(argv[1])
    checks = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            check_fixtures(binary, checks, tmp)
            check_bench(binary, checks, tmp, "--big" in argv)
        except (OSError, RuntimeError, subprocess.SubprocessError) as err:
            checks.expect(False, f"check stopped: {err}")
    print(f"{checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
