"""Claim registry, verdict rules and the runner (see ``definitions.py`` for C1-C17)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
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

    def to_dict(self) -> dict:
        d = asdict(self)
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
    cohort_rule: str = "majority"  # "majority": holds if >= 50 % hold; "some": holds if any; "many-not-all": 50 % <= f < 100 %
    note: str = ""


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    criterion: str
    experiments: tuple[str, ...]
    fn: Callable


CLAIMS: dict[str, Claim] = {}


def claim(cid: str, text: str, criterion: str, experiments: Sequence[str]):
    def deco(fn):
        CLAIMS[cid] = Claim(cid, text, criterion, tuple(experiments), fn)
        return fn

    return deco


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


def _verdict(ref_holds: bool | None, frac: float | None, rule: str) -> str:
    if frac is None:
        return "holds" if ref_holds else "does not hold"
    if rule == "some":
        ok = frac > 0
        return "holds" if ok else "does not hold"
    if rule == "many-not-all":
        if 0.5 <= frac < 1.0:
            return "holds"
        return "partly" if 0 < frac < 1.0 else "does not hold"
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
               progress: Callable[[int, int], None] | None = None, rtol: float = CLAIMS_RTOL) -> list[ClaimResult]:
    """Run claims ``ids`` (default all) on the reference patient and a cohort of ``cohort`` virtual patients.

    ``rtol`` is the solvers' relative tolerance (absolute: ``rtol / 100`` x each state's scale).
    """
    from .. import load_model
    from ..cohort import sample_matrix
    from . import definitions  # noqa: F401  (registers C1-C17)
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
    if cohort:
        values, names = sample_matrix(model, cohort, seed=seed)
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
        frac = float(out.holds[cohort_mask].mean()) if n_app else None
        drivers = _drivers(values, names, model, np.asarray(out.effect, float), cohort_mask)
        numbers = dict(out.numbers)
        numbers.update({"reference_effect": float(out.effect[0]) if np.isfinite(out.effect[0]) else None,
                        "cohort_effect_median": float(np.nanmedian(out.effect[cohort_mask])) if n_app else None,
                        "patients_applicable": n_app, "patients_implausible": int((~plausible[1:]).sum()),
                        "patients_failed": int(sum((data[n]["status"].values == "failed").sum() for n in c.experiments))})
        note = out.note
        if not applicable[0]:
            note = (note + " " if note else "") + "The claim's premise does not apply to the reference patient."
        verdict = _verdict(ref_holds, frac, out.cohort_rule) if (ref_holds is not None or frac is not None) else "does not hold"
        results.append(ClaimResult(cid, c.text, c.criterion, verdict, out.effect_text, ref_holds, frac, n_app, numbers,
                                   [list(d) for d in drivers], note))
    return results
