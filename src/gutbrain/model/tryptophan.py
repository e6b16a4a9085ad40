"""Tryptophan, kynurenine and serotonin.

Kinetic skeleton after Stavrum et al. (2013, BioModels BIOMD0000000602) and Dalvi-Garcia et al. (2021, BioModels MODEL2103060001): plasma tryptophan is supplied
by diet and degraded by hepatic TDO (induced by cortisol) and extrahepatic IDO (induced by
inflammatory cytokines with a delay of hours), yielding kynurenine. Enterochromaffin-cell
serotonin is stimulated by luminal SCFA (Yano et al. 2015, doi:10.1016/j.cell.2015.02.047) but
does not cross the blood-brain barrier: the brain sees tryptophan availability, central
quinolinic acid and vagal signals. The GABA signal is a relative index raised by
lactic-acid bacteria and probiotic strains through vagal afferents (Bravo et al. 2011,
doi:10.1073/pnas.1102999108).
"""

from __future__ import annotations

from .core import Quantity, State

NAME = "tryptophan"
TITLE = "Tryptophan, kynurenine and serotonin"

STATES = (
    State("TRP", "umol/L", 60.0, "plasma tryptophan"),
    State("KYN", "umol/L", 1.8, "plasma kynurenine"),
    State("IDO", "dimensionless", 1.0, "IDO activity relative to the healthy reference"),
    State("Sgut", "dimensionless", 1.0, "enterochromaffin-cell serotonin release relative to reference"),
    State("QA", "dimensionless", 1.0, "central quinolinic acid relative to reference"),
)


def _tdo(ns):
    return ns.k_tdo * (1 + ns.a_tdo_cort * (ns.CORT / ns.cort_ref - 1))


QUANTITIES = (
    Quantity("tdo_rate", "1/h", "hepatic TDO rate constant", _tdo),
    Quantity("kyn_trp", "umol/mmol", "kynurenine/tryptophan ratio", lambda ns: 1000 * ns.KYN / ns.TRP, observable=True),
    Quantity("serotonin_brain", "dimensionless", "brain serotonin availability index (1 = reference)",
             lambda ns: (ns.TRP / (ns.TRP + ns.Km_tph)) / (ns.trp_ref / (ns.trp_ref + ns.Km_tph))
             / (1 + ns.a_qa_5ht * (ns.QA - 1)) * (1 + ns.g_ssri_5ht * ns.ssri), observable=True),
    Quantity("gaba_signal", "dimensionless", "GABAergic calming signal index (1 = reference)",
             lambda ns: (1 + ns.g_gaba_lab * (ns.Bl / ns.Bl_ref - 1) + ns.g_gaba_pro * ns.Bpro) * ns.VAG ** ns.g_gaba_vagal,
             observable=True),
)


def rates(ns):
    degradation = ns.tdo_rate + ns.k_ido * ns.IDO
    return {
        "TRP": ns.k_trp_in - (degradation + ns.k_trp_other) * ns.TRP,
        "KYN": degradation * ns.TRP - ns.k_kyn * ns.KYN,
        "IDO": ns.d_ido * (1 + ns.a_ido_inflam * ns.inflammation - ns.IDO),
        "Sgut": ns.d_sgut * (1 + ns.a_sgut_scfa * (ns.scfa_total / ns.scfa_ref - 1) - ns.Sgut),
        "QA": ns.d_qa * ((1 + ns.a_qa_inflam * ns.inflammation) * ns.KYN / ns.kyn_ref - ns.QA),
    }
