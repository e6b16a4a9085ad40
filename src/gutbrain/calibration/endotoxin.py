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

IMMUNE_STATES = ("Eexo", "MR", "MA", "TNF", "IL6", "IL8", "IL10", "TOLi", "TOL")
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
    return dict(zip(fitted, map(float, np.exp(best.x)), strict=True)), float(best.cost)
