"""Bistability maps: steady states of the slow gut-immune-mood subsystem against chronic stress or diet quality.

Two axes: ``axis="stress"`` (constant stress level 0-1, all day, every day; diet and sleep at the
reference unless given) and ``axis="diet"`` (diet quality 0-1: 0 = western diet, 0.5 = the reference
diet, 1 = fibre-rich diet with fermented food, linear in each diet channel between these; stress fixed).
At each level the model is simulated for ``settle_days`` from two starts:

* **healthy start** - the patient's own steady rhythm without stress (60 days from the nominal state);
* **dysregulated start** - the state after ``kick_days`` of severe stress (1.0) with 5-h sleep.

The read-outs (pathobiont share ``Bp/(Bf+Bl+Bp)``, PHQ-9, GAD-7, CRP) are averaged over the last
``average_days`` (the sick branch can oscillate slowly, so its mean over a window is the "periodic steady
state"). Where the two branches differ (pathobiont share by more than ``tol``), the system is bistable:
which state the patient ends in depends on its history - the hysteresis region. ``validate`` re-simulates
points for twice as long to check that the branches are steady states and not slow transients.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DISCLAIMER, InputError, suggest
from ..model.assemble import Model
from ._common import constant_scenario, integrate_from

__all__ = [
    "AXES",
    "GAIN_SCAN",
    "SUBTYPE_GUT_LOOP",
    "BistabilityMap",
    "ScanMap",
    "branch_starts",
    "diet_quality",
    "plot_scan",
    "run",
    "scan",
    "sweep",
    "validate",
]

#: a patient subtype, within the evidence bounds, with a steep inflammation -> pathobiont niche feedback
SUBTYPE_GUT_LOOP = {"a_pat_inflam": 2.0, "n_pat_inflam": 4.0, "K_pat_inflam": 1.5}
#: default one-parameter scan through the reference patient: the gain of the inflammation -> pathobiont niche
#: feedback from its reference value (0.4) upwards, everything else at the reference
GAIN_SCAN = ("a_pat_inflam", tuple(np.round(np.linspace(0.4, 1.2, 9), 3)))
READOUTS = ("pathobiont_share", "phq9", "gad7", "CRP")
AXES = {"stress": "chronic stress intensity (0-1, all day)", "diet": "diet quality (0 western, 0.5 reference, 1 fibre-rich)"}
#: diet-quality anchors: western (q = 0), the model's reference inputs (q = 0.5), fibre-rich with fermented food (q = 1)
DIET_ANCHORS = ({"fibre": 12.0, "sugar": 120.0, "processed": 0.7, "fermented": 0.0},
                {"fibre": 20.0, "sugar": 50.0, "processed": 0.3, "fermented": 0.2},
                {"fibre": 40.0, "sugar": 25.0, "processed": 0.1, "fermented": 1.5})


def diet_quality(q: float) -> dict[str, float]:
    """Diet channel levels at quality ``q`` in [0, 1] (piecewise linear through the three anchors)."""
    if not 0.0 <= float(q) <= 1.0:
        raise InputError("diet quality", q, "a number in [0, 1] (0 western, 0.5 reference, 1 fibre-rich)")
    lo, hi, f = (DIET_ANCHORS[0], DIET_ANCHORS[1], 2 * q) if q <= 0.5 else (DIET_ANCHORS[1], DIET_ANCHORS[2], 2 * q - 1)
    return {k: lo[k] + (hi[k] - lo[k]) * f for k in lo}


def _levels_at(axis: str, level: float, diet: Mapping[str, float] | None, stress: float) -> dict[str, float]:
    """Constant input levels of one map point."""
    if axis == "diet":
        return dict(diet_quality(level), stress=float(stress))
    return dict(diet or {}, stress=float(level))


def _readouts(model: Model, ys: np.ndarray, obs: Mapping[str, np.ndarray], sl: slice) -> dict[str, float]:
    ix = {n: i for i, n in enumerate(model.state_names)}
    bp, bf, bl = ys[sl, ix["Bp"]], ys[sl, ix["Bf"]], ys[sl, ix["Bl"]]
    return {"pathobiont_share": float(np.mean(bp / (bf + bl + bp))), "phq9": float(np.mean(obs["phq9"][sl])),
            "gad7": float(np.mean(obs["gad7"][sl])), "CRP": float(np.mean(ys[sl, ix["CRP"]]))}


_STARTS: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def branch_starts(model: Model, *, diet: Mapping[str, float] | None = None, kick_days: float = 120.0,
                  kick_diet: Mapping[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(healthy start, dysregulated start) states for ``model`` (cached per parameter set, diet and kick).

    The kick is ``kick_days`` of stress 1.0 with 5-h sleep on ``kick_diet`` (default: ``diet``).
    """
    key = (model.param_hash, tuple(sorted((diet or {}).items())), kick_days, tuple(sorted((kick_diet or {}).items())))
    if key in _STARTS:
        return _STARTS[key]
    _, ys, _ = integrate_from(model, model.y0, constant_scenario(dict(diet or {}), 60), 60, obs=False)
    healthy = ys[-1]
    kick = dict(kick_diet if kick_diet is not None else (diet or {}), stress=1.0, sleep_hours=5.0)
    _, ys, _ = integrate_from(model, healthy, constant_scenario(kick, kick_days), kick_days, obs=False)
    if len(_STARTS) < 64:
        _STARTS[key] = (healthy, ys[-1])
    return healthy, ys[-1]


