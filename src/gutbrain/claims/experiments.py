"""The simulation experiments behind the claims, run once per patient and shared by all claims.

Each experiment is a scenario and a horizon. A worker process simulates every experiment for
its chunk of patients (so each patient's warm-up is computed once and reused) and returns
daily means of the read-outs the claims use, keeping memory small for large cohorts.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import xarray as xr

from ..model.assemble import Model
from ..scenarios import Episode, Scenario, diet_change, get, probiotic, stressor, therapy
from ..simulation import simulate

VARS = ("gad7", "phq9", "gi_symptoms", "perceived_stress", "CORT", "CRP", "IL6", "TNF", "lm_ratio", "plasma_endotoxin", "Bf", "Bl", "Bp",
        "beneficial", "portal_butyrate", "glucose", "hrv_rmssd", "VAG", "SNS", "kyn_trp", "serotonin_brain", "gaba_signal", "TJ", "MA",
        "hypo_symptoms", "CR", "inflammation", "insulin")

WESTERN = dict(fibre=12, sugar=120, processed=0.7, fermented=0)
FIBRE = dict(fibre=40, sugar=25, processed=0.1, fermented=1.5)


def _low_grade_inflammation() -> Scenario:
    # a constant trickle of endotoxin for four weeks from day 7. The dose (0.05 ng/kg/h) is set by the premise
    # "low-grade inflammation": in the reference patient it brings CRP into the 1-3 mg/L band and roughly
    # doubles IL-6, two orders of magnitude below the acute 2 ng/kg bolus response.
    return Scenario(name="low-grade-endotoxaemia", description="continuous low-dose endotoxin from day 7 for 28 days",
                    episodes=(Episode("lps_iv", 0.05, 7, 28, label="low-grade endotoxaemia"),), days=42)


def _western_then_fibre() -> Scenario:
    return Scenario(name="western-then-fibre", description="western diet days 0-60, then fibre-rich diet with fermented food",
                    episodes=diet_change(0, 60, **WESTERN) + diet_change(60, 3650, **FIBRE), days=150)


def _vicious(extra=(), relief_day: float | None = None) -> Scenario:
    """Western diet + work stress from day 0 for 60 days (the vicious cycle), then an intervention from day 60."""
    stress = stressor(0, 60, 0.6, daily_window=(8, 19)) + stressor(60, 3650, 0.3, daily_window=(8, 19))
    eps = diet_change(0, 60, **WESTERN) + stress + tuple(extra)
    if not any(e.input == "fibre" and e.start_day >= 60 for e in extra):
        eps += diet_change(60, 3650, **WESTERN)
    return Scenario(name="vicious-cycle", episodes=eps, days=180)


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
    "vicious_none": (lambda: _vicious(), 180.0),
    "vicious_therapy": (lambda: _vicious(therapy(60, 84)), 180.0),
    "vicious_gut": (lambda: _vicious(diet_change(60, 3650, **FIBRE) + probiotic(60, 84)), 180.0),
    "vicious_both": (lambda: _vicious(therapy(60, 84) + diet_change(60, 3650, **FIBRE) + probiotic(60, 84)), 180.0),
    "endotoxin": (lambda: get("endotoxin-bolus-2ngkg"), 2.0),
}

#: stressors of increasing duration for the hysteresis plot (C8): stress 0.8 from day 7 for D days, then 60 days
STRESS_DURATIONS = (14, 28, 56, 84)
for _d in STRESS_DURATIONS:
    EXPERIMENTS[f"stress_{_d}d"] = ((lambda d=_d: Scenario(name=f"stress-{d}-days", episodes=stressor(7, d, 0.8), days=7 + d + 60)),
                                     7.0 + _d + 60.0)


def daily_means(t_days: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means over each day ``(k, k + 1]`` (day 0 also holds ``t = 0``) of ``values`` (..., time), skipping NaN.

    Returns ``(days, means)``; a day with no finite value is NaN. (A NumPy reduction: xarray's groupby took
    ~90 % of the claims' run time.)
    """
    day = np.floor(np.asarray(t_days, float) - 1e-9).clip(0)
    starts = np.flatnonzero(np.r_[True, np.diff(day) != 0])
    valid = np.isfinite(values)
    sums = np.add.reduceat(np.where(valid, values, 0.0), starts, axis=-1)
    counts = np.add.reduceat(valid, starts, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return day[starts], means


def _daily(ds: xr.Dataset, days: float) -> xr.Dataset:
    t = ds.time.values
    data = {}
    for v in VARS:
        day, m = daily_means(t, ds[v].values)
        data[v] = (("patient", "day"), m.astype("float32"), ds[v].attrs)
    out = xr.Dataset(data, coords={"patient": ds.patient.values, "day": day})
    out["status"] = ds["status"]
    return out


def _run_chunk(args) -> dict[str, xr.Dataset]:
    models, names, rtol = args
    tol = dict(rtol=rtol, atol=rtol * 1e-2)
    out = {}
    for name in names:
        make, days = EXPERIMENTS[name]
        if name == "endotoxin":
            ds = simulate(models, make(), days=days, output_every=0.25, throw=False, **tol)
            keep = ds[["TNF", "IL6", "kyn_trp", "gad7", "phq9", "CORT"]].astype("float32")
            keep["status"] = ds["status"]
            out[name] = keep
        else:
            ds = simulate(models, make(), days=days, output_every=2.0, throw=False, **tol)
            out[name] = _daily(ds, days)
    return out


def run(models: Sequence[Model], names: Sequence[str] | None = None, *, workers: int = 2, chunk: int = 8,
        progress: Callable[[int, int], None] | None = None, rtol: float = 1e-6) -> dict[str, xr.Dataset]:
    """Simulate the experiments for every patient; returns name -> Dataset (patient, day).

    ``rtol`` is the solvers' relative tolerance (absolute tolerance ``rtol / 100`` x each state's scale).
    """
    names = list(names or EXPERIMENTS)
    chunks = [list(models[i:i + chunk]) for i in range(0, len(models), chunk)]
    parts: list[dict[str, xr.Dataset]] = []
    if workers <= 1 or len(chunks) == 1:
        for k, c in enumerate(chunks):
            parts.append(_run_chunk((c, names, rtol)))
            if progress:
                progress(min((k + 1) * chunk, len(models)), len(models))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            for k, part in enumerate(pool.map(_run_chunk, [(c, names, rtol) for c in chunks])):
                parts.append(part)
                if progress:
                    progress(min((k + 1) * chunk, len(models)), len(models))
    out = {}
    for name in names:
        ds = xr.concat([p[name] for p in parts], dim="patient", join="override")
        out[name] = ds.assign_coords(patient=np.arange(len(models)))
    return out
