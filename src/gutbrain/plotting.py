"""Plots of a simulation result: PNG (matplotlib) or interactive HTML (plotly, no CDN needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .errors import DISCLAIMER, InputError

PANELS = (
    ("gad7", "GAD-7, 14-day recall (0-21)"), ("phq9", "PHQ-9, 14-day recall (0-27)"), ("CORT", "Cortisol (ug/dL)"), ("CRP", "CRP (mg/L)"),
    ("lm_ratio", "Lactulose/mannitol"), ("plasma_endotoxin", "Plasma endotoxin (pg/mL)"), ("portal_butyrate", "Portal butyrate (uM)"),
    ("glucose", "Glucose (mmol/L)"), ("hrv_rmssd", "HRV RMSSD (ms)"), ("IL6", "IL-6 (pg/mL)"), ("beneficial", "Beneficial bacteria (share)"),
    ("kyn_trp", "KYN/TRP (umol/mmol)"),
)


def plot(ds: xr.Dataset, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix not in (".png", ".html"):
        raise InputError("plot path", str(path), "a file ending in .png or .html", "e.g. --plot out.png")
    title = f"gutbrain: {ds.attrs.get('scenario', '')} ({ds.attrs.get('backend', '')})"
    t = ds["time"].values
    if path.suffix == ".png":
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(4, 3, figsize=(13, 11), sharex=True)
        for ax, (var, label) in zip(axes.flat, PANELS, strict=True):
            if f"{var}_state" in ds:  # the instantaneous map behind a questionnaire score, for comparison
                ax.plot(t, ds[f"{var}_state"].values, lw=0.5, color="#b07030", alpha=0.6, label="state measure (instantaneous)")
            ax.plot(t, ds[var].values, lw=0.8, color="#2a6f97", label="score (recall window)")
            if f"{var}_state" in ds:
                ax.legend(fontsize=7, loc="upper left")
            ax.set_title(label, fontsize=10)
            ax.grid(alpha=0.3)
        for ax in axes[-1]:
            ax.set_xlabel("day")
        fig.suptitle(title)
        fig.text(0.5, 0.005, DISCLAIMER, ha="center", fontsize=8, color="#555")
        fig.tight_layout(rect=(0, 0.02, 1, 0.97))
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=4, cols=3, subplot_titles=[p[1] for p in PANELS], shared_xaxes=True)
    for k, (var, label) in enumerate(PANELS):
        if f"{var}_state" in ds:
            fig.add_trace(go.Scatter(x=t, y=np.asarray(ds[f"{var}_state"].values), name=f"{var}_state (instantaneous state measure)",
                                     line={"width": 0.6, "dash": "dot", "color": "#b07030"}), row=k // 3 + 1, col=k % 3 + 1)
        fig.add_trace(go.Scatter(x=t, y=np.asarray(ds[var].values), name=label, line={"width": 1}), row=k // 3 + 1, col=k % 3 + 1)
    fig.update_layout(title=title, showlegend=False, height=1000,
                      annotations=list(fig.layout.annotations) + [{"text": DISCLAIMER, "xref": "paper", "yref": "paper", "x": 0.5, "y": -0.06,
                                                                    "showarrow": False, "font": {"size": 10}}])
    fig.write_html(path, include_plotlyjs=True)
    return path
