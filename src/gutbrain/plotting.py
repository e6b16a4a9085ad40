"""Plots of a simulation result: PNG (matplotlib) or interactive HTML (plotly, embedded: works offline).

Each panel shows the daily mean (line) with the within-day range as a light band, so the daily cycles of
cortisol, glucose and the state measures do not fill the panel; the healthy reference range is shaded
where one exists (the same ranges as the web explorer) and the scenario's episodes are marked.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import xarray as xr

from .errors import DISCLAIMER, InputError

#: (variable, title, healthy reference range or None); ranges as in the web explorer (web/static/app.js)
PANELS = (
    ("gad7", "GAD-7, 14-day recall (0-21)", (0, 5)), ("phq9", "PHQ-9, 14-day recall (0-27)", (0, 5)),
    ("CORT", "Cortisol (ug/dL)", (5, 23)), ("CRP", "CRP (mg/L)", (0, 3)),
    ("lm_ratio", "Lactulose/mannitol", (0, 0.03)), ("plasma_endotoxin", "Plasma endotoxin (pg/mL)", None),
    ("portal_butyrate", "Portal butyrate (uM)", None), ("glucose", "Glucose (mmol/L)", (3.9, 7.8)),
    ("hrv_rmssd", "HRV RMSSD (ms)", (19, 75)), ("IL6", "IL-6 (pg/mL)", None),
    ("beneficial", "Beneficial bacteria (share)", None), ("kyn_trp", "KYN/TRP (umol/mmol)", None),
)
DPI = 120  #: every PNG gutbrain writes


def save_png(fig, path: str | Path, *, rect: tuple[float, float, float, float] = (0, 0.035, 1, 1)) -> Path:
    """Write a matplotlib figure as PNG at :data:`DPI` with the disclaimer in its footer, then close it.

    ``rect`` is the area ``tight_layout`` may use (the bottom strip holds the disclaimer).
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.text(0.5, 0.005, DISCLAIMER, ha="center", va="bottom", fontsize=7, color="#555")
    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def save_html(fig, path: str | Path) -> Path:
    """Write a plotly figure as self-contained HTML (plotly.js embedded: opens offline) with the disclaimer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.add_annotation(text=DISCLAIMER, xref="paper", yref="paper", x=0.5, y=-0.08, showarrow=False,
                       font={"size": 10, "color": "#666"}, xanchor="center", yanchor="top")
    fig.update_layout(margin={"b": 110})
    fig.write_html(path, include_plotlyjs=True)
    return path


def daily(ds: xr.Dataset, var: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(day midpoints, daily mean, daily min, daily max)`` of ``var`` (one day per point; short runs: as sampled)."""
    t = np.asarray(ds["time"].values, float)
    x = np.asarray(ds[var].values, float)
    if t[-1] - t[0] < 3:  # a run of a few days: the within-day course is the point
        return t, x, x, x
    from .simulation import reduce_daily

    r = reduce_daily(ds[[var]])
    return r["day"].values + 0.5, r[var].values, r[f"{var}_min"].values, r[f"{var}_max"].values


def _episodes(scenario) -> list[tuple[float, float, str]]:
    if scenario is None:
        return []
    return [(e.start_h / 24.0, (e.start_h + e.duration_h) / 24.0, e.label or e.input) for e in scenario.episodes]


def phases(ds: xr.Dataset, scenario, max_phases: int = 6) -> list[tuple[float, float, str]]:
    """The run cut at every episode start and end: ``(first day, last day, label)``, label naming what is on."""
    t0, t1 = float(ds["time"].values[0]), float(ds["time"].values[-1])
    eps = [(a, b, n) for a, b, n in _episodes(scenario) if b > t0 and a < t1]
    cuts = sorted({t0, t1, *(min(max(a, t0), t1) for a, _, _ in eps), *(min(max(b, t0), t1) for _, b, _ in eps)})
    out: list[tuple[float, float, str]] = []
    for a, b in itertools.pairwise(cuts):
        if b - a < 1e-9:
            continue
        on = [n for ea, eb, n in eps if ea < b - 1e-9 and eb > a + 1e-9]
        out.append((a, b, ", ".join(dict.fromkeys(on)) if on else ("before" if not out else "after")))
    if len(out) > max_phases:  # many short episodes: fall back to before / during / after the episodes as a whole
        first, last = min(a for a, _, _ in eps), max(b for _, b, _ in eps)
        out = [p for p in ((t0, max(t0, first), "before"), (max(t0, first), min(t1, last), "episodes"),
                           (min(t1, last), t1, "after")) if p[1] - p[0] > 1e-9]
    return out


