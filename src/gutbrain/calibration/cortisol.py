"""Module-level fit of the circadian CRH drive to the 24-h cortisol curve (Carroll et al. 2007).

The HPA rates are taken from the model's own equations with every non-HPA state and input
frozen at the reference patient's values, so the fit uses exactly the equations that run in
the full model. Only the SCN-drive harmonics and the awakening pulse are fitted, inside
their bounds; a target the bounds cannot reach is reported, not forced.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.optimize import least_squares

from ..model.assemble import Model
from .data import cortisol_24h

HPA_STATES = ("CRH", "ACTH", "CORT")
FITTED = ("circ_a1", "circ_b1", "circ_a2", "circ_b2", "circ_a3", "circ_b3", "car_amplitude", "car_delay", "car_sharpness", "k_cort")


def hpa_subsystem(model: Model, reference_state: dict[str, float]):
    s = model.structure
    frozen = {sym: reference_state[str(sym)] for sym in s.state_symbols if str(sym) not in HPA_STATES}
    frozen.update({sym: inp.default for sym, inp in zip(s.input_symbols, s.inputs, strict=True)})
    frozen.update({sp.Symbol(k, real=True): p.value for k, p in model.parameters.items() if k not in FITTED})
    hpa_syms = [sp.Symbol(n, real=True) for n in HPA_STATES]
    fit_syms = [sp.Symbol(n, real=True) for n in FITTED]
    exprs = [s.rates[n].xreplace(frozen) for n in HPA_STATES]
    f = sp.lambdify([s.t, hpa_syms, fit_syms], exprs, modules="math", cse=True)
    return f


def cortisol_day(f, theta, y0=(1.0, 20.0, 5.6), days: int = 4, clock: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cortisol over the last of ``days`` days at the clock hours ``clock`` (default: the data's 10-min grid)."""
    clock = cortisol_24h()[0] if clock is None else clock
    t_eval = clock + 24 * (days - 1)
    sol = solve_ivp(lambda t, y: f(t, y, theta), (0, 24 * days), list(y0), method="LSODA", t_eval=t_eval, rtol=1e-7, atol=1e-9)
    return t_eval - 24 * (days - 1), sol.y[2]


def fit(model: Model, reference_state: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Fit the drive to the curve; return (fitted values, metrics rmse/r)."""
    f = hpa_subsystem(model, reference_state)
    _t_data, c_data = cortisol_24h()
    lo = np.array([model.parameters[k].lower for k in FITTED])
    hi = np.array([model.parameters[k].upper for k in FITTED])
    x0 = np.clip(np.array([model.parameters[k].value for k in FITTED]), lo, hi)

    wake = np.array([7.0, 7.5])

    def resid(theta):
        _, c = cortisol_day(f, theta)
        _, cw = cortisol_day(f, theta, clock=wake)
        car = 100 * (cw[1] / cw[0] - 1)
        # the 24-h curve, plus the awakening response (target T05: +60 %), 10 % off weighing like 1 ug/dL
        return np.append(c - c_data, (car - 60.0) / 10.0)

    res = least_squares(resid, x0, bounds=(lo, hi), x_scale=np.maximum(np.abs(x0), 0.3), diff_step=1e-4, max_nfev=300)
    _, c = cortisol_day(f, res.x)
    _, cw = cortisol_day(f, res.x, clock=wake)
    metrics = {"rmse": float(np.sqrt(np.mean((c - c_data) ** 2))), "r": float(np.corrcoef(c, c_data)[0, 1]),
               "car_percent": float(100 * (cw[1] / cw[0] - 1))}
    return dict(zip(FITTED, map(float, res.x), strict=True)), metrics
