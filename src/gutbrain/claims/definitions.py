"""C1-C17. Criteria were fixed before results were inspected; thresholds are stated in each criterion.

Conventions: ``w(ds, var, a, b)`` is the per-patient mean of the daily means over days [a, b);
"healthy" is the same patient under the reference scenario over the same window; a score
change of 0.5 points is the smallest change counted as a rise (scores are integers in clinics).
``gad7``, ``phq9`` and ``gi_symptoms`` are the questionnaire scores as the instruments define them
(14-, 14- and 7-day recall windows of the state measures; ``gutbrain/model/scores.py``), so a
claim about a score change inherits the recall lag.
"""

from __future__ import annotations

import numpy as np

from .core import Outcome, claim
from .experiments import STRESS_DURATIONS

RISE = 0.5  # score points


def w(ds, var, a, b):
    return ds[var].sel(day=slice(a, b - 1)).mean("day").values.astype(float)


@claim("C1", "Communication is bidirectional: a gut perturbation moves mood, and a psychological stressor moves gut state.",
       "antibiotic course: PHQ-9 or GAD-7 (days 14-28) rises >= 0.5 points vs healthy; AND work stress: pathobiont share and "
       "L/M ratio (days 42-70) both rise >= 10 % vs healthy.", ["antibiotic", "work_stress", "healthy"])
def c1(d):
    h, a, s = d["healthy"], d["antibiotic"], d["work_stress"]
    dphq = w(a, "phq9", 14, 28) - w(h, "phq9", 14, 28)
    dgad = w(a, "gad7", 14, 28) - w(h, "gad7", 14, 28)
    rbp = w(s, "Bp", 42, 70) / w(h, "Bp", 42, 70) - 1
    rlm = w(s, "lm_ratio", 42, 70) / w(h, "lm_ratio", 42, 70) - 1
    holds = ((dphq >= RISE) | (dgad >= RISE)) & (rbp >= 0.1) & (rlm >= 0.1)
    return Outcome(holds, np.minimum(np.maximum(dphq, dgad), 100 * np.minimum(rbp, rlm)),
                   f"gut->brain: PHQ-9 {dphq[0]:+.2f}, GAD-7 {dgad[0]:+.2f} points after antibiotics; brain->gut: pathobionts {100 * rbp[0]:+.0f} %, "
                   f"L/M {100 * rlm[0]:+.0f} % under work stress (reference)",
                   {"dphq9_antibiotic": float(dphq[0]), "dgad7_antibiotic": float(dgad[0]), "pathobiont_change_stress": float(rbp[0]),
                    "lm_change_stress": float(rlm[0])})


@claim("C2", "Inducing dysbiosis in a patient with no psychiatric history raises anxiety and depression indices.",
       "patients with minimal baseline scores (GAD-7 < 5 and PHQ-9 < 5, day 0-7); western diet (dysbiosis: pathobionts up >= 25 %) "
       "raises both GAD-7 and PHQ-9 by >= 0.5 points (days 60-90) vs healthy.", ["western", "healthy"])
def c2(d):
    h, x = d["healthy"], d["western"]
    premise = (w(h, "gad7", 0, 7) < 5) & (w(h, "phq9", 0, 7) < 5)
    dys = w(x, "Bp", 60, 90) / w(h, "Bp", 60, 90) - 1 >= 0.25
    dg, dp = w(x, "gad7", 60, 90) - w(h, "gad7", 60, 90), w(x, "phq9", 60, 90) - w(h, "phq9", 60, 90)
    return Outcome(dys & (dg >= RISE) & (dp >= RISE), np.minimum(dg, dp),
                   f"GAD-7 {dg[0]:+.2f}, PHQ-9 {dp[0]:+.2f} points after 60-90 days of western diet (reference)",
                   {"dgad7": float(dg[0]), "dphq9": float(dp[0])}, applicable=premise)


