"""The one entry point: ``simulate(model, scenario, *, days, backend, ...) -> xarray.Dataset``."""

from __future__ import annotations

import itertools
import math
import time as _time
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ._version import __version__
from .errors import DISCLAIMER, GutbrainError, InputError, suggest
from .model.assemble import Model
from .scenarios import Scenario, get
from .scenarios.scenario import MAX_DAYS, Schedule
from .solvers import BACKENDS
from .solvers.codegen import numpy_functions
from .solvers.registry import SOLVERS, Solver, default_solver, get_solver, resolve
from .solvers.scipy_backend import default_method

__all__ = [
    "MAX_OUTPUT_POINTS",
    "SOLVERS",
    "SimulationError",
    "Solver",
    "check_options",
    "daily_means",
    "default_method",
    "default_solver",
    "get_solver",
    "prepare",
    "reduce_daily",
    "reduce_summary",
    "simulate",
]

MAX_OUTPUT_POINTS = 2_000_000  # per patient
_WARM: dict[tuple, np.ndarray] = {}


class SimulationError(GutbrainError):
    """The solver failed for one or more patients."""


def check_options(days, backend, rtol, atol, output_every, warmup_days, method=None) -> None:
    """Validate :func:`simulate`'s numeric options and backend; raises :class:`InputError` with a fix."""
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


def _integrate(solver: Solver, models: Sequence[Model], y0s, schedule: Schedule, ts, rtol, atol, scenario):
    """Run ``solver`` for every patient; ``(states (n, time, state), status per patient)``."""
    return solver.integrate(models, np.asarray(y0s, float), schedule, ts, rtol=rtol, atol=atol * models[0].state_scales,
                            scenario=scenario)


def _warm_start(solver: Solver, models, scenario: Scenario, warmup_days, rtol, atol):
    if warmup_days == 0:
        return np.stack([m.y0 for m in models])
    base = scenario.baseline()
    key_base = (solver.name, base.hash, warmup_days, rtol, atol)
    out: list[np.ndarray | None] = [None] * len(models)
    todo = []
    for i, m in enumerate(models):
        key = (*key_base, m.param_hash)
        if key in _WARM:
            out[i] = _WARM[key]
        else:
            todo.append(i)
    if todo:
        sched = base.schedule(warmup_days)
        ts = np.array([0.0, 24.0 * warmup_days])
        ys, status = _integrate(solver, [models[i] for i in todo], np.stack([models[i].y0 for i in todo]), sched, ts, rtol, atol,
                                base)
        for j, i in enumerate(todo):
            out[i] = ys[j, -1]
            if status[j] == "ok" and len(_WARM) < 4096:
                _WARM[(*key_base, models[i].param_hash)] = ys[j, -1]
    return np.stack([x for x in out if x is not None])


def prepare(model: Model, backend: str | None = None, *, solver: str | Solver | None = None) -> None:
    """Load (or compile, once per machine) the solver code for ``model``'s structure, e.g. in a worker process."""
    resolve(backend, None, solver).prepare(model)


def observables(model: Model, t_h: np.ndarray, states: np.ndarray, schedule: Schedule) -> dict[str, np.ndarray]:
    """Evaluate every observable at times ``t_h`` (h) for one patient's ``states`` (time, state)."""
    fns = numpy_functions(model.structure)
    u = schedule.at(t_h).T
    vals = fns.observables(t_h, states.T, model.param_vector, u)
    return {k: np.broadcast_to(np.asarray(v, float), t_h.shape) for k, v in zip(model.observable_names, vals, strict=True)}


