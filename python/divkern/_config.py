"""Runtime configuration: threads, ISA level, and show_config()."""

from __future__ import annotations

import contextlib
import os
import sys

from . import _core

__all__ = ["get_num_threads", "set_num_threads", "get_isa", "show_config"]


def get_num_threads() -> int:
    """Threads a call made on this thread uses when it is not given ``threads=``.

    divkern's setting is process-wide, the same for every Python thread: initially
    OpenMP's default (``OMP_NUM_THREADS``, else the number of CPUs), then
    ``DIVKERN_NUM_THREADS`` or :func:`set_num_threads`. A thread whose OpenMP limit has
    been changed (``threadpoolctl.threadpool_limits``, ``omp_set_num_threads``) uses at
    most that limit for its own calls; its limit counts as changed where it differs from
    OpenMP's default, so a limit equal to that default does not lower a larger setting.

    It is at most ``divkern._validate.MAX_THREADS`` (4 per hardware thread, at most
    1024), and 1 in a process forked after divkern was imported (``os.fork``,
    ``multiprocessing``'s ``"fork"`` start method): OpenMP (libgomp) cannot run a
    parallel region in a forked child, so divkern runs serially there. Use the
    ``"spawn"`` start method for workers that should use threads.
    """
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Set divkern's default number of threads for every thread of the process.

    ``n`` must be an integer ``>= 1`` (``TypeError`` otherwise, ``None`` included;
    ``ValueError`` below 1); larger than ``divkern._validate.MAX_THREADS`` (4 per
    hardware thread, at most 1024) is clipped to it. OpenMP's own setting, shared with
    the other OpenMP users of the process, is left alone. A thread limited by
    ``threadpoolctl`` still uses at most its limit (:func:`get_num_threads`); in a
    forked child divkern runs serially whatever the setting.

    Results are bitwise identical for any thread count.
    """
    from ._validate import check_threads

    _core.set_num_threads(check_threads(n, "n", allow_none=False))


def get_isa() -> str:
    """The SIMD level in use: ``'baseline'``, ``'avx2'`` or ``'avx512'``."""
    return _core.get_isa()


@contextlib.contextmanager
def _isa(name: str):
    """Run a block at another ISA level (for tests and benchmarks)."""
    previous = _core.get_isa()
    _core.set_isa(name)
    try:
        yield
    finally:
        _core.set_isa(previous)


def _available_isas() -> list[str]:
    return [i for i in _core.isa_compiled() if _core.isa_supported(i)]


def _apply_environment() -> None:
    isa = os.environ.get("DIVKERN_ISA", "").strip()
    if isa:
        try:
            _core.set_isa(isa)
        except (ValueError, RuntimeError) as e:
            raise RuntimeError(
                f"DIVKERN_ISA={isa!r} cannot be used: {e}. "
                f"Levels this machine can run: {', '.join(_available_isas())}."
            ) from None
    threads = os.environ.get("DIVKERN_NUM_THREADS", "").strip()
    if threads:
        try:
            n = int(threads)
            if n < 1:
                raise ValueError
        except ValueError:
            raise RuntimeError(f"DIVKERN_NUM_THREADS={threads!r}: expected a positive integer") from None
        from ._validate import check_threads

        _core.set_num_threads(check_threads(n, "DIVKERN_NUM_THREADS"))  # clipped to MAX_THREADS


def show_config(file=None) -> None:
    """Print divkern's version, build and runtime configuration."""
    from . import __version__

    file = sys.stdout if file is None else file
    compiled = _core.isa_compiled()
    supported = [i for i in compiled if _core.isa_supported(i)]
    lines = [
        f"divkern {__version__}",
        f"  CPU              : {_core.cpu_brand()}",
        f"  ISA compiled     : {', '.join(compiled)}",
        f"  ISA supported    : {', '.join(supported)}",
        f"  ISA in use       : {_core.get_isa()}"
        + ("  (forced by DIVKERN_ISA)" if os.environ.get("DIVKERN_ISA") else ""),
        f"  OpenMP           : {'yes' if _core.have_openmp() else 'no (single-threaded build)'}",
        f"  threads          : {_core.get_num_threads()}",
        "  CUDA             : not available (this build has no CUDA module)",
    ]
    print("\n".join(lines), file=file)