def _map(fn, jobs: list, workers: int | None) -> list:
    """``[fn(j) for j in jobs]``, on ``workers`` spawned processes (default: up to 2) when there are more jobs than 2."""
    from ..parallel import map_jobs

    workers = workers or min(2, os.cpu_count() or 1)
    return map_jobs(fn, jobs, workers=workers if len(jobs) > 2 else 1, chunksize=1)


def _patient_label(params: Mapping[str, float] | None) -> str:
    return "reference patient" if not params else "patient " + ", ".join(f"{k}={v:g}" for k, v in params.items())


def _settle(args):
    params, y0, levels, days, avg = args
    from .. import load_model

    m = load_model().with_params(params)
    t, ys, obs = integrate_from(m, y0, constant_scenario(levels, days), days, every_h=3.0)
    n_avg = int(round(avg * 8))
    last = _readouts(m, ys, obs, slice(len(t) - n_avg, len(t)))
    prev = _readouts(m, ys, obs, slice(len(t) - 2 * n_avg, len(t) - n_avg))
    return last, prev


@dataclass
class BistabilityMap:
    params: dict[str, float]
    levels: list[float]
    healthy: dict[str, list[float]]  # read-out -> value per level (healthy start)
    dysregulated: dict[str, list[float]]
    drift: dict[str, list[float]]  # max |last window - previous window| of pathobiont share per branch
    settle_days: float
    average_days: float
    tol: float
    reference_point: dict[str, float] | None = None
    runtime_s: float = 0.0
    label: str = "patient"
    validation: list[dict] = field(default_factory=list)
    axis: str = "stress"
    fixed_stress: float = 0.0  # the stress level of a diet-axis map
    disclaimer: str = DISCLAIMER

    @property
    def bistable(self) -> list[bool]:
        a, b = np.array(self.healthy["pathobiont_share"]), np.array(self.dysregulated["pathobiont_share"])
        return list(np.abs(b - a) > self.tol)

    @property
    def region(self) -> tuple[float, float] | None:
        """(lowest, highest) stress level with two distinct steady states, or None."""
        lv = [x for x, b in zip(self.levels, self.bistable, strict=True) if b]
        return (min(lv), max(lv)) if lv else None

    @property
    def axis_name(self) -> str:
        return "chronic stress" if self.axis == "stress" else f"diet quality (stress {self.fixed_stress:g})"

    @property
    def summary(self) -> str:
        r = self.region
        if r is None:
            return (f"{self.label}: no bistability for {self.axis_name} {min(self.levels):g}-{max(self.levels):g} "
                    "(healthy and dysregulated starts reach the same steady state)")
        at = "stress" if self.axis == "stress" else "diet quality"
        return (f"{self.label}: two steady states (hysteresis) for {self.axis_name} {r[0]:g}-{r[1]:g}; "
                f"pathobiont share {self.healthy['pathobiont_share'][self.levels.index(r[0])]:.3f} (healthy branch) vs "
                f"{self.dysregulated['pathobiont_share'][self.levels.index(r[0])]:.3f} (dysregulated branch) at {at} {r[0]:g}")

    def to_dict(self) -> dict:
        from dataclasses import asdict

        d = asdict(self)
        d.update(bistable=self.bistable, region=self.region, summary=self.summary)
        return d


def _starts(m: Model, axis: str, diet: Mapping[str, float] | None):
    # diet axis: the dysregulated start is the kick on the western diet (the worst end of the axis)
    return branch_starts(m, diet=diet, kick_diet=diet_quality(0.0) if axis == "diet" else None)


