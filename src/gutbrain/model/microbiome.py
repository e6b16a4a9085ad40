"""Microbiome: functional groups and luminal short-chain fatty acids.

Functional-group structure after microPop (Kettle et al. 2015, doi:10.1111/2041-210X.12323)
and generalised Lotka-Volterra competition (Stein et al. 2013, doi:10.1371/journal.pcbi.1003388):
fibre fermenters (butyrate producers), lactic-acid bacteria / bifidobacteria, LPS-rich
pathobionts and a transient administered probiotic pool share one carrying capacity.
A functional-richness index ``Div`` recolonises after antibiotic loss towards a ceiling
``Dmax`` that antibiotics lower permanently (Palleja et al. 2018, doi:10.1038/s41564-018-0257-9).
Facultative anaerobes (the pathobionts) live mostly on a niche the obligate anaerobes do not use
(respiration on oxygen and nitrate diffusing from the epithelium, which butyrate-fed colonocytes keep
low: Byndloss et al. 2017, doi:10.1126/science.aam9949; Litvak et al. 2018, doi:10.1126/science.aat9076),
so their niche overlap with the rest of the community (``alpha_pat``) is small and their abundance is
set by that niche (capacity and butyrate-controlled advantage), not by the small difference between a
large capacity and a large competition term.
SCFA are produced in proportion to fermenter activity and absorbed by the colon.
"""

from __future__ import annotations

from .core import Quantity, State, hill_excess, saturate, smooth_pos

NAME = "microbiome"
TITLE = "Microbiome and short-chain fatty acids"

STATES = (
    State("Bf", "dimensionless", 0.55, "fibre-fermenting butyrate producers (share of community capacity)"),
    State("Bl", "dimensionless", 0.10, "lactic-acid bacteria and bifidobacteria"),
    State("Bp", "dimensionless", 0.03, "LPS-rich pathobionts (Proteobacteria)"),
    State("Bpro", "dimensionless", 0.0, "administered probiotic strains (transient)"),
    State("Div", "dimensionless", 1.0, "functional richness relative to the healthy baseline"),
    State("Dmax", "dimensionless", 1.0, "recoverable richness ceiling (lowered permanently by antibiotics)"),
    State("Ac", "mmol/L", 60.0, "luminal acetate"),
    State("Pr", "mmol/L", 25.0, "luminal propionate"),
    State("Bu", "mmol/L", 15.0, "luminal butyrate"),
)


def _fibre_resource(ns):
    return (ns.fibre + ns.w_prebiotic_fib * ns.prebiotic) / (ns.fibre + ns.w_prebiotic_fib * ns.prebiotic + ns.K_fibre)


def _lab_resource(ns):
    return 1 + ns.a_lab_prebiotic * ns.prebiotic / (ns.prebiotic + ns.K_prebiotic)


def _pat_resource(ns):
    return (1 + ns.a_pat_sugar * ns.sugar / (ns.sugar + ns.K_sugar) + ns.a_pat_processed * ns.processed
            + ns.a_pat_inflam * hill_excess(ns.mucosal_inflammation - 1, ns.K_pat_inflam, ns.n_pat_inflam)
            + ns.a_pat_sns * (ns.SNS - 1))


def _community(ns):
    return ns.Bf + ns.Bl + ns.Bp + ns.c_pro * ns.Bpro


def _logistic(ns, b, capacity, alpha=None):
    """gLV-style growth: self-limitation plus niche overlap ``alpha`` (default alpha_comp) with the rest of the community."""
    alpha = ns.alpha_comp if alpha is None else alpha
    return (1 - (b + alpha * (ns.community - b)) / (capacity + 1e-6))


def _niche_growth(ns, r, b, capacity, advantage=None, k=None, alpha=None):
    """Net growth ``r b L`` of a resident group with logistic factor ``L``, with the net loss bounded by washout.

    When a niche shrinks abruptly (a day without fibre) a plain logistic term makes the group die at
    ``r b^2 / capacity``, i.e. wiped out within hours. Resident bacteria whose substrate disappears are
    lost no faster than colonic washout, so ``L`` is bounded below smoothly at ``-k_loss_max / r``
    (``smooth_pos`` with width 5 % of the bound; at steady state, where ``L`` is near 0, the bound is inactive).

    ``advantage`` (1/h, zero at the reference state, at most ``k``) is a per-capita modulation: low butyrate
    for pathobionts, low mucosal inflammation for fermenters. Its positive part enters ``L`` below the bound,
    so it cannot push a group past its capacity: added outside, a bounded loss ``k_loss_max`` against an
    advantage ``k > k_loss_max`` let the group grow without limit (a virtual patient with ``k_pat_butyrate``
    0.055/h and ``k_loss_max`` 0.015/h reached pathobionts 1e15 times the capacity within 150 days). Its
    negative part (a loss) stays outside, unbounded. Where the bound is inactive (every state near capacity,
    the reference included) the rate equals ``r b L + advantage b`` to within the ``smooth_pos`` width.
    """
    m = ns.k_loss_max / r
    if advantage is None:
        return r * b * (smooth_pos(_logistic(ns, b, capacity, alpha) + m, 0.05 * m) - m)
    gain = smooth_pos(advantage, 0.01 * k)  # smooth split: no kink at the reference state, where advantage = 0
    return r * b * (smooth_pos(_logistic(ns, b, capacity, alpha) + gain / r + m, 0.05 * m) - m) + (advantage - gain) * b


