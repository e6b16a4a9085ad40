"""The server's state: the model, the worker pool, background jobs, and request checks against the model."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import math
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ...errors import DISCLAIMER, GutbrainError, suggest
from ...parallel import process_pool
from .. import isolated, worker
from ..scenario_body import ShapeError, check_scenario_body
from .schemas import DEFAULT_VARIABLES, ApiError, Limits


# -- jobs ---------------------------------------------------------------------------------------
@dataclass
class Job:
    id: str
    kind: str
    request: dict
    status: str = "queued"  # queued, running, done, failed, cancelled
    done: int = 0
    total: int = 0
    message: str = "waiting for a free worker"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    result: Any = None
    error: dict | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def public(self) -> dict:
        return {"id": self.id, "kind": self.kind, "status": self.status, "done": self.done, "total": self.total,
                "progress": round(self.done / self.total, 4) if self.total else (1.0 if self.status == "done" else 0.0),
                "message": self.message, "created": self.created, "started": self.started, "finished": self.finished,
                "error": self.error, "request": self.request,
                "result_url": f"/api/jobs/{self.id}/result" if self.status == "done" else None,
                "disclaimer": DISCLAIMER}


# -- the service ----------------------------------------------------------------------------------
class Service:
    """Shared state of one app: model, worker pool, job table."""

    def __init__(self, limits: Limits, workers: int):
        self.limits = limits
        self.workers = workers
        self._lock = threading.Lock()
        self._pool: cf.Executor | None = None
        self._job_runner: cf.ThreadPoolExecutor | None = None
        self._model = None
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.pending = 0
        self.warm_futures: list[cf.Future] = []
        self._closed = False

    # lazily started, so that the app works with or without the lifespan (e.g. under a test client)
    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import gutbrain

                    self._model = gutbrain.load_model()
        return self._model

    @property
    def pool(self) -> cf.Executor:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    pool: cf.Executor
                    if self.workers > 0:
                        pool = process_pool(self.workers, initializer=worker.init_worker)
                        self.warm_futures = [pool.submit(worker.warm_up) for _ in range(self.workers)]
                    else:  # one thread: scipy's odeint (LSODA) is not re-entrant
                        pool = cf.ThreadPoolExecutor(1, thread_name_prefix="gutbrain-sim")
                    self._pool = pool
        return self._pool

    @property
    def job_runner(self) -> cf.ThreadPoolExecutor:
        """One thread: background jobs run one at a time (each uses the whole pool)."""
        if self._job_runner is None:
            with self._lock:
                if self._job_runner is None:
                    self._job_runner = cf.ThreadPoolExecutor(1, thread_name_prefix="gutbrain-jobs")
        return self._job_runner

    def start(self) -> None:
        self._closed = False
        _ = self.model
        _ = self.pool

    def close(self) -> None:
        self._closed = True
        for job in self.jobs.values():
            job.cancel.set()
        if self._job_runner is not None:
            self._job_runner.shutdown(wait=False, cancel_futures=True)
        if self._pool is not None:
            # wait: running simulations finish (seconds) and worker processes exit rather than linger
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._job_runner = None

    def _replace_broken(self, pool: cf.Executor) -> None:
        """Drop a pool whose worker died and start a fresh one (once, however many callers saw it break)."""
        with self._lock:
            if self._pool is not pool:
                return
            self._pool, self.warm_futures = None, []
        pool.shutdown(wait=False, cancel_futures=True)
        if not self._closed:
            _ = self.pool

    async def run(self, fn, *args):
        if self.pending >= self.limits.max_pending:
            raise ApiError(429, f"too many simulations waiting ({self.pending})", "retry in a few seconds",
                           retry_after=5)
        self.pending += 1
        pool = self.pool
        try:
            fut = pool.submit(fn, *args)
            return await asyncio.wait_for(asyncio.wrap_future(fut), self.limits.timeout_s)
        except cf.BrokenExecutor:
            self._replace_broken(pool)
            raise ApiError(503, "the simulation worker stopped unexpectedly", "retry the request") from None
        finally:
            self.pending -= 1

    def call(self, job: Job, fn, *args):
        """``fn(*args)`` in the pool, from a job's thread.

        Raises :class:`isolated.JobCancelled` as soon as the job is cancelled (without waiting for the
        simulation) and :class:`isolated.WorkerDied` when a worker process died; the pool is then replaced.
        """
        pool = self.pool
        try:
            fut = pool.submit(fn, *args)
            while True:
                try:
                    return fut.result(timeout=0.2)
                except cf.TimeoutError:
                    if job.cancel.is_set():
                        fut.cancel()
                        raise isolated.JobCancelled from None
        except cf.BrokenExecutor:
            self._replace_broken(pool)
            raise isolated.WorkerDied("a simulation worker process ended") from None

    # -- validation shared by simulate and cohort -----------------------------------------------
    def scenario(self, spec: str | dict) -> Any:
        from ...scenarios import from_dict, get, names
        from ...scenarios.scenario import BASELINE_CHANNELS

        builtin = names()
        if isinstance(spec, str):
            if spec not in builtin:
                raise ApiError(404, f"unknown scenario {spec!r}",
                               suggest(spec, builtin) + " (GET /api/scenarios lists them; or send a scenario body)")
            return get(spec)
        includes = spec.get("include", [])
        if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
            raise ApiError(422, "scenario.include must be a list of built-in scenario names",
                           'e.g. "include": ["western-diet"]')
        for inc in includes:
            if inc not in builtin:
                raise ApiError(404, f"unknown scenario {inc!r} in scenario.include", suggest(inc, builtin))
        for key, cap in (("episodes", self.limits.max_episodes), ("meals", self.limits.max_meals),
                         ("diet_changes", self.limits.max_episodes), ("endotoxin", self.limits.max_episodes)):
            if not isinstance(spec.get(key, []), list):
                raise ApiError(422, f"scenario.{key} must be a list of tables", "see a built-in scenario via GET /api/scenarios/{name}")
            if len(spec.get(key, [])) > cap:
                raise ApiError(422, f"scenario.{key} has {len(spec[key])} entries; at most {cap} are allowed",
                               f"use at most {cap} {key} entries")
        try:
            check_scenario_body(spec, channels=BASELINE_CHANNELS)
        except ShapeError as exc:
            raise ApiError(422, str(exc), exc.fix) from None
        try:
            return from_dict(spec, source="scenario")
        except GutbrainError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError):  # a shape the check above does not know
            raise ApiError(422, "malformed scenario body: a field has the wrong type",
                           "use the fields of a scenario TOML file; GET /api/scenarios/healthy-baseline shows one") from None

    def horizon(self, scenario, days: float | None) -> float:
        days = float(scenario.days if days is None else days)
        if not days >= self.limits.min_days:
            raise ApiError(422, f"days = {days:g} is shorter than this server's minimum of {self.limits.min_days * 24:g} h",
                           f"request days >= {self.limits.min_days:.4g} (one hour), e.g. \"days\": 1")
        if not days <= self.limits.max_days:
            raise ApiError(422, f"days = {days:g} exceeds this server's limit of {self.limits.max_days:g} days",
                           f"request days <= {self.limits.max_days:g} (pass \"days\" explicitly for longer scenarios)")
        scenario.check_horizon(days)
        return days

    def overrides(self, params: dict[str, float]) -> dict[str, float]:
        if len(params) > self.limits.max_overrides:
            raise ApiError(422, f"{len(params)} parameter overrides; at most {self.limits.max_overrides}",
                           "send fewer overrides")
        self.model.with_params(params)  # raises ParameterError (name, bounds, fix)
        return {k: float(v) for k, v in params.items()}

    def variables(self, names: list[str] | None, cap: int) -> list[str]:
        known = self.known_variables()
        names = list(DEFAULT_VARIABLES) if names is None else list(dict.fromkeys(names))
        if not names:
            raise ApiError(422, "variables is empty", "name at least one variable, or leave the field out for the defaults")
        if len(names) > cap:
            raise ApiError(422, f"{len(names)} variables requested; at most {cap}", f"ask for at most {cap} variables")
        for v in names:
            if v not in known:
                raise ApiError(422, f"unknown variable {v!r}", suggest(v, known) + " (GET /api/variables lists them)")
        return names

    def known_variables(self) -> dict[str, dict]:
        m = self.model
        out = {}
        for s in m.states:
            out[s.name] = {"kind": "state", "units": s.unit, "description": s.description, "module": s.module}
        for k, q in m.structure.observables.items():
            out[k] = {"kind": "observable", "units": q.unit, "description": q.description, "module": q.module}
        for i in m.inputs:
            out[f"input_{i.name}"] = {"kind": "input", "units": i.unit, "description": i.description, "module": "inputs"}
        return out

    def points(self, days: float, output_every: float, cap: int) -> int:
        if output_every < self.limits.min_output_every:
            raise ApiError(422, f"output_every = {output_every:g} h is finer than {self.limits.min_output_every:g} h",
                           f"use output_every >= {self.limits.min_output_every:g} h")
        if output_every > days * 24.0:
            raise ApiError(422, f"output_every = {output_every:g} h is longer than the horizon ({days * 24.0:g} h = "
                           f"{days:g} days): the result would hold the start only",
                           f"use output_every <= {days * 24.0:g} h, or a longer horizon (days)")
        n = int(round(days * 24.0 / output_every)) + 1
        if n > cap:
            raise ApiError(422, f"{n} output points requested (days={days:g}, output_every={output_every:g} h); at most {cap}",
                           f"use output_every >= {math.ceil(days * 24.0 / (cap - 1) * 100) / 100:g} h or fewer days")
        return n

    # -- jobs ---------------------------------------------------------------------------------
    def submit_job(self, kind: str, request: dict, target) -> Job:
        with self._lock:
            active = sum(j.active for j in self.jobs.values())
            if active >= self.limits.max_jobs:
                raise ApiError(429, f"the job queue is full ({active} jobs queued or running)",
                               "wait for a job to finish (GET /api/jobs) or cancel one (DELETE /api/jobs/{id})", retry_after=10)
            job = Job(id=uuid.uuid4().hex[:12], kind=kind, request=request)
            self.jobs[job.id] = job
            finished = [j for j in self.jobs.values() if not j.active]
            for old in finished[: max(0, len(finished) - self.limits.keep_jobs)]:
                self.jobs.pop(old.id, None)
        _ = self.pool
        self.job_runner.submit(self._run_job, job, target)
        return job

    def cancel(self, job: Job) -> None:
        """Cancel a queued or running job: its status is "cancelled" from now on; its work stops within seconds."""
        with self._lock:
            if not job.active:
                return
            job.cancel.set()
            was = job.status
            job.status, job.message = "cancelled", f"cancelled after {job.done} of {job.total or '?'}"
            if was == "queued":
                job.finished = time.time()

    def _run_job(self, job: Job, target) -> None:
        with self._lock:
            if job.cancel.is_set():
                job.message, job.finished = "cancelled before it started", time.time()
                return
            job.status, job.started, job.message = "running", time.time(), "running"
        outcome, message = "done", "finished"
        try:
            target(job)
            if job.error is not None:
                outcome, message = "failed", job.error.get("error", "failed")
        except isolated.JobCancelled:
            pass
        except isolated.WorkerDied as exc:
            job.error = {"error": f"a worker process died while running this job ({exc}): it was killed or ran out of "
                                  "memory", "fix": "start the job again (the server has started fresh workers); if it "
                                                   "keeps failing, use fewer patients or a shorter horizon"}
            outcome, message = "failed", job.error["error"]
        except Exception as exc:
            job.error = {"error": f"{type(exc).__name__}: {exc}", "fix": "report this as a bug"}
            outcome, message = "failed", "failed"
        with self._lock:
            if job.cancel.is_set():
                job.message = f"cancelled after {job.done} of {job.total or '?'}"
            else:
                job.status, job.message = outcome, message
            job.finished = time.time()

    def get_job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"unknown job {job_id!r}", "use an id returned by POST /api/cohort or POST /api/claims "
                           "(GET /api/jobs lists them; finished jobs are kept for a while only)")
        return job


def _claims_module():
    try:
        from ... import claims
    except ImportError:
        return None
    return claims if hasattr(claims, "run_claims") else None


def _claim_catalogue(claims) -> list[dict]:
    """Best effort: the claims' ids (and texts) from whatever registry the claims module exposes."""
    try:  # the registry fills when the definitions are imported
        import importlib

        importlib.import_module(claims.__name__ + ".definitions")
    except ImportError:
        pass
    for attr in ("CLAIMS", "REGISTRY", "claims"):
        reg = getattr(claims, attr, None)
        if isinstance(reg, dict):
            return [{"id": str(k), **_describe(v)} for k, v in reg.items()]
        if isinstance(reg, (list, tuple)) and reg:
            return [{"id": str(getattr(c, "id", c)), **_describe(c)} for c in reg]
    for attr in ("ids", "claim_ids", "list_claims"):
        fn = getattr(claims, attr, None)
        if callable(fn):
            try:
                return [{"id": str(getattr(c, "id", c)), **_describe(c)} for c in fn()]
            except Exception:
                pass
    return [{"id": f"C{i}"} for i in range(1, 18)]


def _describe(c) -> dict:
    out = {}
    for k in ("title", "statement", "description", "text", "criterion"):
        v = c.get(k) if isinstance(c, dict) else getattr(c, k, None)
        if isinstance(v, str):
            out[k] = v
    return out
