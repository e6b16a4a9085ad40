"""A personal digital twin: fit a few personal parameters to a daily diary, then ask "what if".

Diary (CSV, one row per day)
----------------------------
Required columns (case-insensitive; aliases in brackets):

* ``date`` - ISO date ``YYYY-MM-DD``
* ``mood`` - 0-10 (10 = best) **or** ``phq2`` - PHQ-2 score 0-6 (at least one of them)
* ``stress`` - how demanding the day was, 0-10 (model input: stressor intensity = stress / 10, all day)
* ``sleep_hours`` [sleep] - hours slept the night before, 3-12 (values outside are clipped, with a warning)
* ``fibre_servings`` [fiber_servings, fibre] - servings of fibre-rich food (1 serving = 5 g fibre), 0-30
* ``sugar_servings`` [sugar] - servings of sugary food/drink (1 serving = 12.5 g sugar), 0-40
* ``fermented`` [fermented_servings] - servings of fermented food with live cultures, 0-10
* ``gi_symptoms`` [gi] - bloating/discomfort 0-10

Optional: ``gad2`` (GAD-2, 0-6), ``cortisol_am`` [cortisol] (morning salivary/serum cortisol in ug/dL at
08:00, 0.5-60), ``crp`` (mg/L, 0.01-200).

Handling of imperfect diaries: missing columns, unparseable or duplicated dates, non-numeric or
out-of-range values raise :class:`gutbrain.errors.InputError` naming the row and column. Missing
calendar days and empty input cells are filled by carrying the last value forward (a warning lists
them); empty symptom cells are simply not used in the fit. At least 14 days and at most 365 are needed.

Model and fit
-------------
Each diary day becomes one day of inputs (stress, sleep, fibre, sugar, fermented food); the warm-up
(the person's pre-diary steady state) uses the means of the first seven days. A diary rating is
filled in each evening about that day, so it is read as the *state measures* averaged over the
waking day 08:00-20:00 (mood = 10 (1 - phq9_state/27); PHQ-2 = 6 phq9_state/27; GAD-2 =
6 gad7_state/21; GI symptoms = gi_symptoms_state), not as the questionnaires' 14- or 7-day recall
scores, which a daily rating is not; cortisol and CRP are read at 08:00. The what-if outcomes
(PHQ-9 and GAD-7 at the end) are the recall scores, as a clinic would measure them. Errors: Gaussian with SD 1.0 (mood, GI), 0.8 (PHQ-2, GAD-2)
on a latent value that is rounded to an integer and clipped to the scale (the likelihood of an integer rating
is the probability of its rounding interval, open-ended at the scale ends), and log-normal SD 0.25
(cortisol), 0.30 (CRP). The personal parameters (default ``appraisal``,
``hpa_reactivity``, ``w6``, ``tau_dep``; all with log-normal priors) are fitted in standardised log
space z = (log theta - log theta_ref) / sd_prior: MAP by ``scipy.optimize.least_squares`` (prior as
extra residuals, bounds as box constraints), uncertainty by a Laplace approximation with the
Gauss-Newton Hessian J^T J at the MAP. What-if predictions propagate posterior draws.
"""

from __future__ import annotations

from .diary import (
    FIBRE_G_PER_SERVING,
    SUGAR_G_PER_SERVING,
    Diary,
    DiaryWarning,
    diary_scenario,
    habitual_inputs,
    read_diary,
    write_diary,
)
from .fit import DEFAULT_PARAMS, NOISE, TwinFit, fit, predict_observations
from .plot import plot_twin
from .synthetic import synthetic_diary
from .whatif import ARMS, WhatIf, pathway_attribution, what_if

__all__ = ["ARMS", "DEFAULT_PARAMS", "FIBRE_G_PER_SERVING", "NOISE", "SUGAR_G_PER_SERVING", "Diary", "DiaryWarning", "TwinFit", "WhatIf", "diary_scenario", "fit", "habitual_inputs", "pathway_attribution", "plot_twin", "predict_observations", "read_diary", "synthetic_diary", "what_if", "write_diary"]
