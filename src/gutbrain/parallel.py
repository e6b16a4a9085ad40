"""One way to map work over processes or a Dask cluster.

Every parallel loop in gutbrain (cohort groups in :func:`gutbrain.simulate`, the claims'
branches, Sobol samples, bistability grids, the twin's what-if draws, the cohort engine and
the web server's worker pool) goes through :func:`process_pool` or :func:`map_jobs`, so the
start method, the warm-up of compiled code and the Dask path are decided in one place.

Workers are *spawned* by default: the model's compiled code is loaded once per worker (from
the on-disk cache) and no JAX or BLAS thread is forked mid-flight. ``context="fork"`` is for
callers that have already loaded the machine code and want workers to inherit it (Linux).
"""

from __future__ import annotations

import multiprocessing as mp
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["map_jobs", "process_pool"]

T = TypeVar("T")
R = TypeVar("R")


def process_pool(workers: int, *, context: str = "spawn", initializer: Callable[..., object] | None = None,
                 initargs: tuple = ()) -> ProcessPoolExecutor:
    """A process pool of ``workers`` processes started with ``context`` ("spawn" or "fork")."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if context not in mp.get_all_start_methods():
        context = "spawn"
    with warnings.catch_warnings():  # JAX warns about fork in a threaded process; fork callers chose it knowingly
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
        return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(context), initializer=initializer,
                                   initargs=initargs)


def map_jobs(fn: Callable[[T], R], jobs: Iterable[T], *, workers: int = 1, chunksize: int | None = None,
             client: Any = None, initializer: Callable[..., object] | None = None, initargs: tuple = (),
             progress: Callable[[int, int], object] | None = None) -> list[R]:
    """``[fn(j) for j in jobs]``, in order, over ``workers`` processes or a Dask ``client``.

    ``fn`` must be a module-level function (it is pickled). With ``workers <= 1`` or a single job
    it runs in this process (no pool is started). ``chunksize`` defaults to about four chunks per
    worker. ``progress(done, total)`` is called as results arrive (in order).
    """
    items: Sequence[T] = list(jobs)
    if client is not None:
        if initializer is not None:
            client.run(initializer, *initargs)
        futures = client.map(fn, items, pure=False)
        out = []
        for i, f in enumerate(futures):
            out.append(f.result())
            if progress:
                progress(i + 1, len(items))
        return out
    if workers <= 1 or len(items) < 2:
        if initializer is not None:
            initializer(*initargs)
        return _collect(map(fn, items), len(items), progress)
    k = min(workers, len(items))
    size = chunksize or max(1, len(items) // (4 * k))
    with process_pool(k, initializer=initializer, initargs=initargs) as pool:
        return _collect(pool.map(fn, items, chunksize=size), len(items), progress)


def _collect(results: Iterable[R], total: int, progress: Callable[[int, int], object] | None) -> list[R]:
    out = []
    for i, r in enumerate(results):
        out.append(r)
        if progress:
            progress(i + 1, total)
    return out
