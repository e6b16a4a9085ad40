"""Global sensitivity analysis over the parameter priors (SALib: Morris screening and Sobol indices).

Approach
--------
Each varied parameter's prior (``lognormal:<sd of log>``, ``normal:<sd>``, ``uniform``), truncated to its
evidence bounds exactly as :func:`gutbrain.cohort.sample_matrix` does, is the input distribution. SALib
samples the *prior quantiles* ``u`` in ``[0, 1]`` and every column is mapped through the truncated inverse
CDF (log space for lognormal priors). Because the map is monotone and the inputs independent, Sobol
indices in quantile space equal the indices with respect to the priors themselves.

A Sobol analysis of all ~230 varied parameters is far too expensive for a 1-s simulation, so
``method="sobol"`` with more than ``max_sobol`` candidate parameters first screens them with Morris
elementary effects (``morris_r`` trajectories, 4 levels) and then computes first- and total-order
Sobol indices (Saltelli/Jansen estimators, bootstrap 95 % confidence intervals, no second order) for
the ``top`` parameters with the largest ``mu*``. The read-out is the daily mean of an observable over
the 24 h ending at the requested day (e.g. ``PHQ9@day90`` = mean PHQ-9 over day 89-90).
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DISCLAIMER, InputError, suggest
from ..model.assemble import Model

__all__ = [
    "ALIASES",
    "SensitivityResult",
    "evaluate",
    "morris",
    "parse_output",
    "quantiles_to_values",
    "run",
    "salib_problem",
    "select_params",
    "sobol",
]

ALIASES = {"phq9": "phq9", "phq-9": "phq9", "gad7": "gad7", "gad-7": "gad7", "pss": "perceived_stress",
           "stress": "perceived_stress", "gi": "gi_symptoms", "cortisol": "CORT", "cort": "CORT", "crp": "CRP",
           "il6": "IL6", "il-6": "IL6", "bp": "Bp", "bf": "Bf",
           # the questionnaire names give the recall-window scores; these give the instantaneous state measures
           "phq-9-state": "phq9_state", "gad-7-state": "gad7_state", "gi-state": "gi_symptoms_state"}


# ---------------------------------------------------------------------------------------------
# inputs: output spec, parameter selection, priors
# ---------------------------------------------------------------------------------------------
def parse_output(spec: str, model: Model) -> tuple[str, float]:
    """``"PHQ9@day90"`` -> ``("phq9", 90.0)``. Names are matched case-insensitively to observables and states."""
    if not isinstance(spec, str) or "@" not in spec:
        raise InputError("--output", spec, "READOUT@dayN, e.g. PHQ9@day90 or CRP@day60", "join the read-out and the day with '@'")
    name, when = spec.split("@", 1)
    when = when.strip().lower()
    if when.startswith("day"):
        when = when[3:]
    try:
        day = float(when)
    except ValueError:
        raise InputError("--output day", spec, "a day number after '@day', e.g. PHQ9@day90", None) from None
    if not (1.0 <= day <= 3650.0):
        raise InputError("--output day", day, "a day in [1, 3650]", "e.g. PHQ9@day90")
    known = list(model.observable_names) + list(model.state_names)
    lower = {k.lower(): k for k in known}
    key = name.strip()
    var = ALIASES.get(key.lower()) or lower.get(key.lower())
    if var is None:
        raise InputError("--output read-out", key, "an observable or state name (e.g. phq9, gad7, CRP, Bp)", suggest(key, known))
    return var, day


def varied_names(model: Model) -> list[str]:
    return [p.name for p in model.parameters.values() if p.prior_kind != "fixed" and p.lower < p.upper]


def select_params(model: Model, spec: str | Sequence[str] | None) -> list[str]:
    """``"all"`` (every non-fixed parameter), ``"grade-L"``/``"grade-M"``/``"grade-H"`` (combinable with
    '+', e.g. ``"grade-L+grade-M"``), a module name (``"module-mood"``) or a comma-separated list."""
    pool = varied_names(model)
    if spec is None or spec == "all":
        return pool
    if isinstance(spec, str):
        parts = [s.strip() for s in spec.replace("+", ",").split(",") if s.strip()]
    else:
        parts = list(spec)
    out: list[str] = []
    for part in parts:
        if part.lower().startswith("grade-"):
            g = part[6:].upper()
            if g not in ("H", "M", "L"):
                raise InputError("--params", part, "grade-H, grade-M or grade-L", "e.g. --params grade-L")
            out += [n for n in pool if model.parameters[n].grade == g]
        elif part.lower().startswith("module-"):
            mod = part[7:]
            sel = [n for n in pool if model.parameters[n].module == mod]
            if not sel:
                raise InputError("--params", part, "module-<name> of a model module", "e.g. module-mood")
            out += sel
        elif part in model.parameters:
            if part not in pool:
                raise InputError("--params", part, "a parameter with a non-fixed prior and bounds lower < upper",
                                 "fixed parameters have no prior spread to analyse")
            out.append(part)
        else:
            raise InputError("--params", part, "all, grade-L/M/H, module-<name> or parameter names", suggest(part, model.parameters))
    seen: dict[str, None] = {}
    for n in out:
        seen.setdefault(n, None)
    if not seen:
        raise InputError("--params", spec, "a selection with at least one varied parameter")
    return list(seen)


def salib_problem(names: Sequence[str]) -> dict:
    """SALib problem on prior quantiles (each input uniform on [0, 1])."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def quantiles_to_values(model: Model, names: Sequence[str], u: np.ndarray) -> np.ndarray:
    """Map prior quantiles ``u`` (n, k) to parameter values via the truncated priors (cf. cohort.sample_matrix)."""
    u = np.clip(np.asarray(u, float), 1e-9, 1 - 1e-9)
    out = np.empty_like(u)
    for j, name in enumerate(names):
        p = model.parameters[name]
        out[:, j] = np.clip(p.prior_distribution().ppf(u[:, j]), p.lower, p.upper)
    return out