@claim("C3", "Dysbiosis can raise mood indices while digestive symptoms stay mild.",
       "western diet days 60-90: PHQ-9 or GAD-7 rises >= 0.5 points vs healthy while the GI-symptom index stays <= 3 of 10 (mild).",
       ["western", "healthy"])
def c3(d):
    h, x = d["healthy"], d["western"]
    rise = np.maximum(w(x, "phq9", 60, 90) - w(h, "phq9", 60, 90), w(x, "gad7", 60, 90) - w(h, "gad7", 60, 90))
    gi = w(x, "gi_symptoms", 60, 90)
    return Outcome((rise >= RISE) & (gi <= 3), rise, f"mood score +{rise[0]:.2f} points with GI-symptom index {gi[0]:.1f}/10 (reference)",
                   {"mood_rise": float(rise[0]), "gi_symptom_index": float(gi[0])})


@claim("C4", "Dysbiosis lowers neurotransmitter availability (tryptophan/serotonin balance, GABA signal).",
       "western diet days 60-90 vs healthy: brain serotonin-availability index and GABA-signal index both lower by >= 1 %.",
       ["western", "healthy"])
def c4(d):
    h, x = d["healthy"], d["western"]
    r5 = w(x, "serotonin_brain", 60, 90) / w(h, "serotonin_brain", 60, 90) - 1
    rg = w(x, "gaba_signal", 60, 90) / w(h, "gaba_signal", 60, 90) - 1
    return Outcome((r5 <= -0.01) & (rg <= -0.01), 100 * np.maximum(r5, rg),
                   f"serotonin availability {100 * r5[0]:+.1f} %, GABA signal {100 * rg[0]:+.1f} % (reference)",
                   {"serotonin_change": float(r5[0]), "gaba_change": float(rg[0])})


@claim("C5", "Chronic low-grade inflammation, far below acute-infection levels, is enough to raise the indices.",
       "4 weeks of low-dose endotoxin: IL-6 stays < 10 pg/mL (acute bolus peaks ~700) and PHQ-9 or GAD-7 (days 21-35) rises >= 0.5 points.",
       ["low_grade", "healthy"])
def c5(d):
    h, x = d["healthy"], d["low_grade"]
    il6 = x["IL6"].sel(day=slice(7, 34)).max("day").values.astype(float)
    rise = np.maximum(w(x, "phq9", 21, 35) - w(h, "phq9", 21, 35), w(x, "gad7", 21, 35) - w(h, "gad7", 21, 35))
    return Outcome((il6 < 10) & (rise >= RISE), rise,
                   f"IL-6 at most {il6[0]:.2f} pg/mL (daily mean), mood score +{rise[0]:.2f} points (reference)",
                   {"il6_max_daily_mean": float(il6[0]), "mood_rise": float(rise[0]),
                    "il6_healthy": float(w(h, "IL6", 21, 35)[0])})


@claim("C6", "A compromised barrier lets bacterial fragments into the blood and activates the immune system.",
       "western diet days 60-90 vs healthy: tight-junction integrity lower, plasma endotoxin >= 20 % higher, activated monocytes "
       ">= 20 % higher and IL-6 higher.", ["western", "healthy"])
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
       "2 ng/kg endotoxin bolus: KYN/TRP peaks >= 10 % above its pre-bolus value within 24 h (human data: about +50 %, peak ~8 h).",
       ["endotoxin"])
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


def _dysregulated(ds, h, a, b):
    """Still away from the patient's own unstressed state (the same patient under the reference scenario)."""
    return ((w(ds, "phq9", a, b) - w(h, "phq9", a, b) >= 3) | (w(ds, "gad7", a, b) - w(h, "gad7", a, b) >= 3)
            | (w(ds, "Bp", a, b) >= 2 * w(h, "Bp", a, b)))