def plot(ds: xr.Dataset, path: str | Path, scenario=None) -> Path:
    """Write the standard panels of ``ds`` to ``path`` (.png or .html); ``scenario`` marks its episodes."""
    path = Path(path)
    if path.suffix not in (".png", ".html"):
        raise InputError("plot path", str(path), "a file ending in .png or .html", "e.g. --plot out.png")
    if "patient" in ds.dims:
        raise InputError("dataset", "a cohort", "one patient's result", "select one with ds.isel(patient=0)")
    title = f"gutbrain: {ds.attrs.get('scenario', '')} ({ds.attrs.get('solver', '')}) - daily mean, within-day range shaded"
    eps = _episodes(scenario)
    panels = [p for p in PANELS if p[0] in ds]
    if path.suffix == ".png":
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(4, 3, figsize=(13, 11), sharex=True)
        for ax, (var, label, ref) in zip(axes.flat, panels, strict=False):
            if ref is not None:
                ax.axhspan(*ref, color="#3a9a5b", alpha=0.08, lw=0, label="healthy reference range")
            for a, b, _name in eps:
                ax.axvspan(a, b, color="#d08c2a", alpha=0.10, lw=0)
            t, m, lo, hi = daily(ds, var)
            ax.fill_between(t, lo, hi, color="#2a6f97", alpha=0.18, lw=0, label="within-day range")
            ax.plot(t, m, lw=1.0, color="#2a6f97", label="daily mean")
            if f"{var}_state" in ds:
                ts_, ms_, _, _ = daily(ds, f"{var}_state")
                ax.plot(ts_, ms_, lw=0.7, color="#b07030", alpha=0.8, ls="--", label="state measure, daily mean")
            ax.set_title(label, fontsize=10)
            ax.grid(alpha=0.3)
            if var == "gad7":
                ax.legend(fontsize=6.5, loc="upper right")
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        for ax in axes[-1]:
            ax.set_xlabel("day")
        if eps:
            names = "; ".join(f"{n} (days {a:g}-{b:g})" for a, b, n in eps[:4]) + (" ..." if len(eps) > 4 else "")
            fig.text(0.5, 0.022, f"orange: {names}", ha="center", fontsize=8, color="#8a5a10")
        fig.suptitle(title)
        return save_png(fig, path, rect=(0, 0.035, 1, 0.97))
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=4, cols=3, subplot_titles=[p[1] for p in panels], shared_xaxes=True)
    for k, (var, _label, ref) in enumerate(panels):
        row, col = k // 3 + 1, k % 3 + 1
        t, m, lo, hi = daily(ds, var)
        fig.add_trace(go.Scatter(x=np.r_[t, t[::-1]], y=np.r_[hi, lo[::-1]], fill="toself", line={"width": 0},
                                 fillcolor="rgba(42,111,151,0.18)", name=f"{var} within-day range", hoverinfo="skip"), row=row, col=col)
        fig.add_trace(go.Scatter(x=t, y=m, name=f"{var} daily mean", line={"width": 1.2, "color": "#2a6f97"}), row=row, col=col)
        if ref is not None:
            fig.add_hrect(y0=ref[0], y1=ref[1], fillcolor="#3a9a5b", opacity=0.08, line_width=0, row=row, col=col)
        for a, b, _n in eps:
            fig.add_vrect(x0=a, x1=b, fillcolor="#d08c2a", opacity=0.10, line_width=0, row=row, col=col)
    fig.update_layout(title=title, showlegend=False, height=1000)
    return save_html(fig, path)
