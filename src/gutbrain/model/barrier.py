"""Intestinal barrier: tight-junction integrity, mucosal mast cells, plasma endotoxin.

No validated mechanistic human barrier model exists, so this module is phenomenological and
calibrated to lactulose/mannitol ratios (Vanuytsel et al. 2014, doi:10.1136/gutjnl-2013-305690)
and fasting plasma endotoxin (Erridge et al. 2007, doi:10.1093/ajcn/86.5.1286).
Tight junctions turn over in days; butyrate and probiotic lactobacilli support repair;
TNF, cortisol excess, refined sugar, emulsifiers and pathobionts damage them. Stress-driven
CRH activates mucosal mast cells, which open the paracellular path within an hour.

Barrier memory: chronic stress makes mucosal mast cells more numerous and more easily activated
(chronic water-avoidance stress in rats: Soderholm et al. 2002, Gastroenterology 123:1099, PMID 12360472,
and Santos et al. 2001, Gut 48:630: mast-cell hyperplasia, permeability still raised 72 h after the stress
ended; animal data); human CRH -> mast cell -> permeability: Vanuytsel et al. 2014; mast cells in IBS:
Wouters et al. 2016, Gut 65:155). A mast-cell density/sensitisation state ``MCd`` (1 = healthy)
builds while the stress-driven CRH drive lasts and relaxes over weeks; it scales the acute activation
``MC`` and, where it exceeds 1, adds spontaneous mediator release at rest.
"""

from __future__ import annotations

from .core import Quantity, State

NAME = "barrier"
TITLE = "Gut barrier and endotoxin"

STATES = (
    State("TJ", "dimensionless", 0.9, "tight-junction integrity (1 = sealed)"),
    State("MC", "dimensionless", 0.0, "mucosal mast-cell activation"),
    State("MCd", "dimensionless", 1.006, "mucosal mast-cell density / sensitisation (1 = healthy)"),
    State("LPSp", "pg/mL", 8.0, "plasma endotoxin of gut origin (limulus-assay units)"),
)


def _damage(ns):
    return (1 + ns.a_tj_tnf * (ns.TNF / ns.w_TNF - 1) + ns.a_tj_sugar * ns.sugar / (ns.sugar + ns.K_sugar)
            + ns.a_tj_processed * ns.processed + ns.a_tj_pat * ns.Bp
            + ns.a_tj_mc * ns.MC)


QUANTITIES = (
    Quantity("tj_damage", "dimensionless", "relative tight-junction damage rate", _damage),
    Quantity("permeability", "dimensionless", "paracellular permeability (leak) index",
             lambda ns: (1 - ns.TJ) * (1 + ns.a_perm_mc * ns.MC)),
    Quantity("lm_ratio", "dimensionless", "urinary lactulose/mannitol ratio", lambda ns: ns.lm_per_leak * ns.permeability, observable=True),
    Quantity("luminal_lps", "dimensionless", "immunogenic luminal LPS load (pathobiont-dominated)",
             lambda ns: ns.Bp + ns.w_lps_fib * ns.Bf),
    Quantity("mucosal_inflammation", "dimensionless", "mucosal exposure to LPS relative to the healthy reference",
             lambda ns: ns.permeability * ns.luminal_lps / ns.lps_exposure_ref),
    Quantity("plasma_endotoxin", "pg/mL", "measured plasma endotoxin (gut origin + any infused LPS)",
             lambda ns: ns.LPSp + 1000 * ns.Eexo * ns.body_weight / ns.V_plasma, observable=True),
)


def rates(ns):
    return {
        "TJ": ns.k_tj_repair * (1 + ns.a_tj_butyrate * (ns.butyrate_effect - 1) + ns.a_tj_probiotic * ns.Bpro) * (1 - ns.TJ)
              - ns.k_tj_damage * ns.tj_damage * ns.TJ,
        "MC": ns.k_mc * (ns.MCd * ns.stress_crh + ns.mc_spont * (ns.MCd - 1) - ns.MC),
        "MCd": ns.k_mcd * (1 + ns.a_mcd_crh * ns.stress_crh - ns.MCd),
        "LPSp": ns.k_lps_translocation * ns.permeability * ns.luminal_lps - ns.kE * ns.LPSp,
    }
