"""Virtual cohorts at scale: simulate patients chunk by chunk into a resumable Zarr store.

>>> from gutbrain import load_model
>>> from gutbrain.cohort import Cohort
>>> run = Cohort(load_model(), n=1000, seed=1).run("western-diet", days=180, store="run.zarr")  # doctest: +SKIP
>>> ds = run.open()                                                                           # doctest: +SKIP

Each task simulates one chunk of patients and writes its own region of the store, then sets
that chunk's ``done`` flag. Re-running the same call skips every chunk whose flag is set, so a
run killed at any moment (even by SIGKILL) resumes without recomputing, losing or duplicating
anything. Only one chunk's results per worker are ever in memory. See ``docs/cohort.md``.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import DISCLAIMER, InputError, suggest
from ..model.assemble import Model
from . import store as _store
from .sampling import _validate, sample_blocks, sample_matrix

__all__ = ["DEFAULT_OUTPUTS", "EXECUTORS", "REDUCTIONS", "Cohort", "RunResult", "auto_chunk", "run_chunk"]

#: main read-outs stored by default (gad7, phq9: questionnaire scores with their 14-day recall window; the
#: instantaneous state measures gad7_state, phq9_state can be asked for by name)
DEFAULT_OUTPUTS = ("gad7", "phq9", "CORT", "CRP", "IL6", "lm_ratio", "plasma_endotoxin", "portal_butyrate", "glucose",
                   "hrv_rmssd", "beneficial", "kyn_trp")
REDUCTIONS = ("daily", "none", "summary")
EXECUTORS = ("local", "dask", "serial")
SCHEDULER_TIMEOUT_S = 5.0

# scipy's odeint (LSODA, Fortran COMMON blocks) is not re-entrant: serialise integrations within a
# process so that thread-based Dask workers stay correct (uncontended, hence free, in worker processes).
_SOLVER_LOCK = threading.Lock()
_BASE_CACHE: dict[str, Model] = {}


def auto_chunk(n: int) -> int:
    """Default chunk size: depends on ``n`` only (so a resumed run finds the same chunking)."""
    return int(min(n, max(1, min(32, math.ceil(n / 64)))))


@dataclass
class RunResult:
    """What :meth:`Cohort.run` did. ``open()`` returns the store as an :class:`xarray.Dataset`."""

    path: str
    n: int
    chunk: int
    n_chunks: int
    chunks_skipped: int
    chunks_run: int
    n_ok: int
    n_failed: int
    wall_s: float
    attrs: dict = field(repr=False, default_factory=dict)

    @property
    def patients_per_s(self) -> float:
        done = min(self.n, self.chunks_run * self.chunk)
        return done / self.wall_s if self.wall_s > 0 else float("nan")

    def open(self, decode: bool = True):
        return _store.open_cohort(self.path, decode=decode)


# ------------------------------------------------------------------------------------------------
# The task: one chunk, run in a worker process (or thread)
# ------------------------------------------------------------------------------------------------
def _base_model(spec: dict) -> Model:
    key = spec["parameter_hash"]
    m = _BASE_CACHE.get(key)
    if m is None:
        m = Model(parameters=dict(spec["parameters"]), name=spec["model"])
        if m.structure.digest != spec["structure_digest"]:
            raise RuntimeError(f"worker builds model structure {m.structure.digest}, the run expects "
                               f"{spec['structure_digest']}: workers must run the same gutbrain version as the client")
        _BASE_CACHE[key] = m
    return m


def _reduce(v: np.ndarray, t_h: np.ndarray, reduce: str, day_index: np.ndarray | None, n_days: int) -> np.ndarray:
    if reduce == "none":
        return v
    if reduce == "daily":
        assert day_index is not None, "reduce='daily' needs the day of each sample"
        sums = np.bincount(day_index, weights=v, minlength=n_days)[:n_days]
        cnt = np.bincount(day_index, minlength=n_days)[:n_days]
        with np.errstate(invalid="ignore", divide="ignore"):
            return sums / cnt
    first = t_h <= t_h[0] + 24.0 + 1e-9
    last = t_h >= t_h[-1] - 24.0 - 1e-9
    return np.array([v[0], v[-1], v.min(), v.max(), v.mean(), v[first].mean(), v[last].mean()])


def run_chunk(spec: dict, k: int) -> dict:
    """Simulate chunk ``k`` of the run described by ``spec`` and write it to the store.

    Writes the chunk's outputs and status, then its ``done`` flag. Returns a small summary
    (never the data), so the client's memory does not depend on the cohort size.
    """
    from ..simulation import simulate

    t0 = time.perf_counter()
    path, chunk, n = spec["path"], spec["chunk"], spec["n"]
    start, stop = k * chunk, min(n, (k + 1) * chunk)
    base = _base_model(spec)
    names = list(base.parameters)
    rows = _store.read_params(path, start, stop)
    models = [base.with_params(dict(zip(names, map(float, row), strict=True))) for row in rows]
    scenario, backend = spec["scenario_obj"], spec["backend"]
    rtol, atol, days, reduce = spec["rtol"], spec["atol"], spec["days"], spec["reduce"]
    n_out = int(round(days * 24.0 / spec["output_every"]))
    ts = np.linspace(0.0, days * 24.0, n_out + 1)
    n_days = int(math.ceil(days - 1e-9))
    day_index = np.minimum((ts / 24.0 + 1e-9).astype(int), n_days) if reduce == "daily" else None
    outputs = list(spec["outputs"])
    width = {"none": len(ts), "daily": n_days, "summary": len(_store.STATS)}[reduce]
    values = {o: np.full((len(models), width), np.nan) for o in outputs}
    status = np.full(len(models), _store.STATUS_CODES["failed"], dtype=np.int8)
    kw = dict(days=days, backend=backend, rtol=rtol, atol=atol, output_every=spec["output_every"],
              warmup_days=spec["warmup_days"], throw=False, observables=outputs)
    with _SOLVER_LOCK:
        # one vmapped batch per chunk on JAX; one patient at a time on SciPy, so memory stays one patient's output
        batches = [list(range(len(models)))] if backend == "jax" else [[i] for i in range(len(models))]
        for idx in batches:
            ds = simulate([models[i] for i in idx], scenario, **kw)
            for j, i in enumerate(idx):
                if ds["status"].values[j] != "ok":
                    continue
                for o in outputs:
                    values[o][i] = _reduce(np.asarray(ds[o].values[j], float), ts, reduce, day_index, n_days)
                status[i] = _store.STATUS_CODES["ok"]
    _store.write_chunk(path, k, start, values, status)
    n_ok = int(np.sum(status == _store.STATUS_CODES["ok"]))
    return {"chunk": k, "n": len(models), "n_ok": n_ok, "n_failed": len(models) - n_ok,
            "seconds": time.perf_counter() - t0, "pid": os.getpid()}


def _solver_name(backend: str) -> str:
    from ..solvers.registry import resolve

    return resolve(backend, None, None).name


def _warm_worker(digest_spec: dict | None = None) -> None:
    """Process-pool initializer: die with the parent (Linux) and load the compiled right-hand side once."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphans after a SIGKILL
        except Exception:  # pragma: no cover
            pass
    if digest_spec is not None:
        _warm_jit(_base_model(digest_spec), digest_spec["backend"])


