"""A personal digital twin: fit a few personal parameters to a daily diary, then ask "what if".

Diary (CSV, one row per day)
----------------------------
Required columns (case-insensitive; aliases in brackets):

* ``date`` - ISO date ``YYYY-MM-DD``
* ``mood`` - 0-10 (10 = best) **or** ``phq2`` - PHQ-2 score 0-6 (at least one of them)
* ``stress`` - how demanding the day was, 0-10 (model input: stressor intensity = stress / 10, all day)
* ``sleep_hours`` [sleep] - hours slept the night before, 3-12 (values outside are clipped, with a warning)
* ``fibre_servings`` [fiber_servings, fibre] - servings of fibre-rich food (1 serving = 5 g fibre), 0-30
* ``sugar_servings`` [sugar] - servings of sugary food/drink (1 serving = 12.5 g sugar), 0-40
* ``fermented`` [fermented_servings] - servings of fermented food with live cultures, 0-10
* ``gi_symptoms`` [gi] - bloating/discomfort 0-10

Optional: ``gad2`` (GAD-2, 0-6), ``cortisol_am`` [cortisol] (morning salivary/serum cortisol in ug/dL at
08:00, 0.5-60), ``crp`` (mg/L, 0.01-200).

Handling of imperfect diaries: missing columns, unparseable or duplicated dates, non-numeric or
out-of-range values raise :class:`gutbrain.errors.InputError` naming the row and column. Missing
calendar days and empty input cells are filled by carrying the last value forward (a warning lists
them); empty symptom cells are simply not used in the fit. At least 14 days and at most 365 are needed.

Model and fit
-------------
Each diary day becomes one day of inputs (stress, sleep, fibre, sugar, fermented food); the warm-up
(the person's pre-diary steady state) uses the means of the first seven days. A diary rating is
filled in each evening about that day, so it is read as the *state measures* averaged over the
waking day 08:00-20:00 (mood = 10 (1 - phq9_state/27); PHQ-2 = 6 phq9_state/27; GAD-2 =
6 gad7_state/21; GI symptoms = gi_symptoms_state), not as the questionnaires' 14- or 7-day recall
scores, which a daily rating is not; cortisol and CRP are read at 08:00. The what-if outcomes
(PHQ-9 and GAD-7 at the end) are the recall scores, as a clinic would measure them. Errors: Gaussian with SD 1.0 (mood, GI), 0.8 (PHQ-2, GAD-2)
on a latent value that is rounded to an integer and clipped to the scale (the likelihood of an integer rating
is the probability of its rounding interval, open-ended at the scale ends), and log-normal SD 0.25
(cortisol), 0.30 (CRP). The personal parameters (default ``appraisal``,
``hpa_reactivity``, ``w6``, ``tau_dep``; all with log-normal priors) are fitted in standardised log
space z = (log theta - log theta_ref) / sd_prior: MAP by ``scipy.optimize.least_squares`` (prior as
extra residuals, bounds as box constraints), uncertainty by a Laplace approximation with the
Gauss-Newton Hessian J^T J at the MAP. What-if predictions propagate posterior draws.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DISCLAIMER, InputError
from ..model.assemble import Model
from ..model.pathways import mood_pathways, pathway_variables
from ..scenarios import STANDARD_MEALS, Episode, Scenario

__all__ = ["Diary", "read_diary", "diary_scenario", "predict_observations", "fit", "TwinFit", "what_if", "WhatIf",
           "synthetic_diary", "write_diary", "DEFAULT_PARAMS", "ARMS", "NOISE", "DiaryWarning"]

DEFAULT_PARAMS = ("appraisal", "hpa_reactivity", "w6", "tau_dep")
FIBRE_G_PER_SERVING = 5.0
SUGAR_G_PER_SERVING = 12.5
OBS_HOUR = 20.0  # diary filled in the evening ...
WAKE_HOUR = 8.0  # ... about the waking day since 08:00
LAB_HOUR = 8.0  # morning cortisol / CRP
NOISE = {"mood": 1.0, "phq2": 0.8, "gad2": 0.8, "gi_symptoms": 1.0, "cortisol_am": 0.25, "crp": 0.30}
LOG_OBS = ("cortisol_am", "crp")
#: predicted morning CRP (mg/L) above which a fit is flagged as in the model's immune-runaway regime
RUNAWAY_CRP = 10.0

# column -> (aliases, lower, upper, kind) ; kind: "input" (carried forward) or "obs" (missing = not used)
COLUMNS: dict[str, tuple[tuple[str, ...], float, float, str]] = {
    "mood": ((), 0.0, 10.0, "obs"),
    "phq2": (("phq-2",), 0.0, 6.0, "obs"),
    "gad2": (("gad-2",), 0.0, 6.0, "obs"),
    "stress": (("stress_0_10",), 0.0, 10.0, "input"),
    "sleep_hours": (("sleep", "sleep_h"), 0.0, 24.0, "input"),
    "fibre_servings": (("fiber_servings", "fibre", "fiber"), 0.0, 30.0, "input"),
    "sugar_servings": (("sugar",), 0.0, 40.0, "input"),
    "fermented": (("fermented_servings", "fermented_food"), 0.0, 10.0, "input"),
    "gi_symptoms": (("gi", "gi_symptom"), 0.0, 10.0, "obs"),
    "cortisol_am": (("cortisol", "morning_cortisol"), 0.5, 60.0, "obs"),
    "crp": (("crp_mg_l",), 0.01, 200.0, "obs"),
}
REQUIRED = ("stress", "sleep_hours", "fibre_servings", "sugar_servings", "fermented", "gi_symptoms")
INPUT_COLS = ("stress", "sleep_hours", "fibre_servings", "sugar_servings", "fermented")
OBS_COLS = ("mood", "phq2", "gad2", "gi_symptoms", "cortisol_am", "crp")


class DiaryWarning(UserWarning):
    """A diary was repaired (gaps filled, values clipped)."""


# ---------------------------------------------------------------------------------------------
# diary
# ---------------------------------------------------------------------------------------------
@dataclass
class Diary:
    dates: list[_dt.date]
    data: dict[str, np.ndarray]  # column -> (n_days,) float, NaN = missing observation
    notes: list[str] = field(default_factory=list)

    @property
    def n_days(self) -> int:
        return len(self.dates)

    def observed(self) -> list[str]:
        return [c for c in OBS_COLS if c in self.data and np.isfinite(self.data[c]).any()]


def _canon(header: str) -> str | None:
    h = header.strip().lower().replace(" ", "_")
    if h == "date":
        return "date"
    for col, (aliases, *_rest) in COLUMNS.items():
        if h == col or h in aliases:
            return col
    return None


def read_diary(path: str | Path | None = None, *, rows: Sequence[Mapping[str, object]] | None = None, source: str | None = None,
               min_days: int = 14) -> Diary:
    """Read and validate a diary CSV (or a list of row dicts). See the module docs for the format."""
    if rows is None:
        p = Path(path)
        if not p.exists():
            raise InputError("diary", str(p), "an existing CSV file", "check the path")
        if not p.is_file():
            raise InputError("diary", str(p), "a CSV file (this is a directory or another non-file)",
                             "pass the diary file itself, e.g. diary.csv")
        try:
            with p.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames:
                    raise InputError("diary", str(p), "a CSV file with a header row", "the first line must name the columns")
                rows = list(reader)
        except UnicodeDecodeError as exc:
            raise InputError("diary", str(p), "a UTF-8 text CSV file (this file is binary or in another encoding: "
                             f"byte {exc.start} cannot be read as UTF-8)",
                             "export the diary as CSV in UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet program)") from None
        except csv.Error as exc:
            raise InputError("diary", str(p), f"a CSV file ({exc})", "export the diary as plain CSV") from None
        except OSError as exc:
            raise InputError("diary", str(p), f"a readable file ({exc.strerror or exc})", "check the path and its permissions") from None
        source = source or p.name
    source = source or "diary"
    if not rows:
        raise InputError(source, "no rows", f"at least {min_days} daily rows", "add one row per day")
    header = list(rows[0].keys())
    mapping = {h: _canon(h) for h in header}
    present = {v for v in mapping.values() if v}
    missing = [c for c in ("date",) + REQUIRED if c not in present]
    if missing:
        raise InputError(f"{source}: column", missing[0], "columns date, mood or phq2, " + ", ".join(REQUIRED),
                         f"add a '{missing[0]}' column (unknown columns: {[h for h, v in mapping.items() if v is None]})")
    if "mood" not in present and "phq2" not in present:
        raise InputError(f"{source}: column", "mood/phq2", "a mood column (0-10) or a phq2 column (0-6)", "add one of them")
    records: dict[_dt.date, dict[str, float]] = {}
    for k, row in enumerate(rows, start=2):  # line number in the file (header = 1)
        rec: dict[str, float] = {}
        date = None
        for h, value in row.items():
            col = mapping.get(h)
            if col is None:
                continue
            s = "" if value is None else str(value).strip()
            if col == "date":
                try:
                    date = _dt.date.fromisoformat(s)
                except ValueError:
                    raise InputError(f"{source}: line {k}, date", s, "an ISO date YYYY-MM-DD", "e.g. 2024-03-01") from None
                continue
            if s == "" or s.lower() in ("na", "nan", "none"):
                rec[col] = math.nan
                continue
            try:
                v = float(s)
            except ValueError:
                raise InputError(f"{source}: line {k}, {col}", s, "a number", "leave the cell empty if not recorded") from None
            _, lo, hi, _kind = COLUMNS[col]
            if not math.isfinite(v) or not lo <= v <= hi:
                raise InputError(f"{source}: line {k}, {col}", v, f"a value in [{lo:g}, {hi:g}]", "check the scale of this column")
            rec[col] = v
        if date is None:
            raise InputError(f"{source}: line {k}, date", "", "an ISO date YYYY-MM-DD", "every row needs a date")
        if date in records:
            raise InputError(f"{source}: line {k}, date", date.isoformat(), "one row per day", "merge or remove the duplicate row")
        records[date] = rec
    dates_sorted = sorted(records)
    notes = []
    if list(records) != dates_sorted:
        notes.append("rows were not in date order; sorted")
    first, last = dates_sorted[0], dates_sorted[-1]
    n = (last - first).days + 1
    if n < min_days:
        raise InputError(f"{source}: days", n, f"at least {min_days} days", "keep the diary for at least two weeks")
    if n > 365:
        raise InputError(f"{source}: days", n, "at most 365 days", "fit the most recent year")
    dates = [first + _dt.timedelta(days=i) for i in range(n)]
    gaps = [d for d in dates if d not in records]
    cols = sorted(present - {"date"})
    data = {c: np.array([records.get(d, {}).get(c, math.nan) for d in dates], float) for c in cols}
    filled: list[str] = []
    is_gap = np.array([d not in records for d in dates])
    for c in INPUT_COLS:
        v = data[c]
        if np.isnan(v[0]):
            ok = np.flatnonzero(np.isfinite(v))
            if not len(ok):
                raise InputError(f"{source}: column {c}", "empty", "at least one recorded value", "fill in the column")
            v[: ok[0]] = v[ok[0]]
            filled.append(f"{c} on the first {ok[0]} day(s) (back-filled)")
        nan = np.isnan(v)
        if (nan & ~is_gap).any():
            filled.append(f"{c} on {int((nan & ~is_gap).sum())} day(s)")
        if nan.any():
            idx = np.where(~nan, np.arange(len(v)), 0)
            np.maximum.accumulate(idx, out=idx)
            data[c] = v[idx]
    sl = data["sleep_hours"]
    if np.any((sl < 3) | (sl > 12)):
        notes.append(f"sleep_hours outside 3-12 h on {int(np.sum((sl < 3) | (sl > 12)))} day(s) clipped to [3, 12]")
        data["sleep_hours"] = np.clip(sl, 3, 12)
    if gaps:
        notes.append(f"{len(gaps)} missing day(s) ({', '.join(d.isoformat() for d in gaps[:5])}{', ...' if len(gaps) > 5 else ''}): "
                     "inputs carried forward, symptoms treated as not recorded")
    if filled:
        notes.append("empty input cells carried forward: " + "; ".join(filled))
    diary = Diary(dates, data, notes)
    if not diary.observed():
        raise InputError(f"{source}: symptoms", "all empty", "some recorded mood/PHQ-2/GI values", "fill in the symptom columns")
    for note in notes:
        warnings.warn(note, DiaryWarning, stacklevel=2)
    return diary


def _day_inputs(diary: Diary, i: int | slice) -> dict[str, np.ndarray | float]:
    d = diary.data
    return {"stress": d["stress"][i] / 10.0, "sleep_hours": np.clip(d["sleep_hours"][i], 3, 12),
            "fibre": np.clip(d["fibre_servings"][i] * FIBRE_G_PER_SERVING, 0, 150),
            "sugar": np.clip(d["sugar_servings"][i] * SUGAR_G_PER_SERVING, 0, 500),
            "fermented": np.clip(d["fermented"][i], 0, 10)}


def habitual_inputs(diary: Diary, days: slice = slice(0, 7)) -> dict[str, float]:
    return {k: float(np.mean(v)) for k, v in _day_inputs(diary, days).items()}


def diary_scenario(diary: Diary, *, extra_days: float = 0.0, after: Mapping[str, float] | None = None,
                   extra_episodes: Sequence[Episode] = ()) -> Scenario:
    """Daily input episodes for the diary (baseline = first-week means), optionally continued for ``extra_days``
    with inputs ``after`` (default: means of the last 14 diary days) plus ``extra_episodes``."""
    base = habitual_inputs(diary)
    eps = []
    for i in range(diary.n_days):
        for ch, v in _day_inputs(diary, i).items():
            eps.append(Episode(ch, float(v), float(i), 1.0, label=f"diary {ch}"))
    if extra_days > 0:
        tail = dict(after) if after is not None else habitual_inputs(diary, slice(max(0, diary.n_days - 14), None))
        for ch, v in tail.items():
            eps.append(Episode(ch, float(v), float(diary.n_days), float(extra_days), label=f"continued {ch}"))
    return Scenario(name="diary", diet=base, meals=STANDARD_MEALS, episodes=tuple(eps) + tuple(extra_episodes),
                    days=float(diary.n_days + extra_days))


# ---------------------------------------------------------------------------------------------
# observation model
# ---------------------------------------------------------------------------------------------
def _obs_from_ds(ds, n_days: int) -> dict[str, np.ndarray]:
    t = ds["time"].values
    def at(var, hour):
        idx = np.searchsorted(t, np.arange(n_days) + hour / 24.0 - 1e-9)
        return ds[var].values[idx]
    day = np.floor(t + 1e-9).astype(int)
    hour = (t - day) * 24.0
    waking = (hour >= WAKE_HOUR - 1e-6) & (hour <= OBS_HOUR + 1e-6) & (day < n_days)
    count = np.maximum(np.bincount(day[waking], minlength=n_days)[:n_days], 1)

    def today(var):  # mean over the waking day the evening rating is about (a daily rating is a state measure)
        return np.bincount(day[waking], ds[var].values[waking], minlength=n_days)[:n_days] / count
    phq9, gad7 = today("phq9_state"), today("gad7_state")
    return {"mood": 10.0 * (1.0 - phq9 / 27.0), "phq2": 6.0 * phq9 / 27.0, "gad2": 6.0 * gad7 / 21.0,
            "gi_symptoms": today("gi_symptoms_state"), "cortisol_am": at("CORT", LAB_HOUR), "crp": at("CRP", LAB_HOUR)}


def predict_observations(model: Model, diary: Diary, *, rtol: float = 1e-5) -> dict[str, np.ndarray]:
    """Noise-free diary read-outs predicted by ``model`` for each diary day."""
    from ..simulation import simulate

    ds = simulate(model, diary_scenario(diary), days=diary.n_days, output_every=1.0, rtol=rtol)
    return _obs_from_ds(ds, diary.n_days)


def _rating_residuals(y: np.ndarray, mu: np.ndarray, sd: float, top: float) -> np.ndarray:
    """Signed deviance residuals of integer ratings: rounded (interval-censored to y +- 0.5) and clipped to
    [0, top] (censored at the ends), so r^2 = -2 log(L / L_max) with L = P(rating = y | mu)."""
    from scipy.special import log_ndtr, ndtr

    integer = np.abs(y - np.round(y)) < 1e-9
    a = np.where(y <= 0, -np.inf, y - 0.5)
    b = np.where(y >= top, np.inf, y + 0.5)
    L = ndtr((b - mu) / sd) - ndtr((a - mu) / sd)
    # L_max: the rating centred on mu (interior) or mu far beyond the end (censored ends)
    lmax = np.where(np.isinf(a) | np.isinf(b), 1.0, ndtr(0.5 / sd) - ndtr(-0.5 / sd))
    with np.errstate(divide="ignore"):
        logl = np.where(L > 1e-250, np.log(np.maximum(L, 1e-300)), log_ndtr(-np.abs(y - mu) / sd))
    dev = np.sqrt(np.maximum(0.0, -2.0 * (logl - np.log(lmax))))
    r = np.sign(y - mu) * dev
    gauss = (y - mu) / math.sqrt(sd ** 2 + 1.0 / 12.0)
    return np.where(integer, r, gauss)


def _residuals(pred: Mapping[str, np.ndarray], diary: Diary) -> np.ndarray:
    out = []
    for c in diary.observed():
        y = diary.data[c]
        ok = np.isfinite(y)
        if c in LOG_OBS:
            out.append((np.log(y[ok]) - np.log(np.maximum(pred[c][ok], 1e-9))) / NOISE[c])
        else:
            out.append(_rating_residuals(y[ok], pred[c][ok], NOISE[c], COLUMNS[c][2]))
    return np.concatenate(out)


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------
@dataclass
class TwinFit:
    params: list[str]
    grades: list[str]
    reference: np.ndarray
    prior_sd: np.ndarray
    z_map: np.ndarray
    cov_z: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n_obs: int
    n_days: int
    cost: float
    nfev: int
    runtime_s: float
    rmse: dict[str, float]
    fitted: dict[str, list[float]]
    notes: list[str] = field(default_factory=list)
    disclaimer: str = DISCLAIMER

    def values(self, z: np.ndarray) -> np.ndarray:
        v = np.exp(np.log(self.reference) + self.prior_sd * np.asarray(z))
        return np.clip(v, self.lower, self.upper)

    @property
    def map_values(self) -> np.ndarray:
        return self.values(self.z_map)

    def interval(self, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        from scipy.stats import norm

        q = norm.ppf(0.5 + level / 2)
        sd = np.sqrt(np.clip(np.diag(self.cov_z), 0, None))
        return self.values(self.z_map - q * sd), self.values(self.z_map + q * sd)

    def draws(self, k: int, seed: int = 0) -> np.ndarray:
        """``k`` posterior draws (parameter values, shape (k, n_params)); the first is the MAP."""
        rng = np.random.default_rng(seed)
        z = rng.multivariate_normal(self.z_map, self.cov_z, size=max(k - 1, 0), method="eigh")
        return np.vstack([self.map_values[None, :], self.values(z)]) if k > 1 else self.map_values[None, :]

    def overrides(self, values: np.ndarray | None = None) -> dict[str, float]:
        v = self.map_values if values is None else values
        return {n: float(x) for n, x in zip(self.params, v, strict=True)}

    def rows(self) -> list[dict]:
        lo, hi = self.interval(0.9)
        sd = np.sqrt(np.clip(np.diag(self.cov_z), 0, None))
        return [{"parameter": n, "grade": g, "reference (prior median)": float(r), "MAP": float(m), "CrI90_low": float(a),
                 "CrI90_high": float(b), "posterior_sd/prior_sd": float(s)}
                for n, g, r, m, a, b, s in zip(self.params, self.grades, self.reference, self.map_values, lo, hi, sd, strict=True)]


def fit(diary: Diary, params: Sequence[str] = DEFAULT_PARAMS, *, model: Model | None = None, rtol: float = 1e-5,
        max_nfev: int = 30, diff_step: float = 0.1, tol: float = 1e-4, hess_step: float = 0.1) -> TwinFit:
    """MAP + Laplace fit of ``params`` (log-normal priors) to ``diary``."""
    from scipy.optimize import least_squares

    from .. import load_model

    model = model or load_model()
    params = list(params)
    if not 1 <= len(params) <= 6:
        raise InputError("params", params, "1 to 6 personal parameters", "fit a few parameters, e.g. appraisal,hpa_reactivity")
    for n in params:
        if n not in model.parameters:
            from ..errors import suggest

            raise InputError("params", n, "a model parameter", suggest(n, model.parameters))
        if model.parameters[n].prior_kind != "lognormal":
            raise InputError("params", n, "a parameter with a lognormal prior", "the twin fits in log space")
    ps = [model.parameters[n] for n in params]
    ref = np.array([p.value for p in ps])
    sd = np.array([p.prior_scale for p in ps])
    lo = np.array([p.lower for p in ps])
    hi = np.array([p.upper for p in ps])
    zlo = (np.log(lo) - np.log(ref)) / sd + 1e-6
    zhi = (np.log(hi) - np.log(ref)) / sd - 1e-6
    t0 = time.perf_counter()
    cache: dict[tuple, np.ndarray] = {}

    def values(z):
        return np.clip(np.exp(np.log(ref) + sd * z), lo, hi)

    def data_res(z):
        key = tuple(np.round(z, 12))
        if key not in cache:
            m = model.with_params(dict(zip(params, values(z), strict=True)))
            try:
                cache[key] = _residuals(predict_observations(m, diary, rtol=rtol), diary)
            except Exception:  # solver failure far from the data: a large but finite penalty
                cache[key] = np.full(sum(int(np.isfinite(diary.data[c]).sum()) for c in diary.observed()), 30.0)
        return cache[key]

    def res(z):
        return np.concatenate([data_res(z), z])  # prior: standard normal in z

    sol = least_squares(res, np.zeros(len(params)), bounds=(zlo, zhi), method="trf", diff_step=diff_step, max_nfev=max_nfev,
                        x_scale=1.0, ftol=tol, xtol=tol, gtol=tol)
    # Laplace: Gauss-Newton Hessian from a central-difference Jacobian (step hess_step prior SDs), which is less
    # sensitive than the optimiser's forward differences to small-scale non-smoothness of the ODE solution
    J = sol.jac
    if hess_step > 0:
        J = np.empty_like(sol.jac)
        for j in range(len(params)):
            e = np.zeros(len(params))
            e[j] = hess_step
            up, dn = np.minimum(sol.x + e, zhi), np.maximum(sol.x - e, zlo)
            J[:, j] = (res(up) - res(dn)) / (up[j] - dn[j])
    H = J.T @ J
    cov = np.linalg.pinv(H)
    z = sol.x
    m = model.with_params(dict(zip(params, values(z), strict=True)))
    pred = predict_observations(m, diary, rtol=rtol)
    rmse = {}
    for c in diary.observed():
        y = diary.data[c]
        ok = np.isfinite(y)
        rmse[c] = float(np.sqrt(np.mean((y[ok] - pred[c][ok]) ** 2)))
    notes = list(diary.notes)
    at_bound = [n for n, zz, a, b in zip(params, z, zlo, zhi, strict=True) if zz - a < 1e-3 or b - zz < 1e-3]
    if at_bound:
        notes.append(f"MAP at a bound for {at_bound}: the Laplace interval there is approximate")
    if not sol.success:
        notes.append(f"optimiser stopped: {sol.message}")
    crp_max = float(np.max(pred["crp"]))
    if crp_max > RUNAWAY_CRP:
        day = int(np.argmax(pred["crp"] > RUNAWAY_CRP))
        notes.append(f"predicted CRP reaches {crp_max:.0f} mg/L (from diary day {day + 1}): the model is in its innate-immune "
                     "runaway regime, a known limitation under sustained stress (see docs/analysis.md); the likelihood is not "
                     "smooth there, so the Laplace intervals are unreliable")
    n_obs = int(sum(int(np.isfinite(diary.data[c]).sum()) for c in diary.observed()))
    return TwinFit(params, [p.grade for p in ps], ref, sd, z, cov, lo, hi, n_obs, diary.n_days, float(sol.cost),
                   int(sol.nfev), time.perf_counter() - t0, rmse, {k: [float(x) for x in v] for k, v in pred.items()}, notes)


# ---------------------------------------------------------------------------------------------
# what if
# ---------------------------------------------------------------------------------------------
ARMS: dict[str, dict] = {
    "usual life": {},
    "fibre + probiotic": {"fibre_extra_g": 15.0, "probiotic": 10.0},
    "therapy": {"therapy": 1.0},
    "fibre + probiotic + therapy": {"fibre_extra_g": 15.0, "probiotic": 10.0, "therapy": 1.0},
}
def _arm_scenario(diary: Diary, arm: Mapping[str, float], weeks: float) -> Scenario:
    after = habitual_inputs(diary, slice(max(0, diary.n_days - 14), None))
    days = 7.0 * weeks
    after["fibre"] = min(150.0, after["fibre"] + arm.get("fibre_extra_g", 0.0))
    eps = []
    for ch in ("probiotic", "therapy"):
        if arm.get(ch):
            eps.append(Episode(ch, float(arm[ch]), float(diary.n_days), days, label=ch))
    return diary_scenario(diary, extra_days=days, after=after, extra_episodes=eps)


_BASE: dict[str, Model] = {}


def _arm_job(args):
    overrides, scenario, days, n_days = args
    from .. import load_model
    from ..simulation import simulate

    if "m" not in _BASE:
        _BASE["m"] = load_model()
    m = _BASE["m"].with_params(overrides)
    ds = simulate(m, scenario, days=days, output_every=1.0, rtol=1e-5)
    t = ds["time"].values
    last = t > days - 1.0 + 1e-9
    start = (t > n_days - 1.0 + 1e-9) & (t <= n_days + 1e-9)
    out = {f"end_{v}": float(ds[v].values[last].mean()) for v in ("phq9", "gad7") + pathway_variables(m)}
    out.update({f"start_{v}": float(ds[v].values[start].mean()) for v in ("phq9", "gad7")})
    return out


def _run_jobs(jobs, workers):
    from ..parallel import map_jobs

    return map_jobs(_arm_job, jobs, workers=workers)


def _end(values: Mapping[str, float]) -> dict[str, float]:
    return {k[4:]: v for k, v in values.items() if k.startswith("end_")}


def pathway_attribution(model: Model, arm: Sequence[Mapping[str, float]], usual: Sequence[Mapping[str, float]],
                        summarise: Callable[[Sequence[float]], tuple[float, float, float]]) -> dict:
    """Change of each mood-drive pathway term (arm minus usual life, paired per draw), summarised per term.

    The terms, their elasticities and signs come from the model's equations
    (:func:`gutbrain.model.pathways.mood_pathways`); ``arm``/``usual`` hold the drivers' end-of-window means.
    """
    values = {k: p.value for k, p in model.parameters.items()}
    out: dict = {}
    for key, pw in mood_pathways(model).items():
        out[key] = {t.label: summarise([float(t.evaluate(x, values) - t.evaluate(y, values)) for x, y in zip(arm, usual, strict=True)])
                    for t in pw.terms}
    return out


@dataclass
class WhatIf:
    arms: list[str]
    weeks: float
    n_draws: int
    outcomes: dict  # arm -> {"phq9": (median, lo, hi), "gad7": ..., "d_phq9": ..., "d_gad7": ...}
    attribution: dict  # arm -> {"depression": {pathway: (median, lo, hi)}, "anxiety": {...}}
    runtime_s: float
    disclaimer: str = DISCLAIMER


def what_if(twin: TwinFit, diary: Diary, *, weeks: float = 8.0, draws: int = 16, seed: int = 0, workers: int | None = None,
            arms: Mapping[str, Mapping[str, float]] = ARMS, model: Model | None = None) -> WhatIf:
    """Predict each arm over ``weeks`` after the diary for ``draws`` posterior draws (90 % credible intervals)."""
    from .. import load_model

    model = model or load_model()
    t0 = time.perf_counter()
    workers = workers or min(2, os.cpu_count() or 1)
    vals = twin.draws(draws, seed=seed)
    days = diary.n_days + 7.0 * weeks
    names = list(arms)
    scen = {a: _arm_scenario(diary, arms[a], weeks) for a in names}
    jobs = [(twin.overrides(v), scen[a], days, diary.n_days) for v in vals for a in names]
    res = _run_jobs(jobs, workers)
    out: dict = {}
    attr: dict = {}

    def ci(x):
        x = np.asarray(x)
        return (float(np.median(x)), float(np.quantile(x, 0.05)), float(np.quantile(x, 0.95)))

    for j, a in enumerate(names):
        r = [res[k * len(names) + j] for k in range(len(vals))]
        u = [res[k * len(names)] for k in range(len(vals))]
        out[a] = {"phq9": ci([x["end_phq9"] for x in r]), "gad7": ci([x["end_gad7"] for x in r]),
                  "d_phq9": ci([x["end_phq9"] - y["end_phq9"] for x, y in zip(r, u, strict=True)]),
                  "d_gad7": ci([x["end_gad7"] - y["end_gad7"] for x, y in zip(r, u, strict=True)]),
                  "phq9_at_diary_end": ci([x["start_phq9"] for x in r])}
        attr[a] = pathway_attribution(model, [_end(x) for x in r], [_end(y) for y in u], ci)
    return WhatIf(names, weeks, len(vals), out, attr, time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------
# synthetic diaries
# ---------------------------------------------------------------------------------------------
def synthetic_inputs(days: int = 60, seed: int = 0, peak_stress: float = 6.5) -> dict[str, np.ndarray]:
    """A plausible daily life: a stressful stretch in the middle (mean rating ``peak_stress``, otherwise 2.5),
    sleep that shortens with stress, varied diet."""
    rng = np.random.default_rng(seed)
    d = np.arange(days)
    a, b = int(days * 0.3), int(days * 0.6)
    stress = np.where((d >= a) & (d < b), peak_stress, 2.5) + rng.normal(0, 1.3, days)
    stress = np.clip(np.round(stress), 0, 10)
    sleep = np.clip(np.round((8.0 - 0.25 * stress + rng.normal(0, 0.5, days)) * 2) / 2, 4, 10)
    fibre = np.clip(np.round(4 + rng.normal(0, 1.2, days) - 0.15 * stress), 0, 12)
    sugar = np.clip(np.round(3 + 0.3 * stress + rng.normal(0, 1.2, days)), 0, 15)
    ferm = np.clip(np.round(rng.exponential(0.5, days)), 0, 4)
    return {"stress": stress, "sleep_hours": sleep, "fibre_servings": fibre, "sugar_servings": sugar, "fermented": ferm}


def synthetic_diary(true_params: Mapping[str, float], *, days: int = 60, seed: int = 0, start: str = "2024-03-04",
                    cortisol_every: int = 7, crp_days: Sequence[int] = (0, 29, 59), gad2: bool = True,
                    model: Model | None = None, peak_stress: float = 6.5) -> Diary:
    """A diary generated by the model with ``true_params`` plus observation noise (ratings rounded to integers)."""
    from .. import load_model

    model = model or load_model()
    rng = np.random.default_rng(10_000 + seed)
    start_d = _dt.date.fromisoformat(start)
    dates = [start_d + _dt.timedelta(days=i) for i in range(days)]
    data = synthetic_inputs(days, seed, peak_stress)
    diary = Diary(dates, {**data, "mood": np.zeros(days), "gi_symptoms": np.zeros(days)})
    pred = predict_observations(model.with_params(dict(true_params)), diary)
    data["mood"] = np.clip(np.round(pred["mood"] + rng.normal(0, NOISE["mood"], days)), 0, 10)
    data["gi_symptoms"] = np.clip(np.round(pred["gi_symptoms"] + rng.normal(0, NOISE["gi_symptoms"], days)), 0, 10)
    if gad2:
        data["gad2"] = np.clip(np.round(pred["gad2"] + rng.normal(0, NOISE["gad2"], days)), 0, 6)
    if cortisol_every:
        c = np.full(days, np.nan)
        idx = np.arange(0, days, cortisol_every)
        c[idx] = np.round(pred["cortisol_am"][idx] * np.exp(rng.normal(0, NOISE["cortisol_am"], len(idx))), 1)
        data["cortisol_am"] = c
    if crp_days:
        c = np.full(days, np.nan)
        idx = np.array([i for i in crp_days if i < days], int)
        c[idx] = np.round(pred["crp"][idx] * np.exp(rng.normal(0, NOISE["crp"], len(idx))), 2)
        data["crp"] = c
    return Diary(dates, data)


def write_diary(diary: Diary, path: str | Path) -> Path:
    path = Path(path)
    cols = [c for c in ("mood", "phq2", "gad2", "stress", "sleep_hours", "fibre_servings", "sugar_servings", "fermented",
                        "gi_symptoms", "cortisol_am", "crp") if c in diary.data]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["date"] + cols)
        for i, d in enumerate(diary.dates):
            row = [d.isoformat()]
            for c in cols:
                v = diary.data[c][i]
                row.append("" if not np.isfinite(v) else (f"{v:g}"))
            w.writerow(row)
    return path


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
def plot_twin(twin: TwinFit, diary: Diary, wi: WhatIf | None, stem: Path | str) -> tuple[Path, Path]:
    """Diary vs fitted read-outs, what-if predictions with 90 % CrIs and the pathway attribution: PNG + HTML."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from plotly.subplots import make_subplots

    from ._common import save_figure, save_plotly

    obs = diary.observed()
    days = np.arange(diary.n_days)
    n_rows = len(obs) + (2 if wi else 0)
    fig, axes = plt.subplots(n_rows, 1, figsize=(9, 2.0 * n_rows + 1))
    axes = np.atleast_1d(axes)
    for ax, c in zip(axes, obs, strict=False):
        y = diary.data[c]
        ax.plot(days, y, "o", ms=3, color="0.3", label="diary")
        ax.plot(days, twin.fitted[c], "-", color="#1c7ed6", label="twin (MAP)")
        ax.set_ylabel(c, fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
    axes[0].set_title("personal twin fit: " + ", ".join(f"{r['parameter']}={r['MAP']:.3g} [{r['CrI90_low']:.3g}, {r['CrI90_high']:.3g}]"
                                                         for r in twin.rows()), fontsize=8)
    if wi:
        ax = axes[len(obs)]
        arms = wi.arms
        med = [wi.outcomes[a]["phq9"][0] for a in arms]
        err = np.array([[wi.outcomes[a]["phq9"][0] - wi.outcomes[a]["phq9"][1], wi.outcomes[a]["phq9"][2] - wi.outcomes[a]["phq9"][0]]
                        for a in arms]).T
        ax.bar(arms, med, yerr=err, color=["0.6", "#37b24d", "#1c7ed6", "#7048e8"], capsize=4)
        ax.set_ylabel(f"PHQ-9 after {wi.weeks:g} wk", fontsize=8)
        ax.tick_params(labelsize=7)
        ax = axes[len(obs) + 1]
        paths = list(wi.attribution[arms[-1]]["depression"]) if len(arms) > 1 else []
        width = 0.8 / max(1, len(arms) - 1)
        for k, a in enumerate(arms[1:]):
            v = [wi.attribution[a]["depression"][p][0] for p in paths]
            ax.bar(np.arange(len(paths)) + k * width, v, width, label=a)
        ax.set_xticks(np.arange(len(paths)) + width, paths, fontsize=7, rotation=15)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel("change in log\ndepression drive", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    stem = Path(stem)
    png = save_figure(fig, stem)
    titles = [f"{c}: diary vs twin" for c in obs] + ([f"PHQ-9 after {wi.weeks:g} weeks (90 % CrI)", "pathway attribution (depression drive)"] if wi else [])
    g = make_subplots(rows=n_rows, cols=1, subplot_titles=titles)
    for k, c in enumerate(obs, 1):
        g.add_scatter(x=[d.isoformat() for d in diary.dates], y=diary.data[c], mode="markers", name=f"{c} diary", row=k, col=1)
        g.add_scatter(x=[d.isoformat() for d in diary.dates], y=twin.fitted[c], mode="lines", name=f"{c} twin", row=k, col=1)
    if wi:
        k = len(obs) + 1
        g.add_bar(x=wi.arms, y=[wi.outcomes[a]["phq9"][0] for a in wi.arms], name="PHQ-9", row=k, col=1,
                  error_y=dict(type="data", symmetric=False, array=[wi.outcomes[a]["phq9"][2] - wi.outcomes[a]["phq9"][0] for a in wi.arms],
                               arrayminus=[wi.outcomes[a]["phq9"][0] - wi.outcomes[a]["phq9"][1] for a in wi.arms]))
        for a in wi.arms[1:]:
            paths = list(wi.attribution[a]["depression"])
            g.add_bar(x=paths, y=[wi.attribution[a]["depression"][p][0] for p in paths], name=a, row=k + 1, col=1)
    g.update_layout(height=260 * n_rows, template="plotly_white", title="gutbrain personal twin")
    html = save_plotly(g, stem)
    return png, html
