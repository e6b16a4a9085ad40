"""Human effect sizes beside the model's, for the claims whose experiment has a human counterpart.

Each entry computes the model's value *in the human study's measure* from the claim's own
experiments (the same virtual patients), with a 95 % percentile-bootstrap CI over patients, and
compares it with the human value: **consistent** (the model's CI contains the human value, or the
two CIs overlap), **larger** or **smaller** (in magnitude). Where the project's data hold no human
value for a claim's experiment, the result says so and why (``REASONS``).

Several human values are calibration targets (``calibration_targets.csv``): the model was fitted
to them, so agreement there is a check of the calibration, not independent evidence; each entry
says which target it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .definitions import BOTHERSOME_GI, w

__all__ = ["HUMAN", "REASONS", "HumanValue", "classify_comparison", "compare"]


@dataclass(frozen=True)
class HumanValue:
    measure: str
    value: float
    ci: tuple[float, float] | None
    source: str
    target: str  #: the calibration target this value is (the model was fitted to it), or ""
    caveat: str
    model: Callable  #: (data, mask) -> per-patient values whose mean is the model's figure, or a scalar statistic
    statistic: str = "mean"  #: "mean" of per-patient values, or "d" (Cohen's d: mean difference / SD of the control arm)
    min_patients: int = 1


def _probiotic_d(d, mask):
    h, x = d["healthy"], d["probiotic"]
    return w(x, "phq9", 56, 70)[mask], w(h, "phq9", 56, 70)[mask]


def _western_endotoxin(d, mask):
    h, x = d["healthy"], d["western"]
    return 100 * (w(x, "plasma_endotoxin", 21, 30) / w(h, "plasma_endotoxin", 21, 30) - 1)[mask]


def _severe_without_gi(d, mask):
    x = d["western"]
    severe = mask & (w(x, "phq9", 60, 90) >= 15)
    return 100 * (w(x, "gi_symptoms", 60, 90)[severe] < BOTHERSOME_GI).astype(float)


def _months_to_half(d, mask):
    from .definitions import recovery_times

    half = recovery_times(d, 0.5)
    return (half / 30.4)[mask]


HUMAN: dict[str, HumanValue] = {
    "C12": HumanValue("Cohen's d, depression score, probiotic vs placebo (4-8 weeks)", -0.24, None,
                      "Liu, Walsh & Sheehan 2019 Neurosci Biobehav Rev 102:13 (meta-analysis; d = -0.24, p < .01; "
                      "the CI is not in the project's data)", "T18",
                      "the model's d is the mean PHQ-9 difference (days 56-70) over the SD of the control arm", _probiotic_d,
                      statistic="d", min_patients=10),
    "C6": HumanValue("% rise of plasma endotoxin after one month of a Western-style diet", 71.0, None,
                     "Pendyala, Walker & Holt 2012 Gastroenterology 142:1100 (n = 8; 'a 71% increase')", "T29",
                     "model: days 21-30 of the western-diet experiment vs the same patient's healthy run", _western_endotoxin),
    "C3": HumanValue("% of the severely depressed (PHQ-9 >= 15) without bothersome GI symptoms", 48.0, None,
                     "derived from Mussell et al. 2008 J Psychosom Res (primary care, PHQ-8 >= 15, n = 2,091)", "T33",
                     "human: a primary-care cross-section; model: the virtual patients with PHQ-9 >= 15 on days 60-90 of "
                     "the western-diet experiment", _severe_without_gi, min_patients=10),
    "C15": HumanValue("months until half of the depressive excess has resolved (median episode duration)", 3.0, None,
                      "Spijker et al. 2002 Br J Psychiatry 181:208 (NEMESIS, n = 7,076; median duration 3.0 months)", "T32",
                      "human: naturalistic, mostly untreated episodes; model: locked-in patients given therapy + gut repair, "
                      "so a shorter model time is expected", _months_to_half),
}

REASONS: dict[str, str] = {
    "C1": "no human study in the project's data measures both directions in the same people",
    "C2": "no human dysbiosis-induction study with mood outcomes in the project's data",
    "C4": "no human brain serotonin or GABA measurement under diet change in the project's data",
    "C5": "human low-grade inflammation data in the project (T21, T22) are depressed-vs-control cross-sections, not "
          "the experiment of this claim (weeks of low-dose endotoxin)",
    "C7": "no human KYN/TRP time course after endotoxin in the project's data",
    "C8": "the human episode-duration figure (T32) counts recovery from depressive episodes of any cause, not "
          "persistence after a defined stressor; no comparable human value",
    "C9": "no trial of stress reduction with and without gut repair in locked-in patients in the project's data",
    "C10": "no human data pairing routine labs with mood scores in the project's data",
    "C11": "no human diet-switch microbiome time course in the project's data (T17 is antibiotic recovery)",
    "C13": "no human high- vs low-GI meal study with anxiety and permeability outcomes in the project's data",
    "C14": "no human HRV data under diet change in the project's data",
    "C16": "no trial combining psychological therapy with gut repair in the project's data",
    "C17": "no responder rate of a combined therapy + gut-repair treatment in the project's data",
}


def classify_comparison(model_value: float, model_ci: tuple[float, float] | None, human: float,
                        human_ci: tuple[float, float] | None) -> str:
    """``consistent`` if the intervals overlap (a missing CI is the point value), else ``larger`` or ``smaller``
    in magnitude."""
    lo, hi = model_ci if model_ci is not None else (model_value, model_value)
    hlo, hhi = human_ci if human_ci is not None else (human, human)
    if lo <= hhi and hlo <= hi:
        return "consistent"
    return "larger" if abs(model_value) > abs(human) else "smaller"


def compare(cid: str, data, mask: np.ndarray, *, seed: int = 0) -> tuple[dict | None, str]:
    """The human comparison of claim ``cid`` on the patients in ``mask`` (``(None, reason)`` where there is none)."""
    ref = HUMAN.get(cid)
    if ref is None:
        return None, REASONS.get(cid, "no human value in the project's data")
    mask = np.asarray(mask, bool)
    try:
        out = ref.model(data, mask)
    except KeyError as exc:  # an experiment the claim's run did not include
        return None, f"the comparison needs experiment {exc} (run the claim itself)"
    from ..calibration.stats import bootstrap_ci

    stat: Callable[..., float]
    if ref.statistic == "d":
        arm, control = (np.asarray(a, float) for a in out)
        ok = np.isfinite(arm) & np.isfinite(control)
        samples: tuple[np.ndarray, ...] = (arm[ok], control[ok])
        short = f"needs at least {ref.min_patients} virtual patients (run with --cohort)"

        def stat(a, c):  # Cohen's d against the control arm's SD
            sd = np.std(c, ddof=1)
            return float(np.mean(a - c) / sd) if sd > 0 else np.nan
    else:
        x = np.asarray(out, float)
        samples = (x[np.isfinite(x)],)
        short = f"needs at least {ref.min_patients} virtual patients meeting its premise"

        def stat(a):
            return float(np.mean(a))
    n = len(samples[0])
    if n < ref.min_patients:
        return None, f"{short}; had {n}"
    value = stat(*samples)
    if not np.isfinite(value):
        return None, "the model's statistic is undefined here (no spread between patients)"
    # one resample of the patients for every sample (paired), as for the effects
    ci = bootstrap_ci(stat, *samples, paired=True, seed=seed) if n >= 2 else None
    if ci is not None and not all(np.isfinite(ci)):
        ci = None
    return {"measure": ref.measure, "model_value": value, "model_ci": None if ci is None else list(ci), "n_patients": n,
            "value": ref.value, "ci": None if ref.ci is None else list(ref.ci), "source": ref.source,
            "calibration_target": ref.target or None, "caveat": ref.caveat,
            "comparison": classify_comparison(value, ci, ref.value, ref.ci)}, ""