@claim("C8", "Stress and gut damage form a self-reinforcing cycle: after a long stressor ends, some patients stay dysregulated (hysteresis).",
       "stressor 0.8 for 8 weeks (days 7-63): 55-62 days after it ends, a patient is dysregulated if PHQ-9 or GAD-7 is >= 3 points "
       "above, or pathobionts >= 2x, the same patient's values without the stressor; the claim holds if any plausible virtual "
       "patient is (cohort), or the reference patient is. (Corrected after a first cohort run: an earlier version also counted "
       "absolute PHQ-9/GAD-7 >= 10, which labelled patients already above 10 without any stressor as 'dysregulated'.)", ["long_stress", "healthy"] + [f"stress_{k}d" for k in STRESS_DURATIONS])
def c8(d):
    h = d["healthy"]
    dys = _dysregulated(d["long_stress"], h, 118, 125)
    fr = {}
    for k in STRESS_DURATIONS:
        end = 7 + k
        x = d[f"stress_{k}d"]
        v = _dysregulated(x, h, end + 55, end + 60)
        # over the virtual patients with results (not screened out as implausible, no solver failure)
        has = np.isfinite(w(x, "phq9", end + 55, end + 60)) & np.isfinite(w(h, "phq9", end + 55, end + 60))
        fr[k] = float(v[1:][has[1:]].mean()) if has[1:].any() else float(v[0])
    return Outcome(dys, w(d["long_stress"], "phq9", 118, 125) - w(h, "phq9", 118, 125),
                   f"reference {'still' if dys[0] else 'not'} dysregulated 60 days after an 8-week stressor; cohort fraction by stressor length: "
                   + ", ".join(f"{k} d: {100 * v:.0f} %" for k, v in fr.items()),
                   {"fraction_dysregulated_by_duration": fr}, cohort_rule="some")


def _locked(d):
    v = d["vicious_none"]
    return w(v, "phq9", 53, 60) >= 10


@claim("C9", "In a locked-in patient, stress reduction alone does less than stress reduction plus gut repair.",
       "locked-in = PHQ-9 >= 10 after 60 days of western diet + work stress; from day 60 the stressor halves and therapy starts "
       "(stress reduction) with or without fibre-rich diet + probiotic (gut repair); PHQ-9 on days 166-180 is >= 0.5 points lower "
       "with gut repair.", ["vicious_none", "vicious_therapy", "vicious_both"])
def c9(d):
    gain = w(d["vicious_therapy"], "phq9", 166, 180) - w(d["vicious_both"], "phq9", 166, 180)
    return Outcome(gain >= RISE, gain, f"gut repair adds {gain[0]:.2f} PHQ-9 points of improvement over stress reduction alone (reference)",
                   {"extra_improvement": float(gain[0])}, applicable=_locked(d))


@claim("C10", "Routine labs (glucose, CRP below 3 mg/L, standard blood counts) can stay in reference range while mood indices are elevated.",
       "under work stress or western diet (days 56-70): GAD-7 >= 10 or PHQ-9 >= 10 while CRP < 3 mg/L, daily-mean glucose 3.9-7.8 mmol/L "
       "and activated monocytes below 10 % of the resting pool's endotoxin-response peak (<100 cells/uL).", ["work_stress", "western"])
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
       "by days 140-150 pathobionts <= 1.1x healthy and beneficial groups >= 0.9x healthy.", ["western_then_fibre", "healthy"])
def c11(d):
    h, x = d["healthy"], d["western_then_fibre"]
    up = (w(x, "Bp", 50, 60) >= 1.25 * w(h, "Bp", 50, 60)) & (w(x, "beneficial", 50, 60) < w(h, "beneficial", 50, 60))
    back = (w(x, "Bp", 140, 150) <= 1.1 * w(h, "Bp", 140, 150)) & (w(x, "beneficial", 140, 150) >= 0.9 * w(h, "beneficial", 140, 150))
    rel = w(x, "Bp", 50, 60) / w(h, "Bp", 50, 60)
    return Outcome(up & back, rel, f"pathobionts x{rel[0]:.2f} on western diet; x{(w(x, 'Bp', 140, 150) / w(h, 'Bp', 140, 150))[0]:.2f} after "
                                   "12 weeks of fibre-rich diet (reference)", {"pathobiont_ratio_western": float(rel[0])})