# ---------------------------------------------------------------------------------------------
# batched evaluation
# ---------------------------------------------------------------------------------------------
_WORKER_MODEL: dict[str, Model] = {}


def _eval_chunk(args) -> tuple[np.ndarray, float]:
    names, values, scenario, var, day, rtol = args
    cpu0 = time.process_time()
    from .. import load_model
    from ..simulation import simulate

    base = _WORKER_MODEL.get("m")
    if base is None:
        base = _WORKER_MODEL["m"] = load_model()
    models = [base.with_params(dict(zip(names, row, strict=True))) for row in values]
    ds = simulate(models, scenario, days=day, output_every=1.0, throw=False, rtol=rtol)
    t = ds["time"].values
    sel = t >= day - 1.0 + 1e-9
    return ds[var].values[:, sel].mean(axis=1), time.process_time() - cpu0


_CPU = {"s": 0.0}


def evaluate(model: Model, names: Sequence[str], values: np.ndarray, scenario, var: str, day: float, *, workers: int = 2,
             rtol: float = 1e-6, progress=None) -> np.ndarray:
    """Daily-mean read-out ``var`` over the day ending at ``day`` for each row of ``values``.

    Rows are evaluated in chunks on ``workers`` processes (spawned once per call). ``model`` must be the
    reference model (workers rebuild it with :func:`gutbrain.load_model`)."""
    from ..scenarios import get

    scenario = get(scenario)
    values = np.asarray(values, float)
    n = len(values)
    n_chunks = max(1, min(n, max(4 * workers, int(math.ceil(n / 32)))))
    bounds = np.linspace(0, n, n_chunks + 1).astype(int)
    jobs = [(list(names), values[a:b], scenario, var, day, rtol) for a, b in itertools.pairwise(bounds) if b > a]
    from ..parallel import map_jobs

    results = map_jobs(_eval_chunk, jobs, workers=workers if n >= 2 else 1, chunksize=1, progress=progress)
    _CPU["s"] += sum(cpu for _, cpu in results)
    return np.concatenate([y for y, _ in results])


