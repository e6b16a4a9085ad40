"""C1-C17 as quantitative criteria. Each states its threshold and the threshold's source (``threshold=``),
the parameters that carry its effect (``couplings=``, re-run at their evidence bounds by the assumption
check, ``assumptions.py``) and what its per-patient effect measures (``measure=``). The criteria of this
version (C3, C8, C16 and C17 re-specified; score thresholds standardised) were written before they were
run on the model; docs/claims.md is generated from their output.

Conventions: ``w(ds, var, a, b)`` is the per-patient mean of the daily means over days [a, b);
"healthy" is the same patient under the reference scenario over the same window.

Score thresholds:

* a **group-level** score change counts when it is at least a small standardised effect, 0.2 SD
  (Cohen 1988), with the general-population SDs of the scores: PHQ-9 3.5 (Kocalevent et al. 2013,
  doi:10.1016/j.genhosppsych.2013.04.006: 3.5 in women and in men), GAD-7 3.4 (Loewe et al. 2008,
  doi:10.1097/MLR.0b013e318160d093: 3.5 in women, 3.2 in men), i.e. 0.70 PHQ-9 and 0.68 GAD-7 points;
* an **individual** change counts when it reaches the minimal clinically important difference:
  5 PHQ-9 points (Loewe et al. 2004, doi:10.1097/00005650-200412000-00006) and 4 GAD-7 points
  (Toussaint et al. 2020, doi:10.1016/j.jad.2020.01.032);
* **response** is the conventional >= 50 % reduction of the baseline score;
* the moderate-symptom cut-off is 10 on both scales (Kroenke et al. 2001; Spitzer et al. 2006).

``gad7``, ``phq9`` and ``gi_symptoms`` are the questionnaire scores as the instruments define them
(14-, 14- and 7-day recall windows of the state measures; ``gutbrain/model/scores.py``), so a
claim about a score change inherits the recall lag.
"""

from __future__ import annotations

import numpy as np

from ..model.scores import GI_BOTHERSOME
from .core import Outcome, claim
from .experiments import PERSISTENCE_FOLLOW_UP, PERSISTENCE_STRESSOR, STRESS_DURATIONS

SD_PHQ9, SD_GAD7 = 3.5, 3.4  #: general-population SDs (sources above)
SMALL = 0.2  #: Cohen's small standardised effect
RISE_PHQ9, RISE_GAD7 = SMALL * SD_PHQ9, SMALL * SD_GAD7  #: 0.70 and 0.68 points
MCID_PHQ9, MCID_GAD7 = 5.0, 4.0  #: individual minimal clinically important differences
BOTHERSOME_GI = GI_BOTHERSOME  #: the GI-symptom cut-off of calibration target T33 (model/scores.py)
GROUP = (f"0.2 SD, a small standardised effect (Cohen 1988), with general-population SDs: {RISE_PHQ9:.2f} PHQ-9 points "
         f"(SD 3.5, Kocalevent et al. 2013) and {RISE_GAD7:.2f} GAD-7 points (SD 3.4, Loewe et al. 2008)")


def _rise(dphq, dgad):
    """The larger of the two score rises in SD units (>= 0.2 counts)."""
    return np.maximum(dphq / SD_PHQ9, dgad / SD_GAD7)


def w(ds, var, a, b):
    return ds[var].sel(day=slice(a, b - 1)).mean("day").values.astype(float)


@claim("C1", "Communication is bidirectional: a gut perturbation moves mood, and a psychological stressor moves gut state.",
       "antibiotic course: PHQ-9 or GAD-7 (days 14-28) rises by >= 0.2 SD vs healthy; AND work stress: pathobiont share and "
       "L/M ratio (days 42-70) both rise >= 10 % vs healthy.", ["antibiotic", "work_stress", "healthy"],
       threshold=f"score: {GROUP}; gut: 10 %, the smallest relative change counted (assumption: no clinical standard for "
                 "these indices)",
       couplings=["g_gaba_lab", "e_anx_gaba", "a_pat_sns", "a_mcd_crh"],
       measure="larger score rise after antibiotics, SD units")
