"""REST API and explorer page for gutbrain (FastAPI).

``create_app()`` returns the ASGI application that ``gutbrain serve`` runs with uvicorn.
Simulations run in a small process pool (two workers by default) because the SciPy/numba
path holds the GIL for most of a run; cohort and claims runs are background jobs (one at a
time, a bounded queue) whose progress is polled. A cancelled job stops within seconds (a
cohort between simulations; a claims check, which runs in a process of its own, at once), and
a pool whose worker died is replaced. Every response carries the disclaimer: in the JSON body
(``"disclaimer"``), as a comment line in CSV, and in the ``X-Gutbrain-Disclaimer`` header.
Every user error is a 4xx JSON body ``{"error": ..., "fix": ..., "disclaimer": ...}``, declared
in the OpenAPI schema; only the Host names of this machine (and those passed to ``create_app``)
are answered. ``/docs`` serves a vendored Swagger UI, so it works offline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import csv
import dataclasses
import io
import json
import math
import os
import re
import threading
import time
import unicodedata
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from .._version import __version__
from ..errors import DISCLAIMER, GutbrainError, suggest
from ..parallel import process_pool
from . import isolated, worker
from .scenario_body import ShapeError, check_scenario_body

__all__ = ["create_app", "Limits", "ApiError", "ErrorBody", "DEFAULT_VARIABLES", "content_disposition"]

STATIC = Path(__file__).with_name("static")
#: Swagger UI (npm swagger-ui-dist, Apache-2.0), vendored so that /docs works with no network
SWAGGER_UI = "/static/vendor/swagger-ui"
SWAGGER_UI_VERSION = "5.35.0"

#: variables returned by /api/simulate when the request names none
DEFAULT_VARIABLES = ("gad7", "phq9", "gad7_state", "phq9_state", "perceived_stress", "CORT", "CRP", "IL6", "lm_ratio", "plasma_endotoxin",
                     "portal_butyrate", "glucose", "hrv_rmssd", "heart_rate", "beneficial", "dysbiosis_index",
                     "serotonin_brain", "kyn_trp", "gaba_signal", "inflammation", "gi_symptoms", "gi_symptoms_state", "ANX", "DEP", "PS",
                     "VAG", "SNS", "TJ")


@dataclass(frozen=True)
class Limits:
    """Request limits (all enforced with a 4xx error that says how to stay inside them)."""

    max_body_bytes: int = 64 * 1024
    max_days: float = 365.0
    min_days: float = 1.0 / 24.0  # one hour
    min_output_every: float = 0.1  # hours
    max_points: int = 20_000  # output time points per simulation
    max_variables: int = 80
    max_episodes: int = 64
    max_meals: int = 12
    max_overrides: int = 200
    max_cohort: int = 200
    max_cohort_points: int = 2_000  # time points per patient in a cohort job
    max_cohort_variables: int = 12
    max_jobs: int = 4  # queued + running background jobs
    max_pending: int = 32  # simulations waiting for a worker
    keep_jobs: int = 50  # finished jobs kept for fetching
    timeout_s: float = 600.0


class ApiError(Exception):
    """A user-facing API error: HTTP status, what is wrong, and how to fix it."""

    def __init__(self, status: int, error: str, fix: str, **extra: Any):
        super().__init__(error)
        self.status, self.error, self.fix, self.extra = status, error, fix, extra


# -- request bodies ------------------------------------------------------------------------------
#: JSON types must match (``"explain": 0`` or ``"cohort": false`` are errors); a float field still takes an int
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class ErrorBody(BaseModel):
    """The body of every error response: what is wrong, how to fix it, and the disclaimer."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="what is wrong with the request")
    fix: str = Field(description="how to change the request so that it works")
    disclaimer: str = Field(description="gutbrain is a research and education tool, not a diagnostic device")
    job_status: str | None = Field(None, description="the job's status (409 from a job's result only)")


