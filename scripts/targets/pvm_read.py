"""Try process_vm_readv(2) on one address of another process.

Used to show that memfd_secret memory cannot be read from outside: the
kernel has no direct-map alias for those pages, so the read fails with
EFAULT even for root.  As a control, the script first reads the start
of the target's stack, which must succeed; otherwise a failure would only
prove missing ptrace rights.

    python3 pvm_read.py PID ADDR [LEN]

Exit 0 when ADDR fails with EFAULT and the control read works, 1 when
ADDR could be read or failed differently, 2 on bad arguments.  The bytes
read are never printed.
"""

import ctypes
import errno
import os
import sys


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


libc = ctypes.CDLL(None, use_errno=True)
libc.process_vm_readv.restype = ctypes.c_ssize_t
libc.process_vm_readv.argtypes = (
    ctypes.c_int,
    ctypes.POINTER(IoVec),
    ctypes.c_ulong,
    ctypes.POINTER(IoVec),
    ctypes.c_ulong,
    ctypes.c_ulong,
)


def read(pid, addr, length):
    """Return (bytes read, errno) for one remote read."""
    buf = ctypes.create_string_buffer(length)
    local = IoVec(ctypes.cast(buf, ctypes.c_void_p), length)
    remote = IoVec(addr, length)
    n = libc.process_vm_readv(pid, local, 1, remote, 1, 0)
    err = ctypes.get_errno() if n < 0 else 0
    ctypes.memset(buf, 0, length)
    return n, err


def stack_start(pid):
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            if line.rstrip().endswith("[stack]"):
                return int(line.split("-", 1)[0], 16)
    return None


def main(argv):
    try:
        pid = int(argv[1])
        addr = int(argv[2], 0)
        length = int(argv[3], 0) if len(argv) > 3 else 64
    except (IndexError, ValueError):
        print("usage: pvm_read.py PID ADDR [LEN]", file=sys.stderr)
        return 2
    control = stack_start(pid)
    if control is None:
        print(f"pid {pid}: no [stack] mapping to read as a control")
        return 1
    n, err = read(pid, control, 64)
    if n != 64:
        print(f"pid {pid}: control read failed: {os.strerror(err)}")
        return 1
    print(f"pid {pid}: control read of [stack] at {control:#x}: 64 bytes")
    n, err = read(pid, addr, length)
    if n >= 0:
        print(f"pid {pid}: read {n} bytes at {addr:#x}")
        return 1
    name = errno.errorcode.get(err, str(err))
    print(f"pid {pid}: read at {addr:#x} failed: {name} ({os.strerror(err)})")
    return 0 if err == errno.EFAULT else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