def c1(d):
    h, a, s = d["healthy"], d["antibiotic"], d["work_stress"]
    dphq = w(a, "phq9", 14, 28) - w(h, "phq9", 14, 28)
    dgad = w(a, "gad7", 14, 28) - w(h, "gad7", 14, 28)
    rbp = w(s, "Bp", 42, 70) / w(h, "Bp", 42, 70) - 1
    rlm = w(s, "lm_ratio", 42, 70) / w(h, "lm_ratio", 42, 70) - 1
    rise = _rise(dphq, dgad)
    holds = (rise >= SMALL) & (rbp >= 0.1) & (rlm >= 0.1)
    return Outcome(holds, rise,
                   f"gut->brain: PHQ-9 {dphq[0]:+.2f}, GAD-7 {dgad[0]:+.2f} points after antibiotics; brain->gut: pathobionts {100 * rbp[0]:+.0f} %, "
                   f"L/M {100 * rlm[0]:+.0f} % under work stress (reference)",
                   {"dphq9_antibiotic": float(dphq[0]), "dgad7_antibiotic": float(dgad[0]), "pathobiont_change_stress": float(rbp[0]),
                    "lm_change_stress": float(rlm[0])})


@claim("C2", "Inducing dysbiosis in a patient with no psychiatric history raises anxiety and depression indices.",
       "patients with minimal baseline scores (GAD-7 < 5 and PHQ-9 < 5, days 0-7); western diet (dysbiosis: pathobionts up >= 25 %) "
       "raises both GAD-7 and PHQ-9 by >= 0.2 SD (days 60-90) vs healthy.", ["western", "healthy"],
       threshold=f"{GROUP}; dysbiosis: pathobionts +25 % (assumption)",
       couplings=["e_dep_inflam", "e_anx_inflam", "a_tj_processed", "a_pat_sugar"],
       measure="smaller of the two score rises, SD units")
def c2(d):
    h, x = d["healthy"], d["western"]
    premise = (w(h, "gad7", 0, 7) < 5) & (w(h, "phq9", 0, 7) < 5)
    dys = w(x, "Bp", 60, 90) / w(h, "Bp", 60, 90) - 1 >= 0.25
    dg, dp = w(x, "gad7", 60, 90) - w(h, "gad7", 60, 90), w(x, "phq9", 60, 90) - w(h, "phq9", 60, 90)
    both = np.minimum(dg / SD_GAD7, dp / SD_PHQ9)
    return Outcome(dys & (both >= SMALL), both,
                   f"GAD-7 {dg[0]:+.2f}, PHQ-9 {dp[0]:+.2f} points after 60-90 days of western diet (reference)",
                   {"dgad7": float(dg[0]), "dphq9": float(dp[0])}, applicable=premise)


@claim("C3", "Dysbiosis can raise mood indices while digestive symptoms stay mild.",
       f"western diet days 60-90: PHQ-9 or GAD-7 rises by >= 0.2 SD vs healthy while the GI-symptom score stays below "
       f"{GI_BOTHERSOME:g} of 10, the 'bothersome' cut-off of the GI-symptom map calibrated against T33.", ["western", "healthy"],
       threshold=f"score: {GROUP}; GI: {GI_BOTHERSOME:g}/10, the cut-off with which calibration target T33 (48 % of the "
                 "severely depressed without bothersome GI symptoms, Mussell et al. 2008) is computed",
       couplings=["gi_inflam", "gi_pat", "e_dep_inflam", "e_anx_inflam"],
       measure="larger score rise, SD units")
def c3(d):
    h, x = d["healthy"], d["western"]
    dp, dg = w(x, "phq9", 60, 90) - w(h, "phq9", 60, 90), w(x, "gad7", 60, 90) - w(h, "gad7", 60, 90)
    rise = _rise(dp, dg)
    gi = w(x, "gi_symptoms", 60, 90)
    return Outcome((rise >= SMALL) & (gi < GI_BOTHERSOME), rise,
                   f"PHQ-9 {dp[0]:+.2f}, GAD-7 {dg[0]:+.2f} points with GI-symptom score {gi[0]:.1f}/10 (reference)",
                   {"dphq9": float(dp[0]), "dgad7": float(dg[0]), "gi_symptom_score": float(gi[0])})