_ERROR_TEXT = {
    400: "Malformed JSON, an invalid Content-Length, or a Host header this server does not answer to",
    404: "An unknown name or id (scenario, parameter, module, claim or job)",
    409: "The job has not finished, or it failed or was cancelled",
    413: "The request body is larger than the server's limit",
    422: "A field has a wrong type or a value outside its allowed range",
    429: "Too many simulations waiting, or the job queue is full; retry after Retry-After seconds",
    503: "A simulation worker stopped unexpectedly; retry the request",
}


def _errors(*codes: int) -> dict:
    """OpenAPI ``responses`` for the error statuses ``codes`` (400 is always possible: the Host check)."""
    out: dict[int, dict] = {}
    for code in sorted({400, *codes}):
        out[code] = {"model": ErrorBody, "description": _ERROR_TEXT[code]}
        if code == 429:
            out[code]["headers"] = {"Retry-After": {"description": "seconds to wait before retrying",
                                                    "schema": {"type": "integer"}}}
    return out


_BODY_ERRORS = (413, 422)  # any request with a body: too large, or of the wrong shape


class SimulationRequest(BaseModel):
    """Simulate the reference patient (optionally with changed parameters) under one scenario."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True, json_schema_extra={"examples": [
        {"scenario": "chronic-work-stress", "days": 90, "parameters": {"appraisal": 1.4}, "variables": ["gad7", "CRP"]},
        {"scenario": {"name": "my-plan", "days": 60, "diet_changes": [{"start_day": 0, "fibre": 35}],
                      "episodes": [{"input": "stress", "level": 0.5, "start_day": 10, "days": 20, "daily_window": [9, 17]}]}},
    ]})

    scenario: str | dict[str, Any] = Field(
        "healthy-baseline", description="a built-in scenario name (GET /api/scenarios) or a scenario body with the "
        "fields of a scenario TOML file: name, description, days, diet, meals, episodes, diet_changes, endotoxin, include")
    parameters: dict[str, float] = Field(default_factory=dict, description="parameter overrides, name -> value within "
                                         "the parameter's bounds (GET /api/parameters)")
    days: float | None = Field(None, gt=0, description="horizon in days (default: the scenario's); at most the server's limit")
    output_every: float = Field(1.0, gt=0, description="output spacing in hours")
    variables: list[str] | None = Field(None, description="variables to return (GET /api/variables); default: the main read-outs")
    format: Literal["json", "csv"] = Field("json", description="json, or csv (one row per time point)")
    explain: bool = Field(False, description="also return the pathway terms of the anxiety and depression drives and "
                          "the healthy reference values (used by the explorer's 'why' panel and axis diagram)")


class CohortRequest(BaseModel):
    """A small virtual cohort drawn from the parameter priors, run as a background job."""

    model_config = _STRICT

    scenario: str | dict[str, Any] = Field("healthy-baseline", description="as in /api/simulate")
    n: int = Field(20, ge=1, description="number of virtual patients (at most the server's limit)")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="sampling seed (reproducible cohorts)")
    subtypes: list[str] = Field(default_factory=list, max_length=4, description="named prior shifts, e.g. high-stress-reactivity")
    parameters: dict[str, float] = Field(default_factory=dict, description="overrides applied to every patient")
    days: float | None = Field(None, gt=0, description="horizon in days")
    output_every: float = Field(24.0, gt=0, description="output spacing in hours")
    variables: list[str] = Field(default_factory=lambda: ["gad7", "phq9", "CRP", "lm_ratio"], min_length=1,
                                 description="variables to summarise")


class ClaimsRequest(BaseModel):
    """Check the model's claims (C1-C17) as a background job."""

    model_config = _STRICT

    ids: list[str] | None = Field(None, min_length=1, max_length=50,
                                  description="claim ids, e.g. ['C1', 'C4']; leave the field out for all")
    cohort: int = Field(0, ge=0, le=200, description="virtual-cohort size for claims checked across patients (0: reference only)")


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
        from ..scenarios import from_dict, get, names
        from ..scenarios.scenario import BASELINE_CHANNELS

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
        except Exception as exc:  # noqa: BLE001 - reported through the job, not lost in a thread
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
        from .. import claims  # type: ignore[attr-defined]
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
            except Exception:  # noqa: BLE001
                pass
    return [{"id": f"C{i}"} for i in range(1, 18)]


