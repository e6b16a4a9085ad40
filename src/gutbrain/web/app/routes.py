"""The FastAPI application: every route of the explorer and the REST API."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..._version import __version__
from ...errors import DISCLAIMER, GutbrainError, suggest
from .. import isolated, worker
from .guard import (
    LOCAL_HOSTS,
    _allowed_methods,
    _error_body,
    _Guard,
    _host_name,
    _validation_message,
)
from .responses import _cell, _csv_response, _fmt, _param, _sig, _summary
from .schemas import (
    _BODY_ERRORS,
    DEFAULT_VARIABLES,
    ApiError,
    ClaimsRequest,
    CohortRequest,
    Limits,
    SimulationRequest,
    _errors,
)
from .service import Job, Service, _claim_catalogue, _claims_module

STATIC = Path(__file__).resolve().parent.parent / "static"


#: Swagger UI (npm swagger-ui-dist, Apache-2.0), vendored so that /docs works with no network
SWAGGER_UI = "/static/vendor/swagger-ui"


SWAGGER_UI_VERSION = "5.35.0"


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
        from ...scenarios import builtin

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
        from ...parameters import GRADES

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
            cols = ["time_day", *variables]
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
            job.result = {"claims": res["results"], **({"table": res["table"]} if "table" in res else {})}

        job = svc.submit_job("claims", req.model_dump(), target)
        return JSONResponse(job.public(), status_code=202, headers={"Location": f"/api/jobs/{job.id}"})

    # cohorts ------------------------------------------------------------------------------------
    @app.post("/api/cohort", tags=["cohort"], status_code=202, summary="Simulate a small virtual cohort (background job)",
              responses=_errors(404, 429, *_BODY_ERRORS))
    def run_cohort(req: CohortRequest):
        from ...cohort import SUBTYPES, sample_patients

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
            values: dict[str, list] = {v: [] for v in variables}
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
            cols = ["patient", "time_day", *list(r["values"])]
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


def _plotly_path() -> Path | None:
    try:
        p = resources.files("plotly").joinpath("package_data", "plotly.min.js")
    except ModuleNotFoundError:
        return None
    p = Path(str(p))
    return p if p.is_file() else None
