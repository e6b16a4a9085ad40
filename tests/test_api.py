"""The researcher's API: start-from-state and reduced runs, virtual trials and cross-sections."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import gutbrain as gb
from gutbrain.calibration.stats import bootstrap_ci, cohen_d
from gutbrain.cohort import sample_patients
from gutbrain.errors import InputError
from gutbrain.simulation import reduce_daily, reduce_summary

TIGHT = dict(rtol=1e-8, atol=1e-10)


def _max_scaled_diff(model, a: xr.Dataset, b: xr.Dataset) -> float:
    """Largest |a - b| / (|a| + the state's typical magnitude) over every state and time."""
    scales = np.asarray(model.state_scales)
    return max(float(np.max(np.abs(a[s.name].values - b[s.name].values) / (np.abs(a[s.name].values) + scales[j])))
               for j, s in enumerate(model.states))


@pytest.fixture(scope="module")
def stress_runs(model):
    full = gb.simulate(model, "stress-then-recovery", days=40, output_every=6.0, **TIGHT)
    head = gb.simulate(model, "stress-then-recovery", days=20, output_every=6.0, **TIGHT)
    return full, head


def test_branching_off_a_run_equals_the_uninterrupted_run(model, stress_runs):
    full, head = stress_runs
    # the stressor (days 7-63) is running at the branch day: the continuation must carry it on the scenario clock
    tail = gb.simulate(model, "stress-then-recovery", initial=head, days=20, output_every=6.0, **TIGHT)
    assert tail.attrs["start_day"] == 20.0 and tail.attrs["initial"] == "given"
    assert tail.time.values[0] == pytest.approx(20.0) and tail.time.values[-1] == pytest.approx(40.0)
    assert _max_scaled_diff(model, full.sel(time=tail.time.values), tail) < 1e-6


def test_state_forms_agree(model, stress_runs):
    _, head = stress_runs
    last = head.isel(time=-1)
    vec = np.array([float(last[s.name]) for s in model.states])
    as_dict = {s.name: float(last[s.name]) for s in model.states}
    a = gb.simulate(model, "stress-then-recovery", initial=last, start_day=20, days=2, output_every=6.0, **TIGHT)
    b = gb.simulate(model, "stress-then-recovery", initial=vec, start_day=20, days=2, output_every=6.0, **TIGHT)
    c = gb.simulate(model, "stress-then-recovery", initial=as_dict, start_day=20, days=2, output_every=6.0, **TIGHT)
    for s in ("CORT", "phq9", "IL6"):
        np.testing.assert_array_equal(a[s].values, b[s].values)
        np.testing.assert_array_equal(a[s].values, c[s].values)


def test_start_day_without_initial_reads_the_scenario_clock(model):
    # started at day 30 of stress-then-recovery, the stressor is on from the first hour; started at day 0 it is not
    late = gb.simulate(model, "stress-then-recovery", start_day=30, days=1, output_every=6.0)
    early = gb.simulate(model, "stress-then-recovery", days=8, output_every=6.0).sel(time=slice(0, 1))
    assert np.all(late["input_stress"].values > 0) and np.all(early["input_stress"].values == 0)
    assert late.time.values[0] == 30.0


def test_daily_and_summary_reductions_equal_reductions_of_the_full_output(model):
    ps = sample_patients(model, 3, seed=4)
    kw = dict(start_day=14, days=4, output_every=2.0)  # the stressor's first days
    full = gb.simulate(ps, "chronic-work-stress", **kw)
    daily = gb.simulate(ps, "chronic-work-stress", **kw, reduce="daily", chunk_size=2)
    again = reduce_daily(full)
    for v in ("CORT", "CORT_min", "CORT_max", "phq9", "gad7_state_max", "input_stress"):
        np.testing.assert_allclose(daily[v].values, again[v].values, rtol=1e-12)
    t = full.time.values
    day = (t > 16) & (t <= 17)
    np.testing.assert_allclose(daily["CORT"].sel(day=16).values, full["CORT"].values[:, day].mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(daily["CORT_max"].sel(day=16).values, full["CORT"].values[:, day].max(axis=1), rtol=1e-12)
    assert daily["input_stress"].sel(day=15).item() > 0
    summ = gb.simulate(ps, "chronic-work-stress", **kw, reduce="summary", observables=["CORT", "phq9"])
    assert set(summ.data_vars) == {f"{v}_{r}" for v in ("CORT", "phq9") for r in ("mean", "min", "max", "final")} | {"status"}
    ref = reduce_summary(full)
    for v in summ.data_vars:
        if v != "status":
            np.testing.assert_allclose(summ[v].values, ref[v].values, rtol=1e-12)
    np.testing.assert_allclose(summ["phq9_final"].values, full["phq9"].isel(time=-1).values, rtol=1e-12)


def test_a_custom_reducer_is_applied_per_chunk(model):
    ps = sample_patients(model, 3, seed=1)
    out = gb.simulate(ps, "healthy-baseline", days=2, reduce=lambda ds: ds[["CORT"]].max("time"), chunk_size=1)
    full = gb.simulate(ps, "healthy-baseline", days=2)
    np.testing.assert_allclose(out["CORT"].values, full["CORT"].max("time").values, rtol=1e-12)


def test_observables_selects_and_names_unknowns(model):
    ds = gb.simulate(model, "healthy-baseline", days=1, observables=["CORT", "phq9"])
    assert {"CORT", "phq9", "status"} <= set(ds.data_vars) and "IL6" not in ds
    with pytest.raises(InputError, match="CRP"):
        gb.simulate(model, "healthy-baseline", days=1, observables=["CPR"])


@settings(max_examples=15, deadline=None)
@given(bad=st.one_of(st.just("soon"), st.floats(max_value=-1e-3), st.just(float("nan")), st.just(True), st.floats(min_value=4000)))
def test_bad_start_day_is_refused(model, bad):
    with pytest.raises(InputError, match="start_day"):
        gb.simulate(model, "healthy-baseline", days=1, start_day=bad)


def test_bad_initial_states_are_refused_with_a_fix(model):
    n = len(model.states)
    for bad, what in ((np.ones(n - 1), "shape"), ({"CORT": 1.0}, "missing"), ({"CROT": 1.0}, "CORT"),
                      (np.full(n, np.nan), "non-finite"), ("warm", "array")):
        with pytest.raises(InputError, match=what):
            gb.simulate(model, "healthy-baseline", days=1, initial=bad)
    two = sample_patients(model, 2, seed=0)
    one = gb.simulate(two, "healthy-baseline", days=1)
    with pytest.raises(InputError, match="patients"):
        gb.simulate(sample_patients(model, 3, seed=0), "healthy-baseline", days=1, initial=one)
    with pytest.raises(InputError, match="reduce"):
        gb.simulate(model, "healthy-baseline", days=1, reduce="weekly")


# --- virtual experiments ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_cohort(model):
    return sample_patients(model, 6, seed=3)


def test_trial_equals_the_arms_run_by_hand(model, small_cohort):
    arms = {"placebo": "healthy-baseline", "probiotic": "probiotic-8-weeks"}
    res = gb.trial(arms, small_cohort, ["phq9", "gad7"], day=70, seed=3, output_every=24.0)
    pl = gb.simulate(small_cohort, "healthy-baseline", days=70, output_every=24.0)
    pr = gb.simulate(small_cohort, "probiotic-8-weeks", days=70, output_every=24.0)
    for var in ("phq9", "gad7"):
        a, b = pr[var].sel(time=70).values, pl[var].sel(time=70).values
        d, ci = res.effect("probiotic", var)
        assert d == pytest.approx(cohen_d(a, b), rel=1e-12)
        assert ci == pytest.approx(bootstrap_ci(cohen_d, a, b, paired=True, seed=3))
    assert res.n_patients == 6 and res.control == "placebo"
    assert res.to_dict()["effects"]["gad7"]["probiotic"]["value"] == pytest.approx(res.effect("probiotic", "gad7")[0])


def test_trial_shared_run_in_equals_running_each_arm_from_day_zero(model, small_cohort):
    arms = {"placebo": "healthy-baseline", "probiotic": "probiotic-8-weeks"}
    sc = gb.scenarios.get("probiotic-8-weeks")
    run_in = min(e.start_day for e in sc.episodes)
    assert run_in > 0
    kw = dict(day=40, seed=0, output_every=24.0, rtol=1e-8)
    shared = gb.trial(arms, small_cohort[:3], "gad7", run_in_days=run_in, **kw)
    separate = gb.trial(arms, small_cohort[:3], "gad7", **kw)
    for arm in arms:
        np.testing.assert_allclose(shared.values["gad7"][arm], separate.values["gad7"][arm], rtol=1e-6)
    with pytest.raises(InputError, match="differs"):
        gb.trial(arms, small_cohort[:3], "gad7", day=40, run_in_days=run_in + 1)


def test_trial_responders_and_input_checks(model, small_cohort):
    arms = {"a": "healthy-baseline", "b": "healthy-baseline"}
    res = gb.trial(arms, small_cohort[:4], "phq9", day=2, responder=lambda end, start: end < start)
    ds = gb.simulate(small_cohort[:4], "healthy-baseline", days=2)
    expected = float(np.mean(ds["phq9"].sel(time=2).values < ds["phq9"].isel(time=0).values))
    assert res.responders["phq9"] == {"a": expected, "b": expected}
    assert res.effect("b")[0] == pytest.approx(0.0, abs=1e-12)  # identical arms
    for bad, what in (({"only": "healthy-baseline"}, "arms"),):
        with pytest.raises(InputError, match=what):
            gb.trial(bad, small_cohort, "phq9", day=2)
    with pytest.raises(InputError, match="endpoint"):
        gb.trial(arms, small_cohort, "phq10", day=2)
    with pytest.raises(InputError, match="control"):
        gb.trial(arms, small_cohort, "phq9", day=2, control="c")
    with pytest.raises(InputError, match="day"):
        gb.trial(arms, small_cohort, "phq9", day=-3)


def test_cross_section_equals_the_population_runs(model, small_cohort):
    from gutbrain.cohort.population import cross_section_population

    xs = gb.cross_section(small_cohort, day=10, seed=2)
    assert xs.sizes["adult"] == 6 and set(np.unique(xs["diet"].values)) <= {"prudent", "mixed", "western"}
    for idx, _key, ds in cross_section_population(small_cohort, seed=2, days=10, workers=1):
        last = ds.sel(time=slice(9.0, 10.0))
        np.testing.assert_allclose(xs["phq9"].values[idx], last["phq9"].mean("time").values, rtol=1e-12)
        h8 = int(np.argmin(np.abs((last.time.values - 9.0) * 24 - 8.0)))
        np.testing.assert_allclose(xs["morning_cortisol"].values[idx], last["CORT"].values[:, h8], rtol=1e-12)
    same = gb.cross_section(small_cohort[:2], "western-diet", day=5)
    assert set(same["diet"].values) == {"western-diet"}
    with pytest.raises(InputError, match="exposures"):
        gb.cross_section(small_cohort[:2], "no-such-life", day=5)


def test_nothing_outside_simulation_reaches_into_it_or_into_a_solver():
    """The package's own claims, cohort, analysis, calibration and web code use the public simulate API only."""
    import ast
    from pathlib import Path

    root = Path(gb.__file__).parent
    bad = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel == "simulation.py" or rel.startswith("solvers/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                names = [a.name for a in node.names]
                if mod.endswith("simulation") and any(n.startswith("_") for n in names):
                    bad.append(f"{rel}: from {mod} import {names}")
                if mod.endswith("solvers.registry"):  # the public face of the solvers (solvers as values)
                    continue
                if "solvers" in mod.split(".") or (mod in ("", "gutbrain") and "solvers" in names):
                    bad.append(f"{rel}: from {mod} import {names}")
    assert bad == []


def test_errors_survive_pickling():
    """An error raised in a worker process reaches the caller with its fields (pickled across the pool)."""
    import pickle

    from gutbrain.errors import InputError, ParameterError, ScenarioError, SolverFailure

    for err in (InputError("days", -1, "a positive number", "pass days > 0"), ParameterError("k", 2, "0-1"),
                ScenarioError("scenario", "x", "a name", "choose one")):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)
        assert (back.field, back.value, back.allowed, back.fix) == (err.field, err.value, err.allowed, err.fix)
    assert str(pickle.loads(pickle.dumps(SolverFailure("step underflow at t=3 h")))) == "step underflow at t=3 h"
