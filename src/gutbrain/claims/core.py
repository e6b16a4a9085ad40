"""Claim registry, verdict rules and the runner (see ``definitions.py`` for C1-C17)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.stats import spearmanr

from ..errors import DISCLAIMER, InputError, suggest
from ..model.assemble import Model


@dataclass
class ClaimResult:
    id: str
    claim: str
    criterion: str
    verdict: str  # "holds", "partly", "does not hold"
    effect: str
    reference_holds: bool | None
    cohort_fraction: float | None
    n_cohort: int
    numbers: dict = field(default_factory=dict)
    drivers: list = field(default_factory=list)  # [(parameter, grade, spearman rho)]
    note: str = ""
    threshold: str = ""  #: the criterion's threshold and where it comes from
    measure: str = ""  #: what the effect value measures (unit)
    effect_value: float | None = None  #: cohort mean of the per-patient effect (reference value without a cohort)
    effect_ci: tuple[float, float] | None = None  #: 95 % percentile-bootstrap CI of that mean over patients
    human: dict | None = None  #: the human value beside the model's (evidence.py), or None
    human_reason: str = ""  #: why there is no human comparison
    assumption: dict | None = None  #: the assumption check (assumptions.py), or None if it was not run
    couplings: list = field(default_factory=list)  #: [(parameter, grade)] that carry the claim's effect

    def to_dict(self) -> dict:
        d = asdict(self)
        d["effect"] = {"text": self.effect, "value": self.effect_value,
                       "ci": None if self.effect_ci is None else list(self.effect_ci), "measure": self.measure}
        for k in ("effect_value", "effect_ci", "measure"):
            d.pop(k)
        if self.human is None:
            d["human"] = None
        d["human_reason"] = self.human_reason if self.human is None else ""
        d["disclaimer"] = DISCLAIMER
        return d


@dataclass
class Outcome:
    """What a claim function returns: per-patient verdicts and effects (patient 0 = reference)."""

    holds: np.ndarray
    effect: np.ndarray
    effect_text: str
    numbers: dict
    applicable: np.ndarray | None = None  # patients for whom the claim's premise applies (e.g. locked-in)
    cohort_rule: str = "majority"  # see _verdict: "majority", "at-least:<f>", "between:<lo>:<hi>"
    note: str = ""


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    criterion: str
    experiments: tuple[str, ...]
    fn: Callable
    threshold: str = ""  #: the threshold and its source (docs/calibration.md, "Claims")
    couplings: tuple[str, ...] = ()  #: parameters that carry the effect (re-run at their bounds by the assumption check)
    measure: str = ""  #: what Outcome.effect measures, with its unit


CLAIMS: dict[str, Claim] = {}


def claim(cid: str, text: str, criterion: str, experiments: Sequence[str], *, threshold: str = "",
          couplings: Sequence[str] = (), measure: str = ""):
    def deco(fn):
        CLAIMS[cid] = Claim(cid, text, criterion, tuple(experiments), fn, threshold, tuple(couplings), measure)
        return fn

    return deco


def effect_summary(effect: np.ndarray, mask: np.ndarray, *, seed: int = 0, n_boot: int = 2000) -> tuple[float | None, tuple[float, float] | None]:
    """Mean of the per-patient ``effect`` over ``mask`` with a 95 % percentile-bootstrap CI (None without patients)."""
    x = np.asarray(effect, float)[np.asarray(mask, bool)]
    x = x[np.isfinite(x)]
    if not len(x):
        return None, None
    if len(x) == 1:
        return float(x[0]), None
    from ..calibration.stats import bootstrap_ci

    return float(x.mean()), bootstrap_ci(np.mean, x, n_boot=n_boot, seed=seed)


def _drivers(values: np.ndarray, names: list[str], model: Model, effect: np.ndarray, mask: np.ndarray) -> list:
    if mask.sum() < 10:
        return []
    x, y = values[mask], effect[mask]
    if np.nanstd(y) == 0:
        return []
    out = []
    for j, name in enumerate(names):
        col = x[:, j]
        if np.std(col) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rho = spearmanr(col, y).statistic
        if np.isfinite(rho):
            out.append((name, model.parameters[name].grade, float(rho)))
    out.sort(key=lambda r: -abs(r[2]))
    return out[:3]


def _nanmedian(x) -> float | None:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else None


def _verdict(ref_holds: bool | None, frac: float | None, rule: str) -> str:
    """The verdict from the reference patient's result and the cohort fraction under ``rule``:

    * ``"majority"``: holds if >= 50 % of the cohort hold and the reference patient does not fail; partly if either
      half of that, or >= 20 % hold; else does not hold;
    * ``"at-least:f"``: holds if a fraction >= f holds (claims about "some patients"); partly if some but fewer do;
    * ``"between:a:b"``: holds if a <= fraction <= b ("many but not all"); partly if some but outside the range.

    Without a cohort the reference patient decides.
    """
    if frac is None:
        return "holds" if ref_holds else "does not hold"
    kind, *args = rule.split(":")
    if kind == "at-least":
        f = float(args[0])
        return "holds" if frac >= f else "partly" if frac > 0 else "does not hold"
    if kind == "between":
        lo, hi = float(args[0]), float(args[1])
        return "holds" if lo <= frac <= hi else "partly" if 0 < frac < 1 else "does not hold"
    if kind != "majority":
        raise ValueError(f"unknown cohort rule {rule!r}")
    if frac >= 0.5 and ref_holds is not False:
        return "holds"
    if frac >= 0.5 or ref_holds or frac >= 0.2:
        return "partly"
    return "does not hold"


#: reference ranges a virtual patient's routine labs must meet under the reference scenario (days 0-7) to count as plausible
PLAUSIBLE = {"CRP": (0.0, 10.0), "glucose": (3.9, 7.8), "CORT": (2.0, 12.0), "lm_ratio": (0.0, 0.1), "plasma_endotoxin": (0.0, 50.0)}


def plausibility(healthy) -> np.ndarray:
    """Patients whose labs (not their mood) are in reference ranges without any intervention."""
    ok = healthy["status"].values == "ok"
    for var, (lo, hi) in PLAUSIBLE.items():
        v = healthy[var].sel(day=slice(0, 6)).mean("day").values
        ok &= (v >= lo) & (v <= hi)
    return ok


#: solver tolerance of the claim experiments (SciPy's default rtol). Against rtol 1e-6 every reference effect agrees within
#: 1 % (tests/test_claims.py); on 1,000 virtual patients against 1e-4 every verdict is the same and every cohort fraction
#: within 0.2 percentage points (docs/calibration.md), at two thirds of the cost
CLAIMS_RTOL = 1e-3


def run_claims(ids: Sequence[str] | None = None, *, cohort: int = 0, seed: int = 0, model: Model | None = None, workers: int = 2,
               progress: Callable[[int, int], None] | None = None, rtol: float = CLAIMS_RTOL,
               fixed: Mapping[str, float] | None = None, assumptions: int | None = None,
               cohort_values: tuple[np.ndarray, list[str]] | None = None) -> list[ClaimResult]:
    """Run claims ``ids`` (default all) on the reference patient and a cohort of ``cohort`` virtual patients.

    ``rtol`` is the solvers' relative tolerance (absolute: ``rtol / 100`` x each state's scale). ``fixed`` sets
    parameters to the same value in every patient (the reference patient and the cohort). ``assumptions``: run the
    assumption check (:mod:`gutbrain.claims.assumptions`) on the reference patient plus that many virtual patients
    (None: not run); those patients are taken from this run's cohort, one for each claim whose premise applies to
    it (so that the claims about locked-in patients are checked on locked-in patients). ``cohort_values``
    ``(rows, names)``: use these virtual patients instead of drawing ``cohort`` of them.
    """
    from .. import load_model
    from ..cohort import sample_matrix
    from . import definitions  # noqa: F401  (registers C1-C17)
    from .evidence import compare
    from .experiments import run as run_experiments

    ids = list(ids or CLAIMS)
    for cid in ids:
        if cid not in CLAIMS:
            raise InputError("claim", cid, "one of " + ", ".join(CLAIMS), suggest(cid, CLAIMS))
    if isinstance(cohort, bool) or not isinstance(cohort, int) or not 0 <= cohort <= 100_000:
        raise InputError("cohort", cohort, "a number of virtual patients in [0, 100000]", "e.g. --cohort 200")
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not 1e-9 <= rtol <= 1e-2:
        raise InputError("rtol", rtol, "a relative tolerance in [1e-9, 1e-2]", f"the default is {CLAIMS_RTOL:g}")
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256:
        raise InputError("workers", workers, "a whole number of processes in [1, 256]", "e.g. workers=2")
    model = model or load_model()
    fixed = dict(fixed or {})
    if fixed:
        model = model.with_params(fixed)
    if cohort_values is not None:
        values, names = np.array(cohort_values[0], float), list(cohort_values[1])
        cohort = len(values)
    elif cohort:
        values, names = sample_matrix(model, cohort, seed=seed)
    if cohort:
        for k, v in fixed.items():  # the same value in every virtual patient
            if k in names:
                values[:, names.index(k)] = v
        patients = [model] + [model.with_params(dict(zip(names, row, strict=True))) for row in values]
        values = np.vstack([model.param_vector[None, :], values])
    else:
        patients, names, values = [model], list(model.parameters), model.param_vector[None, :]
    needed = sorted({e for cid in ids for e in CLAIMS[cid].experiments} | {"healthy"})
    # implausible virtual patients are excluded from every claim: after their healthy run, skip their other experiments
    data = run_experiments(patients, needed, workers=workers, progress=progress, rtol=float(rtol),
                           screen=("healthy", plausibility) if cohort else None)
    plausible = plausibility(data["healthy"])
    results = []
    first_applicable: list[int] = []
    for cid in ids:
        c = CLAIMS[cid]
        out: Outcome = c.fn(data)
        ok = plausible.copy()
        ok[0] = True  # the reference patient is plausible by construction (calibrated)
        for name in c.experiments:
            ok &= data[name]["status"].values == "ok"
        applicable = ok if out.applicable is None else (ok & out.applicable)
        ref_holds = bool(out.holds[0]) if applicable[0] else None
        cohort_mask = applicable.copy()
        cohort_mask[0] = False
        n_app = int(cohort_mask.sum())
        if n_app:
            first_applicable.append(int(np.flatnonzero(cohort_mask)[0]))
        frac = float(out.holds[cohort_mask].mean()) if n_app else None
        drivers = _drivers(values, names, model, np.asarray(out.effect, float), cohort_mask)
        numbers = dict(out.numbers)
        numbers.update({"reference_effect": float(out.effect[0]) if np.isfinite(out.effect[0]) else None,
                        "cohort_effect_median": _nanmedian(out.effect[cohort_mask]) if n_app else None,
                        "patients_applicable": n_app, "patients_implausible": int((~plausible[1:]).sum()),
                        "patients_failed": int(sum((data[n]["status"].values == "failed").sum() for n in c.experiments))})
        note = out.note
        if not applicable[0]:
            note = (note + " " if note else "") + "The claim's premise does not apply to the reference patient."
        verdict = _verdict(ref_holds, frac, out.cohort_rule) if (ref_holds is not None or frac is not None) else "does not hold"
        summary_mask = cohort_mask if n_app else applicable & (np.arange(len(applicable)) == 0)
        value, ci = effect_summary(np.asarray(out.effect, float), summary_mask, seed=seed)
        human, reason = compare(cid, data, cohort_mask if n_app else summary_mask, seed=seed)
        results.append(ClaimResult(cid, c.text, c.criterion, verdict, out.effect_text, ref_holds, frac, n_app, numbers,
                                   [list(d) for d in drivers], note, threshold=c.threshold, measure=c.measure,
                                   effect_value=value, effect_ci=ci, human=human, human_reason=reason,
                                   couplings=[[p, model.parameters[p].grade] for p in c.couplings]))
    if assumptions is not None:
        from .assumptions import check_assumptions

        picked = list(dict.fromkeys(first_applicable))[:assumptions] if cohort else []
        small = (values[picked], names) if picked else None
        checks = check_assumptions(results, model=model, cohort_values=small, seed=seed, workers=workers, rtol=rtol)
        for r in results:
            r.assumption = checks.get(r.id)
    return results
