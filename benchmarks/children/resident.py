"""A child's own peak resident memory, as its figures report it."""

import resource
import sys


def peak_rss() -> int:
    """The most this process has held resident so far, in bytes.

    On Linux, VmHWM: ru_maxrss would include the parent's peak, which Linux carries over at exec
    (a child of the benchmark, which holds the fake server's data, would report that instead).
    """
    if sys.platform.startswith("linux"):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
