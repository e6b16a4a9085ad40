"""Questionnaire scores on the instruments' time scales (model/scores.py; docs/design.md, "Symptom scores").

GAD-7 and PHQ-9 ask about the last two weeks and the GI-symptom scale about the last week, so the
scores are Erlang-chain recall windows of the instantaneous state measures. These tests pin the
numbers: within-day swing, memory after a stressor, the chain's closed form, its distance from an
exact boxcar window, initial values, and SciPy/JAX agreement on the new states.
"""

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.stats import gamma

import gutbrain
from gutbrain.model.scores import CHAINS, N_STAGES

WINDOW_DAYS = {"gad7": 14.0, "phq9": 14.0, "gi_symptoms": 7.0}


@pytest.fixture(scope="module")
def work_stress(model):
    # stressor 08:00-19:00 from day 14 to day 98, then relief
    return gutbrain.simulate(model, "chronic-work-stress", days=112, output_every=0.5)


@pytest.fixture(scope="module")
def life_stressor(model):
    # continuous stressor 0.8 from day 7 to day 63
    return gutbrain.simulate(model, "stress-then-recovery", days=77, output_every=1.0)


def _max_within_day_range(ds, var, first_day, last_day):
    t, x = ds.time.values, ds[var].values
    return max(float(np.ptp(x[(t >= d) & (t <= d + 1)])) for d in range(first_day, last_day))


def _boxcar(t_d, x, w):
    """Exact trailing mean over [t - w, t] of the piecewise-linear interpolant (x before t[0] held at x[0])."""
    c = np.concatenate([[0.0], np.cumsum(np.diff(t_d) * (x[1:] + x[:-1]) / 2)])
    lo = t_d - w
    return (c - np.interp(np.maximum(lo, t_d[0]), t_d, c) + np.clip(t_d[0] - lo, 0, None) * x[0]) / w


# --- the scores move on the questionnaires' time scale ------------------------------------------------

@pytest.mark.parametrize("score", ["gad7", "phq9"])
def test_recall_scores_change_less_than_a_point_within_any_day(work_stress, score):
    # during the stressor, after its first two weeks (days 28-98)
    swing = _max_within_day_range(work_stress, score, 28, 98)
    assert swing < 1.0, swing  # measured: GAD-7 0.22, PHQ-9 0.32
    # the stressor moves the score well beyond that (several times the largest within-day swing). Measured with the
    # PHQ-9 map fitted to the population distribution (T30/T31; K_phq9 4.7): GAD-7 +8.9, PHQ-9 +2.3 points (swings
    # 0.17 and 0.04). Before that fit the check was "> 5 points", which PHQ-9 met with the old map (reference 3.45)
    t = work_stress.time.values
    rise = np.mean(work_stress[score].values[(t >= 84) & (t < 98)]) - np.mean(work_stress[score].values[t < 14])
    assert rise > max(1.5, 10 * swing), (rise, swing)


def test_state_measures_remain_available_and_vary_within_a_day(work_stress):
    assert _max_within_day_range(work_stress, "gad7_state", 28, 98) > 5.0  # measured 8.8 (08:00-19:00 stressor)
    assert _max_within_day_range(work_stress, "gi_symptoms_state", 28, 98) > 1.0  # measured 2.8
    assert _max_within_day_range(work_stress, "gi_symptoms", 28, 98) < 0.2  # its 7-day score: 0.03
    for v in ("gad7_state", "phq9_state", "gi_symptoms_state"):
        assert work_stress[v].attrs["kind"] == "observable"
        assert "not a questionnaire score" in work_stress[v].attrs["long_name"]
    for v, days in (("gad7", 14), ("phq9", 14), ("gi_symptoms", 7)):
        assert f"{days}-day recall" in work_stress[v].attrs["long_name"]