@claim("C12", "Supporting beneficial bacteria (probiotics/prebiotics) lowers the indices.",
       "8 weeks of probiotic (10 bn CFU/day): PHQ-9 and GAD-7 on days 56-70 both lower than healthy (any amount >= 0.05 points).",
       ["probiotic", "healthy"])
def c12(d):
    h, x = d["healthy"], d["probiotic"]
    dp, dg = w(x, "phq9", 56, 70) - w(h, "phq9", 56, 70), w(x, "gad7", 56, 70) - w(h, "gad7", 56, 70)
    return Outcome((dp <= -0.05) & (dg <= -0.05), np.maximum(dp, dg), f"PHQ-9 {dp[0]:+.2f}, GAD-7 {dg[0]:+.2f} points (reference)",
                   {"dphq9": float(dp[0]), "dgad7": float(dg[0])})


@claim("C13", "Blood-sugar crashes trigger stress hormones that raise permeability and anxiety together; stable meals reduce the spikes.",
       "high-GI meals vs stable low-GI meals (days 7-14): counter-regulation (adrenaline/glucagon index), hypoglycaemic symptoms, "
       "GAD-7 and L/M all higher with high-GI meals, each by >= 5 % (GAD-7 by >= 0.1 points).", ["high_gi", "stable_meals"])
def c13(d):
    a, b = d["high_gi"], d["stable_meals"]
    rcr = w(a, "CR", 7, 14) / w(b, "CR", 7, 14) - 1
    rhs = w(a, "hypo_symptoms", 7, 14) / np.maximum(w(b, "hypo_symptoms", 7, 14), 1e-12) - 1
    dg = w(a, "gad7", 7, 14) - w(b, "gad7", 7, 14)
    rlm = w(a, "lm_ratio", 7, 14) / w(b, "lm_ratio", 7, 14) - 1
    holds = (rcr >= 0.05) & (rhs >= 0.05) & (dg >= 0.1) & (rlm >= 0.05)
    return Outcome(holds, dg, f"counter-regulation {100 * rcr[0]:+.0f} %, hypoglycaemic symptoms {100 * rhs[0]:+.0f} %, GAD-7 {dg[0]:+.2f}, "
                              f"L/M {100 * rlm[0]:+.1f} % with high-GI meals (reference)",
                   {"cr_change": float(rcr[0]), "hypo_change": float(rhs[0]), "dgad7": float(dg[0]), "lm_change": float(rlm[0])})


@claim("C14", "A healthy gut raises vagal calming signal; an inflamed gut lowers it and raises sympathetic arousal.",
       "vs healthy: after 12 weeks of fibre-rich diet (days 140-150 of western-then-fibre) vagal tone is higher; on western diet "
       "(days 60-90) vagal tone is lower and sympathetic arousal higher.", ["western", "western_then_fibre", "healthy"])
def c14(d):
    h, x, f = d["healthy"], d["western"], d["western_then_fibre"]
    up = w(f, "VAG", 140, 150) > w(h, "VAG", 140, 150)
    dv = w(x, "VAG", 60, 90) / w(h, "VAG", 60, 90) - 1
    ds_ = w(x, "SNS", 60, 90) / w(h, "SNS", 60, 90) - 1
    return Outcome(up & (dv < 0) & (ds_ > 0), 100 * dv,
                   f"vagal tone {100 * (w(f, 'VAG', 140, 150) / w(h, 'VAG', 140, 150) - 1)[0]:+.0f} % with a healthy gut; "
                   f"{100 * dv[0]:+.0f} % vagal, {100 * ds_[0]:+.0f} % sympathetic with an inflamed gut (reference)",
                   {"vagal_change_western": float(dv[0]), "sns_change_western": float(ds_[0])})


