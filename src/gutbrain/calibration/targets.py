"""Compute the model's value for each scalar calibration target (T01-T33) and the bolus tolerances.

Each target is computed the way CALIBRATION.md defines it, by the protocols in docs/calibration.md
(those of T23-T33 were written before their values were first computed); reference-patient targets
use the reference model, cohort targets (T18-T22, T30-T33) a virtual cohort drawn from the priors.
Returns rows with value, tolerance, pass/miss and how the number was computed.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from ..errors import InputError
from ..model.assemble import Model
from ..model.scores import GI_BOTHERSOME
from ..scenarios import Meal, Scenario, endotoxin, stressor
from ..simulation import simulate
from .data import cortisol_24h, endotoxin_summary, targets
from .stats import bootstrap_ci, cohen_d, hedges_g, hedges_g_log, km_median, share
from .stats import cohen_d as _cohen_d  # the names used before the statistics moved to stats.py
from .stats import hedges_g as _hedges_g
from .stats import km_median as _kaplan_meier_median

if TYPE_CHECKING:
    import xarray as xr

#: a target's computed value: one number, the three SCFA shares (T12) or two numbers (T16, T17)
TargetValue: TypeAlias = "float | list[float] | tuple[float, float]"
#: ``(value, how)``, or ``(value, how, (lo, hi) | None)`` for cohort targets with a bootstrap CI
Computed: TypeAlias = "tuple[TargetValue, str] | tuple[TargetValue, str, tuple[float, float] | None]"


@dataclass
class TargetResult:
    id: str
    quantity: str
    target: str
    unit: str
    tolerance: str
    value: float | str
    passed: bool
    how: str
    source: str
    #: 95 % percentile-bootstrap CI of a cohort target's value (reported; the verdict is on the point estimate)
    ci: tuple[float, float] | None = None
    #: the cohort target recomputed on a second cohort: {"seed", "value", "passed", "ci"}
    second_seed: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _range(tol: str) -> tuple[float, float]:
    nums = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", tol)[:2]]
    return min(nums), max(nums)


def _reference_day(model: Model) -> tuple[np.ndarray, xr.Dataset]:
    ds = simulate(model, "healthy-baseline", days=2, output_every=1 / 6)
    day = ds.sel(time=slice(1.0, 2.0))
    return (day.time.values - 1.0) * 24, day


def cortisol_metrics(model: Model) -> dict[str, float | np.ndarray]:
    """Summary numbers of the reference patient's day-2 cortisol curve, and the curve itself (``h``, ``c``)."""
    h, day = _reference_day(model)
    c = day.CORT.values
    t_data, c_data = cortisol_24h()
    c_model = np.interp(t_data, h, c)
    night = (h >= 22) | (h <= 3)
    wake = float(model.parameters["car_delay"].value) * 0 + 7.0
    c_wake = float(np.interp(wake, h, c))
    c_30 = float(np.interp(wake + 0.5, h, c))
    return {"peak": float(c.max()), "peak_time": float(h[np.argmax(c)]), "nadir": float(c[night].min()), "mean": float(c.mean()),
            "car": 100 * (c_30 / c_wake - 1), "rmse": float(np.sqrt(np.mean((c_model - c_data) ** 2))),
            "r": float(np.corrcoef(c_model, c_data)[0, 1]), "h": h, "c": c}


def bolus_metrics(model: Model) -> dict[str, dict]:
    data = endotoxin_summary()
    ds = simulate(model, "endotoxin-bolus-2ngkg", days=1, output_every=0.05)
    t = ds.time.values * 24 - 8.0
    out = {}
    for c, d in data.items():
        y = ds[c].values
        at = np.interp(d["time"], t, y)
        ip = int(np.argmax(d["mean"]))
        out[c] = {"model_at_data_times": at, "within_1sd": int(np.sum(np.abs(at - d["mean"]) <= d["sd"])),
                  "peak_time": float(t[np.argmax(y)]), "data_peak_time": float(d["time"][ip]),
                  "peak": float(y.max()), "data_peak": float(d["mean"][ip]),
                  "baseline": float(at[0]), "data_baseline": float(d["mean"][0]), "t": t[(t >= -0.5) & (t <= 8)], "y": y[(t >= -0.5) & (t <= 8)]}
        o = out[c]
        o["passed"] = bool(o["within_1sd"] >= 6 and abs(o["peak_time"] - o["data_peak_time"]) <= 0.5
                           and abs(o["peak"] / o["data_peak"] - 1) <= 0.35 and abs(o["baseline"] / o["data_baseline"] - 1) <= 0.5)
    return out


