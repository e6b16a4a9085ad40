"""Slow memory with published forms: GR self-induction (Gupta et al. 2007), mast-cell density, neuroplasticity.

Every expected number here is derived from the parameters (a closed-form root count, an analytic half-life),
not tuned to the simulation; the simulation is measured and compared with it (docs/design.md, "Slow memory").
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gutbrain
from gutbrain.analysis import bistability as bi

# Gupta, Aslakson, Gurbaxani & Vernon 2007, scaled model (their eqs. 9-12; CellML gupta_aslakson_gurbaxani_vernon_2007)
GUPTA = {"kcd": 1.0, "ki1": 0.1, "kad": 10.0, "ki2": 0.1, "kcr": 0.05, "krd": 0.9, "K": 0.001}
STRESS_END = 63.0  # stress-then-recovery: stressor 0.8 from day 7 for 56 days


def _gupta_healthy_state():
    """The authors' low-GR (healthy) steady state (o*, R*) without stress, by root finding on their equations."""
    from scipy.optimize import brentq

    g = GUPTA

    def o_of(r):
        return brentq(lambda o: o - 1 / (g["kcd"] * (1 + o / g["ki1"])) / (g["kad"] * (1 + o * r / g["ki2"])), 1e-9, 10)

    def f(r):
        x = o_of(r) * r
        return x ** 2 / (g["K"] + x ** 2) + g["kcr"] - g["krd"] * r

    r = brentq(f, 1e-3, 0.2)
    return o_of(r), r


def _gr_cubic_roots(model, cort_ratio, excess, inflam):
    """Positive real roots of the GR equation at fixed 24-h cortisol, in closed form.

    k_gr [f + (1-f) (cG)^2 (K^2+1)/(K^2+(cG)^2) - G] - k_loss G (excess + a inflam) = 0, multiplied by
    (K^2 + c^2 G^2): -(1+L) c^2 G^3 + c^2 [f + (1-f)(K^2+1)] G^2 - (1+L) K^2 G + f K^2 = 0, L = k_loss (...)/k_gr."""
    p = {k: model.parameters[k].value for k in ("k_gr", "k_gr_loss", "K_gr_self", "f_gr_basal", "a_gr_inflam")}
    K2, f, c2 = p["K_gr_self"] ** 2, p["f_gr_basal"], cort_ratio ** 2
    L = p["k_gr_loss"] * (excess + p["a_gr_inflam"] * inflam) / p["k_gr"]
    roots = np.roots([-(1 + L) * c2, c2 * (f + (1 - f) * (K2 + 1)), -(1 + L) * K2, f * K2])
    return np.sort(roots[(np.abs(roots.imag) < 1e-9) & (roots.real > 0)].real)


def _cortisol_excess(model, ratio):
    k = model.parameters["K_gr_cort"].value
    z = ratio - 1
    sp_ = (z + math.sqrt(z * z + (0.01 * k) ** 2)) / 2  # smooth_pos of core.hill_excess
    r = (sp_ / k) ** 2
    return r / (1 + r)


@pytest.fixture(scope="module")
def recovery(model):
    return _recovery(model)


@pytest.fixture(scope="module")
def recovery_open_loop(model):
    """The same run with the perceived-stress feedbacks of anxiety and GI symptoms cut (ps_anxiety = ps_gi = 0):
    the stressor's end is then a clean step of the CRH drive, and each slow state relaxes by its own equation."""
    return _recovery(model.with_params(ps_anxiety=0.0, ps_gi=0.0))


def _recovery(model):
    ds = gutbrain.simulate(model, "stress-then-recovery", days=200, output_every=0.5)
    t = ds.time.values

    def daily(v):
        y = ds[v].values
        return np.array([y[(t >= d) & (t < d + 1)].mean() for d in range(200)])

    return {v: daily(v) for v in ("MCd", "NP", "GR", "lm_ratio", "plasma_endotoxin", "Bp", "DEP")}


def _excess(series):
    return series - series[1:7].mean()  # over the pre-stress days 1-6


def _tail_half_life(series, a, b):
    """Half-life (days) of the excess over the pre-stress baseline between days a and b (log-linear)."""
    e = _excess(series)
    return (b - a) * math.log(2) / math.log(e[a] / e[b])


def test_gr_self_induction_is_gupta_mapped_at_their_healthy_state(model):
    """The mapped K_gr_self and f_gr_basal follow from the authors' scaled values and their healthy steady state,
    and at that state's cortisol the gutbrain GR equation (no resistance drivers) has the authors' three steady
    states, scaled by R*: low (healthy, = 1), unstable middle and high (the hypocortisolic state)."""
    from scipy.optimize import brentq

    o, r = _gupta_healthy_state()
    assert (o, r) == pytest.approx((0.0597, 0.0809), rel=2e-3)
    assert model.parameters["K_gr_self"].value == pytest.approx(math.sqrt(GUPTA["K"]) / (o * r), rel=1e-3)
    assert model.parameters["f_gr_basal"].value == pytest.approx(GUPTA["kcr"] / (GUPTA["krd"] * r), rel=1e-3)

    def gupta_fixed_o(rr):
        x = o * rr
        return x ** 2 / (GUPTA["K"] + x ** 2) + GUPTA["kcr"] - GUPTA["krd"] * rr

    grid = np.linspace(1e-3, 2.0, 4001)
    v = gupta_fixed_o(grid)
    theirs = [brentq(gupta_fixed_o, grid[i], grid[i + 1]) / r for i in np.where(np.sign(v[:-1]) != np.sign(v[1:]))[0]]
    ours = _gr_cubic_roots(model, 1.0, 0.0, 0.0)
    assert len(theirs) == len(ours) == 3
    assert ours == pytest.approx(theirs, rel=2e-3)
    assert ours[0] == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("ratio", [0.6, 1.0, 1.5, 2.0])