QUANTITIES = (
    Quantity("fibre_resource", "dimensionless", "fermentable substrate availability", _fibre_resource),
    Quantity("lab_resource", "dimensionless", "growth boost of lactic-acid bacteria by prebiotics", _lab_resource),
    Quantity("pat_resource", "dimensionless", "growth advantage of pathobionts (sugar, processed food, inflammation, catecholamines)", _pat_resource),
    Quantity("community", "dimensionless", "total community (sum of groups)", _community),
    Quantity("cap_fib", "dimensionless", "fibre-fermenter capacity (dietary fibre + host mucin glycans, x richness)",
             lambda ns: ns.K_fib * ns.Div * (ns.fib_cap_floor + (1 - ns.fib_cap_floor) * ns.fibre_resource
                                             * (ns.fibre_ref + ns.K_fibre) / ns.fibre_ref)),
    Quantity("cap_lab", "dimensionless", "LAB capacity (prebiotics x richness)", lambda ns: ns.K_lab * ns.Div * ns.lab_resource),
    Quantity("cap_pat", "dimensionless", "pathobiont capacity (sugar, processed food, inflammation, catecholamines)",
             lambda ns: ns.K_pat * ns.pat_resource),
    Quantity("butyrate_effect", "dimensionless", "butyrate signal relative to the healthy reference",
             lambda ns: saturate(ns.Bu / ns.Bu_ref - 1, 2)),
    Quantity("scfa_total", "mmol/L", "luminal acetate + propionate + butyrate", lambda ns: ns.Ac + ns.Pr + ns.Bu, observable=True),
    Quantity("portal_acetate", "umol/L", "portal-vein acetate",
             lambda ns: 1000 * ns.k_scfa_abs * ns.V_colon * ns.Ac * (1 - ns.f_colonocyte_ac) / ns.Q_portal + ns.acetate_endogenous, observable=True),
    Quantity("portal_propionate", "umol/L", "portal-vein propionate",
             lambda ns: 1000 * ns.k_scfa_abs * ns.V_colon * ns.Pr * (1 - ns.f_colonocyte_pr) / ns.Q_portal, observable=True),
    Quantity("portal_butyrate", "umol/L", "portal-vein butyrate",
             lambda ns: 1000 * ns.k_scfa_abs * ns.V_colon * ns.Bu * (1 - ns.f_colonocyte_bu) / ns.Q_portal, observable=True),
    Quantity("beneficial", "dimensionless", "butyrate producers + lactic-acid bacteria", lambda ns: ns.Bf + ns.Bl, observable=True),
    Quantity("dysbiosis_index", "dimensionless", "pathobionts relative to beneficial groups (log10)",
             lambda ns: __import__("sympy").log((ns.Bp + 1e-4) / (ns.Bf + ns.Bl + 1e-4), 10), observable=True),
)


def rates(ns):
    return {
        "Bf": _niche_growth(ns, ns.r_fib, ns.Bf, ns.cap_fib, -ns.k_fib_inflam * (ns.mucosal_inflammation - 1), ns.k_fib_inflam)
              - ns.kabx_fib * ns.antibiotic * ns.Bf + ns.seed_fib * ns.Div,
        "Bl": _niche_growth(ns, ns.r_lab, ns.Bl, ns.cap_lab) - ns.kabx_lab * ns.antibiotic * ns.Bl
              + ns.seed_lab * ns.Div + ns.k_fermented_seed * ns.fermented,
        "Bp": _niche_growth(ns, ns.r_pat, ns.Bp, ns.cap_pat, -ns.k_pat_butyrate * (ns.butyrate_effect - 1), ns.k_pat_butyrate,
                            ns.alpha_pat)
              - (ns.kabx_pat * ns.antibiotic + ns.k_pat_probiotic * ns.Bpro) * ns.Bp + ns.seed_pat,
        "Bpro": ns.k_pro_colonise * ns.probiotic / (ns.probiotic + ns.K_probiotic_dose)
                - (ns.k_pro_washout + ns.kabx_lab * ns.antibiotic) * ns.Bpro,
        "Div": ns.k_recolonise * (ns.Dmax - ns.Div) - ns.kabx_div * ns.antibiotic * ns.Div,
        "Dmax": -ns.k_extinct * ns.antibiotic * ns.Dmax,
        "Ac": ns.y_ac * (ns.Bf * ns.fibre_resource + ns.w_lab_ac * ns.Bl * ns.lab_resource) - ns.k_scfa_abs * ns.Ac,
        "Pr": ns.y_pr * ns.Bf * ns.fibre_resource - ns.k_scfa_abs * ns.Pr,
        "Bu": ns.y_bu * ns.Bf * ns.fibre_resource - ns.k_scfa_abs * ns.Bu,
    }
