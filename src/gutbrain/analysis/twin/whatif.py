"""What-if predictions for a fitted twin, with credible intervals and pathway attribution."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ...errors import DISCLAIMER
from ...model.assemble import Model
from ...model.pathways import mood_pathways, pathway_variables
from ...scenarios import Episode, Scenario
from .diary import Diary, diary_scenario, habitual_inputs
from .fit import TwinFit

# ---------------------------------------------------------------------------------------------
# what if
# ---------------------------------------------------------------------------------------------
ARMS: dict[str, dict] = {
    "usual life": {},
    "fibre + probiotic": {"fibre_extra_g": 15.0, "probiotic": 10.0},
    "therapy": {"therapy": 1.0},
    "fibre + probiotic + therapy": {"fibre_extra_g": 15.0, "probiotic": 10.0, "therapy": 1.0},
}


def _arm_scenario(diary: Diary, arm: Mapping[str, float], weeks: float) -> Scenario:
    after = habitual_inputs(diary, slice(max(0, diary.n_days - 14), None))
    days = 7.0 * weeks
    after["fibre"] = min(150.0, after["fibre"] + arm.get("fibre_extra_g", 0.0))
    eps = []
    for ch in ("probiotic", "therapy"):
        if arm.get(ch):
            eps.append(Episode(ch, float(arm[ch]), float(diary.n_days), days, label=ch))
    return diary_scenario(diary, extra_days=days, after=after, extra_episodes=eps)


#: population couplings that carry each lever's effect: their prior uncertainty enters the what-if intervals
#: (the same couplings the claims' assumption check varies for C9, C12, C14 and C16)
LEVER_COUPLINGS: dict[str, tuple[str, ...]] = {
    "fibre_extra_g": ("a_tj_butyrate", "v_butyrate", "k_pat_butyrate", "a_sgut_scfa"),
    "probiotic": ("g_gaba_pro", "v_probiotic", "a_tj_probiotic", "k_pat_probiotic"),
    "therapy": ("therapy_effect",),
}


def carrying_couplings(model: Model, arm: Mapping[str, float]) -> list[tuple[str, str]]:
    """``[(parameter, grade)]`` of the population couplings an arm's effect rests on (those with a prior that varies)."""
    seen: dict[str, str] = {}
    for lever in arm:
        for p in LEVER_COUPLINGS.get(lever, ()):
            if p in model.parameters and model.parameters[p].prior_kind != "fixed":
                seen[p] = model.parameters[p].grade
    return list(seen.items())


def population_draws(model: Model, names: Sequence[str], n: int, seed: int) -> list[dict[str, float]]:
    """``n`` draws of the couplings ``names`` from their priors (independent of the twin's personal draws)."""
    rng = np.random.default_rng(seed + 7919)
    dists = {p: model.parameters[p].prior_distribution() for p in names}
    u = rng.random((n, len(names)))
    return [{p: float(np.clip(dists[p].ppf(u[k, j]), model.parameters[p].lower, model.parameters[p].upper))
             for j, p in enumerate(names)} for k in range(n)]


_BASE: dict[str, Model] = {}


def _arm_job(args):
    overrides, scenario, days, n_days = args
    from ... import load_model
    from ...simulation import simulate

    if "m" not in _BASE:
        _BASE["m"] = load_model()
    m = _BASE["m"].with_params(overrides)
    ds = simulate(m, scenario, days=days, output_every=1.0, rtol=1e-5)
    t = ds["time"].values
    last = t > days - 1.0 + 1e-9
    start = (t > n_days - 1.0 + 1e-9) & (t <= n_days + 1e-9)
    out = {f"end_{v}": float(ds[v].values[last].mean()) for v in ("phq9", "gad7", *pathway_variables(m))}
    out.update({f"start_{v}": float(ds[v].values[start].mean()) for v in ("phq9", "gad7")})
    return out


def _run_jobs(jobs, workers):
    from ...parallel import map_jobs

    return map_jobs(_arm_job, jobs, workers=workers)


def _end(values: Mapping[str, float]) -> dict[str, float]:
    return {k[4:]: v for k, v in values.items() if k.startswith("end_")}