@claim("C4", "Dysbiosis lowers neurotransmitter availability (tryptophan/serotonin balance, GABA signal).",
       "western diet days 60-90 vs healthy: brain serotonin-availability index and GABA-signal index both lower by >= 5 %.",
       ["western", "healthy"],
       threshold="5 % (assumption: the indices have no human reference; 5 % is the smallest change counted)",
       couplings=["a_qa_5ht", "a_ido_inflam", "g_gaba_lab", "g_gaba_vagal"],
       measure="the smaller fall of the two indices, %")
def c4(d):
    h, x = d["healthy"], d["western"]
    r5 = w(x, "serotonin_brain", 60, 90) / w(h, "serotonin_brain", 60, 90) - 1
    rg = w(x, "gaba_signal", 60, 90) / w(h, "gaba_signal", 60, 90) - 1
    return Outcome((r5 <= -0.05) & (rg <= -0.05), 100 * np.maximum(r5, rg),
                   f"serotonin availability {100 * r5[0]:+.1f} %, GABA signal {100 * rg[0]:+.1f} % (reference)",
                   {"serotonin_change": float(r5[0]), "gaba_change": float(rg[0])})


@claim("C5", "Chronic low-grade inflammation, far below acute-infection levels, is enough to raise the indices.",
       "4 weeks of low-dose endotoxin: IL-6 stays < 10 pg/mL (acute bolus peaks ~700) and PHQ-9 or GAD-7 (days 21-35) rises by >= 0.2 SD.",
       ["low_grade", "healthy"],
       threshold=f"{GROUP}; 'low-grade': daily-mean IL-6 < 10 pg/mL, two orders of magnitude below the 2 ng/kg bolus peak "
                 "(calibration data)",
       couplings=["e_dep_inflam", "e_anx_inflam", "a_qa_inflam"],
       measure="larger score rise, SD units")
def c5(d):
    h, x = d["healthy"], d["low_grade"]
    il6 = x["IL6"].sel(day=slice(7, 34)).max("day").values.astype(float)
    dp, dg = w(x, "phq9", 21, 35) - w(h, "phq9", 21, 35), w(x, "gad7", 21, 35) - w(h, "gad7", 21, 35)
    rise = _rise(dp, dg)
    return Outcome((il6 < 10) & (rise >= SMALL), rise,
                   f"IL-6 at most {il6[0]:.2f} pg/mL (daily mean), PHQ-9 {dp[0]:+.2f}, GAD-7 {dg[0]:+.2f} points (reference)",
                   {"il6_max_daily_mean": float(il6[0]), "dphq9": float(dp[0]), "dgad7": float(dg[0]),
                    "il6_healthy": float(w(h, "IL6", 21, 35)[0])})


@claim("C6", "A compromised barrier lets bacterial fragments into the blood and activates the immune system.",
       "western diet days 60-90 vs healthy: tight-junction integrity lower, plasma endotoxin >= 20 % higher, activated monocytes "
       ">= 20 % higher and IL-6 higher.", ["western", "healthy"],
       threshold="20 % (assumption: below the +71 % of Pendyala et al. 2012, calibration target T29, so that a weaker effect "
                 "than the human one still counts)",
       couplings=["a_tj_sugar", "a_tj_processed", "a_tj_pat", "w_lps_fib"],
       measure="plasma endotoxin change, %")
def c6(d):
    h, x = d["healthy"], d["western"]
    tj = w(x, "TJ", 60, 90) - w(h, "TJ", 60, 90)
    lps = w(x, "plasma_endotoxin", 60, 90) / w(h, "plasma_endotoxin", 60, 90) - 1
    ma = w(x, "MA", 60, 90) / w(h, "MA", 60, 90) - 1
    il6 = w(x, "IL6", 60, 90) - w(h, "IL6", 60, 90)
    return Outcome((tj < 0) & (lps >= 0.2) & (ma >= 0.2) & (il6 > 0), 100 * lps,
                   f"barrier integrity {tj[0]:+.3f}, plasma endotoxin {100 * lps[0]:+.0f} %, activated monocytes {100 * ma[0]:+.0f} %, "
                   f"IL-6 {il6[0]:+.2f} pg/mL (reference)",
                   {"tj_change": float(tj[0]), "endotoxin_change": float(lps[0]), "monocyte_change": float(ma[0]), "il6_change": float(il6[0])})