def test_gr_steady_states_at_fixed_cortisol_match_the_closed_form(model, ratio):
    """Root count and roots of the model's own GR rate (generated from the SymPy equations, all resistance drivers
    at the reference) at a fixed 24-h mean cortisol equal the closed-form cubic's."""
    _, f_gr = bi._hpa_gr_functions(model)
    cref = model.parameters["cort_ref"].value
    y = [1.0, 20.0, ratio * cref, ratio * cref]  # CRH, ACTH, CORT, CORTavg (the GR rate reads CORTavg only)
    w6, wt = model.parameters["w6"].value, model.parameters["w_TNF"].value
    inflam = (math.log((wt + 1e-3) / wt) + math.log((w6 + 1e-3) / w6)) / 2
    expected = _gr_cubic_roots(model, ratio, _cortisol_excess(model, ratio), inflam)
    grid = np.geomspace(1e-3, 200, 200001)
    rate = np.array(f_gr(y, grid), dtype=float)
    idx = np.where(np.sign(rate[:-1]) != np.sign(rate[1:]))[0]
    found = grid[idx] - rate[idx] * (grid[idx + 1] - grid[idx]) / (rate[idx + 1] - rate[idx])
    assert len(found) == len(expected)
    assert found == pytest.approx(expected, rel=1e-3)


def test_hpa_gr_subsystem_is_monostable_across_the_bounds(model):
    """With the HPA loop closed (cortisol falls as GR function rises: GR feedback at CRH and ACTH), the
    HPA + GR subsystem at the reference inputs has one stable steady state at the corners of the evidence
    bounds of K_gr_self x f_gr_basal and at the reference, which sits near GR = 1 and the reference cortisol."""
    scan = bi.gr_scan([3.0, 15.0], [0.5, 0.9], model)
    assert scan["n_stable"] == [[1, 1], [1, 1]]
    ref = scan["reference"]
    assert ref["stable"] == [True] and ref["gr"][0] == pytest.approx(1.0, abs=0.05)
    assert ref["cortisol"][0] == pytest.approx(model.parameters["cort_ref"].value, rel=0.05)


def test_mast_cell_density_decays_with_its_half_life(model, recovery_open_loop):
    """After 8 weeks of stress 0.8 the mast-cell density has built up; once the stressor ends (a clean step with the
    perceived-stress feedbacks cut) it relaxes first-order, so its measured half-life equals ln 2 / k_mcd. (With the
    feedbacks, anxiety keeps some stress drive for a while: 23.0 days measured against 21.0.)"""
    mcd = recovery_open_loop["MCd"]
    a = model.parameters["a_mcd_crh"].value
    assert 1 + 0.5 * a < mcd[62] < 1 + a  # built towards 1 + a_mcd_crh x stress CRH drive (about 0.8)
    analytic = math.log(2) / model.parameters["k_mcd"].value / 24
    assert _tail_half_life(mcd, int(STRESS_END) + 7, int(STRESS_END) + 42) == pytest.approx(analytic, rel=0.05)


def test_neuroplasticity_recovers_over_weeks(model, recovery_open_loop):
    """The plasticity deficit halves no faster than ln 2 x tau_np (pure relaxation once inflammation and cortisol
    excess end) and within 1.5 times that (the residual drivers of the first weeks slow it, docs/design.md)."""
    np_ = recovery_open_loop["NP"]  # with the perceived-stress feedbacks: 59 days, analytic 39
    deficit = -_excess(np_)
    d0 = deficit[int(STRESS_END)]
    assert d0 > 0.2
    half = next(d for d in range(int(STRESS_END), 200) if deficit[d] <= 0.5 * d0) - STRESS_END
    analytic = math.log(2) * model.parameters["tau_np"].value / 24
    assert analytic <= half + 1 <= 1.5 * analytic


def test_barrier_snap_back_now_takes_weeks(model, recovery, recovery_open_loop):
    """After the stressor the fast parts (acute mast-cell activation, tight junctions, pathobionts) recover within
    days; what remains of the L/M and plasma-endotoxin excess is carried by the mast-cell density, so in weeks
    4-6 after the stressor it halves no faster than ln 2 / k_mcd (within 20 %). Pathobionts inherit part of it
    through mucosal inflammation (tail half-life at least half that of the mast cells). The tails are read on the
    open-loop run; with the perceived-stress feedbacks the faster decay of anxiety mixes in (L/M tail 14 days) while
    the excess four weeks on is larger (22 % against 12 %)."""
    t_mc = math.log(2) / model.parameters["k_mcd"].value / 24
    a, b = int(STRESS_END) + 21, int(STRESS_END) + 42
    for v in ("lm_ratio", "plasma_endotoxin"):  # the open-loop run isolates the mast-cell tail
        assert _excess(recovery_open_loop[v])[a] > 0
        assert _tail_half_life(recovery_open_loop[v], a, b) >= 0.8 * t_mc, v
    assert _tail_half_life(recovery_open_loop["Bp"], a, b) >= 0.5 * t_mc
    # four weeks after the stressor L/M is still raised by at least 10 % of its baseline
    assert _excess(recovery["lm_ratio"])[int(STRESS_END) + 28] > 0.1 * recovery["lm_ratio"][1:7].mean()
