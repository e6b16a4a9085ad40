"""Public virtual experiments: a counterfactual trial and a population cross-section.

``trial`` puts every virtual patient in every arm (the counterfactual design: the only difference between
arms is the intervention), computes a shared run-in once and branches each arm off its end state, and
reports each arm's endpoint, the effect size against the control arm with a paired bootstrap CI, and
responder fractions. ``cross_section`` lets every virtual adult live one everyday life and reads the
markers that cross-sectional studies compare (PHQ-9, 08:00 cortisol, IL-6, CRP, GI symptoms).

The calibration's cohort targets T18-T22 and T30/T31/T33 are computed with these two functions.
Research and education tool: not a diagnostic device, no medical advice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from .errors import DISCLAIMER, InputError, suggest
from .model.assemble import Model
from .scenarios import Scenario, get
from .simulation import simulate

__all__ = ["CROSS_SECTION_DAYS", "TrialResult", "cross_section", "trial"]

#: days each virtual adult lives its everyday life before the cross-section is read (after the warm-up)
CROSS_SECTION_DAYS = 120.0


@dataclass(frozen=True)
class TrialResult:
    """Outcome of :func:`trial`.

    ``values[endpoint][arm]`` holds the endpoint of every patient that ran in every arm (same order in every arm),
    ``effects[endpoint][arm]`` the effect size against the control with its 95 % CI, ``responders[endpoint][arm]``
    the responder fraction (when a responder rule was given).
    """

    endpoints: tuple[str, ...]
    day: float
    control: str
    values: dict[str, dict[str, np.ndarray]]
    effects: dict[str, dict[str, tuple[float, tuple[float, float]]]]
    responders: dict[str, dict[str, float]] = field(default_factory=dict)
    n_patients: int = 0
    n_failed: int = 0
    run_in_days: float = 0.0
    effect_measure: str = "Cohen's d (pooled SD of the two arms), paired percentile bootstrap 95 % CI"

    def effect(self, arm: str | None = None, endpoint: str | None = None) -> tuple[float, tuple[float, float]]:
        """``(d, (low, high))`` of ``arm`` (default: the only non-control arm) on ``endpoint`` (default: the first)."""
        endpoint = self.endpoints[0] if endpoint is None else endpoint
        if endpoint not in self.effects:
            raise InputError("endpoint", endpoint, "an endpoint of this trial", suggest(str(endpoint), list(self.effects)))
        arms = list(self.effects[endpoint])
        if arm is None:
            if len(arms) != 1:
                raise InputError("arm", None, f"one of {arms}", "name the arm: result.effect('probiotic')")
            arm = arms[0]
        if arm not in self.effects[endpoint]:
            raise InputError("arm", arm, "a non-control arm", suggest(str(arm), arms))
        return self.effects[endpoint][arm]

    def to_dict(self) -> dict:
        return {"endpoints": list(self.endpoints), "day": self.day, "control": self.control, "n_patients": self.n_patients,
                "n_failed": self.n_failed, "run_in_days": self.run_in_days, "effect_measure": self.effect_measure,
                "means": {e: {k: float(np.mean(v)) if v.size else float("nan") for k, v in arms.items()}
                          for e, arms in self.values.items()},
                "effects": {e: {k: {"value": d, "ci95": list(ci)} for k, (d, ci) in arms.items()} for e, arms in self.effects.items()},
                "responders": {e: dict(r) for e, r in self.responders.items()}, "disclaimer": DISCLAIMER}


def _cohort(cohort, seed: int) -> list[Model]:
    if isinstance(cohort, Model):
        return [cohort]
    if isinstance(cohort, (int, np.integer)) and not isinstance(cohort, bool):
        if not 2 <= cohort <= 100_000:
            raise InputError("cohort", cohort, "between 2 and 100,000 virtual patients", "e.g. cohort=1000")
        from .cohort import sample_patients
        from .model import load_model

        return sample_patients(load_model(), int(cohort), seed=seed)
    if isinstance(cohort, Sequence) and cohort and all(isinstance(m, Model) for m in cohort):
        return list(cohort)
    raise InputError("cohort", type(cohort).__name__, "a number of virtual patients, a Model, or a sequence of Models",
                     "e.g. cohort=1000 or cohort=gutbrain.cohort.sample_patients(model, 1000)")


def _endpoint_reader(endpoint, day: float, model: Model) -> tuple[str, Callable[[xr.Dataset], np.ndarray]]:
    if callable(endpoint):
        return getattr(endpoint, "__name__", "custom endpoint"), lambda ds: np.asarray(endpoint(ds), float)
    known = [s.name for s in model.states] + list(model.observable_names)
    if not isinstance(endpoint, str) or endpoint not in known:
        raise InputError("endpoint", endpoint, "a state or observable name, or a function Dataset -> per-patient values",
                         suggest(str(endpoint), known))
    return endpoint, lambda ds: np.asarray(ds[endpoint].sel(time=day, method="nearest").values, float)


def trial(arms: Mapping[str, Scenario | str], cohort, endpoint: str | Callable | Sequence[str | Callable] = "phq9", *, day: float,
          control: str | None = None, run_in_days: float = 0.0, responder: Callable | None = None, seed: int = 0,
          workers: int = 1, output_every: float = 24.0, rtol: float = 1e-6, n_boot: int = 2000) -> TrialResult:
    """Run a counterfactual virtual trial: every patient of ``cohort`` in every arm.

    Parameters
    ----------
    arms
        ``{arm name: scenario}``; at least two arms. Every arm runs on the scenario's own clock from day 0.
    cohort
        A number of virtual patients (drawn from the priors with ``seed``) or a sequence of models.
    endpoint
        A score, state or observable read at ``day`` (the recall-window scores ``phq9``/``gad7`` are the
        questionnaires' values), a function ``Dataset -> per-patient values``, or a list of these (each arm
        is simulated once for all of them).
    day
        Day of the endpoint (scenario clock).
    control
        The arm the others are compared with (default: the first).
    run_in_days
        Days the arms share (no arm may differ from the control before then; checked). The run-in is simulated
        once under the control's scenario and every arm continues from its end state, which equals running
        each arm from day 0.
    responder
        Optional function ``(endpoint at day, endpoint at the start) -> bool per patient``; the result gives each
        arm's responder fraction. E.g. ``lambda end, start: end <= 0.5 * start`` (a 50 % reduction).
    seed
        Seed of the cohort draw (when ``cohort`` is a number) and of the bootstrap.

    Returns
    -------
    TrialResult
        Endpoint values per arm (patients who ran in every arm), Cohen's d of each arm against the control with
        a paired percentile-bootstrap 95 % CI, responder fractions, counts.
    """
    from .calibration.stats import bootstrap_ci, cohen_d

    if not isinstance(arms, Mapping) or len(arms) < 2:
        raise InputError("arms", arms if not isinstance(arms, Mapping) else list(arms), "a mapping of at least two arms",
                         "e.g. arms={'placebo': 'healthy-baseline', 'probiotic': 'probiotic-8-weeks'}")
    scen = {str(k): get(v) for k, v in arms.items()}
    control = next(iter(scen)) if control is None else control
    if control not in scen:
        raise InputError("control", control, "one of the arms", suggest(str(control), list(scen)))
    if isinstance(day, bool) or not isinstance(day, (int, float, np.integer, np.floating)) or not 0 < day <= 3650:
        raise InputError("day", day, "the endpoint day, in (0, 3650]", "e.g. day=70")
    if isinstance(run_in_days, bool) or not isinstance(run_in_days, (int, float, np.integer, np.floating)) \
            or not 0 <= run_in_days < day:
        raise InputError("run_in_days", run_in_days, f"a shared run-in in [0, {day:g}) days", "e.g. run_in_days=14")
    if responder is not None and not callable(responder):
        raise InputError("responder", type(responder).__name__, "a function (end, start) -> bool array",
                         "e.g. responder=lambda end, start: end <= 0.5 * start")
    models = _cohort(cohort, seed)
    if len(models) < 2:
        raise InputError("cohort", len(models), "at least two virtual patients for an effect size", "e.g. cohort=200")
    eps = [endpoint] if isinstance(endpoint, str) or callable(endpoint) else list(endpoint)
    if not eps:
        raise InputError("endpoint", "[]", "at least one endpoint", "e.g. endpoint='phq9'")
    readers = [_endpoint_reader(e, float(day), models[0]) for e in eps]
    names = tuple(n for n, _ in readers)
    if len(set(names)) != len(names):
        raise InputError("endpoint", list(names), "distinct endpoints", "name each custom endpoint function differently")
    if run_in_days > 0:
        ref = scen[control]
        for arm, sc in scen.items():
            early = [e for e in sc.episodes if e.start_day < run_in_days]
            ref_early = [e for e in ref.episodes if e.start_day < run_in_days]
            if early != ref_early or sc.diet != ref.diet:
                what = early[0] if early else ref_early[0] if ref_early else None
                raise InputError("run_in_days", run_in_days,
                                 f"a run-in the arms share, but arm {arm!r} differs from {control!r} before day {run_in_days:g}"
                                 + (f" (episode {what.input} from day {what.start_day:g})" if what is not None else " (diet)"),
                                 "shorten run_in_days to the first day the arms differ")
        # the run-in sees only what happens before its end (a plain run refuses episodes beyond its horizon)
        ref_head = ref.replace(episodes=tuple(e for e in ref.episodes if e.start_day < run_in_days))
        head = simulate(models, ref_head, days=float(run_in_days), output_every=min(output_every, 24.0 * run_in_days),
                        throw=False, workers=workers, rtol=rtol, atol=rtol * 1e-2)
        ok = head["status"].values == "ok"
        y0 = np.stack([head[s.name].isel(time=-1).values for s in models[0].states], axis=-1)
        y0[~ok] = np.stack([m.y0 for m in models])[~ok]  # a failed run-in patient: start anywhere finite, dropped below
        starts = {n: np.asarray(head[n].isel(time=0).values, float) for n, e in zip(names, eps, strict=True) if isinstance(e, str)}
    else:
        head, y0, ok, starts = None, None, np.ones(len(models), bool), {}
    out: dict[str, dict[str, np.ndarray]] = {n: {} for n in names}
    for arm, sc in scen.items():
        # after a run-in every arm continues from its end state (initial=None, start_day=None: simulate's defaults)
        ds = simulate(models, sc, days=float(day) - float(run_in_days), output_every=output_every, throw=False,
                      workers=workers, rtol=rtol, atol=rtol * 1e-2, initial=y0,
                      start_day=float(run_in_days) if y0 is not None else None)
        ok &= ds["status"].values == "ok"
        for (n, read), e in zip(readers, eps, strict=True):
            out[n][arm] = read(ds)
            if isinstance(e, str) and n not in starts:
                starts[n] = np.asarray(ds[n].isel(time=0).values, float)
    values = {n: {arm: v[ok] for arm, v in arms_.items()} for n, arms_ in out.items()}
    effects: dict[str, dict[str, tuple[float, tuple[float, float]]]] = {}
    for n, arms_ in values.items():
        effects[n] = {}
        for arm, v in arms_.items():
            if arm == control:
                continue
            if v.size >= 2:
                effects[n][arm] = (cohen_d(v, arms_[control]),
                                   bootstrap_ci(cohen_d, v, arms_[control], paired=True, seed=seed, n_boot=n_boot))
            else:
                effects[n][arm] = (float("nan"), (float("nan"), float("nan")))
    responders: dict[str, dict[str, float]] = {}
    if responder is not None:
        for n, arms_ in values.items():
            if n not in starts:
                continue  # a custom endpoint function has no start value
            responders[n] = {arm: float(np.mean(np.asarray(responder(v, starts[n][ok]), bool))) if v.size else float("nan")
                             for arm, v in arms_.items()}
        if not responders:
            raise InputError("responder", "a responder rule", "an endpoint given by name (its start value is needed)",
                             "pass endpoint='phq9' (or another variable name)")
    return TrialResult(endpoints=names, day=float(day), control=control, values=values, effects=effects,
                       responders=responders, n_patients=int(ok.sum()), n_failed=int((~ok).sum()),
                       run_in_days=float(run_in_days))


def cross_section(cohort, exposures: str | Scenario = "population", *, day: float = CROSS_SECTION_DAYS, seed: int = 0,
                  workers: int = 1) -> xr.Dataset:
    """Let every virtual adult live one everyday life for ``day`` days and read the cross-sectional markers.

    Parameters
    ----------
    cohort
        A number of virtual adults (drawn from the priors with ``seed``) or a sequence of models.
    exposures
        ``"population"`` (default): each adult's diet pattern, chronic stress and sleep drawn from the stated
        distributions of :mod:`gutbrain.cohort.population`, with ``seed``; or one scenario everyone lives.
    day
        Day of the cross-section (after the warm-up, which already lives the diet and sleep).

    Returns
    -------
    xarray.Dataset
        One row per adult (dim ``adult``): ``phq9``, ``gad7`` and ``gi_symptoms`` (recall scores, mean over the
        last day), ``morning_cortisol`` (08:00 plasma cortisol, ug/dL), ``IL6`` and ``CRP`` (last-day means),
        the exposure strata (``diet``, ``stress``, ``sleep``) and ``status``.
    """
    from .cohort.population import AXES, cross_section_population

    if isinstance(day, bool) or not isinstance(day, (int, float, np.integer, np.floating)) or not 1 <= day <= 3650:
        raise InputError("day", day, "a day in [1, 3650]", "e.g. day=120")
    day = float(day)
    models = _cohort(cohort, seed)
    n = len(models)
    labels = {axis: np.empty(n, dtype=object) for axis in AXES}
    if isinstance(exposures, str) and exposures == "population":
        runs = cross_section_population(models, seed=seed, days=day, workers=workers, output_every=1.0)
    else:
        try:
            sc = get(exposures)
        except Exception as err:
            raise InputError("exposures", exposures, "'population' or a scenario (object, name or TOML path)",
                             "e.g. exposures='western-diet'") from err
        runs = [(np.arange(n), None, simulate(models, sc, days=day, output_every=1.0, throw=False, workers=workers))]
    cols = {k: np.full(n, np.nan) for k in ("phq9", "gad7", "gi_symptoms", "morning_cortisol", "IL6", "CRP")}
    status = np.array(["failed"] * n, dtype=object)
    for idx, key, ds in runs:
        for j, axis in enumerate(AXES):
            labels[axis][idx] = AXES[axis][key[j]].name if key is not None else sc.name
        last = ds.sel(time=slice(day - 1.0, day))
        hours = (last.time.values - (day - 1.0)) * 24
        h8 = int(np.argmin(np.abs(hours - 8.0)))
        for k in ("phq9", "gad7", "gi_symptoms", "IL6", "CRP"):
            cols[k][idx] = last[k].mean("time").values
        cols["morning_cortisol"][idx] = last["CORT"].values[:, h8]
        status[idx] = ds["status"].values
    units = {"phq9": "score", "gad7": "score", "gi_symptoms": "score", "morning_cortisol": "ug/dL", "IL6": "pg/mL", "CRP": "mg/L"}
    # xarray (dims, values[, attrs]) tuples
    data: dict[str, tuple[str, np.ndarray] | tuple[str, np.ndarray, dict[str, str]]] = {
        k: ("adult", v, {"units": units[k]}) for k, v in cols.items()}
    data.update({axis: ("adult", v.astype(str)) for axis, v in labels.items()})
    data["status"] = ("adult", np.asarray(status, dtype=str))
    return xr.Dataset(data, coords={"adult": np.arange(n)},
                      attrs={"day": day, "exposures": exposures if isinstance(exposures, str) else exposures.name,
                             "seed": seed, "disclaimer": DISCLAIMER})