@claim("C7", "A pro-inflammatory shift raises the kynurenine/tryptophan ratio.",
       "2 ng/kg endotoxin bolus: KYN/TRP peaks >= 10 % above its pre-bolus value within 24 h.", ["endotoxin"],
       threshold="10 % (assumption: the smallest rise counted)",
       couplings=["a_ido_inflam", "a_tdo_cort"],
       measure="KYN/TRP peak rise, %")
def c7(d):
    x = d["endotoxin"]
    t = x.time.values * 24 - 8.0
    k = x["kyn_trp"].values.astype(float)
    pre = k[:, np.argmin(np.abs(t + 0.25))]
    win = (t >= 0) & (t <= 24)
    peak = k[:, win].max(axis=1)
    tpk = t[win][np.argmax(k[:, win], axis=1)]
    rise = peak / pre - 1
    return Outcome(rise >= 0.1, 100 * rise, f"KYN/TRP {100 * rise[0]:+.0f} %, peak {tpk[0]:.1f} h after the bolus (reference)",
                   {"kyn_trp_rise": float(rise[0]), "peak_hours": float(tpk[0])})


def _dysregulated(ds, h, a, b, ha=None, hb=None):
    """Still away from the patient's own unstressed state by an individual MCID (or pathobionts doubled)."""
    ha, hb = (a, b) if ha is None else (ha, hb)
    return ((w(ds, "phq9", a, b) - w(h, "phq9", ha, hb) >= MCID_PHQ9) | (w(ds, "gad7", a, b) - w(h, "gad7", ha, hb) >= MCID_GAD7)
            | (w(ds, "Bp", a, b) >= 2 * w(h, "Bp", ha, hb)))


def _excess(ds, h, a, b, ha, hb):
    return np.maximum((w(ds, "phq9", a, b) - w(h, "phq9", ha, hb)) / MCID_PHQ9, (w(ds, "gad7", a, b) - w(h, "gad7", ha, hb)) / MCID_GAD7)


_END8 = 7 + PERSISTENCE_STRESSOR  # the day C8's stressor ends
_SIX = _END8 + PERSISTENCE_FOLLOW_UP  # six months later


@claim("C8", "Stress and gut damage form a self-reinforcing cycle: after a long stressor ends, some patients stay dysregulated.",
       f"stressor 0.8 for {PERSISTENCE_STRESSOR // 7} weeks (days 7-{_END8}): six months after it ends (days {_SIX - 7}-{_SIX}) a patient "
       "is dysregulated if PHQ-9 is >= 5 or GAD-7 >= 4 points (individual MCIDs) above, or pathobionts >= 2x, the same patient's "
       "unstressed values (days 143-150 of the reference scenario, a periodic steady state); the claim holds if >= 10 % of the "
       "plausible virtual patients are (the reference patient alone: if it is). Mechanism of each persisting patient: "
       "'slow recovery' if its excess still fell by >= 10 % between months 4 and 6, else 'persisting' (a second steady state "
       "or a time scale beyond the run).", ["healthy"] + [f"stress_{k}d" for k in STRESS_DURATIONS],
       threshold="individual MCIDs (5 PHQ-9 points, Loewe et al. 2004; 4 GAD-7 points, Toussaint et al. 2020); 'some "
                 "patients' = at least 10 % (assumption)",
       couplings=["e_dep_np", "a_np_cort", "a_np_inflam", "k_gr_loss"],
       measure="excess over the unstressed state six months after the stressor, MCID units")
