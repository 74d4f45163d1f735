"""Reference target: prints a fresh secret every few seconds, forever.

Each secret is "topsecret_", a counter zero-padded to three digits (it
grows past 999), "_" and 32 lowercase hex characters from 16 random
bytes.  The program keeps no list of old secrets, so earlier ones survive
only in memory the interpreter has freed but not yet reused; that is
exactly what a memory scanner should still find.

SECRET_INTERVAL (seconds, float, default 2) shortens the sleep so that
tests need not wait.  Standard library only.
"""

import os
import secrets
import signal
import sys
import time


def interval():
    """Return the sleep between secrets, or exit 2 on a bad value."""
    raw = os.environ.get("SECRET_INTERVAL", "2")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    # NaN fails both comparisons, so it is rejected here as well.
    if not 0 <= value < 86400:
        print(f"secret.py: bad SECRET_INTERVAL {raw!r}", file=sys.stderr)
        sys.exit(2)
    return value


def main():
    pause = interval()
    counter = 0
    while True:
        counter += 1
        secret = f"topsecret_{counter:03d}_{secrets.token_hex(16)}"
        print(secret, flush=True)
        time.sleep(pause)


if __name__ == "__main__":
    # As PID 1 in a container the default SIGTERM action is ignored, so
    # handle it to let `docker stop` end the program promptly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        main()
    except KeyboardInterrupt:
        pass
