"""Fitting the twin's personal parameters to a diary (likelihood of the diary's read-outs, posterior draws)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ...errors import DISCLAIMER, InputError
from ...model.assemble import Model
from .diary import COLUMNS, LAB_HOUR, OBS_HOUR, WAKE_HOUR, Diary, diary_scenario

DEFAULT_PARAMS = ("appraisal", "hpa_reactivity", "w6", "tau_dep")


NOISE = {"mood": 1.0, "phq2": 0.8, "gad2": 0.8, "gi_symptoms": 1.0, "cortisol_am": 0.25, "crp": 0.30}


LOG_OBS = ("cortisol_am", "crp")


#: predicted morning CRP (mg/L) above which a fit is flagged as in the model's immune-runaway regime
RUNAWAY_CRP = 10.0


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
    from ...simulation import simulate

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

    from ... import load_model

    model = model or load_model()
    params = list(params)
    if not 1 <= len(params) <= 6:
        raise InputError("params", params, "1 to 6 personal parameters", "fit a few parameters, e.g. appraisal,hpa_reactivity")
    for n in params:
        if n not in model.parameters:
            from ...errors import suggest

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
