"""Statistics of the cohort calibration targets (calibration/stats.py), their CIs and second seed in
evaluate, the report and ``gutbrain calibrate``."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import gammaln
from typer.testing import CliRunner

from gutbrain.calibration import stats
from gutbrain.calibration import targets as tg
from gutbrain.calibration.stats import (
    bootstrap_ci,
    cohen_d,
    hedges_g,
    hedges_g_log,
    km_median,
    share,
)
from gutbrain.cli import app
from gutbrain.errors import InputError

runner = CliRunner()


@stats._batched(lambda x: x.mean(axis=-1))
def mean(x) -> float:
    return float(np.mean(x))


def _flat(text: str) -> str:
    return "".join(text.split())


# --- effect sizes and shares -------------------------------------------------------------------------
def test_cohen_d_of_two_normal_samples_is_the_true_effect_within_sampling_error():
    rng = np.random.default_rng(0)
    n = 5000
    a, b = rng.normal(11.0, 2.0, n), rng.normal(10.0, 2.0, n)  # true d = 0.5
    se = math.sqrt(2 / n + 0.5**2 / (4 * n))
    assert abs(cohen_d(a, b) - 0.5) < 4 * se
    assert cohen_d(b, a) == pytest.approx(-cohen_d(a, b))
    # the textbook formula on a hand-sized example: means 2 and 5, variances 1 and 1 -> d = -3
    assert cohen_d([1.0, 2, 3], [4.0, 5, 6]) == pytest.approx(-3.0)


@pytest.mark.parametrize(("na", "nb"), [(3, 4), (10, 10), (40, 25)])
def test_hedges_g_is_d_times_the_small_sample_factor(na, nb):
    rng = np.random.default_rng(na)
    a, b = rng.normal(1, 1, na), rng.normal(0, 1, nb)
    d, g = cohen_d(a, b), hedges_g(a, b)
    n = na + nb
    assert g / d == pytest.approx(1 - 3 / (4 * n - 9), rel=1e-12)
    assert abs(g) < abs(d)
    # the approximation is within 0.3 % of the exact factor Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)) from df = 5
    df = n - 2
    exact = math.exp(gammaln(df / 2) - gammaln((df - 1) / 2)) / math.sqrt(df / 2)
    assert g / d == pytest.approx(exact, rel=3e-3)


def test_hedges_g_log_is_g_of_the_logs_and_refuses_non_positive_values():
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(1.0, 0.5, 50), rng.lognormal(0.8, 0.5, 60)
    assert hedges_g_log(a, b) == pytest.approx(hedges_g(np.log(a), np.log(b)))
    assert hedges_g_log.batched(a[None, :], b[None, :])[0] == pytest.approx(hedges_g_log(a, b))
    with pytest.raises(InputError, match="positive"):
        hedges_g_log(np.array([1.0, 0.0, 2.0]), b)


def test_share_is_a_percentage():
    assert share(np.array([True, False, False, True])) == 50.0
    assert share([0, 0, 1]) == pytest.approx(100 / 3)


def test_degenerate_samples_give_nan_not_a_warning():
    with np.errstate(all="raise"):
        assert math.isnan(cohen_d([1.0, 1, 1], [1.0, 1]))
        assert math.isnan(hedges_g([1.0], [2.0]))
        # constant groups whose float mean is not exact: rounding noise is no spread either
        assert math.isnan(cohen_d(np.full(7, 0.1), np.full(9, 0.3)))
        assert np.isnan(cohen_d.batched(np.full((2, 7), 0.1), np.full((2, 9), 0.3))).all()


def test_the_old_names_in_targets_are_the_moved_functions():
    assert tg._cohen_d is cohen_d and tg._hedges_g is hedges_g and tg._kaplan_meier_median is km_median


# --- Kaplan-Meier median ---------------------------------------------------------------------------
def test_km_median_of_a_hand_computed_censored_example():
    # t=2: 7 at risk, 1 event -> S = 6/7; t=3: 6 at risk (the one censored at 3 still counts), 1 event -> 5/7;
    # 4 left; t=5: 1 event -> 5/7 * 3/4 = 0.536; t=6 censored -> 2 left; t=8: 1 event -> 0.268 <= 0.5: median 8
    d = np.array([9.0, 2, 3, 3, 5, 6, 8])
    e = np.array([True, True, False, True, True, False, True])
    assert km_median(d, e) == 8.0
    assert km_median(d, np.ones(7, bool)) == 5.0  # no censoring: the 4th of 7 sorted durations
    assert math.isnan(km_median(np.array([]), np.array([], bool)))
    assert math.isnan(km_median([5.0, 6, 7], [True, False, False]))
    with pytest.raises(InputError, match="observed"):
        km_median([1.0, 2.0], [True])


# --- the bootstrap -----------------------------------------------------------------------------------
def test_ci_of_a_mean_of_a_large_normal_sample_matches_normal_theory():
    rng = np.random.default_rng(1)
    x = rng.normal(5.0, 2.0, 2000)
    lo, hi = bootstrap_ci(mean, x, seed=4)
    half = 1.959964 * x.std(ddof=1) / math.sqrt(x.size)
    assert (hi - lo) == pytest.approx(2 * half, rel=0.10)
    assert lo == pytest.approx(x.mean() - half, abs=0.1 * half)
    assert hi == pytest.approx(x.mean() + half, abs=0.1 * half)


def test_ci_coverage_is_near_95_percent():
    rng = np.random.default_rng(7)
    hit_mean = hit_d = 0
    reps = 200
    for k in range(reps):
        x = rng.normal(1.0, 3.0, 30)
        lo, hi = bootstrap_ci(mean, x, n_boot=1000, seed=k)
        hit_mean += lo <= 1.0 <= hi
        a, b = rng.normal(0.5, 1.0, 40), rng.normal(0.0, 1.0, 40)
        lo, hi = bootstrap_ci(cohen_d, a, b, n_boot=1000, seed=k)
        hit_d += lo <= 0.5 <= hi
    assert 0.88 <= hit_mean / reps <= 0.99, hit_mean
    assert 0.88 <= hit_d / reps <= 0.99, hit_d


def test_paired_ci_is_narrower_on_correlated_data():
    rng = np.random.default_rng(2)
    base = rng.normal(10.0, 4.0, 300)  # patients differ a lot; each patient's two arms differ little
    treated, placebo = base - 0.5 + rng.normal(0, 0.5, 300), base + rng.normal(0, 0.5, 300)
    for stat in (cohen_d, lambda a, b: float(a.mean() - b.mean())):
        plo, phi = bootstrap_ci(stat, treated, placebo, paired=True)
        ulo, uhi = bootstrap_ci(stat, treated, placebo, paired=False)
        assert phi - plo < 0.5 * (uhi - ulo)
        assert plo < stat(treated, placebo) < phi


def test_batched_and_looped_statistics_give_the_same_interval():
    rng = np.random.default_rng(5)
    a, b = rng.normal(1, 1, 80), rng.normal(0, 2, 50)
    for stat in (cohen_d, hedges_g):
        assert bootstrap_ci(stat, a, b, seed=3) == pytest.approx(bootstrap_ci(lambda x, y, s=stat: s(x, y), a, b, seed=3))
    assert bootstrap_ci(cohen_d, a, a[::-1], paired=True) == pytest.approx(
        bootstrap_ci(lambda x, y: cohen_d(x, y), a, a[::-1], paired=True))
    assert bootstrap_ci(share, a > 1) == pytest.approx(bootstrap_ci(lambda m: share(m), a > 1))
    assert bootstrap_ci(cohen_d, a, b, seed=3) != bootstrap_ci(cohen_d, a, b, seed=4)


def _every(k: int):
    """A statistic that is NaN on every k-th resample."""
    calls = iter(range(10**9))

    def stat(x):
        return float("nan") if next(calls) % k == 0 else float(np.mean(x))

    return stat


def test_nan_resamples_are_left_out_up_to_ten_percent():
    x = np.random.default_rng(6).normal(0, 1, 50)
    lo, hi = bootstrap_ci(_every(20), x)  # 5 % NaN
    assert lo < x.mean() < hi
    assert all(np.isfinite(bootstrap_ci(_every(10), x)))  # exactly 10 %: still an interval
    assert all(np.isnan(bootstrap_ci(_every(5), x)))  # 20 %: none
    assert all(np.isnan(bootstrap_ci(cohen_d, np.ones(10), np.ones(12))))  # every resample degenerate


def test_a_large_bootstrap_is_fast():
    rng = np.random.default_rng(8)
    a, b = rng.normal(1, 1, 300), rng.normal(0, 1, 700)
    for stat, args, paired in ((cohen_d, (a, b), False), (hedges_g, (a, b), False), (cohen_d, (a, b[:300]), True),
                               (share, (np.concatenate([a, b]) > 1,), False)):
        best = min(_timed(stat, args, paired) for _ in range(3))
        assert best < 1.0, (stat, best)


def _timed(stat, args, paired) -> float:
    t = time.perf_counter()
    bootstrap_ci(stat, *args, paired=paired, n_boot=2000)
    return time.perf_counter() - t


@pytest.mark.parametrize(("call", "needle"), [
    (lambda: bootstrap_ci(mean, np.array([])), "empty"),
    (lambda: bootstrap_ci(cohen_d, [1.0, 2.0], []), "sample 2"),
    (lambda: bootstrap_ci(mean), "samples"),
    (lambda: bootstrap_ci(cohen_d, [1.0, 2, 3], [1.0, 2], paired=True), "paired"),
    (lambda: bootstrap_ci(mean, [1.0, 2], level=1.0), "level"),
    (lambda: bootstrap_ci(mean, [1.0, 2], level=0), "level"),
    (lambda: bootstrap_ci(mean, [1.0, 2], level=95), "level"),
    (lambda: bootstrap_ci(mean, [1.0, 2], n_boot=99), "n_boot"),
    (lambda: bootstrap_ci(mean, [1.0, 2], n_boot=1000.0), "n_boot"),
    (lambda: bootstrap_ci("mean", [1.0, 2]), "statistic"),
    (lambda: bootstrap_ci(mean, np.ones((3, 2))), "one-dimensional"),
    (lambda: cohen_d([], [1.0, 2]), "empty"),
    (lambda: share([]), "mask"),
])
def test_bad_inputs_raise_input_error(call, needle):
    with pytest.raises(InputError, match=needle) as info:
        call()
    assert "Fix:" in str(info.value)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(x=st.lists(finite, min_size=20, max_size=200), seed=st.integers(0, 2**31))
def test_percentile_ci_of_a_mean_contains_the_mean(x, seed):
    # true for the mean: a resample mean falls below the sample mean with probability far above 2.5 % from
    # n = 20 on (one outlier among 20 values: P(not drawn) = (19/20)^20 = 0.36), so the percentiles straddle it
    x = np.array(x)
    if np.ptp(x) < 1e-3:
        return
    lo, hi = bootstrap_ci(mean, x, n_boot=500, seed=seed)
    tol = 1e-9 * np.abs(x).max()
    assert lo - tol <= x.mean() <= hi + tol


@settings(max_examples=40, deadline=None)
@given(a=st.lists(finite, min_size=5, max_size=60), b=st.lists(finite, min_size=5, max_size=60),
       scale=st.floats(0.01, 100), shift=st.floats(-100, 100))
def test_an_affine_change_of_units_leaves_d_and_its_ci_unchanged(a, b, scale, shift):
    a, b = np.array(a), np.array(b)
    if min(np.ptp(a), np.ptp(b)) < 1e-2:
        return
    ci = bootstrap_ci(cohen_d, a, b, n_boot=200, seed=1)
    ci2 = bootstrap_ci(cohen_d, a * scale + shift, b * scale + shift, n_boot=200, seed=1)
    # (nan, nan) when over 10 % of the resamples are degenerate (no spread relative to the means); that test is
    # relative to the means, which a shift changes, so only non-degenerate cases are compared
    assume(not (np.isnan(ci).any() or np.isnan(ci2).any()))
    assert ci2 == pytest.approx(ci, rel=1e-6, abs=1e-6)
    assert np.isnan(ci[0]) == np.isnan(ci[1]) and not ci[0] > ci[1]


# --- evaluate: the (value, how[, ci]) contract and the second seed -----------------------------------
def _fake_cohort(seed: int) -> dict:
    d = -0.2 if seed == 0 else -0.02  # T18 passes on seed 0 and misses on seed 1
    return {"T18": (d, "paired d", (d - 0.1, d + 0.1)), "T19": (-0.1, "paired d", (-0.2, np.float64(0.0))),
            "T20": (0.6, "d, no CI yet"), "T30": (float("nan"), "no value"), "T32": (3.0, "KM", None)}


@pytest.fixture
def fake_targets(monkeypatch):
    calls = []
    monkeypatch.setattr(tg, "reference_values", lambda m: {"T01": (15.0, "peak"), "T12": ([60.0, 25.0, 15.0], "shares")})
    monkeypatch.setattr(tg, "dose_response_values", lambda m: {})
    monkeypatch.setattr(tg, "western_month_value", lambda m: {})

    def cohort(model, n, seed, workers):
        calls.append(seed)
        return _fake_cohort(seed)

    monkeypatch.setattr(tg, "cohort_values", cohort)
    return calls


def test_evaluate_takes_both_forms_and_judges_the_second_seed_by_the_same_rule(fake_targets):
    res = {r.id: r for r in tg.evaluate(None, cohort_n=10, seed=0, second_seed=1)}
    assert fake_targets == [0, 1]
    assert res["T18"].ci == (pytest.approx(-0.3), pytest.approx(-0.1)) and res["T18"].passed
    assert res["T18"].second_seed == {"seed": 1, "value": -0.02, "passed": False, "ci": (pytest.approx(-0.12), pytest.approx(0.08))}
    assert res["T20"].ci is None and res["T20"].second_seed["ci"] is None and res["T20"].second_seed["passed"]
    assert res["T32"].ci is None and not res["T30"].passed and not res["T30"].second_seed["passed"]
    assert res["T01"].second_seed is None and res["T12"].second_seed is None and res["T12"].value == "60:25:15"
    for r in res.values():  # one rule for both seeds
        if r.second_seed is not None:
            assert tg.judge(r.id, r.second_seed["value"], r.tolerance)[0] == r.second_seed["passed"]
    text = json.dumps([r.to_dict() for r in res.values()])
    assert json.loads(text)[0]["second_seed"] is None and isinstance(res["T19"].ci[1], float)


def test_evaluate_without_a_second_seed_or_without_a_cohort(fake_targets):
    res = tg.evaluate(None, cohort_n=10, seed=3)
    assert fake_targets == [3] and all(r.second_seed is None for r in res)
    res = tg.evaluate(None, cohort_n=0, seed=0, second_seed=1)
    assert fake_targets == [3] and {r.id for r in res} == {"T01", "T12"}
    with pytest.raises(InputError, match="second_seed"):
        tg.evaluate(None, cohort_n=10, second_seed=-2)


def test_judge_is_the_report_rule():
    assert tg.judge("T18", -0.24, "-0.45 to -0.05") == (True, -0.24)
    assert tg.judge("T18", -0.5, "-0.45 to -0.05")[0] is False
    passed, shown = tg.judge("T33", float("nan"), "30 to 65")
    assert passed is False and math.isnan(shown)
    assert tg.judge("T16", (8.0, 60.0), "") == (True, "8.00 mmol/L at 60 min")
    assert tg.judge("T17", (45.0, 0.99), "")[0] is True


# --- the report ----------------------------------------------------------------------------------------
def _summary(results):
    from gutbrain.calibration.report import seed_summary

    return {"gutbrain_version": "x", "parameter_hash": "h", "cohort_n": 10, "seed": 0, "targets_passed": sum(r.passed for r in results),
            "targets_total": len(results), **seed_summary(results), "bolus_cytokines_passed": 4,
            "cortisol_curve": {"rmse": 0.5, "r": 0.99, "passed": True}, "parameters_outside_bounds": [],
            "identifiability": {"immune": {"parameters": 3, "numerical_rank": 3, "condition_number": 10.0}}, "elapsed_s": 1.0}


def test_report_table_and_summary_show_the_ci_and_the_second_seed(fake_targets):
    from gutbrain.calibration.report import _html, _markdown

    results = tg.evaluate(None, cohort_n=10, seed=0, second_seed=1)
    s = _summary(results)
    assert s["second_seed"] == 1 and s["verdict_differs"] == ["T18"] and s["same_verdicts_on_both_seeds"] is False
    assert s["targets_passed"] == 6 and s["targets_passed_second_seed"] == 5
    md = _markdown(s, results, {}, [], ["c.png", "k.png"])
    assert "| 95 % CI | second seed (value, result, CI) |" in md
    assert "Same pass/miss list on both seeds: no (verdict differs: T18)" in md
    assert "6 of 7 targets pass on seed 0, 5 of 7 on seed 1" in md
    row = next(line for line in md.splitlines() if line.startswith("| T18 "))
    assert "-0.3 to -0.1" in row and "-0.02, **MISS**, CI -0.12 to 0.08" in row
    assert "raw concentration scale" in md and "does not say" in md and "log concentrations" in md
    assert "not used for the verdict" in md
    assert "95 % CI" in _html(md)
    # without a second seed: no seed line, dashes in the column
    results = tg.evaluate(None, cohort_n=10, seed=0)
    md = _markdown(_summary(results), results, {}, [], ["c.png", "k.png"])
    assert "Same pass/miss list" not in md and "| – |" in md


# --- gutbrain calibrate --------------------------------------------------------------------------------
@pytest.fixture
def fake_report(monkeypatch):
    import gutbrain.calibration.report as rp

    seen = {}

    def write_report(out, model=None, *, cohort_n, seed, workers, second_seed=None):
        seen.update(cohort_n=cohort_n, seed=seed, second_seed=second_seed)
        results = tg.evaluate(None, cohort_n=cohort_n, seed=seed, second_seed=second_seed)
        return {"summary": _summary(results), "targets": [r.to_dict() for r in results]}

    monkeypatch.setattr(rp, "write_report", write_report)
    import gutbrain

    monkeypatch.setattr(gutbrain, "load_model", lambda: None)
    return seen


def test_calibrate_second_seed_defaults_to_seed_plus_one_and_prints_it(fake_targets, fake_report, tmp_path):
    res = runner.invoke(app, ["calibrate", "--cohort", "12", "--report", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert fake_report == {"cohort_n": 12, "seed": 0, "second_seed": 1}
    flat = _flat(res.output)
    assert _flat("T18  PASS  probiotic effect on depression score: -0.2 (tolerance -0.45 to -0.05); 95 % CI [-0.3, -0.1]; "
                 "seed 1: -0.02 MISS, 95 % CI [-0.12, 0.08]") in flat
    assert _flat("seed 1: targets passed 5/7; same pass/miss list on both seeds: no (T18)") in flat
    t01 = flat[flat.index("T01"):flat.index("T12")]  # a reference-patient target: neither
    assert "CI" not in t01 and "seed" not in t01
    t30 = flat[flat.index("T30"):flat.index("T32")]  # a cohort target without a CI
    assert t30.endswith(_flat("seed 1: nan MISS")), t30
    res = runner.invoke(app, ["calibrate", "--cohort", "12", "--seed", "4", "--report", str(tmp_path / "r")])
    assert res.exit_code == 0 and fake_report == {"cohort_n": 12, "seed": 4, "second_seed": 5}
    assert _flat("same pass/miss list on both seeds: yes") in _flat(res.output)


def test_calibrate_second_seed_minus_one_skips_it_and_cohort_zero_needs_none(fake_targets, fake_report, tmp_path):
    res = runner.invoke(app, ["calibrate", "--cohort", "12", "--second-seed", "-1", "--report", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert fake_report["second_seed"] is None and "same pass/miss" not in res.output
    res = runner.invoke(app, ["calibrate", "--cohort", "0", "--report", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert fake_report == {"cohort_n": 0, "seed": 0, "second_seed": None}
    res = runner.invoke(app, ["calibrate", "--cohort", "12", "--second-seed", "7", "--report", str(tmp_path / "r")])
    assert res.exit_code == 0 and fake_report["second_seed"] == 7
    assert _flat("seed 7: targets passed 5/7") in _flat(res.output)


@pytest.mark.parametrize(("args", "needles"), [
    (["--second-seed", "-2"], ["--second-seed", "-1 to skip", "--second-seed 1"]),
    (["--seed", "3", "--second-seed", "-7"], ["--second-seed", "--second-seed 4"]),
    (["--seed", "3", "--second-seed", "3"], ["--second-seed", "other than --seed 3"]),
])
def test_calibrate_refuses_a_bad_second_seed_before_any_work(monkeypatch, tmp_path, args, needles):
    import gutbrain.calibration.report as rp

    def forbidden(*a, **k):
        raise AssertionError("the command started its work before refusing the input")

    monkeypatch.setattr(rp, "write_report", forbidden)
    res = runner.invoke(app, ["calibrate", "--cohort", "12", *args, "--report", str(tmp_path / "r")])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "error:" in res.output and "Fix:" in res.output
    for needle in needles:
        assert _flat(needle) in _flat(res.output), (needle, res.output)
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_calibrate_on_a_tiny_cohort_reports_cis_and_the_second_seed(tmp_path):
    """End to end on 12 virtual patients (two cohorts, about 3 min on 2 cores): the CIs and the second seed reach the
    JSON and the Markdown. Without --runslow, test_calibration.py's report (16 patients) runs the real cohort targets,
    CIs included, through evaluate and the report on one seed."""
    out = tmp_path / "rep"
    res = runner.invoke(app, ["calibrate", "--cohort", "12", "--report", str(out)])
    assert res.exit_code == 0, res.output
    payload = json.loads((out / "calibration.json").read_text())
    s = payload["summary"]
    assert s["second_seed"] == 1 and s["targets_passed_second_seed"] is not None
    by = {t["id"]: t for t in payload["targets"]}
    for tid in ("T18", "T19"):
        lo, hi = by[tid]["ci"]
        assert lo <= by[tid]["value"] <= hi, by[tid]
        assert by[tid]["second_seed"]["seed"] == 1 and len(by[tid]["second_seed"]["ci"]) == 2
    assert "log scale: g =" in by["T21"]["how"] or "too few" in by["T21"]["how"]
    for tid in ("T30", "T31", "T32", "T33"):
        assert by[tid]["second_seed"]["seed"] == 1
    assert by["T01"]["ci"] is None and by["T01"]["second_seed"] is None
    md = (out / "calibration.md").read_text()
    assert "second seed (value, result, CI)" in md and "Same pass/miss list on both seeds:" in md
    assert "95 % CI" in res.output and "seed 1:" in res.output
