"""The machine a command runs on: the memory it may use, and its BLAS threads."""
from __future__ import annotations

import contextlib
import os

__all__ = ["available_memory", "format_bytes", "check_memory", "blas_limit", "THREAD_VARIABLES"]

#: Environment variables that set the BLAS threads; one of them set means the user chose.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def available_memory() -> int | None:
    """Bytes of memory this process may use: the physical memory (``MemAvailable``
    on Linux when readable), or None when unknown."""
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    with contextlib.suppress(ValueError, OSError, AttributeError):
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def check_memory(nbytes: float, what: str) -> None:
    """Refuse up front (``ValueError`` naming ``what`` and the sizes) work whose arrays
    need more than the available memory."""
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise ValueError(f"{what} needs about {format_bytes(nbytes)} of memory, more than the "
                         f"{format_bytes(avail)} available")


def blas_limit(threads: int | None):
    """A context that limits BLAS to ``threads`` threads (``threadpoolctl``; applied at once,
    restored on exit); a null context for None (BLAS's own choice)."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(threads), user_api="blas")
