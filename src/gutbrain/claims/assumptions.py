"""The assumption check: does a claim hold because of what the model shows, or because of how it is wired?

For each claim, every parameter that carries its effect (``Claim.couplings``) is set, one at a time, to
the lower and to the upper end of its evidence bounds, and the claim is re-run on the reference patient
plus a small virtual cohort (the same patients, the parameter fixed in all of them). Then all of the
claim's couplings are set to their lower bounds together (the weakest in-bounds wiring; a coupling whose
lower bound is 0 is switched off). The status is computed from those verdicts (:func:`classify`):

* **depends on** -- the verdict changes somewhere inside the bounds of one coupling; the result names
  the coupling, the setting where it changes and the flip point (bisected between the reference value and
  that bound);
* **holds by model assumption** -- the claim holds at every setting tried, but not with all its couplings at
  their lower bounds together, or some coupling cannot be weakened to 0 inside its bounds: it holds because
  the sign of those couplings is fixed by their bounds (named, with their evidence grades);
* **emerges** -- the claim holds at every setting, including with every carrying coupling switched off: it
  holds through a mechanism the claim's couplings do not wire in directly;
* **does not hold at any setting tried** -- for a claim that does not hold, and no setting makes it hold.

A claim counts as holding when its verdict is "holds" ("partly" and "does not hold" do not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..model.assemble import Model

__all__ = ["STATUSES", "Setting", "check_assumptions", "classify"]

STATUSES = ("emerges", "holds by model assumption", "depends on", "does not hold at any setting tried")
BISECTIONS = 2  #: bisection steps towards a flip point (each re-runs the claim once)


@dataclass(frozen=True)
class Setting:
    """One re-run: ``values`` set in every patient, and the verdict it gave."""

    values: Mapping[str, float]
    verdict: str


def classify(base: str, singles: Mapping[tuple[str, str], str], joint: str | None, lower_bounds: Mapping[str, float],
             grades: Mapping[str, str]) -> dict:
    """The status from the verdicts: ``base`` (reference setting), ``singles[(parameter, "lower"|"upper")]`` and
    ``joint`` (every coupling at its lower bound together; None if not run). ``lower_bounds`` and ``grades`` of
    the couplings name them in the result."""
    holds = base == "holds"
    flips = [{"parameter": p, "end": end, "verdict": v, "grade": grades.get(p, "")}
             for (p, end), v in sorted(singles.items()) if (v == "holds") != holds]
    params = sorted({p for p, _ in singles})
    named = [{"parameter": p, "grade": grades.get(p, ""), "lower_bound": lower_bounds.get(p)} for p in params]
    if flips:
        return {"status": "depends on", "parameters": sorted({f["parameter"] for f in flips}), "flips": flips,
                "couplings": named}
    if not holds:
        return {"status": "does not hold at any setting tried", "parameters": params, "couplings": named}
    unremovable = [p for p in params if (lower_bounds.get(p) or 0.0) > 0]
    if joint == "holds" and not unremovable:
        return {"status": "emerges", "parameters": params, "couplings": named,
                "detail": "holds with every carrying coupling switched off (lower bound 0)"}
    detail = ("fails with every carrying coupling at its lower bound together" if joint != "holds"
              else "holds at every setting, but " + ", ".join(unremovable) + " cannot be switched off inside "
                   "its bounds (lower bound > 0)")
    return {"status": "holds by model assumption", "parameters": params, "couplings": named, "detail": detail}


def _verdicts(ids: Sequence[str], values: Mapping[str, float], model: Model, cohort, seed: int, workers: int,
              rtol: float) -> dict[str, str]:
    from .core import run_claims

    return {r.id: r.verdict for r in run_claims(list(ids), seed=seed, model=model, workers=workers, rtol=rtol,
                                                fixed=dict(values), cohort_values=cohort)}


def check_assumptions(results, *, model: Model, cohort_values=None, seed: int = 0, workers: int = 2,
                      rtol: float = 1e-3) -> dict[str, dict]:
    """Run the assumption check for the claims in ``results`` (their base verdicts) on the reference patient plus the
    virtual patients ``cohort_values = (rows, names)`` (None: the reference patient alone); returns claim id ->
    :func:`classify`'s result, with the settings run."""
    cohort = cohort_values
    from .core import CLAIMS

    params = model.parameters
    n_patients = 1 + (0 if cohort_values is None else len(cohort_values[0]))
    by_setting: dict[tuple[tuple[str, float], ...], list[str]] = {}
    for r in results:
        c = CLAIMS[r.id]
        for p in c.couplings:
            for bound in (params[p].lower, params[p].upper):
                by_setting.setdefault(((p, float(bound)),), []).append(r.id)
        if c.couplings:
            joint_key = tuple(sorted((p, float(params[p].lower)) for p in c.couplings))
            by_setting.setdefault(joint_key, []).append(r.id)
    verdicts: dict[tuple[tuple[str, float], ...], dict[str, str]] = {}
    for setting, ids in by_setting.items():
        verdicts[setting] = _verdicts(sorted(set(ids)), dict(setting), model, cohort, seed, workers, rtol)
    out: dict[str, dict] = {}
    for r in results:
        c = CLAIMS[r.id]
        if not c.couplings:
            out[r.id] = {"status": None, "detail": "no carrying couplings declared", "patients": n_patients}
            continue
        singles = {}
        for p in c.couplings:
            singles[(p, "lower")] = verdicts[((p, float(params[p].lower)),)][r.id]
            singles[(p, "upper")] = verdicts[((p, float(params[p].upper)),)][r.id]
        joint = verdicts[tuple(sorted((p, float(params[p].lower)) for p in c.couplings))][r.id]
        res = classify(r.verdict, singles, joint, {p: params[p].lower for p in c.couplings},
                       {p: params[p].grade for p in c.couplings})
        for f in res.get("flips", []):
            f["flip_between"] = _flip_point(r.id, r.verdict, f["parameter"], f["end"], model, cohort, seed, workers, rtol)
        res["settings"] = {f"{p} at {end} bound": v for (p, end), v in singles.items()}
        res["settings"]["all at lower bounds"] = joint
        res["patients"] = n_patients
        out[r.id] = res
    return out


def _flip_point(cid: str, base: str, p: str, end: str, model: Model, cohort: int, seed: int, workers: int,
                rtol: float) -> list[float]:
    """An interval of ``p`` values (reference side first) that contains the verdict change, after BISECTIONS steps."""
    par = model.parameters[p]
    a, b = float(par.value), float(par.lower if end == "lower" else par.upper)
    for _ in range(BISECTIONS):
        mid = 0.5 * (a + b)
        v = _verdicts([cid], {p: mid}, model, cohort, seed, workers, rtol)[cid]
        if (v == "holds") == (base == "holds"):
            a = mid
        else:
            b = mid
    return [a, b]