@pytest.mark.parametrize(("fixture", "end", "baseline_days"), [("life_stressor", 63, (0, 7)), ("work_stress", 98, (0, 14))])
@pytest.mark.parametrize("score", ["gad7", "phq9"])
def test_recall_scores_still_carry_a_quarter_of_the_excess_a_week_after_the_stressor(request, fixture, end, baseline_days, score):
    ds = request.getfixturevalue(fixture)
    t = ds.time.values
    base = float(np.mean(ds[score].values[(t >= baseline_days[0]) & (t < baseline_days[1])]))
    excess = float(np.interp(end, t, ds[score].values)) - base
    left = (float(np.interp(end + 7, t, ds[score].values)) - base) / excess
    # a visible excess first (measured, life stressor / work stress: GAD-7 15.0 / 8.9, PHQ-9 6.1 / 2.5 points; the
    # PHQ-9 map fitted to T30/T31 keeps a reference adult with chronic job strain below the mild band)
    assert excess > 1.5
    assert left >= 0.25, left  # measured: GAD-7 0.47 (both scenarios), PHQ-9 1.05 / 1.00
    if score == "gad7":
        # the window remembers more than the state measure does: the instantaneous anxiety index keeps only what the
        # slow states (mast-cell density, GR, plasticity) carry, 0.14-0.16 of its excess; the window at least doubles that
        # (measured: 0.47 in both scenarios)
        s = ds["gad7_state"].values
        s_base = float(np.mean(s[(t >= baseline_days[0]) & (t < baseline_days[1])]))
        state_left = (np.interp(end + 7, t, s) - s_base) / (np.interp(end, t, s) - s_base)
        assert state_left < 0.5 * left, (state_left, left)


# --- the chain itself ------------------------------------------------------------------------------

@pytest.mark.parametrize("score", list(CHAINS))
def test_chain_step_response_is_the_gamma_cdf(model, score):
    """Integrate the model's own chain equations after a step of the state measure: the score is the
    Erlang (gamma) CDF with shape N_STAGES and the tabulated stage time constant, to solver accuracy."""
    prefix, tau_name, _ref, _period = CHAINS[score]
    st = model.structure
    names = [f"{prefix}{k}" for k in range(1, N_STAGES + 1)]
    x = sp.Symbol("x_step", real=True)
    state_measure = getattr(st.namespace, f"{score}_state")
    rhs = [st.rates[n].subs(state_measure, x) for n in names]
    tau = model.parameters[tau_name].value
    syms = [sp.Symbol(n, real=True) for n in names]
    subs = {sp.Symbol(tau_name, real=True): tau}
    f = sp.lambdify([syms, x], [r.subs(subs) for r in rhs])
    assert all(r.free_symbols <= set(syms) | {x} for r in (r.subs(subs) for r in rhs))
    x0, x1 = 2.0, 12.0
    t = np.linspace(0, 60 * 24, 601)
    sol = solve_ivp(lambda _t, y: f(y, x1), (0, t[-1]), [x0] * N_STAGES, t_eval=t, rtol=1e-10, atol=1e-12, method="LSODA")
    exact = x0 + (x1 - x0) * gamma.cdf(t, N_STAGES, scale=tau)
    np.testing.assert_allclose(sol.y[-1], exact, atol=1e-6 * (x1 - x0))
    # mean delay = mean lag of the uniform recall window (half the window)
    assert N_STAGES * tau == pytest.approx(24 * WINDOW_DAYS[score] / 2)


@pytest.mark.parametrize("score", list(CHAINS))
def test_chain_is_close_to_the_boxcar_window_in_closed_form(model, score):
    """Unit step: max |Erlang CDF - boxcar ramp| <= 0.1 of the step; daily oscillation: gain <= 0.003
    (the boxcar's is 0); first two moments of the kernel equal the boxcar's (mean W/2, variance W^2/12)."""
    w = WINDOW_DAYS[score]
    tau_d = model.parameters[CHAINS[score][1]].value / 24
    t = np.linspace(0, 5 * w, 50001)
    step_err = float(np.max(np.abs(gamma.cdf(t, N_STAGES, scale=tau_d) - np.clip(t / w, 0, 1))))
    assert step_err == pytest.approx(0.098, abs=0.002)
    gain = (1 + (2 * np.pi * tau_d) ** 2) ** (-N_STAGES / 2)
    assert gain < 0.003  # 14-day windows 3.2e-4, 7-day 2.5e-3
    assert N_STAGES * tau_d ** 2 == pytest.approx(w ** 2 / 12)