def simulate(model: Model | Sequence[Model], scenario: Scenario | str = "healthy-baseline", *, days: float | None = None,
             initial=None, start_day: float | None = None, reduce=None, observables: Sequence[str] | None = None,
             solver: str | Solver | None = None, backend: str | None = None, rtol: float = 1e-6, atol: float = 1e-8,
             output_every: float = 1.0, warmup_days: float = 28.0, method: str | None = None, throw: bool = True,
             workers: int = 1, chunk_size: int = 64) -> xr.Dataset:
    """Simulate one patient (a :class:`Model`) or several (a sequence of models) under a scenario.

    Parameters
    ----------
    model
        A model from :func:`gutbrain.load_model` (one patient) or a sequence of models (a cohort).
    scenario
        A :class:`Scenario`, a built-in scenario name, or a path to a scenario TOML file.
    days
        Length of the run in days, counted from ``start_day`` (default: the scenario's length minus ``start_day``).
    initial
        Where the run starts. ``None`` (default): each patient's periodic steady state after the warm-up.
        Otherwise a saved state, and no warm-up is run: an :class:`xarray.Dataset` from an earlier run (its last
        time point, or the one chosen with ``.sel(time=...)``; a cohort's ``patient`` dimension must match the
        models), a mapping ``{state name: value}`` with every state, or an array of shape ``(n_states,)`` or
        ``(n_patients, n_states)`` in the order of ``model.states``.
    start_day
        Scenario day at which the run starts (the scenario's episodes are read on its own clock, so a
        run started at day 60 sees an episode of days 70-90 ten days in). Default: the time of an ``initial``
        Dataset, else 0. Branching off a run at day d (``initial=ds.sel(time=d)``) continues it: the result
        equals the uninterrupted run to solver tolerance. The output's ``time`` is the scenario day.
    reduce
        ``None`` (full output), ``"daily"`` (each variable's daily mean over each day ``(k, k+1]``, with
        ``<name>_min`` and ``<name>_max``; dims ``day``), ``"summary"`` (per patient: mean, min, max over the
        run and the final value, as ``<name>_mean`` ... ``<name>_final``), or a callable ``Dataset -> Dataset``
        (a module-level function when ``workers > 1``, so that it can be sent to the worker processes).
        For a cohort the reduction is applied to groups of ``chunk_size`` patients as they finish, so the full
        output never has to fit in memory at once.
    observables
        Names of the states and observables to return (default: all); the inputs and ``status`` are always kept.
    solver
        A registered solver name or a solver object (:mod:`gutbrain.solvers.registry`): ``"numba-bdf-split"``
        (default: SciPy's BDF compiled with numba, run on the glucose block and then on the rest of the model),
        ``"numba-bdf"`` (the same BDF on the whole model), ``"scipy-lsoda"``, ``"scipy-bdf"``, ``"scipy-radau"``,
        ``"diffrax-kvaerno5"`` (JAX; batched, GPU) or ``"roadrunner-cvode"`` (libroadrunner on the exported SBML).
        Its name is recorded in ``attrs["solver"]``.
    backend, method
        The older way to choose a solver: ``backend="scipy"`` with ``method`` one of ``"BDF-split"``,
        ``"BDF-numba"``, ``"LSODA"``, ``"BDF"``, ``"Radau"``; ``backend="jax"``; ``backend="roadrunner"``.
        Not together with ``solver``.
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
    chunk_size
        Patients per group when a cohort's output is reduced (``reduce``); ignored otherwise.

    Returns
    -------
    xarray.Dataset
        Dims ``time`` (days) and, for several patients, ``patient``. Every state and observable with a
        ``units`` attribute; provenance in ``attrs``.
    """
    scenario = get(scenario)
    many = not isinstance(model, Model)
    models: list[Model] = [model] if isinstance(model, Model) else list(model)
    if not models or not all(isinstance(m, Model) for m in models):
        raise InputError("model", type(model).__name__, "a Model or a non-empty sequence of Models", "use gutbrain.load_model()")
    if len({m.structure.digest for m in models}) != 1:
        raise InputError("model", "mixed structures", "models sharing one structure", "simulate each model version separately")
    start_day = _start_day(initial, start_day)
    days = float(scenario.days - start_day if days is None else days)
    if days <= 0 and start_day > 0:
        raise InputError("start_day", start_day, f"a day before the end of the scenario ({scenario.days:g} days)",
                         "pass days=... for a run beyond the scenario's default length")
    check_options(days, backend or "scipy", rtol, atol, output_every, warmup_days, method)
    solv = resolve(backend, method, solver)
    if start_day > 0 and not solv.capabilities.get("start_anywhere", True):
        raise InputError("start_day", start_day, f"0 with solver {solv.name!r} (it runs a scenario from its day 0)",
                         "drop start_day/initial, or use solver='numba-bdf-split'")
    scenario.check_horizon(start_day + days)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256:
        raise InputError("workers", workers, "a whole number of processes in [1, 256]", "e.g. workers=2")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 1 <= chunk_size <= 100_000:
        raise InputError("chunk_size", chunk_size, "a whole number of patients in [1, 100000]", "e.g. chunk_size=64")
    y_init = None if initial is None else _initial_states(initial, models)
    keep = _check_observables(models[0], observables)
    reducer = _reducer(reduce)
    in_processes = bool(solv.capabilities.get("processes", False))
    if many and len(models) > 1 and (reducer is not None or (workers > 1 and in_processes)):
        kwargs = dict(days=days, start_day=start_day, reduce=reduce, observables=observables, solver=solv, rtol=rtol,
                      atol=atol, output_every=output_every, warmup_days=warmup_days, throw=throw)
        size = chunk_size if reducer is not None else len(models)
        return _grouped(models, y_init, scenario, workers if in_processes else 1, size, kwargs)
    started = _time.perf_counter()
    y0s = _warm_start(solv, models, scenario, warmup_days, rtol, atol) if y_init is None else y_init
    schedule = scenario.schedule(start_day + days)
    n_out = int(round(days * 24.0 / output_every))
    ts = 24.0 * start_day + np.linspace(0.0, days * 24.0, n_out + 1)
    ys, status = _integrate(solv, models, y0s, schedule, ts, rtol, atol, scenario)
    if throw and np.any(status != "ok"):
        bad = [i for i, s in enumerate(status) if s != "ok"]
        raise SimulationError(f"the {solv.name} solver failed for patient(s) {bad[:10]} under scenario {scenario.name!r}; "
                              "try solver='scipy-bdf', tighter rtol, or throw=False to keep the other patients")
    ds = _dataset(models, scenario, schedule, ts, ys, status)
    ds.attrs.update({
        "gutbrain_version": __version__, "backend": solv.capabilities.get("backend", "custom"), "solver": solv.name,
        "rtol": rtol, "atol": atol, "warmup_days": warmup_days if y_init is None else 0.0,
        "initial": "warm-up" if y_init is None else "given", "start_day": start_day,
        "scenario": scenario.name, "scenario_hash": scenario.hash,
        "model": models[0].name, "structure_hash": models[0].structure.digest,
        "parameter_hash": models[0].param_hash if not many else ",".join(m.param_hash for m in models[:50]),
        "wall_time_s": round(_time.perf_counter() - started, 3), "disclaimer": DISCLAIMER,
    })
    if keep is not None:
        ds = ds[[*keep, *(str(v) for v in ds.data_vars if str(v).startswith("input_")), "status"]]
    if reducer is not None:
        ds = reducer(ds)
    if not many and "patient" in ds.dims:
        ds = ds.isel(patient=0, drop=True)
    return ds