def c8(d):
    h = d["healthy"]
    x = d[f"stress_{PERSISTENCE_STRESSOR}d"]
    dys = _dysregulated(x, h, _SIX - 7, _SIX, 143, 150)
    ex6 = _excess(x, h, _SIX - 7, _SIX, 143, 150)
    ex4 = _excess(x, h, _SIX - 67, _SIX - 60, 143, 150)
    slow = dys & (ex6 <= 0.9 * ex4)
    fr = {}
    for k in STRESS_DURATIONS:
        end = 7 + k
        xk = d[f"stress_{k}d"]
        v = _dysregulated(xk, h, end + 55, end + 60, 143, 150)
        has = np.isfinite(w(xk, "phq9", end + 55, end + 60)) & np.isfinite(w(h, "phq9", 143, 150))
        fr[k] = float(v[1:][has[1:]].mean()) if has[1:].any() else float(v[0])
    n_dys = int(dys[1:].sum())
    return Outcome(dys, ex6,
                   f"reference {'still' if dys[0] else 'not'} dysregulated six months after an {PERSISTENCE_STRESSOR // 7}-week stressor; "
                   f"of the persisting virtual patients {int(slow[1:].sum())} recover slowly, {n_dys - int(slow[1:].sum())} persist; "
                   "2 months after stressors of " + ", ".join(f"{k} d: {100 * v:.0f} %" for k, v in fr.items()),
                   {"fraction_dysregulated_by_duration": fr, "persisting_slow_recovery": int(slow[1:].sum()),
                    "persisting_no_recovery": n_dys - int(slow[1:].sum())}, cohort_rule="at-least:0.1")


def _locked(d):
    v = d["vicious_none"]
    return w(v, "phq9", 53, 60) >= 10


@claim("C9", "In a locked-in patient, stress reduction alone does less than stress reduction plus gut repair.",
       "locked-in = PHQ-9 >= 10 after 60 days of western diet + work stress; from day 60 the stressor halves and therapy starts "
       "(stress reduction; the western diet continues) with or without fibre-rich diet + probiotic (gut repair); at the end of "
       "treatment (days 130-144) PHQ-9 is >= 0.2 SD lower with gut repair.", ["vicious_none", "vicious_therapy", "vicious_both"],
       threshold=f"{GROUP}; locked-in: PHQ-9 >= 10, the moderate-depression cut-off (Kroenke et al. 2001)",
       couplings=["e_dep_inflam", "g_gaba_pro", "v_probiotic", "a_tj_butyrate"],
       measure="extra PHQ-9 improvement with gut repair at the end of treatment, points")
def c9(d):
    gain = w(d["vicious_therapy"], "phq9", 130, 144) - w(d["vicious_both"], "phq9", 130, 144)
    later = w(d["vicious_therapy"], "phq9", 166, 180) - w(d["vicious_both"], "phq9", 166, 180)
    return Outcome(gain >= RISE_PHQ9, gain, f"gut repair adds {gain[0]:.2f} PHQ-9 points at the end of treatment, {later[0]:.2f} "
                                           "at follow-up (reference)",
                   {"extra_improvement": float(gain[0]), "extra_improvement_follow_up": float(later[0])}, applicable=_locked(d))


@claim("C10", "Routine labs (glucose, CRP below 3 mg/L, standard blood counts) can stay in reference range while mood indices are elevated.",
       "under work stress or western diet (days 56-70): GAD-7 >= 10 or PHQ-9 >= 10 while CRP < 3 mg/L, daily-mean glucose 3.9-7.8 mmol/L "
       "and activated monocytes below 10 % of the resting pool's endotoxin-response peak (<100 cells/uL).", ["work_stress", "western"],
       threshold="scores: the moderate cut-off 10 (Kroenke et al. 2001; Spitzer et al. 2006); labs: clinical reference ranges",
       couplings=["e_anx_stress", "e_dep_stress", "e_dep_inflam"],
       measure="highest score with normal labs, points")
def c10(d):
    ok = np.zeros(d["western"].sizes["patient"], bool)
    best = np.zeros_like(ok, dtype=float)
    for name in ("work_stress", "western"):
        x = d[name]
        mood = np.maximum(w(x, "gad7", 56, 70), w(x, "phq9", 56, 70))
        labs = (w(x, "CRP", 56, 70) < 3) & (w(x, "glucose", 56, 70) > 3.9) & (w(x, "glucose", 56, 70) < 7.8) & (w(x, "MA", 56, 70) < 100)
        ok |= labs & (mood >= 10)
        best = np.maximum(best, np.where(labs, mood, 0))
    x = d["work_stress"]
    return Outcome(ok, best, f"reference under work stress: GAD-7 {w(x, 'gad7', 56, 70)[0]:.1f}, PHQ-9 {w(x, 'phq9', 56, 70)[0]:.1f} "
                             f"with CRP {w(x, 'CRP', 56, 70)[0]:.2f} mg/L and glucose {w(x, 'glucose', 56, 70)[0]:.1f} mmol/L",
                   {"crp": float(w(x, "CRP", 56, 70)[0]), "gad7": float(w(x, "gad7", 56, 70)[0]), "phq9": float(w(x, "phq9", 56, 70)[0])})


