"""Module-level fit of the innate-immune module to the human 2 ng/kg endotoxin-bolus data.

The immune rates are taken from the model's own equations; the rest of the body is frozen
at the reference patient's 08:00 state (cortisol, vagal tone, GR ...), which is the
module-by-module step. The full model is then checked against the same data in the report.
Fitted parameters stay inside their evidence bounds (bounded least squares, multi-start).
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.optimize import least_squares

from ..model.assemble import Model
from .data import endotoxin_summary

IMMUNE_STATES = ("Eexo", "MR", "MA", "MA6", "TNF", "IL6", "IL8", "IL10", "TOLi", "TOL")
CYTOKINES = {"TNF": "TNF", "IL6": "IL6", "IL8": "IL8", "IL10": "IL10"}
FITTED = ("kMA", "kMTNF", "kM", "xME", "kTNFM", "kTNF", "k6", "k6M", "k6TNF", "x6TNF", "k8", "k8M", "k8TNF", "k10", "k10M", "k106", "xTNF10")


def immune_subsystem(model: Model, reference_state: dict[str, float], fitted=FITTED):
    s = model.structure
    frozen = {sym: reference_state[str(sym)] for sym in s.state_symbols if str(sym) not in IMMUNE_STATES}
    frozen.update({sym: inp.default for sym, inp in zip(s.input_symbols, s.inputs, strict=True) if str(sym) != "lps_iv"})
    frozen.update({sp.Symbol(k, real=True): p.value for k, p in model.parameters.items() if k not in fitted})
    frozen[s.t] = 8.0
    syms = [sp.Symbol(n, real=True) for n in IMMUNE_STATES]
    fit_syms = [sp.Symbol(n, real=True) for n in fitted]
    lps = sp.Symbol("lps_iv", real=True)
    exprs = [s.rates[n].xreplace(frozen) for n in IMMUNE_STATES]
    return sp.lambdify([syms, fit_syms, lps], exprs, modules="math", cse=True)


def bolus_response(f, theta, y0, dose=2.0, t_eval=None):
    """Integrate from a one-minute infusion of ``dose`` ng/kg; return times (h after bolus) and states."""
    t_eval = np.linspace(0, 6, 61) if t_eval is None else t_eval
    rate = dose * 60.0
    s1 = solve_ivp(lambda t, y: f(y, theta, rate), (0, 1 / 60), y0, method="LSODA", rtol=1e-8, atol=1e-10)
    s2 = solve_ivp(lambda t, y: f(y, theta, 0.0), (1 / 60, t_eval[-1]), s1.y[:, -1], method="LSODA", rtol=1e-8, atol=1e-10,
                   t_eval=t_eval[t_eval >= 1 / 60], dense_output=False)
    ys = np.concatenate([np.asarray(y0)[:, None], s2.y], axis=1) if t_eval[0] < 1 / 60 else s2.y
    return t_eval, ys


def fit(model: Model, reference_state: dict[str, float], *, starts: int = 4, seed: int = 0, fitted=FITTED):
    data = endotoxin_summary()
    f = immune_subsystem(model, reference_state, fitted)
    y0 = [reference_state[n] for n in IMMUNE_STATES]
    t_obs = data["TNF"]["time"]
    lo = np.log([model.parameters[k].lower for k in fitted])
    hi = np.log([model.parameters[k].upper for k in fitted])
    x_ref = np.log([model.parameters[k].value for k in fitted])
    idx = {c: IMMUNE_STATES.index(c) for c in CYTOKINES}

    def resid(x):
        _, ys = bolus_response(f, np.exp(x), y0, t_eval=t_obs)
        r = []
        for c in CYTOKINES:
            # log-scale residuals weight every time point and cytokine alike
            r.append(np.log(np.maximum(ys[idx[c]], 1e-6)) - np.log(data[c]["mean"]))
        return np.concatenate(r)

    rng = np.random.default_rng(seed)
    best = None
    for k in range(starts):
        x0 = x_ref if k == 0 else np.clip(x_ref + rng.normal(0, 0.3, len(x_ref)), lo + 1e-9, hi - 1e-9)
        res = least_squares(resid, x0, bounds=(lo, hi), max_nfev=400)
        if best is None or res.cost < best.cost:
            best = res
    if best is None:
        raise ValueError(f"starts must be at least 1 (got {starts})")
    return dict(zip(fitted, map(float, np.exp(best.x)), strict=True)), float(best.cost)


# --- joint fit: the 2 ng/kg bolus curves and the dose-response targets T23-T28, on the full model ---

#: parameters of the joint fit (each inside its evidence bounds; log scale)
JOINT_FITTED = ("kE", "kMA", "kMTNF", "kM", "xME", "xMTNF", "kTNFM", "kTNF", "xTNF10", "k6", "k6M", "k6TNF", "x6TNF", "k8",
                "k8M", "k8TNF", "k10", "k10M", "k106", "x610", "x66", "xTNF6", "xM10", "k6lag")
# w_TNF and w6 stay at the bolus data's baselines: other modules read them as the basal levels (barrier, HPA,
# the inflammation index), so they are not free to absorb basal monocyte activation
#: T23-T26: (dose, cytokine), ratio of its peak to the 2 ng/kg peak; T27, T28: fold rise at 0.3 ng/kg
DOSE_RATIOS = {"T23": (1.0, "TNF"), "T24": (0.5, "TNF"), "T25": (1.0, "IL6"), "T26": (0.5, "IL6")}
FOLD_RISES = {"T27": "IL6", "T28": "TNF"}
DOSE_WEIGHT = 2.0
PEAK_WALL = 40.0
MONOTONE_WALL = 200.0  # a dose target at the edge of its tolerance weighs like a bolus point 2 SD off


def _dose_runs(model: Model, doses=(0.3, 0.5, 1.0, 2.0, 3.0, 4.0)) -> dict[float, tuple[np.ndarray, dict[str, np.ndarray]]]:
    from ..scenarios import Scenario, endotoxin
    from ..simulation import simulate

    out = {}
    for d in doses:
        ds = simulate(model, Scenario(name=f"endotoxin-bolus-{d:g}ngkg", episodes=endotoxin(d, day=0, hour=8.0), days=1),
                      days=1, output_every=0.05)
        out[d] = (ds.time.values * 24 - 8.0, {c: ds[c].values for c in CYTOKINES})
    return out


def joint_residuals(model: Model, runs=None) -> np.ndarray:
    """Residuals of the joint objective (docs/calibration.md, "Innate immunity").

    Bolus: for each cytokine and data time, (log model - log mean) / the log-scale SD of the 20
    subjects (sqrt(log(1 + (SD/mean)^2))); at t = 0 the scale is 0.1, so the baselines stay at the
    data's. Dose targets T23-T28: DOSE_WEIGHT * log(model / target) / log(tolerance edge / target),
    on the side of the deviation, so a value at the edge of its tolerance counts DOSE_WEIGHT. Peak
    wall: PEAK_WALL * (|log(model peak / data mean peak)| - log 1.25) where positive, per cytokine, so
    the fit keeps every bolus peak inside the 35 % tolerance; likewise PEAK_WALL * (|smooth peak
    time - data peak time| - 0.35 h) where positive, inside the 0.5 h tolerance. Graded response: MONOTONE_WALL *
    (log 1.02 - log(peak at the higher dose / peak at the lower)) where positive, for TNF and IL-6
    and the dose pairs 2 -> 3 and 3 -> 4 ng/kg.
    """
    from .data import targets
    from .targets import _range

    data = endotoxin_summary()
    runs = _dose_runs(model) if runs is None else runs
    h, y = runs[2.0]
    r = []
    for c, d in data.items():
        at = np.interp(d["time"], h, y[c])
        sig = np.sqrt(np.log(1 + (d["sd"] / d["mean"]) ** 2))
        sig[0] = 0.1
        r.append((np.log(np.maximum(at, 1e-6)) - np.log(d["mean"])) / sig)
        # the peak tolerance (within 35 % of the mean peak) as a wall: zero inside 25 %, steep outside
        z = np.log(y[c][(h >= 0) & (h <= 8)].max() / d["mean"].max())
        r.append([PEAK_WALL * max(0.0, abs(z) - np.log(1.25))])
        # the peak-time tolerance (0.5 h) as a wall from 0.35 h on; a smooth peak time (weights y^20) keeps it differentiable
        win = (h >= 0) & (h <= 8)
        w = (y[c][win] / y[c][win].max()) ** 20
        r.append([PEAK_WALL * max(0.0, abs(float((h[win] * w).sum() / w.sum()) - d["time"][np.argmax(d["mean"])]) - 0.35)])
    rows = {row["id"]: row for row in targets()}
    peak = {(dose, c): yy[c][(hh >= 0) & (hh <= 8)].max() for dose, (hh, yy) in runs.items() for c in ("TNF", "IL6")}
    vals = {tid: peak[dose, c] / peak[2.0, c] for tid, (dose, c) in DOSE_RATIOS.items()}
    hh, yy = runs[0.3]
    vals.update({tid: peak[0.3, c] / np.interp(0.0, hh, yy[c]) for tid, c in FOLD_RISES.items()})
    # graded response: each peak at least 2 % above the one at the dose below (2, 3, 4 ng/kg; a wall, zero when met)
    for a, b in ((2.0, 3.0), (3.0, 4.0)):
        for c in ("TNF", "IL6"):
            r.append([MONOTONE_WALL * max(0.0, np.log(1.02) - np.log(peak[b, c] / peak[a, c]))])
    for tid, v in vals.items():
        target = float(rows[tid]["value"])
        lo, hi = _range(rows[tid]["tolerance"])
        z = np.log(v / target)
        r.append([DOSE_WEIGHT * z / (np.log(hi / target) if z > 0 else np.log(target / lo))])
    return np.concatenate(r)


def fit_joint(model: Model, *, starts: int = 2, max_nfev: int = 100, seed: int = 0, fitted=JOINT_FITTED):
    """Fit the immune parameters to the bolus curves and T23-T28 on the full model (multi-start bounded least squares).

    Log parameters, bounded by the evidence bounds; the first start is the reference set, the others
    are drawn around it (SD 0.4 in log units). Returns (fitted values, cost, seconds).
    """
    import time

    t0 = time.perf_counter()
    p = model.parameters
    lo = np.log([p[k].lower for k in fitted])
    hi = np.log([p[k].upper for k in fitted])
    x_ref = np.log([p[k].value for k in fitted])

    def resid(x):
        vals = {k: float(np.clip(np.exp(v), p[k].lower, p[k].upper)) for k, v in zip(fitted, x, strict=True)}
        try:
            return joint_residuals(model.with_params(vals))
        except Exception:  # a failed integration counts as a poor fit, not as an error
            return np.full(4 * 10 + 4 + 6, 50.0)

    rng = np.random.default_rng(seed)
    best = None
    for k in range(starts):
        x0 = x_ref if k == 0 else x_ref + rng.normal(0, 0.4, len(x_ref))
        x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)
        res = least_squares(resid, x0, bounds=(lo, hi), diff_step=1e-2, max_nfev=max_nfev)
        if best is None or res.cost < best.cost:
            best = res
    if best is None:
        raise ValueError(f"starts must be at least 1 (got {starts})")
    values = {k: float(np.clip(np.exp(v), p[k].lower, p[k].upper)) for k, v in zip(fitted, best.x, strict=True)}
    return values, float(best.cost), round(time.perf_counter() - t0, 1)