def reference_values(model: Model) -> dict[str, tuple[TargetValue, str]]:
    """Model values of the reference-patient targets, with how each was computed."""
    v: dict[str, tuple[TargetValue, str]] = {}
    cm = cortisol_metrics(model)
    v["T01"] = (float(cm["peak"]), "maximum of the reference patient's 24-h cortisol on day 2 (10-min grid)")
    v["T02"] = (float(cm["peak_time"]), "clock time of that maximum")
    v["T03"] = (float(cm["nadir"]), "minimum between 22:00 and 03:00")
    v["T04"] = (float(cm["mean"]), "24-h mean")
    v["T05"] = (float(cm["car"]), "cortisol 30 min after waking (07:30) relative to waking (07:00), percent")
    ds = simulate(model, "healthy-baseline", days=2, output_every=1 / 6).sel(time=slice(1.0, 2.0))
    h = (ds.time.values - 1.0) * 24
    fasting = int(np.argmin(np.abs(h - 7.0)))
    v["T06"] = (float(ds.lm_ratio.mean()), "24-h mean lactulose/mannitol ratio at rest")
    sp = simulate(model, "public-speech-stress", days=1, output_every=1 / 12)
    hs = sp.time.values * 24
    v["T07"] = (float(sp.lm_ratio.values[(hs >= 10) & (hs <= 12)].mean()),
                "mean L/M over the 2 h from the start of a 1-h public-speech stressor (10:00-12:00)")
    v["T08"] = (float(ds.plasma_endotoxin.values[fasting]), "plasma endotoxin at 07:00 after the overnight fast")
    v["T09"] = (float(ds.portal_acetate.values[fasting]), "portal acetate at 07:00 (fasting)")
    v["T10"] = (float(ds.portal_propionate.values[fasting]), "portal propionate at 07:00 (fasting)")
    v["T11"] = (float(ds.portal_butyrate.values[fasting]), "portal butyrate at 07:00 (fasting)")
    tot = ds.Ac + ds.Pr + ds.Bu
    ratio = [100 * float((ds[x] / tot).mean()) for x in ("Ac", "Pr", "Bu")]
    v["T12"] = (ratio, "mean luminal acetate:propionate:butyrate shares, percent")
    g = np.linspace(2.5, 6.0, 3501)
    p = model.parameters
    cr = 1 / (1 + (g / p["glc_cr_threshold"].value) ** p["n_glc_threshold"].value)
    hs_ = 1 / (1 + (g / p["glc_symptom_threshold"].value) ** p["n_glc_threshold"].value)
    v["T13"] = (float(g[np.argmin(np.abs(cr - 0.5))]), "glucose of half-maximal counter-regulation in the model's steady-state response (a parameter of the model: reported for completeness)")
    v["T14"] = (float(g[np.argmin(np.abs(hs_ - 0.5))]), "glucose of half-maximal autonomic-symptom signal (a model parameter)")
    v["T15"] = (float(ds.glucose.values[fasting]), "plasma glucose at 07:00 after the overnight fast")
    bw = p["body_weight"].value
    meal = Scenario(name="mixed-meal-test", meals=(Meal(8.0, bw * 1.0, 55, start_day=1, end_day=2),), days=2)
    mt = simulate(model, meal, days=2, output_every=1 / 30, warmup_days=2)
    hm = mt.time.values * 24 - 32.0
    sel = (hm >= 0) & (hm <= 5)
    gl = mt.glucose.values[sel]
    v["T16"] = ((float(gl.max()), float(hm[sel][np.argmax(gl)] * 60)),
                f"peak glucose (mmol/L) and its time (min) after a {bw:g} g (1 g/kg) mixed meal (GI 55) after an overnight fast")
    ab = simulate(model, "antibiotic-course", days=180, output_every=6.0)
    comp = np.stack([ab.Bf.values, ab.Bl.values, ab.Bp.values], axis=1)
    base = comp[ab.time.values < 10].mean(axis=0)
    bc = np.abs(comp - base).sum(axis=1) / (comp + base).sum(axis=1)
    after = ab.time.values >= 14
    near = np.where(after & (bc < 0.1))[0]
    stay = [i for i in near if np.all(bc[i:] < 0.1)]
    rec = float(ab.time.values[stay[0]] - 14) if stay else float("nan")
    v["T17"] = ((rec, float(ab.Div.values[-1])), "days after the 4-day course until the Bray-Curtis distance of the functional-group composition "
                "to baseline stays below 0.1; second number: functional richness left at day 180 (<1 = some loss)")
    return v


