"""Figures of a fitted twin: diary vs twin, what-if outcomes, pathway attribution."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .diary import Diary
from .fit import TwinFit
from .whatif import WhatIf


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
def plot_twin(twin: TwinFit, diary: Diary, wi: WhatIf | None, stem: Path | str) -> tuple[Path, Path]:
    """Diary vs fitted read-outs, what-if predictions with 90 % CrIs and the pathway attribution: PNG + HTML."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from plotly.subplots import make_subplots

    from .._common import save_figure, save_plotly

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