def _describe(c) -> dict:
    out = {}
    for k in ("title", "statement", "description", "text", "criterion"):
        v = c.get(k) if isinstance(c, dict) else getattr(c, k, None)
        if isinstance(v, str):
            out[k] = v
    return out


# -- serialisation --------------------------------------------------------------------------------
def _sig(a: np.ndarray, digits: int = 7) -> list:
    """Round to ``digits`` significant digits for compact JSON; NaN/inf become null."""
    a = np.asarray(a, dtype=float)
    finite = np.isfinite(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(finite & (a != 0), np.floor(np.log10(np.abs(np.where(finite & (a != 0), a, 1.0)))), 0.0)
        scale = 10.0 ** (digits - 1 - mag)
        r = np.where(finite, np.round(a * scale) / scale, 0.0)
    out = r.tolist()
    if not finite.all():
        out = [v if ok else None for v, ok in zip(out, finite.tolist(), strict=True)]
    return out


def _summary(t: np.ndarray, v: np.ndarray) -> dict:
    first, last = t <= t[0] + 1.0, t >= t[-1] - 1.0
    finite = np.isfinite(v)
    if not finite.any():
        return {"start": None, "end": None, "min": None, "max": None}
    return {k: float(f"{x:.6g}") if math.isfinite(x) else None for k, x in (
        ("start", float(np.nanmean(v[first]))), ("end", float(np.nanmean(v[last]))),
        ("min", float(np.nanmin(v))), ("max", float(np.nanmax(v))))}


def _csv_response(header_lines: list[str], columns: list[str], rows, filename: str) -> Response:
    buf = io.StringIO()
    for line in header_lines:
        buf.write(f"# {line}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": content_disposition(filename)})


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` fallback and the exact name as RFC 5987 ``filename*`` (RFC 6266).

    Control characters, path separators and quotes become ``_`` in both; the fallback keeps only
    ASCII letters, digits, ``.``, ``-`` and ``_`` (accents are dropped: ``café`` -> ``cafe``).
    """
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    ext = "." + ext if ext else ""
    stem = re.sub(r'[\x00-\x1f\x7f-\x9f\ud800-\udfff/\\"]+', "_", stem).strip(" .") or "gutbrain"
    stem = stem[:120]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_stem).strip("._") or "gutbrain"
    return (f'attachment; filename="{ascii_stem}{ext}"; '
            f"filename*=UTF-8''{quote(stem + ext, safe='')}")


def _fmt(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.7g}"


# -- middleware -----------------------------------------------------------------------------------
#: Host header names always answered (this machine); others only when create_app(allowed_hosts=...) names them
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _host_name(host: str) -> str:
    """``host[:port]`` -> the lower-case name without the port; an IPv6 address keeps its brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    elif host.count(":") > 1:  # a bare IPv6 address, as a bind host is written
        host = f"[{host}]"
    return host.rstrip(".")


class _Guard:
    """ASGI middleware: answers only to trusted Host names (no DNS rebinding), caps request bodies
    (413 before any parsing) and adds the disclaimer header."""

    def __init__(self, app, max_bytes: int, allowed_hosts: frozenset[str]):
        self.app, self.max_bytes, self.allowed_hosts = app, max_bytes, allowed_hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_header(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-gutbrain-disclaimer", DISCLAIMER.encode()))
                message = {**message, "headers": headers}
            await send(message)

        if "*" not in self.allowed_hosts:
            host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
            if _host_name(host) not in self.allowed_hosts:
                return await self._reply(send_with_header, 400, f"this server does not answer to the Host {host[:100]!r}",
                                         "open it as http://127.0.0.1:<port>/ or http://localhost:<port>/; to serve it "
                                         "under another name, start it with: gutbrain serve --allow-host <name>")
        if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            return await self.app(scope, receive, send_with_header)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                return await self._reply(send_with_header, 400, "invalid Content-Length header", "send a decimal byte count")
            if too_big:
                return await self._too_large(send_with_header)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                return await self._too_large(send_with_header)
            chunks.append(body)
            more = message.get("more_body", False)
        data, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send_with_header)

    async def _too_large(self, send):
        kib = self.max_bytes / 1024
        await self._reply(send, 413, f"request body larger than {kib:g} KiB",
                          f"send a smaller request (at most {kib:g} KiB): fewer episodes, meals or overrides")

    @staticmethod
    async def _reply(send, status, error, fix):
        body = json.dumps({"error": error, "fix": fix, "disclaimer": DISCLAIMER}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# -- the app ----------------------------------------------------------------------------------------
def _error_body(error: str, fix: str, **extra) -> dict:
    return {"error": error, "fix": fix, **extra, "disclaimer": DISCLAIMER}


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    for e in errors:
        if e.get("type") == "json_invalid":
            ctx = e.get("ctx", {}) or {}
            return 400, f"malformed JSON: {ctx.get('error', 'could not parse the body')}", \
                'send a valid JSON object with Content-Type: application/json, e.g. {"scenario": "healthy-baseline", "days": 30}'
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")]
    where = ".".join(loc) or "request body"
    msg = first.get("msg", "invalid value")
    got = first.get("input", None)
    shown = json.dumps(got, default=str)[:80] if got is not None else "nothing"
    error = f"{where}: {msg} (got {shown})"
    if first.get("type") == "missing" and not loc:
        fix = "send a JSON object body; see the examples at /docs"
    elif first.get("type") == "extra_forbidden":
        fix = f"remove the unknown field {where!r}; the accepted fields are listed at /docs"
    elif first.get("type") in ("model_type", "dict_type") and not loc:
        fix = "send a JSON object (not a list or a string); see /docs"
    else:
        fix = f"change {where}: {msg[0].lower() + msg[1:]}; the schema and examples are at /docs"
    more = f" (+{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return 422, error + more, fix


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods some route answers on ``path`` (all routes, not only the first that matches the path)."""
    scope = {"type": "http", "path": path, "root_path": "", "method": "GET"}
    methods: set[str] = set()
    for route in app.router.routes:
        if route.matches(scope)[0] != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ("GET", "HEAD"))
    if methods:
        methods.add("OPTIONS")
    return sorted(methods)


def create_app(*, limits: Limits | None = None, workers: int | None = None,
               allowed_hosts: tuple[str, ...] | list[str] = ()) -> FastAPI:
    """Build the FastAPI app.

    Parameters
    ----------
    limits
        Request limits (default :class:`Limits`).
    workers
        Simulation worker processes (default: ``$GUTBRAIN_WEB_WORKERS`` or 2); 0 runs simulations
        in one background thread of the server process (for tests and tiny machines). A claims
        check always runs in a process of its own, so that cancelling it stops it at once.
    allowed_hosts
        Host header names answered besides localhost, 127.0.0.1 and [::1] (a request naming another
        host gets 400, which defeats DNS rebinding): the bind host, a name the server is reached by,
        ``"testserver"`` under Starlette's test client, or ``"*"`` for any.
    """
    limits = limits or Limits()
    trusted = frozenset(LOCAL_HOSTS) | {h if h == "*" else _host_name(h) for h in allowed_hosts}
    if workers is None:
        workers = int(os.environ.get("GUTBRAIN_WEB_WORKERS", "2"))
    svc = Service(limits, workers)

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app):
        await asyncio.get_running_loop().run_in_executor(None, svc.start)
        try:
            yield
        finally:
            svc.close()

    app = FastAPI(
        title="gutbrain API", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
        description="Simulate the mechanistic microbiota-gut-brain axis model: scenarios, parameters with evidence, "
                    "simulations, virtual cohorts and claims. **" + DISCLAIMER + "**",
    )
    app.state.service = svc
    app.state.limits = limits

    # errors -------------------------------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        headers = {"Retry-After": str(exc.extra["retry_after"])} if "retry_after" in exc.extra else None
        extra = {k: v for k, v in exc.extra.items() if k != "retry_after"}
        return JSONResponse(_error_body(exc.error, exc.fix, **extra), status_code=exc.status, headers=headers)

    @app.exception_handler(GutbrainError)
    async def _model_error(request: Request, exc: GutbrainError):
        fix = getattr(exc, "fix", None) or "see the message; the schema and examples are at /docs"
        return JSONResponse(_error_body(str(exc), fix), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        status, error, fix = _validation_message(exc)
        return JSONResponse(_error_body(error, fix), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            error, fix = f"no such endpoint: {request.url.path}", "see /docs for the endpoints (the API lives under /api)"
        elif exc.status_code == 405:
            allow = ", ".join(_allowed_methods(app, request.url.path))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"Allow": allow})
            return JSONResponse(_error_body(f"method {request.method} is not allowed on {request.url.path}",
                                            f"use {allow.replace(', OPTIONS', '')}; see /docs"),
                                status_code=405, headers={"Allow": allow})
        else:
            error, fix = str(exc.detail), "see /docs"
        return JSONResponse(_error_body(error, fix), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        return JSONResponse(_error_body(f"internal error: {type(exc).__name__}: {exc}",
                                        "this is a bug in gutbrain; please report it with the request you sent"), status_code=500)

    # pages --------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index():
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(html.replace("{{DISCLAIMER}}", DISCLAIMER).replace("{{VERSION}}", __version__))

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js():
        path = _plotly_path()
        if path is None:
            raise ApiError(404, "plotly.min.js is not installed", "pip install plotly")
        return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs():
        """Swagger UI, served with its vendored assets (static/vendor/swagger-ui): it works offline."""
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="gutbrain API",
                                   swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
                                   swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
                                   swagger_ui_parameters={"validatorUrl": None})

    # catalogue ----------------------------------------------------------------------------------
    @app.get("/api", tags=["meta"], summary="API index", responses=_errors())
    def api_index():
        return {"name": "gutbrain", "version": __version__, "docs": "/docs", "openapi": "/openapi.json",
                "endpoints": sorted({f"{m} {r.path}" for r in app.routes if getattr(r, "path", "").startswith("/api")
                                     for m in getattr(r, "methods", ()) if m != "HEAD"}),
                "limits": limits.__dict__, "disclaimer": DISCLAIMER}

    @app.get("/api/health", tags=["meta"], summary="Liveness and worker status", responses=_errors())
    def health():
        warm = [f.done() for f in svc.warm_futures]
        return {"status": "ok", "version": __version__, "workers": workers, "workers_warm": sum(warm),
                "pending_simulations": svc.pending, "active_jobs": sum(j.active for j in svc.jobs.values()),
                "disclaimer": DISCLAIMER}

    @app.get("/api/scenarios", tags=["catalogue"], summary="List built-in scenarios", responses=_errors())
    def list_scenarios():
        from ..scenarios import builtin

        return {"scenarios": [{"name": n, "description": s.description, "days": s.days, "tags": list(s.tags),
                               "episodes": len(s.episodes), "meals": len(s.meals)} for n, s in builtin().items()],
                "disclaimer": DISCLAIMER}

    @app.get("/api/scenarios/{name}", tags=["catalogue"], summary="One built-in scenario in full",
             responses=_errors(404, 422))
    def get_scenario(name: str):
        s = svc.scenario(name)
        return {"scenario": worker._plain(s.to_dict()), "disclaimer": DISCLAIMER}

    @app.get("/api/parameters", tags=["catalogue"], summary="Parameters with bounds, prior, source and evidence grade",
             responses=_errors(404, 422))
    def list_parameters(module: str | None = Query(None, description="only this module"),
                        grade: Literal["H", "M", "L"] | None = Query(None, description="only this evidence grade")):
        from ..parameters import GRADES

        params = list(svc.model.parameters.values())
        modules = sorted({p.module for p in params})
        if module is not None and module not in modules:
            raise ApiError(404, f"unknown module {module!r}", suggest(module, modules))
        return {"grades": GRADES, "modules": modules,
                "parameters": [_param(p) for p in params if (module is None or p.module == module)
                               and (grade is None or p.grade == grade)],
                "disclaimer": DISCLAIMER}

    @app.get("/api/parameters/{name}", tags=["catalogue"], summary="One parameter", responses=_errors(404, 422))
    def get_parameter(name: str):
        params = svc.model.parameters
        if name not in params:
            raise ApiError(404, f"unknown parameter {name!r}", suggest(name, params) + " (GET /api/parameters lists them)")
        return {"parameter": _param(params[name]), "disclaimer": DISCLAIMER}

    @app.get("/api/variables", tags=["catalogue"], summary="Variables a simulation can return (states, observables, inputs)",
             responses=_errors())
    def list_variables():
        return {"variables": svc.known_variables(), "default": list(DEFAULT_VARIABLES), "disclaimer": DISCLAIMER}

    @app.get("/api/inputs", tags=["catalogue"], summary="Scenario input channels with units and ranges", responses=_errors())
    def list_inputs():
        return {"inputs": [{"name": i.name, "unit": i.unit, "default": i.default, "lower": i.lower, "upper": i.upper,
                            "description": i.description,
                            "control": None if i.control is None else dataclasses.asdict(i.control)}
                           for i in svc.model.inputs], "disclaimer": DISCLAIMER}

    # simulation ---------------------------------------------------------------------------------
    @app.post("/api/simulate", tags=["simulation"], summary="Run one simulation (JSON or CSV)",
              responses={200: {"content": {"application/json": {}, "text/csv": {}}}, **_errors(404, 429, 503, *_BODY_ERRORS)})
    async def simulate(req: SimulationRequest, format: Literal["json", "csv"] | None = Query(
            None, description="overrides the body's format")):
        fmt = format or req.format
        scenario = svc.scenario(req.scenario)
        days = svc.horizon(scenario, req.days)
        svc.points(days, req.output_every, limits.max_points)
        overrides = svc.overrides(req.parameters)
        variables = svc.variables(req.variables, limits.max_variables)
        started = time.perf_counter()
        res = await svc.run(worker.run_simulation, scenario, overrides, days, req.output_every, variables, req.explain)
        if "error" in res:
            raise ApiError(422, res["error"], res["fix"])
        t = res["time"]
        if fmt == "csv":
            cols = ["time_day"] + variables
            units = ", ".join(f"{v} [{res['variables'][v]['units']}]" for v in variables)
            arr = [t] + [res["variables"][v]["values"] for v in variables]
            rows = ([_fmt(x) for x in row] for row in zip(*arr, strict=True))
            return _csv_response([f"gutbrain {__version__} simulation of scenario {scenario.name!r} ({days:g} days, "
                                  f"every {req.output_every:g} h); parameters {json.dumps(overrides)}",
                                  f"units: time_day [day], {units}", DISCLAIMER], cols, rows, f"{scenario.name}.csv")
        body = {
            "scenario": {"name": scenario.name, "description": scenario.description, "days": days,
                         "hash": res["attrs"].get("scenario_hash"), "definition": worker._plain(scenario.to_dict())},
            "parameters": overrides, "days": days, "output_every": req.output_every,
            "time": _sig(t), "time_units": "day",
            "variables": {v: {"units": d["units"], "long_name": d["long_name"], "values": _sig(d["values"])}
                          for v, d in res["variables"].items()},
            "summary": {v: _summary(t, d["values"]) for v, d in res["variables"].items()},
            "solver": res["attrs"].get("solver"), "wall_time_s": round(time.perf_counter() - started, 3),
            "simulation_s": res["attrs"].get("wall_time_s"),
        }
        if req.explain:
            body["why"] = {k: {"label": w["label"], "state": w["state"], "score": w["score"],
                               "log_drive": _sig(w["log_drive"]) if w["log_drive"] is not None else None,
                               "terms": [{**{k2: v2 for k2, v2 in term.items() if k2 != "values"}, "values": _sig(term["values"])}
                                         for term in w["terms"]]}
                           for k, w in res["why"].items()}
            body["reference"] = res["reference"]
        body["disclaimer"] = DISCLAIMER
        return JSONResponse(body)

    # claims -------------------------------------------------------------------------------------
    @app.get("/api/claims", tags=["claims"], summary="Whether claims are available, and which", responses=_errors())
    def list_claims():
        claims = _claims_module()
        if claims is None:
            return {"available": False, "claims": [], "message": "gutbrain.claims is not available in this installation",
                    "disclaimer": DISCLAIMER}
        return {"available": True, "claims": _claim_catalogue(claims), "disclaimer": DISCLAIMER}

    @app.post("/api/claims", tags=["claims"], status_code=202, summary="Check claims (background job)",
              responses=_errors(404, 429, *_BODY_ERRORS))
    def run_claims(req: ClaimsRequest | None = None):
        req = req or ClaimsRequest()
        claims = _claims_module()
        if claims is None:
            raise ApiError(404, "claims are not available in this installation (gutbrain.claims is missing)",
                           "install a gutbrain version that ships gutbrain.claims; GET /api/claims says whether it is there")
        known = [c["id"] for c in _claim_catalogue(claims)]
        ids = list(dict.fromkeys(req.ids)) if req.ids is not None else known
        for i in ids:
            if i not in known:
                raise ApiError(404, f"unknown claim {i!r}", suggest(i, known))
        cohort = req.cohort
        if cohort > limits.max_cohort:
            raise ApiError(422, f"cohort = {cohort} exceeds {limits.max_cohort}", f"use cohort <= {limits.max_cohort}")

        def target(job: Job):
            def progress(done: int, total: int) -> None:
                job.done, job.total = done, total
                job.message = f"running experiments ({done}/{total} patients) for {len(ids)} claims"

            job.message = f"checking {len(ids)} claims"
            # a process of its own: a claims check is one long call, and cancelling terminates it
            res = isolated.call(worker.run_claims_chunk, ids, cohort, cancel=job.cancel, progress=progress)
            if "error" in res:
                job.error = {"error": res["error"], "fix": res["fix"]}
                return
            job.done = job.total = max(job.total, 1)
            job.result = {"claims": res["results"]}

        job = svc.submit_job("claims", req.model_dump(), target)
        return JSONResponse(job.public(), status_code=202, headers={"Location": f"/api/jobs/{job.id}"})

    # cohorts ------------------------------------------------------------------------------------
    @app.post("/api/cohort", tags=["cohort"], status_code=202, summary="Simulate a small virtual cohort (background job)",
              responses=_errors(404, 429, *_BODY_ERRORS))
    def run_cohort(req: CohortRequest):
        from ..cohort import SUBTYPES, sample_patients

        if req.n > limits.max_cohort:
            raise ApiError(422, f"n = {req.n} patients exceeds this server's limit of {limits.max_cohort}",
                           f"use n <= {limits.max_cohort} (run bigger cohorts with the Python API)")
        for s in req.subtypes:
            if s not in SUBTYPES:
                raise ApiError(422, f"unknown subtype {s!r}", suggest(s, SUBTYPES))
        scenario = svc.scenario(req.scenario)
        days = svc.horizon(scenario, req.days)
        svc.points(days, req.output_every, limits.max_cohort_points)
        overrides = svc.overrides(req.parameters)
        variables = svc.variables(req.variables, limits.max_cohort_variables)
        patients = sample_patients(svc.model, req.n, seed=req.seed, subtypes=tuple(req.subtypes), overrides=overrides)
        reference = svc.model.parameters
        rows = [{k: p.value for k, p in m.parameters.items() if p.value != reference[k].value} for m in patients]

        def target(job: Job):
            chunk = 5
            job.total = len(rows)
            time_axis, status, units = None, [], {}
            values = {v: [] for v in variables}
            for i in range(0, len(rows), chunk):
                job.message = f"simulating patients {i + 1}-{min(i + chunk, len(rows))} of {len(rows)}"
                res = svc.call(job, worker.run_cohort_chunk, scenario, rows[i:i + chunk], days, req.output_every, variables)
                if "error" in res:
                    job.error = {"error": res["error"], "fix": res["fix"]}
                    return
                time_axis, units = res["time"], res["units"]
                status += res["status"]
                for v in variables:
                    values[v].append(res["variables"][v])
                job.done = min(i + chunk, len(rows))
            arrays = {v: np.concatenate(values[v], axis=0) for v in variables}
            job.result = {"time": time_axis, "status": status, "units": units, "values": arrays,
                          "parameters": rows, "scenario": scenario.name, "days": days}

        job = svc.submit_job("cohort", req.model_dump(), target)
        return JSONResponse(job.public(), status_code=202, headers={"Location": f"/api/jobs/{job.id}"})

    # jobs ---------------------------------------------------------------------------------------
    @app.get("/api/jobs", tags=["jobs"], summary="List background jobs", responses=_errors())
    def list_jobs():
        return {"jobs": [j.public() for j in reversed(svc.jobs.values())], "disclaimer": DISCLAIMER}

    @app.get("/api/jobs/{job_id}", tags=["jobs"], summary="Poll a job's progress", responses=_errors(404, 422))
    def get_job(job_id: str):
        return svc.get_job(job_id).public()

    @app.delete("/api/jobs/{job_id}", tags=["jobs"], summary="Cancel a job", responses=_errors(404, 413, 422))
    def cancel_job(job_id: str):
        job = svc.get_job(job_id)
        svc.cancel(job)
        return job.public()

    @app.get("/api/jobs/{job_id}/result", tags=["jobs"], summary="Fetch a finished job's result (JSON or CSV)",
             responses=_errors(404, 409, 422))
    def job_result(job_id: str, format: Literal["json", "csv"] = Query("json")):
        job = svc.get_job(job_id)
        if job.status in ("queued", "running"):
            raise ApiError(409, f"job {job_id} is {job.status} ({job.done}/{job.total or '?'})",
                           f"poll GET /api/jobs/{job_id} until its status is 'done'", job_status=job.status)
        if job.status != "done":
            raise ApiError(409, f"job {job_id} {job.status}: {job.message}",
                           (job.error or {}).get("fix", "start a new job"), job_status=job.status)
        if job.kind == "claims":
            if format == "csv":
                claims = job.result["claims"]
                keys = list(dict.fromkeys(k for c in claims for k in c if not isinstance(c[k], (dict, list))))
                rows = ([_cell(c.get(k)) for k in keys] for c in claims)
                return _csv_response([f"gutbrain {__version__} claims", DISCLAIMER], keys, rows, "claims.csv")
            return {"id": job.id, "kind": job.kind, **worker._plain(job.result), "disclaimer": DISCLAIMER}
        r = job.result
        t = r["time"]
        if format == "csv":
            cols = ["patient", "time_day"] + list(r["values"])
            rows = ([str(p), _fmt(t[k])] + [_fmt(r["values"][v][p, k]) for v in r["values"]]
                    for p in range(len(r["status"])) for k in range(len(t)))
            units = ", ".join(f"{v} [{u}]" for v, u in r["units"].items())
            return _csv_response([f"gutbrain {__version__} cohort of {len(r['status'])} patients, scenario {r['scenario']!r}",
                                  f"units: time_day [day], {units}", DISCLAIMER], cols, rows, "cohort.csv")
        qs = (5, 25, 50, 75, 95)
        summary = {}
        for v, a in r["values"].items():
            ok = np.isfinite(a).all(axis=1)
            summary[v] = {f"p{q}": _sig(np.percentile(a[ok], q, axis=0)) if ok.any() else None for q in qs}
            summary[v]["end"] = _sig(a[:, -1])
            summary[v]["units"] = r["units"][v]
        return {"id": job.id, "kind": job.kind, "scenario": r["scenario"], "days": r["days"], "n": len(r["status"]),
                "failed": sum(s != "ok" for s in r["status"]), "status": r["status"], "time": _sig(t),
                "summary": summary, "parameters": worker._plain(r["parameters"]), "disclaimer": DISCLAIMER}

    app.add_middleware(_Guard, max_bytes=limits.max_body_bytes, allowed_hosts=trusted)
    return app


def _cell(v) -> str:
    if isinstance(v, float):
        return _fmt(v)
    return "" if v is None else str(v)


def _param(p) -> dict:
    return {"name": p.name, "module": p.module, "value": p.value, "unit": p.unit, "lower": p.lower, "upper": p.upper,
            "prior": p.prior, "source": p.source, "grade": p.grade, "note": p.note}


def _plotly_path() -> Path | None:
    try:
        p = resources.files("plotly").joinpath("package_data", "plotly.min.js")
    except ModuleNotFoundError:
        return None
    p = Path(str(p))
    return p if p.is_file() else None
