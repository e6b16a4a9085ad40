"""Questionnaire recall windows: GAD-7, PHQ-9 and the GI-symptom scale as the instruments define them.

GAD-7 (Spitzer et al. 2006, doi:10.1001/archinte.166.10.1092) and PHQ-9 (Kroenke et al. 2001,
doi:10.1046/j.1525-1497.2001.016009606.x) ask how often a symptom bothered the respondent "over
the last 2 weeks"; the GI-symptom scale asks about the last week. A score is therefore a
recall-window measure of the underlying index, not its value at the moment of asking.

The instantaneous maps of the indices are kept as *state measures* (``gad7_state``,
``phq9_state``, ``gi_symptoms_state``; monotone, bounded maps of the anxiety, depression and
visceral-load indices) for acute experiments and for the model's own feedbacks. The scores
(``gad7``, ``phq9``, ``gi_symptoms``) are the state measures passed through a linear Erlang
(gamma) chain: ``N_STAGES`` first-order stages in series, each with time constant ``tau``, whose
impulse response is the gamma density with shape ``N_STAGES`` and mean ``N_STAGES * tau``. The
mean is the mean lag of a uniform trailing window (7 days for 14, 3.5 days for 7); three stages
also match the window's variance (W^2/12), which makes the chain the closest low-order linear-ODE
stand-in for the boxcar average (docs/design.md, "Symptom scores", gives the measured error).
Because the chains are model states, every backend (SciPy, JAX, SBML) carries the same scores.
"""

from __future__ import annotations

from .core import Quantity, State

#: GI-symptom score (0-10, 7-day recall) from which symptoms count as "bothersome": the cut-off with which
#: calibration target T33 (share of the severely depressed without bothersome GI symptoms) is computed
GI_BOTHERSOME = 6.7

NAME = "scores"
TITLE = "Questionnaire recall windows"

#: stages of each Erlang chain (3 matches the mean and the variance of a uniform window)
N_STAGES = 3

#: score -> (stage-state prefix, stage time-constant parameter, reference steady state, recall period)
CHAINS = {
    "gad7": ("GAD7_", "tau_recall_gad7", 2.618, "14 days"),
    "phq9": ("PHQ9_", "tau_recall_phq9", 0.673, "14 days"),
    "gi_symptoms": ("GI_", "tau_recall_gi", 1.651, "7 days"),
}

STATES = tuple(
    State(f"{prefix}{k}", "score", ref,
          f"{score} recall chain, stage {k} of {N_STAGES} ({period} window of {score}_state)")
    for score, (prefix, _tau, ref, period) in CHAINS.items() for k in range(1, N_STAGES + 1)
)


def _gad7_state(ns):
    return 21 * ns.ANX ** ns.n_score / (ns.ANX ** ns.n_score + ns.K_gad7 ** ns.n_score)


def _phq9_state(ns):
    x = ns.DEP + ns.w_phq_fatigue * ns.FAT
    return 27 * x ** ns.n_phq9 / (x ** ns.n_phq9 + ns.K_phq9 ** ns.n_phq9)


def _last(prefix):
    return lambda ns: getattr(ns, f"{prefix}{N_STAGES}")


QUANTITIES = (
    Quantity("gad7_state", "score", "GAD-7 state measure, 0-21: instantaneous map of the anxiety index, not a questionnaire score",
             _gad7_state, observable=True),
    Quantity("phq9_state", "score", "PHQ-9 state measure, 0-27: instantaneous map of depression and fatigue, not a questionnaire score",
             _phq9_state, observable=True),
    Quantity("gad7", "score", "GAD-7 anxiety score, 0-21 (14-day recall window of gad7_state)",
             _last("GAD7_"), observable=True),
    Quantity("phq9", "score", "PHQ-9 depression score, 0-27 (14-day recall window of phq9_state)",
             _last("PHQ9_"), observable=True),
    Quantity("gi_symptoms", "dimensionless", "GI-symptom score, 0-10 (7-day recall window of gi_symptoms_state)",
             _last("GI_"), observable=True),
)


def rates(ns):
    out = {}
    for score, (prefix, tau, _ref, _period) in CHAINS.items():
        upstream = getattr(ns, f"{score}_state")
        for k in range(1, N_STAGES + 1):
            stage = getattr(ns, f"{prefix}{k}")
            out[f"{prefix}{k}"] = (upstream - stage) / getattr(ns, tau)
            upstream = stage
    return out
