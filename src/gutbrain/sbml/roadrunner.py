"""Simulate an exported document in libroadrunner and compare it with gutbrain's reference solver."""

from __future__ import annotations

import time as _time

import numpy as np

from ..errors import InputError
from ..model.assemble import Model
from ._common import SBMLExportError
from .export import to_sbml


# ------------------------------------------------------------------------------------------------
# Verification in libroadrunner
# ------------------------------------------------------------------------------------------------
def _simulate_fn():
    """``gutbrain.simulate`` (the package attribute, wherever the module that defines it lives)."""
    import gutbrain

    return gutbrain.simulate


def _roadrunner():
    try:
        import roadrunner
    except ImportError:  # pragma: no cover - depends on the environment
        raise SBMLExportError("SBML verification needs libroadrunner: pip install 'gutbrain[sbml]'") from None
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)  # CVODE's 't + h = t' notes after event restarts
    return roadrunner


def roadrunner_simulate(sbml: str, model: Model, days: float, *, output_every: float = 1.0, rtol: float = 1e-8,
                        atol: float = 1e-12) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float]]:
    """Simulate an exported document with libroadrunner (CVODE, BDF) on a grid of ``output_every`` hours.

    Absolute tolerances are ``atol * state_scales`` per state (as in :func:`gutbrain.simulate`).
    Events are located by CVODE's root finder, so integration stops at every input switch and
    restarts there with the new inputs. Returns the grid (h), the values of every state and
    observable on it, and timings (``load_s``: parse and JIT compile, ``simulate_s``).
    """
    rr_mod = _roadrunner()
    t0 = _time.perf_counter()
    rr = rr_mod.RoadRunner(sbml)
    load_s = _time.perf_counter() - t0
    rr.setIntegrator("cvode")
    integ = rr.integrator
    integ.relative_tolerance = float(rtol)
    integ.stiff = True
    integ.variable_step_size = False   # report exactly on the output grid (CVODE still adapts its own steps)
    integ.maximum_num_steps = 1_000_000
    integ.absolute_tolerance = float(atol)
    for name, scale in zip(model.state_names, model.state_scales, strict=True):
        integ.setIndividualTolerance(name, float(atol * scale))
    names = list(model.state_names) + list(model.observable_names)
    rr.timeCourseSelections = ["time", *names]
    n_out = int(round(days * 24.0 / output_every))
    t0 = _time.perf_counter()
    res = np.asarray(rr.simulate(0.0, days * 24.0, n_out + 1))
    sim_s = _time.perf_counter() - t0
    return res[:, 0], {k: res[:, j + 1] for j, k in enumerate(names)}, {"load_s": load_s, "simulate_s": sim_s}


def verify(model: Model, scenario="healthy-baseline", *, days: float = 2.0, rtol: float = 1e-8, atol: float = 1e-12,
           warmup_days: float = 28.0, floor: float = 1e-6, output_every: float = 1.0) -> dict:
    """Compare the exported SBML, simulated in libroadrunner, with gutbrain's SciPy backend.

    The SciPy run (``simulate(..., backend="scipy", rtol, atol, warmup_days)``) gives the warm
    state at day 0; the scenario is exported from that state over ``days`` and simulated in
    libroadrunner with the same tolerances on the same hourly grid.

    The deviation of a variable is ``max_t |x_rr - x_scipy| / max(|x_scipy|, floor * scale)``,
    where ``scale`` is the state's typical magnitude (``State.typical``) or, for an observable,
    ``max_t |x_scipy|`` (1 if that is 0).

    ``atol`` (times each state's typical scale) defaults to 1e-12, well below the 1e-6 floor:
    with 1e-10 the solvers' own global error on a state passing through 1e-6 of its scale (the
    counter-regulation signal ``CR`` between meals under ``high-gi-meals``) reaches 1.4e-3 of its
    value in either solver alone, which would be blamed on the export.

    Returns a dict with ``max_rel_dev`` (name -> deviation), ``worst`` (name, deviation),
    ``export_s``, ``roadrunner_load_s``, ``roadrunner_simulate_s``, ``scipy_s``, ``n_events`` and
    the settings used.
    """
    from ..scenarios import get
    simulate = _simulate_fn()

    scenario = get(scenario)
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not (0 < days <= 3650):
        raise InputError("days", days, "a horizon in (0, 3650] days", "e.g. days=2")
    t0 = _time.perf_counter()
    ds = simulate(model, scenario, days=days, backend="scipy", rtol=rtol, atol=atol, output_every=output_every,
                  warmup_days=warmup_days)
    scipy_s = _time.perf_counter() - t0
    y_init = np.array([float(ds[s].values[0]) for s in model.state_names])
    t0 = _time.perf_counter()
    xml = to_sbml(model, scenario, days=days, initial_state=y_init)
    export_s = _time.perf_counter() - t0
    t_rr, vals, timing = roadrunner_simulate(xml, model, days, output_every=output_every, rtol=rtol, atol=atol)
    t_ref = ds["time"].values * 24.0
    if t_rr.shape != t_ref.shape or np.max(np.abs(t_rr - t_ref)) > 1e-9:
        raise SBMLExportError("libroadrunner returned a different output grid than the SciPy backend")
    scales = dict(zip(model.state_names, model.state_scales, strict=True))
    dev, worst_time = {}, {}
    for name, x in vals.items():
        ref = ds[name].values
        scale = scales.get(name)
        if scale is None:
            scale = float(np.max(np.abs(ref))) or 1.0
        err = np.abs(x - ref) / np.maximum(np.abs(ref), floor * scale)
        err = np.where(np.isfinite(err), err, np.inf)
        dev[name] = float(np.max(err))
        worst_time[name] = float(t_ref[int(np.argmax(err))])
    worst = max(dev.items(), key=lambda kv: kv[1])
    schedule = scenario.schedule(days)
    return {"scenario": scenario.name, "days": float(days), "warmup_days": float(warmup_days), "rtol": rtol, "atol": atol,
            "floor": floor, "max_rel_dev": dev, "worst_time_h": worst_time, "worst": worst,
            "max_state_dev": max(dev[s] for s in model.state_names),
            "max_observable_dev": max((dev[o] for o in model.observable_names), default=0.0),
            "n_events": int(len(schedule.times) - 1), "sbml_bytes": len(xml), "export_s": export_s,
            "roadrunner_load_s": timing["load_s"], "roadrunner_simulate_s": timing["simulate_s"], "scipy_s": scipy_s}


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------
def warm_state(model: Model, scenario, warmup_days: float) -> np.ndarray:
    """The state after ``warmup_days`` under the scenario's baseline (no episodes), as :func:`gutbrain.simulate` starts day 0."""
    from ..scenarios import get
    simulate = _simulate_fn()

    if warmup_days <= 0:
        return model.y0
    base = get(scenario).baseline()
    ds = simulate(model, base, days=warmup_days, warmup_days=0.0, output_every=24.0 * warmup_days)
    return np.array([float(ds[s].values[-1]) for s in model.state_names])