def pathway_attribution(model: Model, arm: Sequence[Mapping[str, float]], usual: Sequence[Mapping[str, float]],
                        summarise: Callable[[Sequence[float]], tuple[float, float, float]]) -> dict:
    """Change of each mood-drive pathway term (arm minus usual life, paired per draw), summarised per term.

    The terms, their elasticities and signs come from the model's equations
    (:func:`gutbrain.model.pathways.mood_pathways`); ``arm``/``usual`` hold the drivers' end-of-window means.
    """
    values = {k: p.value for k, p in model.parameters.items()}
    out: dict = {}
    for key, pw in mood_pathways(model).items():
        out[key] = {t.label: summarise([float(t.evaluate(x, values) - t.evaluate(y, values)) for x, y in zip(arm, usual, strict=True)])
                    for t in pw.terms}
    return out


@dataclass
class WhatIf:
    arms: list[str]
    weeks: float
    n_draws: int
    outcomes: dict  # arm -> {"phq9": (median, lo, hi), "gad7": ..., "d_phq9": ..., "d_gad7": ...}
    attribution: dict  # arm -> {"depression": {pathway: (median, lo, hi)}, "anxiety": {...}}
    runtime_s: float
    carried_by: dict = field(default_factory=dict)  # arm -> [(parameter, grade)] whose prior uncertainty the intervals include
    population_uncertainty: bool = True
    disclaimer: str = DISCLAIMER


def what_if(twin: TwinFit, diary: Diary, *, weeks: float = 8.0, draws: int = 16, seed: int = 0, workers: int | None = None,
            arms: Mapping[str, Mapping[str, float]] = ARMS, model: Model | None = None,
            population_uncertainty: bool = True) -> WhatIf:
    """Predict each arm over ``weeks`` after the diary for ``draws`` draws (90 % intervals).

    Each draw takes the four personal parameters from the twin's posterior and, with ``population_uncertainty``
    (default), the population couplings that carry the arms' effects (:data:`LEVER_COUPLINGS`) from their priors,
    the same draw for every arm (so that differences between arms are paired). The intervals then include what
    is not known about how fibre, probiotics or therapy act, not only what is not known about the person.
    """
    from ... import load_model

    model = model or load_model()
    t0 = time.perf_counter()
    workers = workers or min(2, os.cpu_count() or 1)
    vals = twin.draws(draws, seed=seed)
    days = diary.n_days + 7.0 * weeks
    names = list(arms)
    scen = {a: _arm_scenario(diary, arms[a], weeks) for a in names}
    carried = {a: carrying_couplings(model, arms[a]) for a in names}
    shared = sorted({p for a in names for p, _ in carried[a]})
    pop = population_draws(model, shared, len(vals), seed) if population_uncertainty and shared else [{} for _ in vals]
    jobs = [({**twin.overrides(v), **pop[k]}, scen[a], days, diary.n_days) for k, v in enumerate(vals) for a in names]
    res = _run_jobs(jobs, workers)
    out: dict = {}
    attr: dict = {}

    def ci(x):
        x = np.asarray(x)
        return (float(np.median(x)), float(np.quantile(x, 0.05)), float(np.quantile(x, 0.95)))

    for j, a in enumerate(names):
        r = [res[k * len(names) + j] for k in range(len(vals))]
        u = [res[k * len(names)] for k in range(len(vals))]
        out[a] = {"phq9": ci([x["end_phq9"] for x in r]), "gad7": ci([x["end_gad7"] for x in r]),
                  "d_phq9": ci([x["end_phq9"] - y["end_phq9"] for x, y in zip(r, u, strict=True)]),
                  "d_gad7": ci([x["end_gad7"] - y["end_gad7"] for x, y in zip(r, u, strict=True)]),
                  "phq9_at_diary_end": ci([x["start_phq9"] for x in r])}
        attr[a] = pathway_attribution(model, [_end(x) for x in r], [_end(y) for y in u], ci)
    return WhatIf(names, weeks, len(vals), out, attr, time.perf_counter() - t0, carried_by=carried,
                  population_uncertainty=bool(population_uncertainty and shared))
