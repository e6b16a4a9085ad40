"""Innate immune response: endotoxin, monocytes, TNF-alpha, IL-6, IL-8, IL-10 and CRP.

Structure and nominal parameters from the human 2 ng/kg endotoxin-bolus model of
Windoloski, Bangsgaard, Dobreva, Ottesen & Olufsen (2024, Exp Physiol), with two explicit
couplings added: cortisol (through glucocorticoid-receptor function) and efferent vagal
(cholinergic) tone suppress cytokine release (Borovikova et al. 2000, doi:10.1038/35013070).
Endotoxin of gut origin enters with a bioactive fraction (most circulating LPS is bound to
lipoproteins and neutralised). CRP is made by the liver in response to IL-6.

Endotoxin tolerance (added to the bolus model): strong monocyte activation induces, with a delay
of hours, a refractory state that lowers further activation and wanes over days (Draisma et al.
2009, doi:10.1097/CCM.0b013e31819c3c67: a second 2 ng/kg bolus 24 h later gave strongly blunted
cytokine responses in humans; Biswas & Lopez-Collazo 2009, doi:10.1016/j.it.2009.07.009). The
single-bolus curves are nearly unchanged (tolerance develops after the activation peak), and
sustained low-grade endotoxin can no longer drive the TNF -> monocyte-activation feedback into a
runaway that the single-bolus model, which never saw continuous exposure, would allow.

IL-6 release lag (added to the bolus model): IL-6 is released by activated monocytes through a
first-order lag (state MA6, rate k6lag) rather than in step with TNF. In the human bolus data
IL-6 follows TNF by about an hour at every dose (2 ng/kg, Windoloski et al. data: TNF at 1 h is
37 % of its peak, IL-6 1.5 %; 0.5-2 ng/kg, Dillingh et al. 2014, doi:10.1186/s12950-014-0028-1:
TNF peaks at 1.5-2 h, IL-6 at 2-3 h), while IL-6 rises with dose less steeply than TNF. The
published model gets the delay only from a high TNF half-saturation of TNF-driven IL-6 release,
which also silences IL-6 after low doses; the lag gives the delay without that threshold. At
steady state MA6 = MA, so baselines are unchanged.
"""

from __future__ import annotations

import sympy as sp

from .core import Quantity, State, hill, hill_down, pos, smooth_pos

NAME = "immune"
TITLE = "Innate immune response"

STATES = (
    State("Eexo", "ng/kg", 0.0, "infused endotoxin per kg body weight"),
    State("MR", "cell/uL", 30000.0, "resting monocytes (model units of Windoloski et al.)"),
    State("MA", "cell/uL", 0.0, "activated monocytes", scale=100.0),
    State("MA6", "cell/uL", 0.0, "activated monocytes as seen by IL-6 release (first-order lag of MA)", scale=100.0),
    State("TNF", "pg/mL", 6.24, "plasma TNF-alpha"),
    State("IL6", "pg/mL", 0.61, "plasma IL-6"),
    State("IL8", "pg/mL", 2.96, "plasma IL-8"),
    State("IL10", "pg/mL", 4.2, "plasma IL-10"),
    State("CRP", "mg/L", 1.0, "plasma C-reactive protein"),
    State("TOLi", "dimensionless", 0.0, "endotoxin-tolerance induction signal (0 = none, 1 = saturated)"),
    State("TOL", "dimensionless", 0.0, "monocyte endotoxin tolerance (0 = naive, 1 = fully tolerant)"),
)


def _bioactive(ns):
    return ns.Eexo + ns.f_lps_bioactive * ns.LPSp * ns.V_plasma / ns.body_weight / 1000


def _suppression(ns):
    return 1 / (1 + ns.s_cort_immune * ns.GR * ns.CORT / ns.cort_ref) / (1 + ns.s_vagal_immune * ns.VAG)


def _activation(ns):
    return (hill(ns.endotoxin_bioactive, ns.xME, ns.hME) * (ns.kM + ns.kMTNF * hill(ns.TNF, ns.xMTNF, ns.hMTNF))
            * hill_down(ns.IL10, ns.xM10, ns.hM10) * ns.MR * (1 - ns.tol_max * ns.TOL))


QUANTITIES = (
    Quantity("endotoxin_bioactive", "ng/kg", "bioactive endotoxin seen by monocytes", _bioactive),
    Quantity("immune_brake", "dimensionless", "cortisol and vagal suppression of cytokine release (1 = none)", _suppression),
    Quantity("monocyte_activation", "cell/uL/h", "monocyte activation rate", _activation),
    Quantity("inflammation", "dimensionless", "systemic inflammation index: mean log fold-change of TNF and IL-6 over baseline",
             lambda ns: (sp.log((pos(ns.TNF) + 1e-3) / ns.w_TNF) + sp.log((pos(ns.IL6) + 1e-3) / ns.w6)) / 2,
             observable=True),
    Quantity("inflammation_excess", "dimensionless", "positive part of the inflammation index (smooth, width 0.01)",
             lambda ns: smooth_pos(ns.inflammation, 0.01)),
)


def rates(ns):
    brake = ns.immune_brake * (1 + ns.s_cort_immune) * (1 + ns.s_vagal_immune)  # 1 at the reference state
    return {
        "Eexo": ns.lps_iv - ns.kE * ns.Eexo,
        "MR": ns.kMR * ns.MR * (1 - ns.MR / ns.Mmax) - ns.monocyte_activation,
        "MA": ns.monocyte_activation - ns.kMA * ns.MA,
        "MA6": ns.k6lag * (ns.MA - ns.MA6),
        "TNF": ns.kTNFM * brake * hill_down(ns.IL6, ns.xTNF6, ns.hTNF6) * hill_down(ns.IL10, ns.xTNF10, ns.hTNF10) * ns.MA
               - ns.kTNF * (ns.TNF - ns.w_TNF),
        "IL6": (ns.k6M + ns.k6TNF * hill(ns.TNF, ns.x6TNF, ns.h6TNF)) * brake * hill_down(ns.IL6, ns.x66, ns.h66)
               * hill_down(ns.IL10, ns.x610, ns.h610) * ns.MA6 - ns.k6 * (ns.IL6 - ns.w6),
        "IL8": ns.MA * (ns.k8M + ns.k8TNF * hill(ns.TNF, ns.x8TNF, ns.h8TNF)) * hill_down(ns.IL10, ns.x810, ns.h810)
               - ns.k8 * (ns.IL8 - ns.w8),
        "IL10": (ns.k10M + ns.k106 * hill(ns.IL6, ns.x106, ns.h106)) * ns.MA - ns.k10 * (ns.IL10 - ns.w10),
        "CRP": ns.k_crp * ns.IL6 / (ns.IL6 + ns.K_crp_il6) - ns.d_crp * ns.CRP,
        "TOLi": ns.k_tol_on * hill(ns.MA, ns.K_tol, ns.n_tol) * (1 - ns.TOLi) - ns.k_tol_off * ns.TOLi,
        "TOL": ns.k_tol_delay * (ns.TOLi - ns.TOL),
    }