def sweep(params: Mapping[str, float] | None = None, levels: Sequence[float] = tuple(np.round(np.linspace(0, 0.6, 13), 3)), *,
          diet: Mapping[str, float] | None = None, settle_days: float = 200.0, average_days: float = 28.0, tol: float = 0.05,
          workers: int | None = None, label: str = "patient", model: Model | None = None, axis: str = "stress",
          stress: float = 0.0) -> BistabilityMap:
    """Steady states from a healthy and a dysregulated start at each level of ``axis`` ("stress" or "diet").

    On the diet axis ``levels`` are diet qualities (see :func:`diet_quality`) and ``stress`` is held fixed.
    """
    from .. import load_model

    t0 = time.perf_counter()
    if axis not in AXES:
        raise InputError("axis", axis, "stress or diet", suggest(str(axis), AXES))
    if axis == "diet" and diet:
        raise InputError("diet", diet, "no fixed diet on the diet axis", "leave diet out: the axis sets it")
    if not 0.0 <= float(stress) <= 1.0:
        raise InputError("stress", stress, "a level in [0, 1]")
    base = model or load_model()
    params = dict(params or {})
    m = base.with_params(params)
    for lv in levels:
        if not 0.0 <= float(lv) <= 1.0:
            raise InputError(f"{axis} level", lv, "levels in [0, 1]", "e.g. 0, 0.05, ..., 0.6")
    if settle_days < 2 * average_days:
        raise InputError("settle_days", settle_days, f"at least 2 x average_days = {2 * average_days:g}")
    healthy, sick = _starts(m, axis, diet)
    jobs = [(params, y0, _levels_at(axis, float(lv), diet, stress), settle_days, average_days) for lv in levels
            for y0 in (healthy, sick)]
    res = _map(_settle, jobs, workers)
    h = {k: [res[2 * i][0][k] for i in range(len(levels))] for k in READOUTS}
    s = {k: [res[2 * i + 1][0][k] for i in range(len(levels))] for k in READOUTS}
    drift = {"healthy": [abs(res[2 * i][0]["pathobiont_share"] - res[2 * i][1]["pathobiont_share"]) for i in range(len(levels))],
             "dysregulated": [abs(res[2 * i + 1][0]["pathobiont_share"] - res[2 * i + 1][1]["pathobiont_share"]) for i in range(len(levels))]}
    # where the reference patient sits: its own unstressed steady state on the reference diet (last 28 days of the
    # 60-day healthy start): stress 0 on the stress axis, diet quality 0.5 on the diet axis
    ref_model = base
    _, ys, obs = integrate_from(ref_model, ref_model.y0, constant_scenario(dict(diet or {}), 60), 60, every_h=3.0)
    ref = _readouts(ref_model, ys, obs, slice(len(ys) - int(average_days * 8), len(ys)))
    ref["stress"] = 0.0
    ref["x"] = 0.0 if axis == "stress" else 0.5
    return BistabilityMap(params, [float(x) for x in levels], h, s, drift, settle_days, average_days, tol, ref,
                          time.perf_counter() - t0, label, axis=axis, fixed_stress=float(stress) if axis == "diet" else 0.0)


def validate(bmap: BistabilityMap, level: float, branch: str, *, days: float | None = None, diet: Mapping[str, float] | None = None,
             model: Model | None = None) -> dict:
    """Re-simulate one map point (``branch`` = "healthy" or "dysregulated") for ``days`` (default 2 x settle_days)."""
    from .. import load_model

    if branch not in ("healthy", "dysregulated"):
        raise InputError("branch", branch, "healthy or dysregulated", suggest(branch, ("healthy", "dysregulated")))
    if level not in bmap.levels:
        raise InputError("level", level, f"a level of the map: {bmap.levels}")
    m = (model or load_model()).with_params(bmap.params)
    healthy, sick = _starts(m, bmap.axis, diet)
    days = days or 2 * bmap.settle_days
    t, ys, obs = integrate_from(m, healthy if branch == "healthy" else sick,
                                constant_scenario(_levels_at(bmap.axis, float(level), diet, bmap.fixed_stress), days), days,
                                every_h=3.0)
    long = _readouts(m, ys, obs, slice(len(t) - int(bmap.average_days * 8), len(t)))
    i = bmap.levels.index(level)
    mapped = (bmap.healthy if branch == "healthy" else bmap.dysregulated)["pathobiont_share"][i]
    other = (bmap.dysregulated if branch == "healthy" else bmap.healthy)["pathobiont_share"][i]
    err = abs(long["pathobiont_share"] - mapped)
    rec = {"level": level, "branch": branch, "days": days, "map_pathobiont_share": mapped,
           "long_pathobiont_share": long["pathobiont_share"], "long_phq9": long["phq9"],
           # same branch (closer to it than to the other branch) and within max(tol/2, 15 %) of the map value;
           # the dysregulated branch oscillates slowly, so 28-day means scatter by ~10 %
           # (where the map has one steady state, both branches are the same point and only the distance counts)
           "agrees": bool(err <= max(0.5 * bmap.tol, 0.15 * mapped)
                          and (not bmap.bistable[i] or err <= abs(long["pathobiont_share"] - other)))}
    bmap.validation.append(rec)
    return rec


