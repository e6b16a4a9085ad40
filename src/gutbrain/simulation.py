"""The one entry point: ``simulate(model, scenario, *, days, backend, ...) -> xarray.Dataset``."""

from __future__ import annotations

import math
import time as _time
from collections.abc import Sequence

import numpy as np
import xarray as xr

from ._version import __version__
from .errors import DISCLAIMER, GutbrainError, InputError, suggest
from .model.assemble import Model
from .scenarios import Scenario, get
from .scenarios.scenario import MAX_DAYS, Schedule
from .solvers import BACKENDS
from .solvers.codegen import numpy_functions
from .solvers.scipy_backend import default_method as _default_method

__all__ = ["simulate", "SimulationError", "MAX_OUTPUT_POINTS"]

MAX_OUTPUT_POINTS = 2_000_000  # per patient
_WARM: dict[tuple, np.ndarray] = {}


class SimulationError(GutbrainError):
    """The solver failed for one or more patients."""


def _check_options(days, backend, rtol, atol, output_every, warmup_days, method):
    if backend not in BACKENDS:
        raise InputError("backend", backend, "one of " + ", ".join(BACKENDS), suggest(str(backend), BACKENDS))
    for name, v, lo, hi in (("days", days, 0.0, MAX_DAYS), ("rtol", rtol, 1e-12, 1e-2), ("atol", atol, 1e-14, 1e-2),
                            ("output_every", output_every, 1e-3, 24.0 * MAX_DAYS), ("warmup_days", warmup_days, 0.0, 365.0)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v) or not lo <= v <= hi:
            raise InputError(name, v, f"a finite number in [{lo:g}, {hi:g}]", "see help(gutbrain.simulate) for the units")
    if days <= 0:
        raise InputError("days", days, "a positive horizon in days", "e.g. days=180")
    if 24.0 * days < 1e-3:
        raise InputError("days", days, "a horizon of at least one output step (the finest is 0.001 h, so "
                         f"days >= {1e-3 / 24:.2g})", "e.g. days=2 (or days=0.5 for 12 hours)")
    if output_every > 24.0 * days:
        raise InputError("output_every", output_every, f"at most the horizon ({24.0 * days:.3g} h = {days:g} days), "
                         "so that the output has more than the initial point",
                         f"use output_every <= {24.0 * days:.3g} h, or a longer horizon (days)")
    n = days * 24.0 / output_every
    if n > MAX_OUTPUT_POINTS:
        raise InputError("output_every", output_every, f"at most {MAX_OUTPUT_POINTS:,} output points per patient",
                         f"use output_every >= {days * 24 / MAX_OUTPUT_POINTS:.3g} h or fewer days")
    if method is not None:
        from .solvers.scipy_backend import METHODS

        if backend != "scipy" or method not in METHODS:
            raise InputError("method", method, f"one of {METHODS} with backend='scipy'", suggest(str(method), METHODS))


def _integrate(backend, models: Sequence[Model], y0s, schedule: Schedule, ts, rtol, atol, method):
    structure = models[0].structure
    atol = atol * models[0].state_scales
    n = len(models)
    ys = np.full((n, len(ts), len(models[0].states)), np.nan)
    status = np.array(["ok"] * n, dtype=object)
    if backend == "jax":
        from .solvers import jax_backend

        if n == 1:
            y, ok, _ = jax_backend.integrate(structure, y0s[0], models[0].param_vector, schedule, ts, rtol=rtol, atol=atol)
            ys[0], oks = y, np.array([ok])
        else:
            ps = np.stack([m.param_vector for m in models])
            ys, oks, _ = jax_backend.integrate_batch(structure, np.asarray(y0s), ps, schedule, ts, rtol=rtol, atol=atol)
        for i in range(n):
            if not oks[i] or not np.all(np.isfinite(ys[i])):
                status[i] = "failed"
        return ys, status
    from .solvers.scipy_backend import SolverFailure, integrate

    for i, m in enumerate(models):
        try:
            ys[i] = integrate(structure, y0s[i], m.param_vector, schedule, ts, rtol=rtol, atol=atol, method=method)
        except (SolverFailure, ArithmeticError):
            status[i] = "failed"
    return ys, status