@claim("C11", "A diet high in refined sugar and processed food promotes dysbiosis; a fibre- and fermented-food-rich diet restores balance.",
       "western diet days 0-60: pathobionts >= 25 % above healthy and beneficial groups lower (days 50-60); fibre-rich diet from day 60: "
       "by days 140-150 pathobionts <= 1.1x healthy and beneficial groups >= 0.9x healthy.", ["western_then_fibre", "healthy"],
       threshold="25 % and 10 % (assumptions: no clinical standard for these shares)",
       couplings=["a_pat_sugar", "a_pat_processed", "k_pat_butyrate"],
       measure="pathobiont ratio on the western diet, x healthy")
def c11(d):
    h, x = d["healthy"], d["western_then_fibre"]
    up = (w(x, "Bp", 50, 60) >= 1.25 * w(h, "Bp", 50, 60)) & (w(x, "beneficial", 50, 60) < w(h, "beneficial", 50, 60))
    back = (w(x, "Bp", 140, 150) <= 1.1 * w(h, "Bp", 140, 150)) & (w(x, "beneficial", 140, 150) >= 0.9 * w(h, "beneficial", 140, 150))
    rel = w(x, "Bp", 50, 60) / w(h, "Bp", 50, 60)
    return Outcome(up & back, rel, f"pathobionts x{rel[0]:.2f} on western diet; x{(w(x, 'Bp', 140, 150) / w(h, 'Bp', 140, 150))[0]:.2f} after "
                                   "12 weeks of fibre-rich diet (reference)", {"pathobiont_ratio_western": float(rel[0])})


@claim("C12", "Supporting beneficial bacteria (probiotics/prebiotics) lowers the indices.",
       "8 weeks of probiotic (10 bn CFU/day): PHQ-9 or GAD-7 on days 56-70 lower than healthy by >= 0.2 SD.",
       ["probiotic", "healthy"],
       threshold=f"{GROUP}; human meta-analytic effect d = -0.24 (depression), -0.10 (anxiety) (Liu et al. 2019)",
       couplings=["g_gaba_pro", "v_probiotic", "a_tj_probiotic", "k_pat_probiotic"],
       measure="larger score fall, SD units (positive = lower scores)")
def c12(d):
    h, x = d["healthy"], d["probiotic"]
    dp, dg = w(x, "phq9", 56, 70) - w(h, "phq9", 56, 70), w(x, "gad7", 56, 70) - w(h, "gad7", 56, 70)
    fall = _rise(-dp, -dg)
    return Outcome(fall >= SMALL, fall, f"PHQ-9 {dp[0]:+.2f}, GAD-7 {dg[0]:+.2f} points (reference)",
                   {"dphq9": float(dp[0]), "dgad7": float(dg[0])})


@claim("C13", "Blood-sugar crashes trigger stress hormones that raise permeability and anxiety together; stable meals reduce the spikes.",
       "high-GI meals vs stable low-GI meals (days 7-14): counter-regulation (adrenaline/glucagon index), hypoglycaemic symptoms "
       "and L/M all higher with high-GI meals, each by >= 5 %, and GAD-7 higher by >= 0.2 SD.", ["high_gi", "stable_meals"],
       threshold=f"GAD-7: {GROUP}; the others 5 % (assumption)",
       couplings=["e_anx_hypo", "e_anx_sns", "a_mcd_crh"],
       measure="GAD-7 difference, SD units")