def _clean(y: np.ndarray) -> tuple[np.ndarray, int]:
    bad = ~np.isfinite(y)
    if bad.any():
        y = y.copy()
        y[bad] = np.nanmedian(y) if (~bad).any() else 0.0
    return y, int(bad.sum())


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
@dataclass
class SensitivityResult:
    method: str
    scenario: str
    output: str
    names: list[str]
    grades: list[str]
    modules: list[str]
    n_base: int
    n_runs: int
    runtime_s: float
    S1: list[float] = field(default_factory=list)
    S1_conf: list[float] = field(default_factory=list)
    ST: list[float] = field(default_factory=list)
    ST_conf: list[float] = field(default_factory=list)
    mu_star: list[float] = field(default_factory=list)
    mu_star_conf: list[float] = field(default_factory=list)
    sigma: list[float] = field(default_factory=list)
    output_mean: float = float("nan")
    output_sd: float = float("nan")
    failed_runs: int = 0
    cpu_s: float = 0.0
    screen: dict | None = None
    notes: list[str] = field(default_factory=list)
    disclaimer: str = DISCLAIMER

    @property
    def ranking(self) -> list[int]:
        key = self.ST if self.method == "sobol" else self.mu_star
        return list(np.argsort(-np.asarray(key)))

    def top(self, k: int = 5) -> list[tuple[str, str, float]]:
        key = self.ST if self.method == "sobol" else self.mu_star
        return [(self.names[i], self.grades[i], float(key[i])) for i in self.ranking[:k]]

    @property
    def grade_l_share(self) -> float:
        """Share of grade-L parameters in the ranked importance mass (ST or mu*) of the top five."""
        key = np.clip(np.asarray(self.ST if self.method == "sobol" else self.mu_star, float), 0, None)
        idx = self.ranking[:5]
        total = key[idx].sum()
        if total <= 0:
            return float("nan")
        return float(sum(key[i] for i in idx if self.grades[i] == "L") / total)

    @property
    def summary(self) -> str:
        share = self.grade_l_share
        what = "total-order" if self.method == "sobol" else "mu*"
        if share > 0.5:
            return (f"this result rests mostly on grade-L assumptions ({share:.0%} of the top-5 {what} mass is on "
                    "grade-L parameters)")
        return f"this result rests mostly on grade-H/M evidence (grade-L share of the top-5 {what} mass: {share:.0%})"

    def rows(self) -> list[dict]:
        out = []
        for rank, i in enumerate(self.ranking, 1):
            r = {"rank": rank, "parameter": self.names[i], "module": self.modules[i], "grade": self.grades[i]}
            if self.method == "sobol":
                r.update(S1=self.S1[i], S1_conf=self.S1_conf[i], ST=self.ST[i], ST_conf=self.ST_conf[i])
            else:
                r.update(mu_star=self.mu_star[i], mu_star_conf=self.mu_star_conf[i], sigma=self.sigma[i])
            out.append(r)
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d["summary"] = self.summary
        d["ranked"] = self.rows()
        return d

    def plot(self, stem: Path | str, k: int = 15) -> tuple[Path, Path]:
        """Bar chart of the top ``k`` parameters (first/total order with 95 % CIs, or mu*), grade-coloured: PNG + HTML."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import plotly.graph_objects as go

        from ._common import save_figure, save_plotly

        idx = self.ranking[:k][::-1]
        labels = [f"{self.names[i]} [{self.grades[i]}]" for i in idx]
        colours = {"H": "#2b8a3e", "M": "#e67700", "L": "#c92a2a"}
        title = (f"{'Sobol' if self.method == 'sobol' else 'Morris'} sensitivity of {self.output} under {self.scenario} "
                 f"(N={self.n_base}, {self.n_runs} runs)")
        fig, ax = plt.subplots(figsize=(9, 0.38 * len(idx) + 2.2))
        y = np.arange(len(idx))
        if self.method == "sobol":
            ax.barh(y + 0.2, [self.ST[i] for i in idx], 0.4, xerr=[self.ST_conf[i] for i in idx], label="total order ST",
                    color=[colours[self.grades[i]] for i in idx], alpha=0.9)
            ax.barh(y - 0.2, [self.S1[i] for i in idx], 0.4, xerr=[self.S1_conf[i] for i in idx], label="first order S1",
                    color=[colours[self.grades[i]] for i in idx], alpha=0.45, hatch="//")
            ax.set_xlabel("Sobol index (bars: 95 % bootstrap CI)")
        else:
            ax.barh(y, [self.mu_star[i] for i in idx], 0.6, xerr=[self.mu_star_conf[i] for i in idx],
                    color=[colours[self.grades[i]] for i in idx])
            ax.set_xlabel("Morris mu* (output units per prior-quantile step; bars: 95 % CI)")
        ax.set_yticks(y, labels, fontsize=8)
        for t, i in zip(ax.get_yticklabels(), idx, strict=True):
            t.set_color(colours[self.grades[i]])
        ax.set_title(title, fontsize=9)
        from matplotlib.artist import Artist
        from matplotlib.patches import Patch

        handles: list[Artist] = [Patch(color=c, label=f"grade {g}") for g, c in colours.items()]
        if self.method == "sobol":
            handles += ax.get_legend_handles_labels()[0]
        ax.legend(handles=handles, fontsize=7, loc="lower right")
        fig.text(0.01, 0.025, self.summary, fontsize=7.5, ha="left")
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        stem = Path(stem)
        png = save_figure(fig, stem)
        gfig = go.Figure()
        if self.method == "sobol":
            gfig.add_bar(y=labels, x=[self.ST[i] for i in idx], orientation="h", name="total order ST",
                         error_x=dict(type="data", array=[self.ST_conf[i] for i in idx]),
                         marker_color=[colours[self.grades[i]] for i in idx])
            gfig.add_bar(y=labels, x=[self.S1[i] for i in idx], orientation="h", name="first order S1", opacity=0.5,
                         error_x=dict(type="data", array=[self.S1_conf[i] for i in idx]),
                         marker_color=[colours[self.grades[i]] for i in idx], marker_pattern_shape="/")
        else:
            gfig.add_bar(y=labels, x=[self.mu_star[i] for i in idx], orientation="h", name="mu*",
                         error_x=dict(type="data", array=[self.mu_star_conf[i] for i in idx]),
                         marker_color=[colours[self.grades[i]] for i in idx])
        gfig.update_layout(title=title + "<br><sub>" + self.summary + " (colour: grade H green, M orange, L red)</sub>",
                           barmode="group", height=200 + 28 * len(idx), template="plotly_white")
        html = save_plotly(gfig, stem)
        return png, html


def _meta(model: Model, names):
    return ([model.parameters[n].grade for n in names], [model.parameters[n].module for n in names])


# ---------------------------------------------------------------------------------------------
# methods
# ---------------------------------------------------------------------------------------------
def morris(model: Model, scenario, output: str, names: Sequence[str], *, r: int = 4, levels: int = 4, seed: int = 0,
           workers: int = 2, rtol: float = 1e-6, progress=None) -> SensitivityResult:
    """Morris elementary effects (``r`` trajectories, ``r * (k + 1)`` runs) on prior quantiles."""
    from SALib.analyze import morris as morris_a
    from SALib.sample import morris as morris_s

    from ..scenarios import get

    t0, c0 = time.perf_counter(), _CPU["s"]
    scenario = get(scenario)
    var, day = parse_output(output, model)
    names = list(names)
    problem = salib_problem(names)
    u = morris_s.sample(problem, N=r, num_levels=levels, seed=seed)
    y, bad = _clean(evaluate(model, names, quantiles_to_values(model, names, u), scenario, var, day, workers=workers,
                             rtol=rtol, progress=progress))
    res = morris_a.analyze(problem, u, y, num_levels=levels, conf_level=0.95, seed=seed, print_to_console=False)
    grades, modules = _meta(model, names)
    return SensitivityResult("morris", scenario.name, output, names, grades, modules, r, len(y), time.perf_counter() - t0,
                             mu_star=[float(v) for v in res["mu_star"]], mu_star_conf=[float(v) for v in res["mu_star_conf"]],
                             sigma=[float(v) for v in res["sigma"]], output_mean=float(np.mean(y)), output_sd=float(np.std(y)),
                             failed_runs=bad, cpu_s=_CPU["s"] - c0)


def sobol(model: Model, scenario, output: str, names: Sequence[str], *, n: int = 64, seed: int = 0, workers: int = 2,
          rtol: float = 1e-6, progress=None) -> SensitivityResult:
    """First- and total-order Sobol indices (Saltelli sampling, ``n * (k + 2)`` runs, bootstrap 95 % CIs)."""
    from SALib.analyze import sobol as sobol_a
    from SALib.sample import sobol as sobol_s

    from ..scenarios import get

    if isinstance(n, bool) or not isinstance(n, int) or n < 8 or n & (n - 1):
        raise InputError("--n", n, "a power of two >= 8 (Saltelli base sample size)", "e.g. --n 64")
    t0, c0 = time.perf_counter(), _CPU["s"]
    scenario = get(scenario)
    var, day = parse_output(output, model)
    names = list(names)
    problem = salib_problem(names)
    u = sobol_s.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    y, bad = _clean(evaluate(model, names, quantiles_to_values(model, names, u), scenario, var, day, workers=workers,
                             rtol=rtol, progress=progress))
    res = sobol_a.analyze(problem, y, calc_second_order=False, conf_level=0.95, num_resamples=500, seed=seed,
                          print_to_console=False)
    grades, modules = _meta(model, names)
    return SensitivityResult("sobol", scenario.name, output, names, grades, modules, n, len(y), time.perf_counter() - t0,
                             S1=[float(v) for v in res["S1"]], S1_conf=[float(v) for v in res["S1_conf"]],
                             ST=[float(v) for v in res["ST"]], ST_conf=[float(v) for v in res["ST_conf"]],
                             output_mean=float(np.mean(y)), output_sd=float(np.std(y)), failed_runs=bad, cpu_s=_CPU["s"] - c0)


def run(scenario, output: str = "PHQ9@day90", *, method: str = "sobol", n: int | None = None, params: str | Sequence[str] = "all",
        top: int = 8, max_sobol: int = 12, morris_r: int = 2, seed: int = 0, workers: int | None = None, rtol: float = 1e-4,
        model: Model | None = None, progress=None) -> SensitivityResult:
    """The ``gutbrain sensitivity`` pipeline.

    ``method="morris"``: Morris on the selected parameters (``n`` trajectories, default 4). ``method="sobol"``: if more than
    ``max_sobol`` parameters are selected, screen them with Morris (``morris_r`` trajectories) and run Sobol with
    base sample ``n`` (default 64) on the ``top`` parameters by ``mu*``; the screen is kept in ``result.screen``.
    """
    from .. import load_model

    model = model or load_model()
    if method not in ("sobol", "morris"):
        raise InputError("--method", method, "sobol or morris", suggest(str(method), ("sobol", "morris")))
    workers = workers or min(2, os.cpu_count() or 1)
    parse_output(output, model)
    names = select_params(model, params)
    t0 = time.perf_counter()
    if n is None:
        n = 64 if method == "sobol" else 4
    if method == "morris":
        return morris(model, scenario, output, names, r=n, seed=seed, workers=workers, rtol=rtol, progress=progress)
    screen = None
    if len(names) > max_sobol:
        scr = morris(model, scenario, output, names, r=morris_r, seed=seed, workers=workers, rtol=rtol, progress=progress)
        keep = [scr.names[i] for i in scr.ranking[:top]]
        screen = {"method": "morris", "r": morris_r, "levels": 4, "n_params": len(names), "n_runs": scr.n_runs,
                  "runtime_s": round(scr.runtime_s, 1), "kept": keep,
                  "ranked": [{k: v for k, v in row.items()} for row in scr.rows()[: max(3 * top, 25)]]}
        names = keep
    res = sobol(model, scenario, output, names, n=n, seed=seed, workers=workers, rtol=rtol, progress=progress)
    res.screen = screen
    res.runtime_s = time.perf_counter() - t0
    if screen:
        res.cpu_s += scr.cpu_s
        screen["cpu_s"] = round(scr.cpu_s, 1)
    res.notes.append(f"wall time {res.runtime_s:.0f} s; simulation CPU time {res.cpu_s:.0f} s "
                     f"(= {res.cpu_s / workers:.0f} s on {workers} dedicated cores)")
    if screen:
        res.notes.append(f"Morris screen of {screen['n_params']} parameters ({screen['n_runs']} runs, r={morris_r}) "
                         f"kept the top {top} by mu*; Sobol base sample N={n} ({res.n_runs} runs).")
    width = max(res.ST_conf) if res.ST_conf else float("nan")
    res.notes.append(f"largest total-order 95 % CI half-width: {width:.3f}")
    return res
