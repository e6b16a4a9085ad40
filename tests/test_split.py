"""The block-split BDF (``method="BDF-split"``, the default): structure, agreement with the unsplit solvers, reuse, failures."""

import numpy as np
import pytest

import gutbrain
from gutbrain.scenarios import Episode, Meal, Scenario, get
from gutbrain.solvers import numba_bdf, scipy_backend, split
from gutbrain.solvers.scipy_backend import SolverFailure

pytest.importorskip("numba")


@pytest.fixture(scope="module")
def model():
    return gutbrain.load_model()


def _warm(m, scenario, days=3.0):
    """A state on the scenario baseline's periodic orbit (LSODA, tight), so reuse can happen from day 0."""
    base = get(scenario).baseline() if isinstance(scenario, str) else scenario.baseline()
    ts = np.array([0.0, 24.0 * days])
    return scipy_backend.integrate(m.structure, m.y0, m.param_vector, base.schedule(days), ts, rtol=1e-9,
                                   atol=1e-11 * m.state_scales, method="LSODA")[-1]


def _check_agreement(m, y, ref, atol, peer=None):
    """The metric of test_numba_bdf: 1e-3 relative to max(|ref|, 1e-6 scale), plus a few atol where the absolute
    tolerance governs the step control (the stomach's solid carbohydrate between meals); with ``peer`` (the unsplit
    BDF at the same tolerance), errors up to twice the peer's also pass (a state crossing zero, e.g. Yins)."""
    err = np.abs(y - ref)
    bound = 1e-3 * np.maximum(np.abs(ref), 1e-6 * m.state_scales) + 10 * atol
    if peer is not None:
        bound = np.maximum(bound, 2 * np.abs(peer - ref))
    assert np.all(err <= bound)


def test_partition_is_the_glucose_block(model):
    s = model.structure
    part = split.partition(s)
    names = [st.name for st in s.states]
    assert {names[i] for i in part.upstream} == {st.name for st in s.states if st.module == "glucose"}
    assert {names[i] for i in part.coupling} == {"Gp", "CR"}
    assert set(part.upstream) | set(part.downstream) == set(range(len(names)))
    inputs = [i.name for i in s.inputs]
    assert {inputs[i] for i in part.upstream_inputs} == {"carb_rate", "meal_gi", "meal_carbs"}
    assert not {"carb_rate", "meal_gi", "meal_carbs"} & {inputs[i] for i in part.downstream_inputs}
    # the upstream block really reads nothing downstream: its rows of the symbolic Jacobian
    down = set(part.downstream)
    assert not [(i, j) for i, j, _ in s.jacobian if i in part.upstream and j in down]


@pytest.mark.parametrize(("scenario", "days"), [("chronic-work-stress", 16.0), ("endotoxin-bolus-2ngkg", 3.0),
                                           ("antibiotic-course", 12.0), ("high-gi-meals", 4.0)])
def test_agrees_with_lsoda_and_the_unsplit_bdf(model, scenario, days):
    m = model
    sc = get(scenario)
    y0 = _warm(m, sc)
    sched = sc.schedule(days)
    ts = np.linspace(0.0, 24.0 * days, int(days * 8) + 1)
    atol = 1e-8 * m.state_scales
    ref = scipy_backend.integrate(m.structure, y0, m.param_vector, sched, ts, rtol=1e-9, atol=1e-11 * m.state_scales,
                                  method="LSODA")
    y, info = split.integrate(m.structure, y0, m.param_vector, sched, ts, rtol=1e-6, atol=atol, return_stats=True)
    full = numba_bdf.integrate(m.structure, y0, m.param_vector, sched, ts, rtol=1e-6, atol=atol)
    _check_agreement(m, y, ref, atol, peer=full)
    assert info["days_computed"] + info["days_reused"] == int(np.ceil(days))
    if days >= 6:  # the glucose block settles onto its periodic orbit within ~2 days; later days are reused
        assert info["days_reused"] >= days - 4