def c13(d):
    a, b = d["high_gi"], d["stable_meals"]
    rcr = w(a, "CR", 7, 14) / w(b, "CR", 7, 14) - 1
    rhs = w(a, "hypo_symptoms", 7, 14) / np.maximum(w(b, "hypo_symptoms", 7, 14), 1e-12) - 1
    dg = w(a, "gad7", 7, 14) - w(b, "gad7", 7, 14)
    rlm = w(a, "lm_ratio", 7, 14) / w(b, "lm_ratio", 7, 14) - 1
    holds = (rcr >= 0.05) & (rhs >= 0.05) & (dg >= RISE_GAD7) & (rlm >= 0.05)
    return Outcome(holds, dg / SD_GAD7, f"counter-regulation {100 * rcr[0]:+.0f} %, hypoglycaemic symptoms {100 * rhs[0]:+.0f} %, GAD-7 {dg[0]:+.2f}, "
                                       f"L/M {100 * rlm[0]:+.1f} % with high-GI meals (reference)",
                   {"cr_change": float(rcr[0]), "hypo_change": float(rhs[0]), "dgad7": float(dg[0]), "lm_change": float(rlm[0])})


@claim("C14", "A healthy gut raises vagal calming signal; an inflamed gut lowers it and raises sympathetic arousal.",
       "vs healthy: after 12 weeks of fibre-rich diet (days 140-150 of western-then-fibre) vagal tone is >= 5 % higher; on western "
       "diet (days 60-90) vagal tone is >= 5 % lower and sympathetic arousal >= 5 % higher.", ["western", "western_then_fibre", "healthy"],
       threshold="5 % (assumption: the indices have no human reference)",
       couplings=["v_butyrate", "v_lab", "v_inflam", "s_inflam"],
       measure="vagal-tone change on the western diet, %")
def c14(d):
    h, x, f = d["healthy"], d["western"], d["western_then_fibre"]
    up = w(f, "VAG", 140, 150) / w(h, "VAG", 140, 150) - 1
    dv = w(x, "VAG", 60, 90) / w(h, "VAG", 60, 90) - 1
    ds_ = w(x, "SNS", 60, 90) / w(h, "SNS", 60, 90) - 1
    return Outcome((up >= 0.05) & (dv <= -0.05) & (ds_ >= 0.05), 100 * dv,
                   f"vagal tone {100 * up[0]:+.0f} % with a healthy gut; "
                   f"{100 * dv[0]:+.0f} % vagal, {100 * ds_[0]:+.0f} % sympathetic with an inflamed gut (reference)",
                   {"vagal_change_fibre": float(up[0]), "vagal_change_western": float(dv[0]), "sns_change_western": float(ds_[0])})


def _recovery(d):
    v, both = d["vicious_none"], d["vicious_both"]
    start = w(v, "phq9", 53, 60)
    target = w(d["vicious_none"], "phq9", 0, 7)
    excess = np.maximum(start - target, 1e-9)
    series = both["phq9"].sel(day=slice(60, 179)).values.astype(float)
    frac = (start[:, None] - series) / excess[:, None]
    return frac


def recovery_times(d, share: float) -> np.ndarray:
    """Days from the start of therapy + gut repair (day 60) until ``share`` of the PHQ-9 excess is resolved (NaN: not in the run)."""
    frac = _recovery(d)
    days = np.arange(frac.shape[1])
    return np.array([days[np.argmax(r >= share)] if np.any(r >= share) else np.nan for r in frac])


@claim("C15", "Improvement begins within weeks; fuller recovery takes months; progress is gradual.",
       "locked-in patients given therapy + gut repair from day 60: 20 % of the PHQ-9 excess resolved within 6 weeks; 80 % resolved no "
       "sooner than 6 weeks and within the 4-month follow-up; no single day resolves more than 15 % of the excess.",
       ["vicious_none", "vicious_both"],
       threshold="'weeks' = within 6 weeks, 'months' = after 6 weeks; 'gradual' = no day resolving > 15 % (assumptions reading "
                 "the claim's words)",
       couplings=["e_dep_np", "a_np_cort", "a_np_inflam"],
       measure="days to 80 % recovery")
def c15(d):
    frac = _recovery(d)
    first, full = recovery_times(d, 0.2), recovery_times(d, 0.8)
    steps = np.abs(np.diff(frac, axis=1))
    jump = np.array([np.max(r[np.isfinite(r)]) if np.isfinite(r).any() else np.nan for r in steps])
    locked = _locked(d)
    holds = (first <= 42) & (full >= 42) & np.isfinite(full) & (jump <= 0.15)
    cohort = locked.copy()
    cohort[0] = False
    curve = {"reference": frac[0].tolist(), "cohort_median": np.median(frac[cohort], axis=0).tolist() if cohort.any() else None}
    return Outcome(holds, full, f"first improvement after {first[0]:.0f} days, 80 % recovery after {full[0]:.0f} days (reference)",
                   {"days_to_first_improvement": float(first[0]), "days_to_80pct_recovery": float(full[0]), "max_daily_step": float(jump[0]),
                    "recovery_curve": curve}, applicable=locked)