# -- starting states, selections and reductions -------------------------------------------------------------

def _start_day(initial, start_day) -> float:
    if start_day is None:
        if isinstance(initial, (xr.Dataset, xr.DataArray)) and "time" in initial.coords:
            t = np.atleast_1d(initial["time"].values)
            return float(t[-1])
        return 0.0
    if isinstance(start_day, bool) or not isinstance(start_day, (int, float, np.floating, np.integer)) \
            or not math.isfinite(start_day) or not 0.0 <= start_day <= MAX_DAYS:
        raise InputError("start_day", start_day, f"a finite day in [0, {MAX_DAYS}]", "e.g. start_day=70")
    return float(start_day)


def _initial_states(initial, models: Sequence[Model]) -> np.ndarray:
    """The starting state of every patient, shape ``(n_patients, n_states)``, from the forms ``initial`` accepts."""
    names = [s.name for s in models[0].states]
    n = len(models)
    if isinstance(initial, xr.Dataset):
        missing = [k for k in names if k not in initial.data_vars]
        if missing:
            raise InputError("initial", f"a Dataset without {len(missing)} state(s), e.g. {missing[:3]}",
                             "a Dataset holding every state of the model", "pass the output of gutbrain.simulate for this model")
        if "time" in initial.dims:
            initial = initial.isel(time=-1)
        arr = np.stack([np.asarray(initial[k].values, float) for k in names], axis=-1)
        if arr.ndim == 1:
            arr = np.broadcast_to(arr, (n, len(names)))
        elif arr.shape[0] != n:
            raise InputError("initial", f"{arr.shape[0]} patients", f"the same number of patients as models ({n})",
                             "select the matching patients with .isel(patient=...)")
    elif isinstance(initial, dict):
        unknown = [k for k in initial if k not in names]
        if unknown:
            raise InputError("initial", unknown[0], "a state of the model", suggest(str(unknown[0]), names))
        missing = [k for k in names if k not in initial]
        if missing:
            raise InputError("initial", f"{len(missing)} state(s) missing, e.g. {missing[:3]}", "a value for every state",
                             "start from a Dataset of an earlier run, or take model.y0 and change what you need")
        arr = np.broadcast_to(np.array([np.asarray(initial[k], float) for k in names]).T, (n, len(names)))
    else:
        try:
            arr = np.asarray(initial, float)
        except (TypeError, ValueError):
            raise InputError("initial", type(initial).__name__, "a Dataset, a {state: value} mapping or an array",
                             "see help(gutbrain.simulate)") from None
        if arr.ndim == 1:
            arr = np.broadcast_to(arr, (n, arr.shape[0]))
        if arr.ndim != 2 or arr.shape != (n, len(names)):
            raise InputError("initial", f"an array of shape {arr.shape}", f"shape ({len(names)},) or ({n}, {len(names)})",
                             "order the values as model.states")
    arr = np.array(arr, float)
    if not np.all(np.isfinite(arr)):
        raise InputError("initial", "non-finite values", "finite state values", "a failed patient's state cannot be continued")
    return arr