def _warm_jit(model: Model, backend: str) -> None:
    from ..simulation import prepare

    prepare(model, backend)


# ------------------------------------------------------------------------------------------------
# The cohort
# ------------------------------------------------------------------------------------------------
class Cohort:
    """``n`` virtual patients drawn (reproducibly, by ``seed``) from the model's evidence-graded priors.

    Parameters
    ----------
    model
        The reference model (``gutbrain.load_model()``); patients vary its parameters.
    n, seed, method
        Number of patients, sampler seed, ``"sobol"`` (default), ``"lhs"`` or ``"random"``.
    vary (alias ``priors``)
        Names of the parameters to vary (default: every parameter with a non-fixed prior).
    subtypes
        Named prior shifts from :data:`gutbrain.cohort.SUBTYPES`.
    spread
        Scales every prior's width (1 = as tabulated).
    """

    def __init__(self, model: Model, *, n: int, seed: int = 0, vary: Sequence[str] | None = None,
                 priors: Sequence[str] | None = None, subtypes: Sequence[str] = (), method: str = "sobol",
                 spread: float = 1.0):
        if not isinstance(model, Model):
            raise InputError("model", type(model).__name__, "a gutbrain Model", "use gutbrain.load_model()")
        if vary is not None and priors is not None:
            raise InputError("priors", priors, "either vary= or its alias priors=, not both", "pass only vary=")
        vary = priors if vary is None else vary
        if isinstance(vary, str):
            vary = [vary]
        if isinstance(subtypes, str):
            subtypes = (subtypes,)
        _validate(model, n, seed, method, vary, tuple(subtypes))
        if isinstance(spread, bool) or not isinstance(spread, (int, float)) or not (0 < spread <= 10):
            raise InputError("spread", spread, "a number in (0, 10]", "1 keeps the tabulated priors")
        self.model, self.n, self.seed, self.method = model, int(n), int(seed), method
        self.vary = None if vary is None else sorted(vary)
        self.subtypes, self.spread = tuple(subtypes), float(spread)

    def __repr__(self) -> str:
        return f"Cohort(n={self.n}, seed={self.seed}, method={self.method!r}, subtypes={self.subtypes})"

    def matrix(self) -> tuple[np.ndarray, list[str]]:
        """The ``(n, n_params)`` parameter matrix (from :func:`gutbrain.cohort.sample_matrix`)."""
        return sample_matrix(self.model, self.n, seed=self.seed, method=self.method, vary=self.vary,
                             subtypes=self.subtypes, spread=self.spread)

    # -- validation --------------------------------------------------------------------------
    def _options(self, scenario, days, chunk, backend, executor, workers, outputs, reduce, output_every, warmup_days,
                 rtol, atol, progress):
        from ..scenarios import get
        from ..simulation import check_options

        scen = get(scenario)
        days = float(scen.days if days is None else days)
        check_options(days, backend, rtol, atol, output_every, warmup_days, None)
        scen.check_horizon(days)
        if reduce not in REDUCTIONS:
            raise InputError("reduce", reduce, "one of " + ", ".join(REDUCTIONS), suggest(str(reduce), REDUCTIONS))
        if reduce == "daily" and output_every > 24.0:
            raise InputError("output_every", output_every, "at most 24 h with reduce='daily' (daily means need samples)",
                             "use output_every=1 (hourly samples averaged per day)")
        if isinstance(outputs, str):
            outputs = [o.strip() for o in outputs.split(",") if o.strip()]
        outputs = list(dict.fromkeys(outputs or ()))
        known = list(self.model.state_names) + list(self.model.observable_names)
        if not outputs:
            raise InputError("outputs", outputs, "at least one state or observable name", "e.g. outputs=('gad7', 'CRP')")
        for o in outputs:
            if o not in known:
                raise InputError("outputs", o, "a state or observable of the model", suggest(o, known))
        if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or not 1 <= chunk <= self.n):
            raise InputError("chunk", chunk, f"a whole number of patients per chunk in [1, n = {self.n}]",
                             f"e.g. chunk={auto_chunk(self.n)} (or leave it out)")
        if executor not in EXECUTORS:
            raise InputError("executor", executor, "one of " + ", ".join(EXECUTORS), suggest(str(executor), EXECUTORS))
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or not 1 <= workers <= 4096):
            raise InputError("workers", workers, "a whole number of worker processes >= 1", f"e.g. workers={os.cpu_count()}")
        if progress is not None and not callable(progress):
            raise InputError("progress", progress, "a callable progress(done_patients, total_patients, info)", "or None")
        return scen, days, outputs

    def _attrs(self, scen, days, backend, rtol, atol, warmup_days, output_every, reduce, outputs, chunk) -> dict:
        m = self.model
        return {
            "cohort_format": _store.FORMAT_VERSION, "gutbrain_version": __version__, "model": m.name,
            "structure_digest": m.structure.digest, "parameter_hash": m.param_hash, "scenario": scen.name,
            "scenario_hash": scen.hash, "scenario_json": _store.to_json(scen.to_dict()), "n": self.n, "seed": self.seed,
            "method": self.method, "vary": "" if self.vary is None else ",".join(self.vary),
            "subtypes": ",".join(self.subtypes), "spread": self.spread, "days": days, "warmup_days": float(warmup_days),
            "output_every": float(output_every), "backend": backend, "solver": _solver_name(backend),
            "rtol": float(rtol), "atol": float(atol), "atol_scaled_by": "state typical magnitudes",
            "reduce": reduce, "outputs": list(outputs), "chunk": int(chunk), "n_chunks": -(-self.n // chunk),
            "created": _store.now(), "disclaimer": DISCLAIMER,
        }

    # -- run ---------------------------------------------------------------------------------
    def run(self, scenario, *, days: float | None = None, store: str | os.PathLike = "run.zarr", chunk: int | None = None,
            backend: str = "scipy", executor: str = "local", scheduler=None, workers: int | None = None,
            outputs: Sequence[str] = DEFAULT_OUTPUTS, reduce: str = "daily", output_every: float = 1.0,
            warmup_days: float = 28.0, rtol: float = 1e-6, atol: float = 1e-8,
            progress: Callable[[int, int, dict], None] | None = None, resume: bool = True,
            overwrite: bool = False) -> RunResult:
        """Simulate the cohort under ``scenario`` into the Zarr store ``store``; resume it if it exists.

        Parameters
        ----------
        scenario, days, backend, output_every, warmup_days, rtol, atol
            As in :func:`gutbrain.simulate` (``output_every`` in hours; ``days`` defaults to the scenario's).
        store
            Path of the Zarr store (a directory). If it exists and was written by the same settings, the
            run resumes: complete chunks are skipped. A store from other settings is refused.
        chunk
            Patients per task (default :func:`auto_chunk`; on resume the store's).
        executor
            ``"local"`` (process pool of ``workers`` processes, default ``os.cpu_count()``), ``"dask"``
            (``distributed``: a ``LocalCluster`` of ``workers`` single-threaded processes, or the cluster at
            ``scheduler``: an address, a ``Client`` or a cluster object) or ``"serial"`` (this process).
        outputs
            States/observables to store (default :data:`DEFAULT_OUTPUTS`).
        reduce
            ``"daily"`` (daily means of the ``output_every`` samples; time = day index), ``"none"`` (every
            sample) or ``"summary"`` (per patient: start, end, min, max, mean, first/last-day means).
        progress
            Called as ``progress(done_patients, total_patients, info)`` after every chunk.
        resume
            If False, an existing store is refused instead of resumed.
        overwrite
            Delete an existing cohort store at ``store`` first.
        """
        started = time.perf_counter()
        scen, days, output_names = self._options(scenario, days, chunk, backend, executor, workers, outputs, reduce,
                                                 output_every, warmup_days, rtol, atol, progress)
        path = _store.check_store_path(store)
        _store.remove_stale_temps(path)  # left by a creation that was killed before it finished
        exists = _store.is_store(path)
        if exists and overwrite:
            if _store.read_attrs(path).get("cohort_format") is None:
                raise InputError("store", str(path), "a cohort store to overwrite", "choose another path")
            shutil.rmtree(path)
            exists = False
        if exists:
            if not resume:
                raise InputError("store", str(path), "a new path (the store exists and resume=False)",
                                 f"resume it (drop --no-resume), delete it (rm -r {path}) or pick a new path")
            stored = _store.read_attrs(path)
            if stored.get("cohort_format") is None:
                raise InputError("store", str(path), "a cohort store (this Zarr store was not written by gutbrain cohort)",
                                 "pick a new path")
            if chunk is None:
                chunk = int(stored.get("chunk", auto_chunk(self.n)))
        chunk = int(chunk or auto_chunk(self.n))
        attrs = self._attrs(scen, days, backend, rtol, atol, warmup_days, output_every, reduce, output_names, chunk)
        if exists:
            diffs = _store.fingerprint_mismatch(stored, attrs)
            if diffs:
                _store.refuse_mismatch(path, diffs)
        n_chunks = attrs["n_chunks"]
        workers = int(workers or os.cpu_count() or 1)
        pool = _Executor(executor, scheduler, workers, self.model, backend)  # connect before touching the disk
        try:
            if not exists:
                names = list(self.model.parameters)
                params = sample_blocks(self.model, self.n, seed=self.seed, method=self.method, vary=self.vary,
                                       subtypes=self.subtypes, spread=self.spread)  # streamed: memory flat in n
                units = {s.name: s.unit for s in self.model.states}
                units.update({k: q.unit for k, q in self.model.structure.observables.items()})
                n_out = int(round(days * 24.0 / output_every))
                if reduce == "none":
                    tcoord = np.linspace(0.0, days, n_out + 1)
                elif reduce == "daily":
                    tcoord = np.arange(int(math.ceil(days - 1e-9)), dtype=float)
                else:
                    tcoord = None
                _store.create_store(path, attrs=attrs, params=params, param_names=names, outputs=output_names, units=units,
                                    reduce=reduce, time_coord=tcoord, chunk=chunk, n=self.n)
                stored = _store.read_attrs(path)
                if _store.fingerprint_mismatch(stored, attrs):  # another process created it meanwhile
                    _store.refuse_mismatch(path, _store.fingerprint_mismatch(stored, attrs))
            done = _store.read_done(path, n_chunks)
            todo = [k for k in range(n_chunks) if not done[k]]
            n_done = sum(min(self.n, (k + 1) * chunk) - k * chunk for k in range(n_chunks) if done[k])
            if progress is not None:
                progress(n_done, self.n, {"chunks_done": n_chunks - len(todo), "n_chunks": n_chunks, "resumed": exists})
            spec = {"path": str(path), "n": self.n, "chunk": chunk, "parameters": dict(self.model.parameters),
                    "model": self.model.name, "structure_digest": self.model.structure.digest,
                    "parameter_hash": self.model.param_hash, "scenario_obj": scen, "days": days, "backend": backend,
                    "rtol": float(rtol), "atol": float(atol), "warmup_days": float(warmup_days),
                    "output_every": float(output_every), "reduce": reduce, "outputs": output_names}
            n_ok = n_failed = 0
            for res in pool.map_chunks(spec, todo):
                n_ok += res["n_ok"]
                n_failed += res["n_failed"]
                n_done += res["n"]
                if progress is not None:
                    progress(n_done, self.n, res)
        finally:
            pool.close()
        return RunResult(path=str(path), n=self.n, chunk=chunk, n_chunks=n_chunks, chunks_skipped=n_chunks - len(todo),
                         chunks_run=len(todo), n_ok=n_ok, n_failed=n_failed, wall_s=time.perf_counter() - started,
                         attrs=attrs)


# ------------------------------------------------------------------------------------------------
# Executors: a process pool, Dask (distributed) or this process. Each task = one chunk.
# ------------------------------------------------------------------------------------------------
class _Executor:
    def __init__(self, kind: str, scheduler, workers: int, model: Model, backend: str):
        self.kind, self.workers, self.backend = kind, workers, backend
        self._pool = self._client = self._cluster = None
        self._own_client = False
        if kind == "dask":
            self._connect(scheduler, workers)
        elif scheduler is not None:
            raise InputError("scheduler", scheduler, "only with executor='dask'", "pass executor='dask' (CLI: --dask ADDRESS)")

    def _connect(self, scheduler, workers):
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover
            raise InputError("executor", "dask", "an installed dask[distributed]", "pip install 'dask[distributed]'") from None
        if scheduler is None:
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            self._client, self._own_client = Client(self._cluster), True
        elif isinstance(scheduler, Client):
            self._client = scheduler
        elif hasattr(scheduler, "scheduler_address"):  # a cluster object
            self._client, self._own_client = Client(scheduler), True
        else:
            addr = str(scheduler)
            try:
                self._client = Client(addr, timeout=f"{SCHEDULER_TIMEOUT_S:g}s")
            except Exception as exc:  # OSError, TimeoutError, ValueError for a malformed address
                raise InputError("scheduler", addr, f"the address of a reachable Dask scheduler (no answer within "
                                 f"{SCHEDULER_TIMEOUT_S:g} s: {type(exc).__name__})",
                                 "start one with `dask scheduler` and `dask worker ADDRESS`, or leave --dask out to use "
                                 "local processes") from None
            self._own_client = True

    def map_chunks(self, spec: dict, todo: list[int]):
        if not todo:
            return
        if self.kind == "serial":
            _warm_worker(None)
            for k in todo:
                yield run_chunk(spec, k)
        elif self.kind == "local":
            yield from self._map_local(spec, todo)
        else:
            yield from self._map_dask(spec, todo)

    def _map_local(self, spec, todo):
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, wait

        from ..parallel import process_pool

        # fork (Linux): workers inherit the loaded machine code and need no ``__main__`` guard. The JAX
        # backend is multithreaded, so it gets fresh (spawned) workers; a scipy-backend child never calls JAX.
        if "fork" in mp.get_all_start_methods() and sys.platform.startswith("linux") and spec["backend"] != "jax":
            ctx = "fork"
            _warm_jit(_base_model(spec), spec["backend"])  # load once here; forked workers inherit it
            init_arg = None
        else:  # pragma: no cover - macOS/Windows
            ctx, init_arg = "spawn", spec
        nw = min(self.workers, len(todo))
        import warnings

        self._pool = process_pool(nw, context=ctx, initializer=_warm_worker, initargs=(init_arg,))
        queue = list(reversed(todo))
        running = set()
        while queue or running:
            while queue and len(running) < 2 * nw:  # bounded number of queued tasks
                with warnings.catch_warnings():  # workers are forked lazily, at submit
                    warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
                    running.add(self._pool.submit(run_chunk, spec, queue.pop()))
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                yield f.result()

    def _map_dask(self, spec, todo):
        from distributed import as_completed

        client = self._client
        nw = max(1, len(client.scheduler_info().get("workers", {})) or self.workers)
        spec_f = client.scatter(spec, broadcast=True)
        queue = list(reversed(todo))
        initial = [client.submit(run_chunk, spec_f, queue.pop(), pure=False) for _ in range(min(len(queue), 2 * nw))]
        ac = as_completed(initial)
        for fut in ac:
            res = fut.result()
            fut.release()
            if queue:
                ac.add(client.submit(run_chunk, spec_f, queue.pop(), pure=False))
            yield res

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._own_client and self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def default_store_name(scenario: str) -> str:
    return f"{Path(str(scenario)).stem}.zarr"
