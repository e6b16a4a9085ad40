"""Mood and symptoms: perceived stress, anxiety, depression, sickness behaviour, GI symptoms.

The indices are latent and dimensionless (reference patient: anxiety 1, depression 1); their
drivers are the mechanisms the literature links to mood: inflammation (Reichenberg et al.
2001, doi:10.1001/archpsyc.58.5.445; Eisenberger et al. 2010, doi:10.1016/j.biopsych.2010.03.016),
brain serotonin availability and quinolinic acid, GABA and vagal calming signals, sympathetic
arousal and hypoglycaemic symptoms, perceived stress, and glucocorticoid resistance.
Drivers enter a log-linear sum, so each coupling is an elasticity. Time constants (anxiety
hours, depression weeks) are assumptions calibrated to intervention time courses.
GAD-7 and PHQ-9 (state measures and recall-window scores) are defined in scores.py (docs/design.md, "Symptom scores").
"""

from __future__ import annotations

import sympy as sp

from .core import Quantity, State, hill

NAME = "mood"
TITLE = "Mood and symptoms"

STATES = (
    State("PS", "dimensionless", 0.1, "perceived stress (0 = none)"),
    State("ANX", "dimensionless", 1.0, "anxiety index (threat vigilance; 1 = reference)"),
    State("DEP", "dimensionless", 1.078, "depression index (mood/anhedonia; 1 = reference)"),
    State("FAT", "dimensionless", 0.0, "sickness behaviour / fatigue / brain fog (0 = none)"),
    State("NP", "dimensionless", 0.962, "neuroplasticity index (BDNF-like hippocampal plasticity; 1 = healthy)"),
)


def _appraisal(ns):
    return ns.appraisal * (1 - ns.therapy_effect * ns.therapy)


def _ps_target(ns):
    sleep_debt = sp.Max(7 - ns.sleep_hours, 0)
    return (ns.ps_baseline + ns.stress_appraisal * (ns.stress + ns.ps_sleep * sleep_debt)
            + ns.ps_anxiety * ns.anxiety_excess + ns.ps_gi * ns.gi_symptoms_state / 10)


def _anx_drive(ns):
    return sp.exp(ns.e_anx_inflam * ns.inflammation + ns.e_anx_sns * (ns.SNS - 1) + ns.e_anx_hypo * ns.hypo_symptoms
                  - ns.e_anx_vagal * (ns.VAG - 1) - ns.e_anx_gaba * (ns.gaba_signal - 1)
                  - ns.e_anx_5ht * (ns.serotonin_brain - 1) + ns.e_anx_stress * (ns.PS - ns.ps_baseline))


def _dep_drive(ns):
    # dep_vulnerability: the person's liability from causes outside the modelled pathways (1 = reference person)
    return ns.dep_vulnerability * sp.exp(ns.e_dep_inflam * ns.inflammation + ns.e_dep_qa * (ns.QA - 1) - ns.e_dep_5ht * (ns.serotonin_brain - 1)
                  + ns.e_dep_gr * (1 - ns.GR) + ns.e_dep_stress * (ns.PS - ns.ps_baseline)
                  - ns.e_dep_vagal * (ns.VAG - 1) + ns.e_dep_np * (1 - ns.NP))


QUANTITIES = (
    Quantity("anxiety_excess", "dimensionless", "bounded anxiety excess over reference, tanh(ANX - 1), that feeds back on stress and arousal",
             lambda ns: sp.tanh(ns.ANX - ns.anx_ref)),
    Quantity("stress_appraisal", "dimensionless", "how strongly stressors are appraised as threat (therapy lowers it)", _appraisal),
    Quantity("perceived_stress_target", "dimensionless", "perceived stress set by stressors, sleep, anxiety and GI symptoms", _ps_target),
    Quantity("anxiety_drive", "dimensionless", "anxiety set-point from its drivers", _anx_drive),
    Quantity("depression_drive", "dimensionless", "depression set-point from its drivers", _dep_drive),
    Quantity("gi_symptoms_state", "dimensionless", "GI-symptom state measure, 0-10 (bloating, discomfort): instantaneous, "
             "not a questionnaire score", lambda ns: 10 * hill(ns.gi_load, 1, 1), observable=True),
    Quantity("gi_load", "dimensionless", "visceral symptom load (mast cells, mucosal inflammation, pathobiont gas)",
             lambda ns: ns.gi_basal * (1 + ns.gi_mc * ns.MC + ns.gi_inflam * ((ns.mucosal_inflammation - 1) ** 2) ** (ns.n_gi_inflam / 2) + ns.gi_pat * ns.Bp / 0.03)),
    Quantity("perceived_stress", "score", "perceived-stress score (PSS-10 scale, 0-40)",
             lambda ns: 40 * ns.PS / (ns.PS + ns.K_pss), observable=True),
)


def rates(ns):
    return {
        "PS": (ns.perceived_stress_target - ns.PS) / ns.tau_ps,
        "ANX": (ns.anxiety_drive - ns.ANX) / ns.tau_anx,
        "DEP": (ns.depression_drive - ns.DEP) / ns.tau_dep,
        "FAT": (ns.f_inflam * ns.inflammation + ns.f_hypo * ns.hypo_symptoms - ns.FAT) / ns.tau_fat,
        # neurotrophic hypothesis (Duman & Monteggia 2006): chronic inflammation and cortisol excess lower plasticity,
        # which recovers first-order with time constant tau_np once they end
        "NP": ((1 - ns.NP) - ns.NP * (ns.a_np_inflam * ns.inflammation_excess + ns.a_np_cort * ns.cortisol_excess))
              / ns.tau_np,
    }