@pytest.mark.parametrize("score", list(CHAINS))
def test_model_scores_follow_an_exact_boxcar_of_the_state_measure(model, work_stress, score):
    """Under chronic-work-stress (step on at day 14 and off at day 98, daily stressor in between) the model's
    score differs from the exact trailing boxcar mean of its state measure by no more than the kernels allow:
    |Erlang * x - boxcar * x| <= (L1 distance of the two kernels) / 2 x (range of x), whatever x is (both kernels
    integrate to 1). During the steady stressor the difference stays below one point, the scores' resolution."""
    w = WINDOW_DAYS[score]
    tau_d = model.parameters[CHAINS[score][1]].value / 24
    s = np.linspace(0, 10 * w, 200001)
    l1 = float(np.trapezoid(np.abs(gamma.pdf(s, N_STAGES, scale=tau_d) - (s <= w) / w), s))  # 0.49
    t = work_stress.time.values
    x = work_stress[f"{score}_state"].values
    err = np.abs(work_stress[score].values - _boxcar(t, x, w))
    assert float(np.max(err[t >= w])) <= l1 / 2 * float(np.ptp(x))  # measured: GAD-7 1.06 <= 3.66, PHQ-9 0.20, GI 0.38
    during = (t >= 28) & (t < 98)
    assert float(np.max(err[during])) < 1.0  # measured: GAD-7 0.50, PHQ-9 0.17, GI 0.02


# --- wiring ------------------------------------------------------------------------------------------

def test_initial_stage_values_are_the_reference_steady_state(model):
    ds = gutbrain.simulate(model, "healthy-baseline", days=2, warmup_days=365)
    y0 = dict(zip(model.state_names, model.y0, strict=True))
    for score, (prefix, *_rest) in CHAINS.items():
        mean_state = float(ds[f"{score}_state"].mean())
        for k in range(1, N_STAGES + 1):
            assert y0[f"{prefix}{k}"] == pytest.approx(mean_state, rel=2e-3), (score, k)
            # after the warm-up the chain sits there too (within 0.5 %: the depression index still drifts by
            # a few thousandths over weeks, and the chain lags it by a week)
            assert float(ds[f"{prefix}{k}"].isel(time=0)) == pytest.approx(y0[f"{prefix}{k}"], rel=5e-3)


def test_physiology_reads_no_questionnaire_score(model):
    """Only the chains read the chain states: feedbacks (e.g. GI symptoms on perceived stress) use the
    instantaneous state measures."""
    st = model.structure
    chain = {f"{p}{k}" for p, *_ in CHAINS.values() for k in range(1, N_STAGES + 1)}
    chain_syms = {sp.Symbol(n, real=True) for n in chain}
    for s, rhs in zip(st.states, st.rhs, strict=True):
        if s.name not in chain:
            assert not rhs.free_symbols & chain_syms, s.name
    assert sp.Symbol("GI_3", real=True) not in st.rates["PS"].free_symbols


def test_scipy_and_jax_agree_on_the_recall_states(model):
    # from the nominal state without warm-up the indices move within hours, so the chains move too
    kw = dict(days=3.0, output_every=2.0, warmup_days=0, rtol=1e-8, atol=1e-10)
    a = gutbrain.simulate(model, "public-speech-stress", backend="scipy", **kw)
    b = gutbrain.simulate(model, "public-speech-stress", backend="jax", **kw)
    chain = [f"{p}{k}" for p, *_ in CHAINS.values() for k in range(1, N_STAGES + 1)]
    for v in [*chain, "gad7", "phq9", "gi_symptoms", "gad7_state", "phq9_state", "gi_symptoms_state"]:
        np.testing.assert_allclose(b[v].values, a[v].values, rtol=1e-5, atol=1e-7, err_msg=v)
    assert float(np.ptp(a["GAD7_1"].values)) > 1e-3  # the comparison is not of constants