def _excess_removed(d, arm, a, b):
    v, h = d["vicious_none"], d["healthy"]
    start = w(v, "phq9", 53, 60)
    excess = np.maximum(start - w(h, "phq9", 53, 60), 1e-9)
    return (start - w(d[arm], "phq9", a, b)) / excess


@claim("C16", "Gut repair complements psychological care: combining both beats either alone.",
       "locked-in patients, at the end of treatment (days 130-144; therapy and probiotic run days 60-144): PHQ-9 with therapy + gut "
       "repair is >= 0.2 SD below the better single arm; reported as the share of the patient's PHQ-9 excess over its own healthy "
       "value that each arm removed, and again at follow-up (days 166-180). (Re-specified: the earlier version read only the "
       "follow-up, three weeks after both arms end.)", ["vicious_none", "vicious_therapy", "vicious_gut", "vicious_both", "healthy"],
       threshold=f"{GROUP}. Therapy's effect ends with the therapy input in this model; lasting effects of psychotherapy are not modelled",
       couplings=["g_gaba_pro", "v_probiotic", "e_dep_inflam", "therapy_effect"],
       measure="advantage of the combination over the better single arm at the end of treatment, PHQ-9 points")
def c16(d):
    both = w(d["vicious_both"], "phq9", 130, 144)
    alone = np.minimum(w(d["vicious_therapy"], "phq9", 130, 144), w(d["vicious_gut"], "phq9", 130, 144))
    gain = alone - both
    share = {arm: _excess_removed(d, f"vicious_{arm}", 130, 144) for arm in ("therapy", "gut", "both")}
    later = (np.minimum(w(d["vicious_therapy"], "phq9", 166, 180), w(d["vicious_gut"], "phq9", 166, 180))
             - w(d["vicious_both"], "phq9", 166, 180))
    return Outcome(gain >= RISE_PHQ9, gain,
                   f"end of treatment: the combination beats the better single arm by {gain[0]:.2f} PHQ-9 points; excess removed "
                   + ", ".join(f"{k} {100 * v[0]:.0f} %" for k, v in share.items()) + f"; follow-up advantage {later[0]:.2f} (reference)",
                   {"advantage": float(gain[0]), "advantage_follow_up": float(later[0]),
                    **{f"excess_removed_{k}": float(v[0]) for k, v in share.items()}}, applicable=_locked(d))


@claim("C17", "Gut-driven anxiety is reversible for many but not all patients (a responder fraction below 100 %).",
       "locked-in patients with at least mild anxiety (GAD-7 >= 5 on days 53-60) given therapy + gut repair: responder = GAD-7 "
       "reduced by >= 50 % at the end of treatment (days 130-144); the claim holds if 30 % <= responder fraction <= 90 %.",
       ["vicious_none", "vicious_both"],
       threshold="response: >= 50 % reduction of the baseline score (the conventional definition); 'many' >= 30 %, 'not all' "
                 "<= 90 % (assumptions reading the claim's words)",
       couplings=["e_anx_gaba", "g_gaba_pro", "e_anx_stress"],
       measure="GAD-7 change from baseline, %")
def c17(d):
    v, b = d["vicious_none"], d["vicious_both"]
    g0, g1 = w(v, "gad7", 53, 60), w(b, "gad7", 130, 144)
    change = 100 * (g1 / np.maximum(g0, 1e-9) - 1)
    resp = change <= -50
    return Outcome(resp, change, f"reference {'responds' if resp[0] else 'does not respond'}: GAD-7 {g0[0]:.1f} -> {g1[0]:.1f}",
                   {"gad7_before": float(g0[0]), "gad7_after": float(g1[0])},
                   applicable=_locked(d) & (g0 >= 5), cohort_rule="between:0.3:0.9")
