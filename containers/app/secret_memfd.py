"""Protected variant of secret.py: each secret lives only in memfd_secret.

The loop is the same as in secret.py (a counter, a 3-digit zero-padded
number that grows past 999, 16 random bytes as 32 lowercase hex
characters, a pause), but the secret text is never a Python str or bytes
object.  It is assembled byte by byte inside one page of memfd_secret(2)
memory, which the kernel removes from its direct map; process_vm_readv,
/proc/PID/mem and gcore cannot read it, so a scanner that reports a
match here is wrong.

To keep that claim honest, the prefix is written from separate byte
values: this file, its constants and its .pyc hold no contiguous copy of
the prefix that the secrets start with.  The random bytes go from
getrandom(2) straight into the mapping and are hex-encoded in place.

SECRET_INTERVAL (seconds, float, default 2) shortens the pause.  Exits 2
with one line on stderr when memfd_secret is unavailable.  Standard
library only.
"""

import ctypes
import errno
import os
import signal
import sys
import time

# memfd_secret(2) is syscall 447 on x86_64 (arch/x86/entry/syscalls/
# syscall_64.tbl); glibc has no wrapper for it.
SYS_MEMFD_SECRET = 447
PAGE = 4096
PROT_READ = 0x1
PROT_WRITE = 0x2
# secretmem refuses private mappings (secretmem_mmap checks VM_SHARED).
MAP_SHARED = 0x01

# The prefix as byte values, so no contiguous copy of it exists outside
# the mapping: t o p s e c r e t _
PREFIX = (0x74, 0x6F, 0x70, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x5F)
HEX = b"0123456789abcdef"
RANDOM_LEN = 16

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = (
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
)
libc.getrandom.restype = ctypes.c_ssize_t
libc.getrandom.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint)
MAP_FAILED = ctypes.c_void_p(-1).value


def fail(message):
    print(f"secret_memfd.py: {message}", file=sys.stderr)
    sys.exit(2)


def interval():
    """Return the pause between secrets, or exit 2 on a bad value."""
    raw = os.environ.get("SECRET_INTERVAL", "2")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    # NaN fails both comparisons, so it is rejected here as well.
    if not 0 <= value < 86400:
        fail(f"bad SECRET_INTERVAL {raw!r}")
    return value


def explain(err):
    """Name the usual cause of a memfd_secret failure."""
    if err == errno.ENOSYS:
        return "kernel too old or booted with secretmem.enable=0"
    if err in (errno.EAGAIN, errno.ENOMEM):
        return "locked memory limit too low (raise RLIMIT_MEMLOCK)"
    if err == errno.EPERM:
        return "refused, perhaps by a seccomp profile"
    return os.strerror(err)


def secret_page():
    """Create and map one page of memfd_secret memory; return its address."""
    fd = libc.syscall(ctypes.c_long(SYS_MEMFD_SECRET), ctypes.c_long(0))
    if fd < 0:
        err = ctypes.get_errno()
        fail(f"memfd_secret unavailable: {explain(err)}")
    os.ftruncate(fd, PAGE)
    # The memlock charge happens here, in secretmem_mmap, so EAGAIN from
    # a low RLIMIT_MEMLOCK shows up at mmap rather than at creation.
    addr = libc.mmap(None, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
    if addr is None or addr == MAP_FAILED:
        err = ctypes.get_errno()
        fail(f"mmap of memfd_secret failed: {explain(err)}")
    # The mapping keeps the memory alive; the descriptor is not needed.
    os.close(fd)
    return addr


def store(page, addr, counter):
    """Write the secret for counter at the start of page; return its length.

    Only small ints cross between Python and the page, and CPython keeps
    those as shared singletons, so no object ever holds the text.
    """
    ctypes.memset(addr, 0, PAGE)
    pos = 0
    for value in PREFIX:
        page[pos] = value
        pos += 1
    digits = max(3, len(str(counter)))
    for i in range(digits):
        page[pos + digits - 1 - i] = 0x30 + counter // 10**i % 10
    pos += digits
    page[pos] = 0x5F
    pos += 1
    # The random bytes land in the second half of the hex field, and are
    # encoded front to back: output bytes 2i and 2i+1 only ever overwrite
    # random bytes that were already consumed (or byte i itself, which is
    # read first), so no scratch buffer is needed.
    raw = pos + RANDOM_LEN
    got = 0
    while got < RANDOM_LEN:
        n = libc.getrandom(addr + raw + got, RANDOM_LEN - got, 0)
        if n < 0:
            err = ctypes.get_errno()
            if err == errno.EINTR:
                continue
            fail(f"getrandom failed: {os.strerror(err)}")
        got += n
    for i in range(RANDOM_LEN):
        byte = page[raw + i]
        page[pos + 2 * i] = HEX[byte >> 4]
        page[pos + 2 * i + 1] = HEX[byte & 0xF]
    return pos + 2 * RANDOM_LEN


def main():
    pause = interval()
    addr = secret_page()
    page = (ctypes.c_ubyte * PAGE).from_address(addr)
    counter = 0
    while True:
        counter += 1
        length = store(page, addr, counter)
        print(
            f"secret {counter} stored in memfd_secret memory at "
            f"{addr:#x} ({length} bytes)",
            flush=True,
        )
        time.sleep(pause)


if __name__ == "__main__":
    # As PID 1 in a container the default SIGTERM action is ignored, so
    # handle it to let `docker stop` end the program promptly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        main()
    except KeyboardInterrupt:
        pass
