"""HPA axis: CRH, ACTH, cortisol and glucocorticoid-receptor function.

Feedback structure of Sriram, Rodriguez-Fernandez & Doyle (2012, doi:10.1371/journal.pcbi.1002379):
CRH drives ACTH, ACTH drives cortisol, and cortisol acting through the glucocorticoid
receptor (GR) inhibits CRH and ACTH release. As in Bangsgaard et al. (2017) and Windoloski
et al. (2022) the suprachiasmatic (SCN) rhythm enters as an external drive: a smooth
three-harmonic function of clock time anchored to the wake time. The cortisol-awakening
response (Pruessner et al. 1997) enters as a brief rise of adrenal sensitivity to ACTH after
waking, the SCN-splanchnic route reviewed by Clow et al. 2010 (doi:10.1016/j.neubiorev.2009.12.011):
the CRH-ACTH chain alone is too slow to raise cortisol by half within 30 minutes. Perceived stress, IL-6 and hypoglycaemic counter-regulation
add to the CRH drive. Cortisol is cleared first-order plus a small saturable (Michaelis-Menten)
route, as in Sriram et al. 2012.

GR function follows the published self-induction form of Gupta, Aslakson, Gurbaxani & Vernon 2007
(Theor Biol Med Model 4:8, doi:10.1186/1742-4682-4-8): dR/dt = k_b (oR)^2 / (K + (oR)^2) + k_cr - k_d R,
the cortisol-GR complex (oR) inducing GR synthesis, mapped into gutbrain's units (GR relative to the
healthy state = 1, the complex as GR x 24-h mean cortisol / reference cortisol; docs/design.md, "Slow
memory"). Two explicit, bounded couplings lower GR function on top of it: sustained cortisol excess and
inflammation (glucocorticoid resistance; Pariante & Lightman 2008, doi:10.1016/j.tins.2008.06.006).
"""

from __future__ import annotations

import sympy as sp

from .core import Quantity, State, T, hill_excess, smooth_pos

NAME = "hpa"
TITLE = "HPA axis"

STATES = (
    State("CRH", "dimensionless", 1.0, "hypothalamic CRH release (relative to its daily mean)"),
    State("ACTH", "pg/mL", 20.0, "plasma ACTH"),
    State("CORT", "ug/dL", 5.6, "plasma total cortisol"),
    State("GR", "dimensionless", 0.969, "glucocorticoid-receptor function (1 = healthy)"),
    State("CORTavg", "ug/dL", 5.6, "24-hour running mean of cortisol"),
)

OMEGA = 2 * sp.pi / 24


def _phase(ns):
    """Clock time shifted so that the reference waking time is 07:00."""
    return T - (ns.wake_time - 7)


def _circadian(ns):
    ph = _phase(ns)
    z = sum(ns.__getattr__(f"circ_a{k}") * sp.cos(k * OMEGA * ph) + ns.__getattr__(f"circ_b{k}") * sp.sin(k * OMEGA * ph)
            for k in (1, 2, 3))
    return sp.exp(z)


def _awakening(ns):
    ph = _phase(ns)
    return ns.car_amplitude * sp.exp(ns.car_sharpness * (sp.cos(OMEGA * (ph - 7 - ns.car_delay)) - 1))


QUANTITIES = (
    Quantity("circadian_drive", "dimensionless", "SCN drive of CRH release", _circadian),
    Quantity("awakening_drive", "dimensionless", "cortisol-awakening pulse of adrenal ACTH sensitivity", _awakening),
    Quantity("stress_crh", "dimensionless", "stress-driven CRH drive (perceived stress x HPA reactivity)",
             lambda ns: ns.hpa_reactivity * smooth_pos(ns.PS - ns.ps_baseline, 0.001)),
    Quantity("gr_feedback", "dimensionless", "cortisol-GR negative feedback factor",
             lambda ns: 1 / (1 + ns.k_feedback * ns.GR * ns.CORT / ns.cort_ref)),
    Quantity("gr_complex", "dimensionless", "cortisol-GR complex (GR x 24-h mean cortisol / reference), 1 at the reference state",
             lambda ns: ns.GR * ns.CORTavg / ns.cort_ref),
    Quantity("gr_self_induction", "dimensionless",
             "GR self-induction by the cortisol-GR complex, Gupta et al. 2007 form x^2/(K^2 + x^2), normalised to 1 at the reference",
             lambda ns: ns.gr_complex ** 2 * (ns.K_gr_self ** 2 + 1) / (ns.K_gr_self ** 2 + ns.gr_complex ** 2)),
    Quantity("cortisol_excess", "dimensionless", "sustained (24-h mean) cortisol excess signal, 0 at the reference, saturating at 1",
             lambda ns: hill_excess(ns.CORTavg / ns.cort_ref - 1, ns.K_gr_cort, 2)),
    Quantity("cortisol_nmol", "nmol/L", "plasma cortisol", lambda ns: 27.59 * ns.CORT, observable=True),
)


def rates(ns):
    drive = ns.circadian_drive * (
        1 + ns.stress_crh + ns.s_il6_crh * hill_excess(ns.IL6 - ns.w6, ns.K_il6_crh, 1) + ns.s_cr_crh * ns.CR)
    return {
        "CRH": ns.d_crh * (drive * ns.gr_feedback * (1 + ns.k_feedback) - ns.CRH),
        "ACTH": ns.k_acth * ns.CRH * ns.gr_feedback * (1 + ns.k_feedback) - ns.d_acth * ns.ACTH,
        "CORT": ns.k_cort * ns.ACTH * (1 + ns.awakening_drive) - ns.d_cort * ns.CORT
                - ns.V_cort_mm * ns.CORT / (ns.K_cort_mm + ns.CORT),
        "CORTavg": (ns.CORT - ns.CORTavg) / 24,
        # Gupta et al. 2007: synthesis = basal (k_cr) + self-induced (k_b x^2/(K^2+x^2)), degradation k_d GR; here
        # k_d = k_gr, k_cr = k_gr f_gr_basal, k_b = k_gr (1 - f_gr_basal) (K^2 + 1), so GR = 1 at the reference
        "GR": ns.k_gr * (ns.f_gr_basal + (1 - ns.f_gr_basal) * ns.gr_self_induction - ns.GR)
              - ns.k_gr_loss * ns.GR * (ns.cortisol_excess + ns.a_gr_inflam * ns.inflammation),
    }
