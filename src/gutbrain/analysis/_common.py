"""Shared helpers for the analysis tools: simulation from a given state, disclaimers, plot output."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import DISCLAIMER, InputError
from ..model.assemble import Model
from ..scenarios import STANDARD_MEALS, Scenario

__all__ = ["DISCLAIMER", "check_plot_path", "constant_scenario", "integrate_from", "save_figure", "save_plotly"]


def constant_scenario(levels: Mapping[str, float] | None = None, days: float = 365.0, name: str = "constant") -> Scenario:
    """A scenario with constant input levels (diet/stress/sleep channels) and the standard three meals."""
    return Scenario(name=name, diet=dict(levels or {}), meals=STANDARD_MEALS, days=days)


def integrate_from(model: Model, y0: np.ndarray, scenario: Scenario, days: float, *, every_h: float = 24.0,
                   rtol: float = 1e-6, atol: float = 1e-8, obs: bool = True) -> tuple[np.ndarray, np.ndarray, dict]:
    """Integrate ``model`` from state ``y0`` under ``scenario`` for ``days`` (``gutbrain.simulate(initial=y0)``).

    Returns ``(t_days, states (time, n_states), observables dict)``; there is no warm-up, so branches of a
    steady-state sweep can start from any state.
    """
    from ..simulation import simulate

    ds = simulate(model, scenario, initial=np.asarray(y0, float), start_day=0.0, days=float(days), output_every=every_h,
                  rtol=rtol, atol=atol)
    ys = np.stack([ds[s.name].values for s in model.states], axis=-1)
    o = {k: ds[k].values for k in model.observable_names} if obs else {}
    return ds["time"].values, ys, o


def check_plot_path(path: Path | str, option: str = "--out") -> Path:
    p = Path(path)
    if p.suffix not in ("", ".png", ".html"):
        raise InputError(option, str(path), "a path stem or a path ending in .png or .html",
                         "both a PNG and an HTML file are written, e.g. --out results/sobol")
    return p.with_suffix("")


def save_figure(fig, stem: Path) -> Path:
    """Save a matplotlib figure as ``stem.png`` (:func:`gutbrain.plotting.save_png`: one DPI, the disclaimer)."""
    from ..plotting import save_png

    return save_png(fig, Path(stem).with_suffix(".png"))


def save_plotly(fig, stem: Path) -> Path:
    """Save a plotly figure as ``stem.html`` (:func:`gutbrain.plotting.save_html`: plotly.js embedded, the disclaimer)."""
    from ..plotting import save_html

    return save_html(fig, Path(stem).with_suffix(".html"))