def _simulate_chunk(args):
    models, scenario, kwargs = args
    return simulate(models, scenario, **kwargs)


def _parallel(models, scenario, workers, kwargs) -> xr.Dataset:
    """Split a cohort over ``workers`` processes (SciPy backend); results are identical to a serial run."""
    from concurrent.futures import ProcessPoolExecutor

    k = min(workers, len(models))
    bounds = np.linspace(0, len(models), k * 4 + 1).astype(int) if len(models) >= 4 * k else np.linspace(0, len(models), k + 1).astype(int)
    chunks = [models[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    import multiprocessing as mp

    with ProcessPoolExecutor(max_workers=k, mp_context=mp.get_context("spawn")) as pool:
        parts = list(pool.map(_simulate_chunk, [(c, scenario, kwargs) for c in chunks]))
    per_patient = [v for v in parts[0].data_vars if "patient" in parts[0][v].dims]
    ds = xr.concat([p[per_patient] for p in parts], dim="patient", join="override")
    ds = ds.assign_coords(patient=np.arange(len(models)))
    for v in parts[0].data_vars:
        if v not in per_patient:
            ds[v] = parts[0][v]
    ds.attrs = dict(parts[0].attrs)
    ds.attrs["parameter_hash"] = ",".join(m.param_hash for m in models[:50])
    ds.attrs["workers"] = k
    return ds


def _warm_start(backend, models, scenario: Scenario, warmup_days, rtol, atol, method):
    if warmup_days == 0:
        return np.stack([m.y0 for m in models])
    base = scenario.baseline()
    key_base = (backend, base.hash, warmup_days, rtol, atol, method)
    out = [None] * len(models)
    todo = []
    for i, m in enumerate(models):
        key = key_base + (m.param_hash,)
        if key in _WARM:
            out[i] = _WARM[key]
        else:
            todo.append(i)
    if todo:
        sched = base.schedule(warmup_days)
        ts = np.array([0.0, 24.0 * warmup_days])
        ys, status = _integrate(backend, [models[i] for i in todo], np.stack([models[i].y0 for i in todo]), sched, ts, rtol, atol, method)
        for j, i in enumerate(todo):
            out[i] = ys[j, -1]
            if status[j] == "ok" and len(_WARM) < 4096:
                _WARM[key_base + (models[i].param_hash,)] = ys[j, -1]
    return np.stack(out)


def observables(model: Model, t_h: np.ndarray, states: np.ndarray, schedule: Schedule) -> dict[str, np.ndarray]:
    """Evaluate every observable at times ``t_h`` (h) for one patient's ``states`` (time, state)."""
    fns = numpy_functions(model.structure)
    u = schedule.at(t_h).T
    vals = fns.observables(t_h, states.T, model.param_vector, u)
    return {k: np.broadcast_to(np.asarray(v, float), t_h.shape) for k, v in zip(model.observable_names, vals, strict=True)}


def simulate(model: Model | Sequence[Model], scenario: Scenario | str = "healthy-baseline", *, days: float | None = None,
             backend: str = "scipy", rtol: float = 1e-6, atol: float = 1e-8, output_every: float = 1.0,
             warmup_days: float = 28.0, method: str | None = None, throw: bool = True, workers: int = 1) -> xr.Dataset:
    """Simulate one patient (a :class:`Model`) or several (a sequence of models) under a scenario.

    Parameters
    ----------
    model
        A model from :func:`gutbrain.load_model` (one patient) or a sequence of models (a cohort).
    scenario
        A :class:`Scenario`, a built-in scenario name, or a path to a scenario TOML file.
    days
        Horizon in days (default: the scenario's).
    backend
        ``"scipy"`` (reference; default ``method`` ``"BDF-split"``: SciPy's BDF compiled with numba, run on the
        glucose block and then on the rest of the model; ``"BDF-numba"``: the same BDF on the whole model;
        or ``"LSODA"``/``"BDF"``/``"Radau"`` through SciPy) or ``"jax"`` (diffrax Kvaerno5).
    rtol, atol
        Solver tolerances.
    output_every
        Output spacing in hours.
    warmup_days
        Days simulated first under the scenario's baseline (diet, meals, sleep; no episodes) so that every
        patient starts from its own periodic steady state. Day 0 of the output is the end of the warm-up.
    throw
        Raise :class:`SimulationError` if any patient fails; otherwise mark it in the ``status`` variable.
    workers
        For several patients on the SciPy backend: number of processes to spread them over.

    Returns
    -------
    xarray.Dataset
        Dims ``time`` (days) and, for several patients, ``patient``. Every state and observable with a
        ``units`` attribute; provenance in ``attrs``.
    """
    scenario = get(scenario)
    days = float(scenario.days if days is None else days)
    _check_options(days, backend, rtol, atol, output_every, warmup_days, method)
    scenario.check_horizon(days)
    many = not isinstance(model, Model)
    models = list(model) if many else [model]
    if not models or not all(isinstance(m, Model) for m in models):
        raise InputError("model", type(model).__name__, "a Model or a non-empty sequence of Models", "use gutbrain.load_model()")
    if len({m.structure.digest for m in models}) != 1:
        raise InputError("model", "mixed structures", "models sharing one structure", "simulate each model version separately")
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256:
        raise InputError("workers", workers, "a whole number of processes in [1, 256]", "e.g. workers=2")
    if many and workers > 1 and backend == "scipy" and len(models) > 1:
        kwargs = dict(days=days, backend=backend, rtol=rtol, atol=atol, output_every=output_every, warmup_days=warmup_days,
                      method=method, throw=throw)
        return _parallel(models, scenario, workers, kwargs)
    started = _time.perf_counter()
    y0s = _warm_start(backend, models, scenario, warmup_days, rtol, atol, method)
    schedule = scenario.schedule(days)
    n_out = int(round(days * 24.0 / output_every))
    ts = np.linspace(0.0, days * 24.0, n_out + 1)
    ys, status = _integrate(backend, models, y0s, schedule, ts, rtol, atol, method)
    if throw and np.any(status != "ok"):
        bad = [i for i, s in enumerate(status) if s != "ok"]
        raise SimulationError(f"the {backend} solver failed for patient(s) {bad[:10]} under scenario {scenario.name!r}; "
                              "try backend='scipy', method='BDF', tighter rtol, or throw=False to keep the other patients")
    ds = _dataset(models, scenario, schedule, ts, ys, status)
    ds.attrs.update({
        "gutbrain_version": __version__, "backend": backend, "solver": (method or _default_method()) if backend == "scipy" else "diffrax.Kvaerno5",
        "rtol": rtol, "atol": atol, "warmup_days": warmup_days, "scenario": scenario.name, "scenario_hash": scenario.hash,
        "model": models[0].name, "structure_hash": models[0].structure.digest,
        "parameter_hash": models[0].param_hash if not many else ",".join(m.param_hash for m in models[:50]),
        "wall_time_s": round(_time.perf_counter() - started, 3), "disclaimer": DISCLAIMER,
    })
    if not many:
        ds = ds.isel(patient=0, drop=True)
    return ds


def _dataset(models, scenario, schedule, ts, ys, status) -> xr.Dataset:
    m0 = models[0]
    data = {}
    for j, s in enumerate(m0.states):
        data[s.name] = (("patient", "time"), ys[:, :, j], {"units": s.unit, "long_name": s.description, "module": s.module, "kind": "state"})
    obs = {k: np.full((len(models), len(ts)), np.nan) for k in m0.observable_names}
    for i, m in enumerate(models):
        if status[i] != "ok":
            continue
        for k, v in observables(m, ts, ys[i], schedule).items():
            obs[k][i] = v
    for k, q in m0.structure.observables.items():
        data[k] = (("patient", "time"), obs[k], {"units": q.unit, "long_name": q.description, "module": q.module, "kind": "observable"})
    u = schedule.at(ts)
    for j, inp in enumerate(m0.inputs):
        data[f"input_{inp.name}"] = (("time",), u[:, j], {"units": inp.unit, "long_name": inp.description, "kind": "input"})
    data["status"] = (("patient",), np.asarray(status, dtype=str))
    return xr.Dataset(data, coords={"time": ("time", ts / 24.0, {"units": "day"}), "patient": np.arange(len(models))})