def dose_response_values(model: Model) -> dict[str, tuple[float, str]]:
    """T23-T28: TNF and IL-6 after 0.3-2 ng/kg boluses (ratios of peaks within one study, fold rises)."""
    peak: dict[tuple[float, str], float] = {}
    base: dict[tuple[float, str], float] = {}
    for dose in (0.3, 0.5, 1.0, 2.0):
        sc = Scenario(name=f"endotoxin-bolus-{dose:g}ngkg", episodes=endotoxin(dose, day=0, hour=8.0), days=1)
        ds = simulate(model, sc, days=1, output_every=0.05)
        h = ds.time.values * 24 - 8.0
        after = (h >= 0) & (h <= 8)
        for c in ("TNF", "IL6"):
            y = ds[c].values
            peak[dose, c] = float(y[after].max())
            base[dose, c] = float(np.interp(0.0, h, y))
    how = "ratio of the peaks in the 8 h after {a:g} and 2 ng/kg boluses at 08:00 (reference patient, 3-min grid; {a:g}: {pa:.3g}, 2: {pb:.3g} pg/mL)"
    v: dict[str, tuple[float, str]] = {}
    for tid, dose, c in (("T23", 1.0, "TNF"), ("T24", 0.5, "TNF"), ("T25", 1.0, "IL6"), ("T26", 0.5, "IL6")):
        v[tid] = (peak[dose, c] / peak[2.0, c], f"{c} " + how.format(a=dose, pa=peak[dose, c], pb=peak[2.0, c]))
    for tid, c in (("T27", "IL6"), ("T28", "TNF")):
        v[tid] = (peak[0.3, c] / base[0.3, c], f"{c} peak in the 8 h after a 0.3 ng/kg bolus / value at the bolus "
                                                f"({peak[0.3, c]:.3g} / {base[0.3, c]:.3g} pg/mL)")
    return v


def western_month_value(model: Model) -> dict[str, tuple[float, str]]:
    """T29: fasting plasma endotoxin after 30 days of the western-diet scenario vs the usual diet."""
    at = 30 + 7 / 24
    wd = simulate(model, "western-diet", days=31, output_every=1.0).plasma_endotoxin.sel(time=at, method="nearest")
    ref = simulate(model, "healthy-baseline", days=31, output_every=1.0).plasma_endotoxin.sel(time=at, method="nearest")
    rise = 100 * (float(wd) / float(ref) - 1)
    return {"T29": (rise, f"fasting (07:00) plasma endotoxin on day 30 of western-diet vs healthy-baseline, reference patient "
                          f"({float(wd):.3g} vs {float(ref):.3g} pg/mL)")}


