"""The simulation experiments behind the claims, run once per patient and shared by all claims.

Each experiment is a scenario and a horizon. A worker process simulates every experiment for
its chunk of patients (so each patient's warm-up is computed once and reused) and returns
daily means of the read-outs the claims use, keeping memory small for large cohorts.

Experiments that follow another one exactly up to some day (the three interventions of the
vicious cycle from day 60, the fibre diet after 60 days of western diet, the shorter
stressors inside the 84-day one, every intervention on the reference scenario before it
starts) are *branches*: they continue from the parent's state on
that day instead of recomputing the shared prefix (``BRANCHES``). Every custom experiment
eats the reference meals (three a day), as the built-in scenarios and the healthy control do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypedDict

import numpy as np
import xarray as xr

from ..model.assemble import Model
from ..parallel import map_jobs
from ..scenarios import Episode, Scenario, diet_change, get, probiotic, stressor, therapy
from ..simulation import daily_means, simulate

#: daily means kept per experiment; gad7, phq9 and gi_symptoms are the questionnaire scores (recall windows) that the
#: claims read, the *_state measures their instantaneous maps
VARS = ("gad7", "phq9", "gi_symptoms", "gad7_state", "phq9_state", "gi_symptoms_state", "perceived_stress", "CORT", "CRP", "IL6", "TNF", "lm_ratio", "plasma_endotoxin", "Bf", "Bl", "Bp",
        "beneficial", "portal_butyrate", "glucose", "hrv_rmssd", "VAG", "SNS", "kyn_trp", "serotonin_brain", "gaba_signal", "TJ", "MA",
        "hypo_symptoms", "CR", "inflammation", "insulin")

MEALS = get("healthy-baseline").meals  # the control's meals: comparisons differ only in the intervention
WESTERN = dict(fibre=12, sugar=120, processed=0.7, fermented=0)
FIBRE = dict(fibre=40, sugar=25, processed=0.1, fermented=1.5)


def _low_grade_inflammation() -> Scenario:
    # a constant trickle of endotoxin for four weeks from day 7. The dose (0.05 ng/kg/h) is set by the premise
    # "low-grade inflammation": in the reference patient it brings CRP into the 1-3 mg/L band and roughly
    # doubles IL-6, two orders of magnitude below the acute 2 ng/kg bolus response.
    return Scenario(name="low-grade-endotoxaemia", description="continuous low-dose endotoxin from day 7 for 28 days",
                    episodes=(Episode("lps_iv", 0.05, 7, 28, label="low-grade endotoxaemia"),), days=42, meals=MEALS)


def _western_then_fibre() -> Scenario:
    return Scenario(name="western-then-fibre", description="western diet days 0-60, then fibre-rich diet with fermented food",
                    episodes=diet_change(0, 60, **WESTERN) + diet_change(60, 3650, **FIBRE), days=150, meals=MEALS)


def _vicious(extra=(), relief_day: float | None = None) -> Scenario:
    """Western diet + work stress from day 0 for 60 days (the vicious cycle), then an intervention from day 60."""
    stress = stressor(0, 60, 0.6, daily_window=(8, 19)) + stressor(60, 3650, 0.3, daily_window=(8, 19))
    eps = diet_change(0, 60, **WESTERN) + stress + tuple(extra)
    if not any(e.input == "fibre" and e.start_day >= 60 for e in extra):
        eps += diet_change(60, 3650, **WESTERN)
    return Scenario(name="vicious-cycle", episodes=eps, days=180, meals=MEALS)


EXPERIMENTS: dict[str, tuple[Callable[[], Scenario], float]] = {
    "healthy": (lambda: get("healthy-baseline"), 150.0),
    "western": (lambda: get("western-diet"), 90.0),
    "antibiotic": (lambda: get("antibiotic-course"), 60.0),
    "work_stress": (lambda: get("chronic-work-stress"), 70.0),
    "long_stress": (lambda: get("stress-then-recovery"), 125.0),
    "probiotic": (lambda: get("probiotic-8-weeks"), 70.0),
    "high_gi": (lambda: get("high-gi-meals"), 14.0),
    "stable_meals": (lambda: get("stable-meals"), 14.0),
    "low_grade": (_low_grade_inflammation, 42.0),
    "western_then_fibre": (_western_then_fibre, 150.0),
    "vicious_none": (lambda: _vicious(), 61.0),  # the claims read days 0-59; the three arms branch off at day 60
    "vicious_therapy": (lambda: _vicious(therapy(60, 84)), 180.0),
    "vicious_gut": (lambda: _vicious(diet_change(60, 3650, **FIBRE) + probiotic(60, 84)), 180.0),
    "vicious_both": (lambda: _vicious(therapy(60, 84) + diet_change(60, 3650, **FIBRE) + probiotic(60, 84)), 180.0),
    "endotoxin": (lambda: get("endotoxin-bolus-2ngkg"), 2.0),
}

#: stressors of increasing duration for the persistence plot (C8): stress 0.8 from day 7 for D days, then 60 days
#: without it; the 8-week stressor (C8's experiment) is followed for six months
STRESS_DURATIONS = (14, 28, 56, 84)
PERSISTENCE_STRESSOR = 56  #: days of C8's stressor
PERSISTENCE_FOLLOW_UP = 183  #: days followed after it ends (six months)


def _follow_up(d: int) -> int:
    return PERSISTENCE_FOLLOW_UP if d == PERSISTENCE_STRESSOR else 60


def _stress_of(d: int) -> Callable[[], Scenario]:
    """The scenario factory of the ``d``-day stressor (a closure per duration)."""
    return lambda: Scenario(name=f"stress-{d}-days", episodes=stressor(7, d, 0.8), days=7 + d + _follow_up(d), meals=MEALS)


for _d in STRESS_DURATIONS:
    EXPERIMENTS[f"stress_{_d}d"] = (_stress_of(_d), 7.0 + _d + _follow_up(_d))

#: branch -> (parent, day): identical inputs up to ``day``, so the branch starts from the parent's state there
BRANCHES: dict[str, tuple[str, float]] = {
    "vicious_therapy": ("vicious_none", 60.0), "vicious_gut": ("vicious_none", 60.0), "vicious_both": ("vicious_none", 60.0),
    "western_then_fibre": ("western", 60.0),
    **{f"stress_{d}d": (f"stress_{STRESS_DURATIONS[-1]}d", 7.0 + d) for d in STRESS_DURATIONS[:-1]},
    # the reference scenario until the intervention starts
    "antibiotic": ("healthy", 10.0), "work_stress": ("healthy", 14.0), "long_stress": ("healthy", 7.0),
    "probiotic": ("healthy", 14.0), "low_grade": ("healthy", 7.0), f"stress_{STRESS_DURATIONS[-1]}d": ("healthy", 7.0),
}


def _daily(ds: xr.Dataset) -> xr.Dataset:
    t = ds.time.values
    data = {}
    for v in VARS:
        day, m = daily_means(t, ds[v].values)
        data[v] = (("patient", "day"), m.astype("float32"), ds[v].attrs)
    out = xr.Dataset(data, coords={"patient": ds.patient.values, "day": day})
    out["status"] = ds["status"]
    return out


def _order(names: Sequence[str]) -> list[str]:
    """``names`` plus the parents their branches need, every parent before its branches."""
    todo = list(dict.fromkeys(names))
    for name in list(todo):
        while name in BRANCHES:
            name = BRANCHES[name][0]
            if name not in todo:
                todo.append(name)

    def depth(name):
        return 1 + depth(BRANCHES[name][0]) if name in BRANCHES else 0

    return sorted(todo, key=depth)


def _state_at(ds: xr.Dataset, model: Model, day: float) -> np.ndarray:
    at = ds.sel(time=day, method="nearest")
    return np.stack([at[s.name].values for s in model.states], axis=-1)


class _Tolerances(TypedDict):
    rtol: float
    atol: float


def _tolerances(rtol: float) -> _Tolerances:
    return {"rtol": rtol, "atol": rtol * 1e-2}  # atol is scaled by each state's typical magnitude


def _branch(models, name: str, start: np.ndarray, parent: xr.Dataset, rtol: float) -> tuple[xr.Dataset, xr.Dataset]:
    """Continue from the parent's state at the branch day under the branch's scenario.

    Returns the daily means over the whole horizon (the parent's up to the branch day) and the branch's own run.
    """
    make, days = EXPERIMENTS[name]
    day0 = BRANCHES[name][1]
    scenario = make()
    tol = _tolerances(rtol)
    ok_parent = parent["status"].values == "ok"
    start = np.where(ok_parent[:, None], start, np.stack([m.y0 for m in models]))  # a failed parent: dropped below
    ds = simulate(models, scenario, initial=start, start_day=float(day0), days=float(days - day0), output_every=2.0,
                  throw=False, **tol)
    ds = ds.isel(time=slice(1, None))  # t = day0 belongs to the parent's last day
    status = np.where(ok_parent, ds["status"].values, "failed")
    if not ok_parent.all():
        keep = xr.DataArray(ok_parent, dims="patient")
        ds = ds.map(lambda x: x.where(keep) if "patient" in x.dims and "time" in x.dims else x)
    ds["status"] = ("patient", np.asarray(status, dtype=str))
    head = parent.drop_vars("status").sel(day=slice(None, day0 - 1))
    tail = _daily(ds).drop_vars("status")
    out = xr.concat([head, tail], dim="day", join="override")
    out["status"] = ("patient", np.asarray(status, dtype=str))
    return out, ds


def _run_chunk(args) -> tuple[dict[str, xr.Dataset], np.ndarray]:
    """Simulate ``names`` for ``models``; returns the datasets and which patients the screen kept.

    With a screen ``(name, fn)``, experiment ``name`` runs first for every patient and the others only
    for the patients ``fn`` keeps or ``force`` marks; their datasets hold those patients only.
    """
    models, names, rtol, screen, force = args
    tol = _tolerances(rtol)
    out: dict[str, xr.Dataset] = {}
    starts: dict[tuple[str, float], np.ndarray] = {}
    order = _order(names)
    keep = np.ones(len(models), bool)
    if screen is not None:
        order.remove(screen[0])
        order.insert(0, screen[0])
    run_models = list(models)
    kept: dict[str, xr.Dataset] = {}  # the screening experiment's kept patients, for branches from it
    for name in order:
        make, days = EXPERIMENTS[name]
        if name in BRANCHES:
            parent, day0 = BRANCHES[name]
            out[name], ds = _branch(run_models, name, starts[(parent, day0)], kept.get(parent, out[parent]), rtol)
        else:
            ds = simulate(run_models, make(), days=days, output_every=0.25 if name == "endotoxin" else 2.0, throw=False, **tol)
            if name == "endotoxin":
                # an acute experiment reads the instantaneous state measures (CALIBRATION.md section 4), not the recall scores
                out[name] = ds[["TNF", "IL6", "kyn_trp", "gad7_state", "phq9_state", "CORT"]].astype("float32")
                out[name]["status"] = ds["status"]
            else:
                out[name] = _daily(ds)
        for branch in order:
            if BRANCHES.get(branch, ("",))[0] == name:
                starts[(name, BRANCHES[branch][1])] = _state_at(ds, models[0], BRANCHES[branch][1])
        if screen is not None and name == screen[0]:
            keep = np.asarray(screen[1](out[name]), bool) | np.asarray(force, bool)
            run_models = [m for m, k in zip(models, keep, strict=True) if k]
            starts = {key: v[keep] for key, v in starts.items()}
            kept[name] = out[name].isel(patient=np.flatnonzero(keep))
            if not run_models:
                break
    return {n: out[n] for n in names if n in out}, keep


def _expand(ds: xr.Dataset, index: np.ndarray, n: int) -> xr.Dataset:
    """``ds`` (patients ``index``) on all ``n`` patients: NaN and status "skipped" for the others."""
    full = ds.drop_vars("status").assign_coords(patient=index).reindex(patient=np.arange(n))
    status = np.full(n, "skipped", dtype=object)
    status[index] = ds["status"].values
    full["status"] = ("patient", status.astype(str))
    return full


def run(models: Sequence[Model], names: Sequence[str] | None = None, *, workers: int = 2, chunk: int = 8,
        progress: Callable[[int, int], None] | None = None, rtol: float = 1e-6,
        screen: tuple[str, Callable[[xr.Dataset], np.ndarray]] | None = None) -> dict[str, xr.Dataset]:
    """Simulate the experiments for every patient; returns name -> Dataset (patient, day).

    ``rtol`` is the solvers' relative tolerance (absolute tolerance ``rtol / 100`` x each state's scale).
    ``screen = (name, fn)`` runs experiment ``name`` first and the others only for the patients where
    ``fn(dataset of name)`` is true, and always for the first patient; the others get NaN there and
    status "skipped" (the claims screen out implausible patients this way: their results were never used).
    """
    names = list(names or EXPERIMENTS)
    if screen is not None and screen[0] not in names:
        raise ValueError(f"the screening experiment {screen[0]!r} must be one of the experiments run")
    chunks = [list(models[i:i + chunk]) for i in range(0, len(models), chunk)]
    tasks = [(c, names, rtol, screen, np.arange(i * chunk, i * chunk + len(c)) == 0) for i, c in enumerate(chunks)]
    report = None if progress is None else (lambda k, _n: progress(min(k * chunk, len(models)), len(models)))
    parts: list[tuple[dict[str, xr.Dataset], np.ndarray]] = map_jobs(_run_chunk, tasks, workers=workers, chunksize=1,
                                                                      progress=report)
    out = {}
    for name in names:
        if screen is None or name == screen[0]:
            ds = xr.concat([p[name] for p, _ in parts], dim="patient", join="override")
            out[name] = ds.assign_coords(patient=np.arange(len(models)))
            continue
        pieces, index = [], []
        for k, (p, keep) in enumerate(parts):
            if name in p and keep.any():
                pieces.append(p[name])
                index.append(k * chunk + np.flatnonzero(keep))
        ds = xr.concat(pieces, dim="patient", join="override")
        out[name] = _expand(ds, np.concatenate(index), len(models))
    return out