def test_periodic_meals_compute_few_days_and_changing_meals_compute_each(model):
    m = model
    y0 = _warm(m, get("healthy-baseline"))
    ts = np.linspace(0.0, 24.0 * 10, 41)
    atol = 1e-8 * m.state_scales
    _, info = split.integrate(m.structure, y0, m.param_vector, get("healthy-baseline").schedule(10), ts, rtol=1e-6,
                              atol=atol, return_stats=True)
    assert info["days_computed"] <= 3 and info["days_reused"] >= 7
    # breakfast moves by 20 minutes every day: no day repeats, every day is computed, and the result still agrees
    meals = (*tuple(Meal(time=6.0 + k / 3.0, carbs=60, start_day=k, end_day=k + 1) for k in range(6)), Meal(time=12.5, carbs=80), Meal(time=19.0, carbs=80))
    sc = Scenario(name="shifting-breakfast", meals=meals, diet=get("healthy-baseline").diet, days=6)
    sched = sc.schedule(6)
    ts = np.linspace(0.0, 24.0 * 6, 6 * 24 + 1)
    y, info = split.integrate(m.structure, y0, m.param_vector, sched, ts, rtol=1e-6, atol=atol, return_stats=True)
    assert info["days_computed"] == 6
    ref = scipy_backend.integrate(m.structure, y0, m.param_vector, sched, ts, rtol=1e-9, atol=1e-11 * m.state_scales,
                                  method="LSODA")
    full = numba_bdf.integrate(m.structure, y0, m.param_vector, sched, ts, rtol=1e-6, atol=atol)
    _check_agreement(m, y, ref, atol, peer=full)


def test_odd_output_times_fractional_horizon_and_odd_switches(model):
    m = model
    sc = Scenario(name="odd", diet=get("healthy-baseline").diet, days=2.5,
                  meals=(Meal(time=7.37, carbs=55, minutes=11), Meal(time=13.01, carbs=90, gi=80), Meal(time=18.93, carbs=40)),
                  episodes=(Episode("stress", 0.7, 0.3, 1.1, label="odd stressor"),))
    y0 = _warm(m, sc)
    ts = np.arange(0.0, 2.5 * 24 + 1e-9, 0.7)
    ts[-1] = 2.5 * 24
    atol = 1e-8 * m.state_scales
    y = scipy_backend.integrate(m.structure, y0, m.param_vector, sc.schedule(2.5), ts, rtol=1e-6, atol=atol, method="BDF-split")
    ref = scipy_backend.integrate(m.structure, y0, m.param_vector, sc.schedule(2.5), ts, rtol=1e-9,
                                  atol=1e-11 * m.state_scales, method="LSODA")
    assert y.shape == ref.shape and np.all(np.isfinite(y))
    np.testing.assert_array_equal(y[0], y0)
    full = numba_bdf.integrate(m.structure, y0, m.param_vector, sc.schedule(2.5), ts, rtol=1e-6, atol=atol)
    _check_agreement(m, y, ref, atol, peer=full)


def test_failure_names_the_block(model):
    m = model
    ts = np.linspace(0.0, 24.0, 3)
    with pytest.raises(SolverFailure, match=r"BDF-split \(upstream block\) failed on .*max_steps"):
        split.integrate(m.structure, m.y0, m.param_vector, get("healthy-baseline").schedule(1.0), ts, rtol=1e-6,
                        atol=1e-8 * m.state_scales, max_steps=5)


def test_simulate_uses_it_by_default(model):
    ds = gutbrain.simulate(model, "healthy-baseline", days=2, output_every=6, warmup_days=2)
    assert ds.attrs["solver"] == "numba-bdf-split"
    ref = gutbrain.simulate(model, "healthy-baseline", days=2, output_every=6, warmup_days=2, method="LSODA")
    for v in ("cortisol_nmol", "IL6", "glucose", "phq9"):
        np.testing.assert_allclose(ds[v].values, ref[v].values, rtol=1e-3)


def test_without_an_upstream_block_it_is_the_unsplit_bdf(model, monkeypatch):
    """A structure with no upstream block (partition None) falls back to BDF-numba: identical results."""
    m = model
    ts = np.linspace(0.0, 24.0, 9)
    kw = dict(rtol=1e-6, atol=1e-8 * m.state_scales)
    sched = get("healthy-baseline").schedule(1.0)
    monkeypatch.setattr(split, "partition", lambda structure: None)
    y = split.integrate(m.structure, m.y0, m.param_vector, sched, ts, **kw)
    ref = numba_bdf.integrate(m.structure, m.y0, m.param_vector, sched, ts, **kw)
    np.testing.assert_array_equal(y, ref)