def episode_durations(phq9: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Virtual depressive episodes by the T32 protocol (docs/calibration.md) on daily PHQ-9 rows.

    Returns (durations in days, observed flags — False where censored, number of eligible patients).
    """
    durations, observed, eligible = [], [], 0
    d13 = int(np.argmin(np.abs(days - 13)))
    for row in phq9:
        if not np.all(np.isfinite(row)) or row[d13] >= 10:
            continue
        eligible += 1
        window = np.where((days >= 14) & (days <= 70) & (row >= 10))[0]
        if not len(window):
            continue
        onset = window[0]
        rec = None
        for i in range(onset + 1, len(days)):
            if days[i] + 14 > days[-1]:
                break
            if np.all(row[i:i + 15] < 10) and len(row[i:i + 15]) == 15:
                rec = i
                break
        if rec is None:
            durations.append(days[-1] - 14 - days[onset])
            observed.append(False)
        else:
            durations.append(days[rec] - days[onset])
            observed.append(True)
    return np.array(durations, float), np.array(observed, bool), eligible


def episode_value(model: Model, n: int, seed: int, workers: int,
                  patients=None) -> dict[str, tuple[float, str, tuple[float, float] | None]]:
    """T32: median duration of a virtual depressive episode after a 4-week severe stressor (protocol in the docs)."""
    from ..cohort import sample_patients

    patients = patients if patients is not None else sample_patients(model, n, seed=seed)
    sc = Scenario(name="t32-life-event", episodes=stressor(14, 28, 0.8), days=365)
    ds = simulate(patients, sc, days=365, output_every=24.0, throw=False, workers=workers)
    ok = ds.status.values == "ok"
    dur, obs, eligible = episode_durations(ds.phq9.values[ok], ds.time.values)
    median = _kaplan_meier_median(dur, obs) / 30.44 if len(dur) else float("nan")
    how = (f"Kaplan-Meier median of virtual episodes (PHQ-9 >= 10 from onset to the first day starting 14 days below 10) after a "
           f"28-day stressor of intensity 0.8 from day 14; {eligible} eligible of {int(ok.sum())} simulated patients, "
           f"{len(dur)} episodes, {int((~obs).sum())} censored at day 351")
    ci = (bootstrap_ci(lambda d, o: km_median(d, o) / 30.44, dur, obs, paired=True, n_boot=500, seed=seed)
          if len(dur) >= 10 else None)
    return {"T32": (median, how, ci)}


#: days each virtual adult lives its everyday life (after the warm-up) before the cross-section is read
CROSS_SECTION_DAYS = 120


def cohort_values(model: Model, n: int = 1000, seed: int = 0, workers: int = 2) -> dict[str, Computed]:
    """T18-T22 on a virtual cohort drawn from the priors (see the report for the definitions)."""
    from ..cohort import sample_patients
    from ..experiments import cross_section, trial

    patients = sample_patients(model, n, seed=seed)
    v: dict[str, Computed] = {}
    # virtual probiotic trial (gutbrain.trial): every virtual patient in both arms (counterfactual placebo and probiotic,
    # 8 weeks); d = mean difference of the week-8 scores over the pooled SD of the two arms, paired bootstrap CI
    arms = {"placebo": "healthy-baseline", "probiotic": "probiotic-8-weeks"}
    res = trial(arms, patients, ["phq9", "gad7"], day=70, seed=seed, workers=workers, output_every=24.0)
    for tid, var in (("T18", "phq9"), ("T19", "gad7")):
        d, ci = res.effect("probiotic", var)
        v[tid] = (d, f"Cohen's d of {var} at week 8 (day 70), probiotic minus placebo, pooled SD of the two arms; "
                     f"each of {res.n_patients} virtual patients simulated in both arms (counterfactual trial, gutbrain.trial)", ci)
    # cross-section (gutbrain.cross_section): each virtual adult lives its own everyday life (diet pattern, chronic
    # stress, sleep) drawn from the stated exposure distributions of cohort/population.py; read on the last day
    days = CROSS_SECTION_DAYS
    xs = cross_section(patients, "population", day=days, seed=seed, workers=workers)
    ok = xs["status"].values == "ok"
    cols = {"phq9": xs["phq9"].values[ok], "morning_cortisol": xs["morning_cortisol"].values[ok], "IL6": xs["IL6"].values[ok],
            "CRP": xs["CRP"].values[ok], "gi": xs["gi_symptoms"].values[ok]}
    dep = cols["phq9"] >= 10
    frac = float(dep.mean())
    note = (f"cross-section of {len(dep)} virtual adults (everyday lives drawn from the stated exposure distributions, "
            f"cohort/population.py; day {days:g}); "
            f"'depressed' = PHQ-9 >= 10 ({dep.sum()} patients, {100 * frac:.0f} %)")
    if dep.sum() >= 3 and (~dep).sum() >= 3:
        v["T20"] = (_cohen_d(cols["morning_cortisol"][dep], cols["morning_cortisol"][~dep]), "Cohen's d of 08:00 plasma cortisol; " + note,
                    bootstrap_ci(cohen_d, cols["morning_cortisol"][dep], cols["morning_cortisol"][~dep], seed=seed))
        for tid, c, label in (("T21", "IL6", "IL-6"), ("T22", "CRP", "CRP")):  # raw scale; log-scale g: a sensitivity
            x, y = cols[c][dep], cols[c][~dep]
            v[tid] = (_hedges_g(x, y), f"Hedges' g of daily-mean {label} (raw scale; log scale: g = {hedges_g_log(x, y):.3g}); " + note,
                      bootstrap_ci(hedges_g, x, y, seed=seed))
    else:
        for t in ("T20", "T21", "T22"):
            v[t] = (float("nan"), "too few depressed or non-depressed patients; " + note)
    pop = (f"cross-section of {len(dep)} virtual adults (diet, chronic stress and sleep drawn from the stated exposure "
           f"distributions of cohort/population.py); day-{days:g} PHQ-9 score (14-day recall window, mean over the last day)")
    v["T30"] = (100 * frac, "% with PHQ-9 >= 10; " + pop, bootstrap_ci(share, dep, seed=seed))
    low = cols["phq9"] < 5
    v["T31"] = (100 * float(low.mean()), "% with PHQ-9 < 5; " + pop, bootstrap_ci(share, low, seed=seed))
    severe = cols["phq9"] >= 15
    if severe.sum() >= 10:
        no_gi = cols["gi"][severe] < GI_BOTHERSOME
        v["T33"] = (100 * float(no_gi.mean()),
                    f"% of the {int(severe.sum())} with PHQ-9 >= 15 whose GI-symptom score (7-day recall window) is below {GI_BOTHERSOME:g} of 10; " + pop,
                    bootstrap_ci(share, no_gi, seed=seed))
    else:
        v["T33"] = (float("nan"), f"only {int(severe.sum())} virtual adults with PHQ-9 >= 15 (10 needed); " + pop)
    v.update(episode_value(model, n, seed, workers, patients=patients))
    return v


def judge(tid: str, value, tolerance: str) -> tuple[bool, float | str]:
    """Pass/miss of one target's value, and the value as shown in the report (one rule for every seed)."""
    if tid == "T12":
        return all(abs(m - t) <= 8 for m, t in zip(value, (60, 25, 15), strict=True)), ":".join(f"{x:.0f}" for x in value)
    if tid == "T16":
        return 7.5 <= value[0] <= 10.0 and 45 <= value[1] <= 90, f"{value[0]:.2f} mmol/L at {value[1]:.0f} min"
    if tid == "T17":
        return 30 <= value[0] <= 60 and value[1] < 1.0, f"{value[0]:.0f} days; richness at day 180 = {value[1]:.3f}"
    value = float(value)
    if not np.isfinite(value):
        return False, value
    lo, hi = _range(tolerance)
    return bool(lo <= value <= hi), value


def _unpack(entry: Computed) -> tuple[TargetValue, str, tuple[float, float] | None]:
    """A computed target: ``(value, how)`` or ``(value, how, (lo, hi))`` (cohort targets with a CI)."""
    if len(entry) == 2:
        return entry[0], entry[1], None
    value, how, ci = entry
    return value, how, None if ci is None else (float(ci[0]), float(ci[1]))


def evaluate(model: Model, *, cohort_n: int = 1000, seed: int = 0, workers: int = 2,
             second_seed: int | None = None) -> list[TargetResult]:
    """Every target's value and verdict; with ``second_seed`` the cohort targets are recomputed on a second
    cohort (drawn with that seed) and each cohort target carries that seed's value, verdict and CI."""
    if second_seed is not None and (isinstance(second_seed, bool) or not isinstance(second_seed, int | np.integer)
                                    or second_seed < 0):
        raise InputError("second_seed", second_seed, "a non-negative integer seed, or None for no second cohort",
                         f"e.g. second_seed={seed + 1}")
    vals: dict[str, Computed] = {}
    vals.update(reference_values(model))
    vals.update(dose_response_values(model))
    vals.update(western_month_value(model))
    again: dict[str, Computed] = {}
    if cohort_n:
        vals.update(cohort_values(model, cohort_n, seed, workers))
        if second_seed is not None:
            again = cohort_values(model, cohort_n, int(second_seed), workers)
    out = []
    for row in targets():
        tid = row["id"]
        if tid not in vals:
            continue
        value, how, ci = _unpack(vals[tid])
        tol = row["tolerance"]
        passed, shown = judge(tid, value, tol)
        res = TargetResult(tid, row["quantity"], row["value"], row["unit"], tol, shown, bool(passed), how, row["source"], ci)
        if second_seed is not None and tid in again:  # (``again`` is only filled with a second seed)
            value2, _, ci2 = _unpack(again[tid])
            passed2, shown2 = judge(tid, value2, tol)
            res.second_seed = {"seed": int(second_seed), "value": shown2, "passed": bool(passed2), "ci": ci2}
        out.append(res)
    return out