def plot(maps: Sequence[BistabilityMap], stem: Path | str, readouts: Sequence[str] = ("pathobiont_share", "phq9")) -> tuple[Path, Path]:
    """Both branches vs stress level for each map, the hysteresis region shaded and the reference patient marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from plotly.subplots import make_subplots

    from ._common import save_figure, save_plotly

    labels = {"pathobiont_share": "pathobiont share Bp/(Bf+Bl+Bp)", "phq9": "PHQ-9 score, 14-day recall (mean of last 4 weeks)",
              "gad7": "GAD-7 score, 14-day recall", "CRP": "CRP (mg/L)"}
    colours = ["#1c7ed6", "#e8590c", "#2f9e44", "#862e9c"]
    fig, axes = plt.subplots(1, len(readouts), figsize=(5.2 * len(readouts), 4.4))
    axes = np.atleast_1d(axes)
    g = make_subplots(rows=1, cols=len(readouts), subplot_titles=[labels.get(r, r) for r in readouts])
    for ax, (col, r) in zip(axes, enumerate(readouts, 1), strict=True):
        for k, bm in enumerate(maps):
            c = colours[k % len(colours)]
            ax.plot(bm.levels, bm.healthy[r], "o-", color=c, label=f"{bm.label}: from healthy start")
            ax.plot(bm.levels, bm.dysregulated[r], "s--", color=c, mfc="none", label=f"{bm.label}: from dysregulated start")
            g.add_scatter(x=bm.levels, y=bm.healthy[r], mode="lines+markers", name=f"{bm.label}: healthy start", line=dict(color=c),
                          row=1, col=col, showlegend=col == 1)
            g.add_scatter(x=bm.levels, y=bm.dysregulated[r], mode="lines+markers", name=f"{bm.label}: dysregulated start",
                          line=dict(color=c, dash="dash"), row=1, col=col, showlegend=col == 1)
            reg = bm.region
            if reg is not None:
                step = np.diff(bm.levels).min() / 2 if len(bm.levels) > 1 else 0.02
                ax.axvspan(reg[0] - step, reg[1] + step, color=c, alpha=0.12, label=f"{bm.label}: hysteresis region")
                g.add_vrect(x0=reg[0] - step, x1=reg[1] + step, fillcolor=c, opacity=0.12, line_width=0, row=1, col=col)
            for v in bm.validation:
                ax.plot([v["level"]], [v["long_pathobiont_share"] if r == "pathobiont_share" else v["long_phq9"] if r == "phq9" else np.nan],
                        "k*", ms=10, label="long-simulation check" if (k == 0 and v is bm.validation[0]) else None)
        ref = maps[0].reference_point
        if ref is not None:
            x_ref = ref["x"]
            ax.plot([x_ref], [ref[r]], "D", color="k", ms=8, label="reference patient (no stress, reference diet)")
            g.add_scatter(x=[x_ref], y=[ref[r]], mode="markers", marker=dict(symbol="diamond", size=11, color="black"),
                          name="reference patient (no stress, reference diet)", row=1, col=col, showlegend=col == 1)
        ax.set_xlabel(AXES[maps[0].axis])
        ax.set_ylabel(labels.get(r, r))
        g.update_xaxes(title_text=AXES[maps[0].axis], row=1, col=col)
    axes[0].legend(fontsize=6.5, loc="best")
    fig.suptitle("; ".join(bm.summary for bm in maps), fontsize=7.5, wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 0.92))
    png = save_figure(fig, Path(stem))
    g.update_layout(title="Bistability map<br><sub>" + "<br>".join(bm.summary for bm in maps) + "</sub>", template="plotly_white",
                    height=560, margin=dict(t=140))
    html = save_plotly(g, Path(stem))
    return png, html


def run(params: Mapping[str, float] | None = None, *, levels: Sequence[float] | None = None, settle_days: float = 200.0,
        fallback: Mapping[str, float] = SUBTYPE_GUT_LOOP, validate_points: bool = True, workers: int | None = None,
        progress=None, axis: str = "stress", stress: float = 0.0) -> list[BistabilityMap]:
    """The ``gutbrain bistability`` pipeline: map the given patient (default: reference); if it shows no
    bistability, also map the ``fallback`` subtype; validate one point on each branch inside the region."""
    default = np.linspace(0, 0.6, 13) if axis == "stress" else np.linspace(0, 1, 11)
    levels = list(levels) if levels is not None else list(np.round(default, 3))
    label = _patient_label(params)
    maps = [sweep(params, levels, label=label, settle_days=settle_days, workers=workers, axis=axis, stress=stress)]
    if progress:
        progress(maps[-1].summary)
    if maps[0].region is None and fallback:
        maps.append(sweep(fallback, levels, label="subtype " + ", ".join(f"{k}={v:g}" for k, v in fallback.items()),
                          settle_days=settle_days, workers=workers, axis=axis, stress=stress))
        if progress:
            progress(maps[-1].summary)
    if validate_points:
        for bm in maps:
            if bm.region is not None:
                mid = [x for x, b in zip(bm.levels, bm.bistable, strict=True) if b]
                lv = mid[len(mid) // 2]
                validate(bm, lv, "healthy")
                validate(bm, lv, "dysregulated")
    return maps


# ------------------------------------------------------------------------------------------------
# Two-parameter map: one patient parameter x the stress (or diet) axis
# ------------------------------------------------------------------------------------------------
@dataclass
class ScanMap:
    """Steady-state branches over (``name`` = each of ``values``) x (axis levels), all other parameters at the
    patient's (default: reference) values. ``maps[i]`` is the one-axis map at ``values[i]``."""

    name: str
    values: list[float]
    reference_value: float
    maps: list[BistabilityMap]
    axis: str = "stress"
    runtime_s: float = 0.0
    label: str = "reference patient"
    prior: str = ""
    grade: str = ""
    disclaimer: str = DISCLAIMER

    @property
    def levels(self) -> list[float]:
        return self.maps[0].levels

    @property
    def gap(self) -> np.ndarray:
        """|dysregulated - healthy| pathobiont share, shape (values, levels)."""
        return np.array([np.abs(np.array(bm.dysregulated["pathobiont_share"]) - np.array(bm.healthy["pathobiont_share"]))
                         for bm in self.maps])

    @property
    def bistable(self) -> np.ndarray:
        return np.array([bm.bistable for bm in self.maps], dtype=bool)

    @property
    def onset(self) -> float | None:
        """Smallest scanned value of the parameter with two steady states at some level, or None."""
        rows = [v for v, b in zip(self.values, np.asarray(self.bistable.any(axis=1)), strict=True) if b]
        return min(rows) if rows else None

    @property
    def reference_x(self) -> float:
        """Where the patient's own unstressed state on the reference diet sits on the axis."""
        return 0.0 if self.axis == "stress" else 0.5

    def region_at(self, value: float) -> tuple[float, float] | None:
        return self.maps[self.values.index(value)].region

    @property
    def summary(self) -> str:
        at = "chronic stress" if self.axis == "stress" else "diet quality"
        head = f"{self.label} ({self.name} = {self.reference_value:g})"
        if self.onset is None:
            return (f"{head}: one steady state everywhere on {self.name} {min(self.values):g}-{max(self.values):g} x "
                    f"{at} {min(self.levels):g}-{max(self.levels):g}")
        inside = [v for v, bm in zip(self.values, self.maps, strict=True)
                  if bm.region is not None and bm.region[0] <= self.reference_x <= bm.region[1]]
        ref_row = self.maps[self.values.index(self.reference_value)].region is not None

        def span(r):
            return f"{r[0]:g}" if r[0] == r[1] else f"{r[0]:g}-{r[1]:g}"

        text = (f"{head}: {'inside' if ref_row else 'outside'} the hysteresis region. Two steady states from "
                f"{self.name} = {self.onset:g} ({at} {span(self.region_at(self.onset))}")
        below = [v for v in self.values if self.reference_value <= v < self.onset]
        if below:
            lo = max(below)
            text += f"; one at {lo:g}, so the onset lies between"
            d_lo, d_hi = self.prior_distance(lo), self.prior_distance(self.onset)
            if d_lo is not None:
                text += f", {d_lo:.1f}-{d_hi:.1f} prior SD above the patient's value"
        text += ")"
        if inside:
            text += f"; from {min(inside):g} they include its own unstressed state ({at} {self.reference_x:g})"
        return text + "."

    def prior_distance(self, value: float) -> float | None:
        """Distance of ``value`` from the reference value in prior standard deviations (normal or lognormal priors)."""
        kind, _, sd = self.prior.partition(":")
        if not sd or float(sd) <= 0:
            return None
        if kind == "lognormal":
            return float(np.log(value / self.reference_value) / float(sd))
        if kind == "normal":
            return float((value - self.reference_value) / float(sd))
        return None

    def validate_region(self, days: float | None = None) -> list[dict]:
        """Long runs of one point on each branch, in the bistable row closest to the reference value
        (middle level of its region); the records are kept in that row's map."""
        if self.onset is None:
            return []
        bm = self.maps[self.values.index(self.onset)]
        mid = [x for x, b in zip(bm.levels, bm.bistable, strict=True) if b]
        lv = mid[len(mid) // 2]
        return [validate(bm, lv, br, days=days) for br in ("healthy", "dysregulated")]

    @property
    def validation(self) -> list[dict]:
        return [dict(v, **{self.name: val}) for val, bm in zip(self.values, self.maps, strict=True) for v in bm.validation]

    def to_dict(self) -> dict:
        return {"name": self.name, "values": self.values, "reference_value": self.reference_value, "axis": self.axis,
                "levels": self.levels, "prior": self.prior, "grade": self.grade, "label": self.label,
                "gap_pathobiont_share": self.gap.tolist(), "bistable": self.bistable.tolist(), "onset": self.onset,
                "onset_prior_sd": None if self.onset is None else self.prior_distance(self.onset),
                "validation": self.validation, "summary": self.summary, "runtime_s": self.runtime_s,
                "maps": [bm.to_dict() for bm in self.maps], "disclaimer": self.disclaimer}


def _sweep_job(kw):
    return sweep(**kw)


def scan(name: str, values: Sequence[float], levels: Sequence[float] | None = None, *, params: Mapping[str, float] | None = None,
         axis: str = "stress", stress: float = 0.0, settle_days: float = 200.0, average_days: float = 28.0, tol: float = 0.05,
         workers: int | None = None, label: str | None = None, model: Model | None = None) -> ScanMap:
    """One-axis maps at each of ``values`` of parameter ``name`` (others as ``params``, default the reference):
    where in (parameter, stress or diet) space the patient's family has two steady states."""
    from .. import load_model

    t0 = time.perf_counter()
    base = model or load_model()
    if name not in base.parameters:
        raise InputError("scan parameter", name, "a model parameter name", suggest(name, list(base.parameters)))
    if params and name in params:
        raise InputError("params", name, "the scanned parameter is set by the scan", "leave it out of params")
    spec = base.parameters[name]
    for v in values:
        spec.check_value(v)
    ref_value = float(base.with_params(dict(params or {})).parameters[name].value)
    vals = sorted({float(v) for v in values} | {ref_value})  # the patient's own value is always mapped
    if len(vals) < 2:
        raise InputError("scan values", values, "at least one value other than the patient's own",
                         f"e.g. {name}={spec.value:g}:{spec.upper:g}:9")
    grid = levels if levels is not None else (np.linspace(0, 0.6, 13) if axis == "stress" else np.linspace(0, 1, 11))
    level_list = [float(x) for x in np.round(grid, 4)]
    jobs = [dict(params=dict(params or {}, **{name: v}), levels=level_list, settle_days=settle_days, average_days=average_days, tol=tol,
                 workers=1, label=f"{name}={v:g}", axis=axis, stress=stress, model=base) for v in vals]
    maps = _map(_sweep_job, jobs, workers)
    return ScanMap(name, vals, ref_value, maps, axis, time.perf_counter() - t0, label or _patient_label(params),
                   spec.prior, spec.grade)


def plot_scan(sm: ScanMap, stem: Path | str) -> tuple[Path, Path]:
    """Phase diagram: the gap between the two branches over (axis level, parameter value), the hysteresis region
    (gap > tol) circled, the patient marked at its reference value and unstressed state, long-run checks starred."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    from ._common import save_figure, save_plotly

    x, y, gap = sm.levels, sm.values, sm.gap
    tol = sm.maps[0].tol  # a cell has two steady states where the gap exceeds tol
    fig, ax = plt.subplots(figsize=(7.2, 5.2))
    mesh = ax.pcolormesh(x, y, gap, shading="nearest", cmap="magma_r", vmin=0, vmax=max(float(gap.max()), tol))
    fig.colorbar(mesh, ax=ax, label="pathobiont share: dysregulated - healthy branch")
    bi = sm.bistable
    xx, yy = np.meshgrid(x, y)
    ax.plot(xx[bi], yy[bi], "o", mfc="none", mec="#1c7ed6", ms=7, label=f"two steady states (gap > {tol:g})")
    ax.plot([sm.reference_x], [sm.reference_value], "D", color="#2f9e44", mec="k", ms=10,
            label=f"{sm.label} (unstressed, reference diet)")
    checks = sm.validation
    for i, v in enumerate(checks):
        ax.plot([v["level"]], [v[sm.name]], "*", color="w" if v["agrees"] else "r", mec="k", ms=14,
                label="long-simulation check" if i == 0 else None)
    ax.set_xlabel(AXES[sm.axis])
    ax.set_ylabel(f"{sm.name} (grade {sm.grade}, prior {sm.prior})")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(sm.summary, fontsize=7.5, wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    png = save_figure(fig, Path(stem))
    g = go.Figure(go.Heatmap(x=x, y=y, z=gap, colorscale="Magma", reversescale=True,
                             colorbar=dict(title="gap in<br>pathobiont<br>share")))
    g.add_scatter(x=xx[bi], y=yy[bi], mode="markers", marker=dict(symbol="circle-open", size=10, color="#1c7ed6"),
                  name="two steady states (hysteresis)")
    g.add_scatter(x=[sm.reference_x], y=[sm.reference_value], mode="markers", name=sm.label,
                  marker=dict(symbol="diamond", size=13, color="#2f9e44", line=dict(color="black", width=1)))
    if checks:
        g.add_scatter(x=[v["level"] for v in checks], y=[v[sm.name] for v in checks], mode="markers",
                      marker=dict(symbol="star", size=14, color="white", line=dict(color="black", width=1)),
                      name="long-simulation check")
    g.update_layout(title=f"Hysteresis region in ({sm.axis}, {sm.name})<br><sub>{sm.summary}</sub>", template="plotly_white",
                    xaxis_title=AXES[sm.axis], yaxis_title=sm.name, height=600)
    html = save_plotly(g, Path(stem))
    return png, html


# ------------------------------------------------------------------------------------------------
# HPA + glucocorticoid-receptor subsystem: steady states of the GR self-induction loop
# ------------------------------------------------------------------------------------------------
#: states of the HPA block integrated with GR clamped; everything else sits at the reference (no stress, no
#: inflammation, no hypoglycaemic counter-regulation)
HPA_BLOCK = ("CRH", "ACTH", "CORT", "CORTavg")


_HPA_FUNCS: dict[str, tuple] = {}


def _hpa_gr_functions(model: Model):
    """Numerical right-hand sides of the HPA block and the GR rate, other states at their reference values
    (no stress: PS = ps_baseline, IL-6 and TNF at baseline, no counter-regulation; inputs at their defaults).

    Returns ``f_hpa(t, y, gr)`` and ``f_gr(y, gr)`` for ``model``'s parameter values (lambdified once per structure).
    """
    import sympy as sp

    st = model.structure
    if st.digest not in _HPA_FUNCS:
        ref = {"PS": sp.Symbol("ps_baseline", real=True), "IL6": sp.Symbol("w6", real=True),
               "TNF": sp.Symbol("w_TNF", real=True), "CR": 0.0}
        subs = {sp.Symbol(k, real=True): v for k, v in ref.items()}
        subs.update({sp.Symbol(i.name, real=True): i.default for i in model.inputs})
        syms = [sp.Symbol(n, real=True) for n in HPA_BLOCK]
        g = sp.Symbol("GR", real=True)
        hpa = [sp.sympify(st.rates[n]).xreplace(subs) for n in HPA_BLOCK]
        gr = sp.sympify(st.rates["GR"]).xreplace(subs)
        left = set().union(*(e.free_symbols for e in [*hpa, gr])) - set(syms) - {g, st.t} - set(st.param_symbols)
        if left:
            raise RuntimeError(f"HPA block reads states outside it: {sorted(map(str, left))}")
        p = list(st.param_symbols)
        _HPA_FUNCS[st.digest] = (sp.lambdify((st.t, syms, g, p), hpa, "numpy"), sp.lambdify((syms, g, p), gr, "numpy"))
    f_hpa, f_gr = _HPA_FUNCS[st.digest]
    pv = list(model.param_vector)
    return (lambda t, y, g: f_hpa(t, y, g, pv)), (lambda y, g: f_gr(y, g, pv))


@dataclass
class GRSteadyStates:
    """Steady states of the HPA + GR subsystem at the reference inputs.

    ``gr``: GR values of the steady states; ``stable``: whether each is stable (the daily-mean GR rate falls
    through zero); ``cortisol``: the 24-h mean cortisol (ug/dL) at each. Found on the GR nullcline: for each
    clamped GR the HPA block is run to its periodic orbit and the GR rate averaged over the last day."""

    params: dict[str, float]
    gr: list[float]
    stable: list[bool]
    cortisol: list[float]
    grid: list[float] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)  # daily-mean dGR/dt (1/h) on the grid

    @property
    def n_stable(self) -> int:
        return int(sum(self.stable))


def _hpa_orbits(model: Model, grid: np.ndarray, days: int = 4):
    """For each clamped GR on ``grid``: (mean cortisol, last-day CORTavg trajectory) at the periodic orbit."""
    from scipy.integrate import solve_ivp

    f_hpa, _ = _hpa_gr_functions(model)
    y0 = np.array([model.states[model.state_names.index(n)].initial for n in HPA_BLOCK], float)
    out = []
    for g in grid:
        sol = solve_ivp(lambda t, y, g=g: f_hpa(t, y, g), (0.0, 24.0 * days), y0, method="LSODA", rtol=1e-7, atol=1e-9,
                        t_eval=np.linspace(24.0 * (days - 1), 24.0 * days, 97))
        out.append(sol.y)
        y0 = sol.y[:, -1]
    return out


def hpa_gr_steady_states(model: Model | None = None, params: Mapping[str, float] | None = None, *,
                         grid: Sequence[float] | np.ndarray | None = None, orbits=None) -> GRSteadyStates:
    """Steady states of the HPA + GR subsystem of ``model`` (default: reference) with ``params`` changed."""
    from .. import load_model

    m = (model or load_model()).with_params(dict(params or {}))
    grid_gr = np.asarray(grid if grid is not None else np.concatenate([np.linspace(0.05, 3, 60), np.geomspace(3.1, 60, 50)]), float)
    orbits = orbits if orbits is not None else _hpa_orbits(m, grid_gr)
    _, f_gr = _hpa_gr_functions(m)
    rate = np.array([float(np.mean(f_gr(list(y), g))) for g, y in zip(grid_gr, orbits, strict=True)])
    cort = np.array([float(np.mean(y[HPA_BLOCK.index("CORT")])) for y in orbits])
    gr, stable, cs = [], [], []
    for i in np.where(np.sign(rate[:-1]) != np.sign(rate[1:]))[0]:
        a, b = grid_gr[i], grid_gr[i + 1]
        ra, rb = rate[i], rate[i + 1]
        root = float(a + (b - a) * ra / (ra - rb))  # linear between grid points
        gr.append(float(root))
        stable.append(bool(rate[i] > 0 > rate[i + 1]))
        cs.append(float(np.interp(root, [a, b], cort[i:i + 2])))
    return GRSteadyStates(dict(params or {}), gr, stable, cs, grid_gr.tolist(), rate.tolist())


def gr_scan(K_values: Sequence[float], f_values: Sequence[float], model: Model | None = None) -> dict:
    """Number of stable steady states of the HPA + GR subsystem over (K_gr_self, f_gr_basal), all else at the
    reference; the HPA orbits do not depend on these two parameters, so they are computed once."""
    from .. import load_model

    m = model or load_model()
    grid = np.concatenate([np.linspace(0.05, 3, 60), np.geomspace(3.1, 60, 50)])
    orbits = _hpa_orbits(m, grid)
    n = np.zeros((len(K_values), len(f_values)), dtype=int)
    states = {}
    for i, K in enumerate(K_values):
        for j, f in enumerate(f_values):
            ss = hpa_gr_steady_states(m, {"K_gr_self": K, "f_gr_basal": f}, grid=grid, orbits=orbits)
            n[i, j] = ss.n_stable
            states[(float(K), float(f))] = ss
    ref = hpa_gr_steady_states(m, grid=grid, orbits=orbits)
    return {"K_gr_self": [float(k) for k in K_values], "f_gr_basal": [float(f) for f in f_values], "n_stable": n.tolist(),
            "reference": {"K_gr_self": m.parameters["K_gr_self"].value, "f_gr_basal": m.parameters["f_gr_basal"].value,
                          "gr": ref.gr, "stable": ref.stable, "cortisol": ref.cortisol}, "states": states}
