"""Keep freed memory in the process for CPU inference (glibc only).

glibc's ``malloc`` serves blocks above a threshold (128 KiB to 32 MiB, adapting)
with fresh ``mmap`` calls and returns them to the system on ``free``. A CNN's
activations at batch 8 are several MiB each, so every forward pass would then
fault in and zero fresh pages for every layer: on 2 CPU cores this made
EfficientNet-Lite0, whose layers do little arithmetic per byte, run at about
60 windows/s instead of about 135 (ResNet-18, arithmetic-bound, is unaffected).
Raising the thresholds lets freed activations be reused. The arithmetic is
unchanged, so features are identical.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

#: glibc's mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks below this come from the reusable heap instead of fresh mmap calls [bytes].
MMAP_THRESHOLD = 256 * 2**20


@functools.lru_cache(maxsize=1)
def reuse_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True if it applied.

    A no-op (False) on systems without glibc (macOS, Windows, musl).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok_mmap = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    ok_trim = mallopt(_M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD) == 1
    return ok_mmap and ok_trim