def _check_observables(model: Model, observables) -> list[str] | None:
    if observables is None:
        return None
    if isinstance(observables, str):
        observables = [observables]
    known = [s.name for s in model.states] + list(model.observable_names)
    names = list(dict.fromkeys(observables))
    for k in names:
        if k not in known:
            raise InputError("observables", k, "a state or observable of the model", suggest(str(k), known))
    if not names:
        raise InputError("observables", "[]", "at least one name", "omit observables= to keep everything")
    return names


def _per_patient_vars(ds: xr.Dataset) -> list[str]:
    return [str(v) for v in ds.data_vars if "time" in ds[v].dims and not str(v).startswith("input_")]


def _day_starts(t_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Day of each sample (day ``k`` holds ``(k, k + 1]``; the first day also holds the run's first time) and the
    index where each day's samples start."""
    t = np.asarray(t_days, float)
    day = np.floor(t - 1e-9).clip(np.floor(t[0] + 1e-9))
    return day, np.flatnonzero(np.r_[True, np.diff(day) != 0])


def daily_means(t_days: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means over each day ``(k, k + 1]`` (the first day also holds the run's first time) of ``values`` (..., time),
    skipping NaN. Returns ``(days, means)``; a day with no finite value is NaN. (A NumPy reduction: xarray's groupby
    took ~90 % of the claims' run time.)
    """
    day, starts = _day_starts(t_days)
    valid = np.isfinite(values)
    sums = np.add.reduceat(np.where(valid, values, 0.0), starts, axis=-1)
    counts = np.add.reduceat(valid, starts, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return day[starts], means


def reduce_daily(ds: xr.Dataset) -> xr.Dataset:
    """Daily mean (:func:`daily_means`), minimum and maximum of every state and observable over each day ``(k, k + 1]``.

    The first day also holds the run's first time (day 0 holds ``t = 0``). Inputs get their daily mean. A failed
    patient (NaN) stays NaN.
    """
    t = np.asarray(ds["time"].values, float)
    _, starts = _day_starts(t)
    data: dict[Hashable, xr.DataArray | tuple[tuple[Hashable, ...], np.ndarray, dict[Any, Any]]] = {}
    for v in ds.data_vars:
        if "time" not in ds[v].dims:
            data[v] = ds[v]
            continue
        x = ds[v].transpose(..., "time").values
        dims = (*tuple(d for d in ds[v].dims if d != "time"), "day")
        days, means = daily_means(t, x)
        data[v] = (dims, means, {**ds[v].attrs, "reduced": "daily mean"})
        if not str(v).startswith("input_"):
            data[f"{v}_min"] = (dims, np.minimum.reduceat(x, starts, axis=-1), {**ds[v].attrs, "reduced": "daily minimum"})
            data[f"{v}_max"] = (dims, np.maximum.reduceat(x, starts, axis=-1), {**ds[v].attrs, "reduced": "daily maximum"})
    coords = {k: ds.coords[k] for k in ds.coords if k != "time"}
    out = xr.Dataset(data, coords={**coords, "day": ("day", days, {"units": "day"})})
    out.attrs = {**ds.attrs, "reduce": "daily"}
    return out


def reduce_summary(ds: xr.Dataset) -> xr.Dataset:
    """Per patient over the whole run: mean, minimum, maximum and final value of every state and observable."""
    data = {}
    for v in _per_patient_vars(ds):
        x = ds[v]
        for name, r in (("mean", x.mean("time")), ("min", x.min("time")), ("max", x.max("time")), ("final", x.isel(time=-1, drop=True))):
            data[f"{v}_{name}"] = r.assign_attrs({**x.attrs, "reduced": name})
    if "status" in ds:
        data["status"] = ds["status"]
    out = xr.Dataset(data)
    out.attrs = {**ds.attrs, "reduce": "summary", "days": float(ds["time"].values[-1] - ds["time"].values[0])}
    return out


_REDUCERS = {"daily": reduce_daily, "summary": reduce_summary}


def _reducer(reduce):
    if reduce is None:
        return None
    if callable(reduce):
        return reduce
    if isinstance(reduce, str) and reduce in _REDUCERS:
        return _REDUCERS[reduce]
    raise InputError("reduce", reduce, "None, " + ", ".join(repr(k) for k in _REDUCERS) + " or a callable Dataset -> Dataset",
                     suggest(str(reduce), list(_REDUCERS)))


def _run_group(args):
    models, y_init, scenario, kwargs = args
    reducer = _reducer(kwargs["reduce"])
    ds = simulate(models, scenario, initial=y_init, workers=1, **{**kwargs, "reduce": None})
    return ds if reducer is None else reducer(ds)


def _grouped(models, y_init, scenario, workers, size, kwargs) -> xr.Dataset:
    """Run a cohort in groups (reduced as each finishes) over ``workers`` processes; patients keep their order."""
    k = min(workers, len(models))
    if size >= len(models):
        size = max(1, -(-len(models) // (4 * k))) if len(models) >= 4 * k else max(1, -(-len(models) // k))
    bounds = [*list(range(0, len(models), size)), len(models)]
    groups = [(models[a:b], None if y_init is None else y_init[a:b], scenario, kwargs) for a, b in itertools.pairwise(bounds)]
    from .parallel import map_jobs

    parts = map_jobs(_run_group, groups, workers=k, chunksize=1)
    parts = [p if "patient" in p.dims else p.expand_dims(patient=[0]) for p in parts]
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


def _dataset(models, scenario, schedule, ts, ys, status) -> xr.Dataset:
    m0 = models[0]
    data: dict[str, tuple[tuple[str, ...], np.ndarray] | tuple[tuple[str, ...], np.ndarray, dict[str, Any]]] = {}
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
