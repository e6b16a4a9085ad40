"""Re-run the module-by-module fits that produced the reference parameter set.

``fit_modules(model)`` fits (1) the SCN drive, awakening response and adrenal gain to the 24-h
cortisol curve and the awakening target, (2) the immune module jointly to the 2 ng/kg endotoxin-bolus
means and the dose-response targets T23-T28, on the full model (multi-start bounded least squares,
log parameters; ``endotoxin.fit_joint``), and (3) the mast-cell permeability gain to
the public-speech L/M target (root finding). Every fit stays inside the parameters' evidence
bounds. The result can be written as a TOML overrides file; the package's tables hold the
values these fits produced, with the fit named in each parameter's source.
"""

from __future__ import annotations

import time

from scipy.optimize import brentq

from ..model.assemble import Model
from ..simulation import simulate
from . import cortisol, endotoxin


def _lm_under_speech(model: Model) -> float:
    sp = simulate(model, "public-speech-stress", days=1, output_every=1 / 12)
    h = sp.time.values * 24
    return float(sp.lm_ratio.values[(h >= 10) & (h <= 12)].mean())


def fit_modules(model: Model, *, starts: int = 3) -> dict:
    """Return {"values": {param: value}, "metrics": {...}, "seconds": ...}."""
    t0 = time.perf_counter()
    ds = simulate(model, "healthy-baseline", days=1, output_every=1.0)
    midnight = {n: float(ds[n].isel(time=0)) for n in model.state_names}
    values: dict[str, float] = {}
    metrics: dict[str, dict[str, float] | float | bool] = {}  # cortisol fit metrics, endotoxin cost/seconds, a flag
    v, m = cortisol.fit(model, midnight)
    values.update(v)
    metrics["cortisol"] = m
    model = model.with_params(v)
    v, cost, secs = endotoxin.fit_joint(model, starts=starts)
    values.update(v)
    metrics["endotoxin_cost"] = cost
    metrics["endotoxin_seconds"] = secs
    model = model.with_params(v)
    p = model.parameters["a_perm_mc"]
    f = lambda a: _lm_under_speech(model.with_params(a_perm_mc=a)) - 0.059  # noqa: E731
    if f(p.lower) * f(p.upper) < 0:
        values["a_perm_mc"] = brentq(f, p.lower, p.upper, xtol=0.01)
    metrics["a_perm_mc_bracketed"] = "a_perm_mc" in values
    return {"values": values, "metrics": metrics, "seconds": round(time.perf_counter() - t0, 1)}


def to_toml(values: dict[str, float]) -> str:
    return "# gutbrain fitted parameter values (overrides for load_model(overrides=...))\n" + "".join(
        f"{k} = {v!r}\n" for k, v in sorted(values.items()))
