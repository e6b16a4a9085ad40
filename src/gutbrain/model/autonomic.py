"""Autonomic nervous system: vagal tone and sympathetic arousal, read out as heart rate and HRV.

Human vagal signalling is known only indirectly, so both states are latent and relative
(1 = healthy reference) and are calibrated only through heart-rate-variability effect sizes
(Kemp et al. 2010, doi:10.1016/j.biopsych.2009.12.012; Koch et al. 2019,
doi:10.1017/S0033291719001351). A healthy gut (butyrate, lactic-acid bacteria, probiotic
strains, enterochromaffin serotonin) raises the afferent calming signal; mucosal
inflammation, perceived stress and anxiety lower vagal tone and raise sympathetic arousal,
as does hypoglycaemic counter-regulation.
"""

from __future__ import annotations

import sympy as sp

from .core import Quantity, State, saturate

NAME = "autonomic"
TITLE = "Autonomic nervous system"

STATES = (
    State("VAG", "dimensionless", 1.0, "vagal tone (1 = healthy reference)"),
    State("SNS", "dimensionless", 1.0, "sympathetic arousal (1 = resting reference)"),
)


def _vagal_target(ns):
    z = (ns.v_butyrate * (ns.butyrate_effect - 1) + ns.v_lab * (ns.Bl / ns.Bl_ref - 1) + ns.v_probiotic * ns.Bpro
         + ns.v_sgut * (ns.Sgut - 1) - ns.v_inflam * sp.log(ns.mucosal_inflammation) - ns.v_stress * (ns.PS - ns.ps_baseline)
         - ns.v_anxiety * ns.anxiety_excess - ns.v_systemic * ns.inflammation)
    return saturate(z, 2)


def _sns_target(ns):
    z = (ns.s_stress * (ns.PS - ns.ps_baseline) + ns.s_cr * ns.CR + ns.s_anxiety * ns.anxiety_excess
         + ns.s_inflam * sp.log(ns.mucosal_inflammation) + ns.s_systemic * ns.inflammation)
    return saturate(z, 3)


QUANTITIES = (
    Quantity("vagal_target", "dimensionless", "vagal tone set by gut and brain signals", _vagal_target),
    Quantity("sns_target", "dimensionless", "sympathetic arousal set by stress, anxiety, inflammation, hypoglycaemia", _sns_target),
    Quantity("heart_rate", "1/min", "resting heart rate",
             lambda ns: ns.hr_ref * ns.SNS ** ns.hr_sns / ns.VAG ** ns.hr_vag, observable=True),
    Quantity("hrv_rmssd", "ms", "heart-rate variability (RMSSD)",
             lambda ns: ns.rmssd_ref * ns.VAG ** ns.rmssd_vag / ns.SNS ** ns.rmssd_sns, observable=True),
)


def rates(ns):
    return {
        "VAG": (ns.vagal_target - ns.VAG) / ns.tau_autonomic,
        "SNS": (ns.sns_target - ns.SNS) / ns.tau_autonomic,
    }