def _recovery_times(d):
    v, both = d["vicious_none"], d["vicious_both"]
    start = w(v, "phq9", 53, 60)
    target = w(d["vicious_none"], "phq9", 0, 7)
    excess = np.maximum(start - target, 1e-9)
    series = both["phq9"].sel(day=slice(60, 179)).values.astype(float)
    frac = (start[:, None] - series) / excess[:, None]
    days = np.arange(series.shape[1])
    first = np.array([days[np.argmax(r >= 0.2)] if np.any(r >= 0.2) else np.nan for r in frac])
    full = np.array([days[np.argmax(r >= 0.8)] if np.any(r >= 0.8) else np.nan for r in frac])
    jump = np.nanmax(np.abs(np.diff(frac, axis=1)), axis=1)
    return first, full, jump, frac


@claim("C15", "Improvement begins within weeks; fuller recovery takes months; progress is gradual.",
       "locked-in patients given therapy + gut repair from day 60: 20 % of the PHQ-9 excess resolved within 6 weeks; 80 % resolved no "
       "sooner than 6 weeks and within the 4-month follow-up; no single day resolves more than 15 % of the excess.",
       ["vicious_none", "vicious_both"])
def c15(d):
    first, full, jump, frac = _recovery_times(d)
    locked = _locked(d)
    holds = (first <= 42) & (full >= 42) & np.isfinite(full) & (jump <= 0.15)
    cohort = locked.copy()
    cohort[0] = False
    curve = {"reference": frac[0].tolist(), "cohort_median": np.median(frac[cohort], axis=0).tolist() if cohort.any() else None}
    return Outcome(holds, full, f"first improvement after {first[0]:.0f} days, 80 % recovery after {full[0]:.0f} days (reference)",
                   {"days_to_first_improvement": float(first[0]), "days_to_80pct_recovery": float(full[0]), "max_daily_step": float(jump[0]),
                    "recovery_curve": curve}, applicable=locked)


@claim("C16", "Gut repair complements psychological care: combining both beats either alone.",
       "locked-in patients: PHQ-9 on days 166-180 with therapy + gut repair is >= 0.5 points below both therapy alone and gut repair alone.",
       ["vicious_none", "vicious_therapy", "vicious_gut", "vicious_both"])
def c16(d):
    both = w(d["vicious_both"], "phq9", 166, 180)
    alone = np.minimum(w(d["vicious_therapy"], "phq9", 166, 180), w(d["vicious_gut"], "phq9", 166, 180))
    gain = alone - both
    return Outcome(gain >= RISE, gain, f"combination beats the better single arm by {gain[0]:.2f} PHQ-9 points (reference)",
                   {"advantage": float(gain[0]), "phq9_both": float(both[0]), "phq9_best_single": float(alone[0])}, applicable=_locked(d))


@claim("C17", "Gut-driven anxiety is reversible for many but not all patients (a responder fraction below 100 %).",
       "locked-in patients given therapy + gut repair: responder = GAD-7 and PHQ-9 both < 5, or both halved, on days 166-180; the claim "
       "holds if 50 % <= responder fraction < 100 %.", ["vicious_none", "vicious_both"])
def c17(d):
    v, b = d["vicious_none"], d["vicious_both"]
    g0, p0 = w(v, "gad7", 53, 60), w(v, "phq9", 53, 60)
    g1, p1 = w(b, "gad7", 166, 180), w(b, "phq9", 166, 180)
    resp = ((g1 < 5) & (p1 < 5)) | ((g1 <= 0.5 * g0) & (p1 <= 0.5 * p0))
    return Outcome(resp, p1 - p0, f"reference {'responds' if resp[0] else 'does not respond'}: GAD-7 {g0[0]:.1f} -> {g1[0]:.1f}, "
                                  f"PHQ-9 {p0[0]:.1f} -> {p1[0]:.1f}", {"gad7_after": float(g1[0]), "phq9_after": float(p1[0])},
                   applicable=_locked(d), cohort_rule="many-not-all")
