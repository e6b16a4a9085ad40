"""Analysis tools: global sensitivity, bistability maps and the personal digital twin."""

from __future__ import annotations

import csv
import json
import warnings
from importlib import resources

import numpy as np
import pytest

from gutbrain.errors import DISCLAIMER, GutbrainError, InputError

sa = pytest.importorskip("gutbrain.analysis.sensitivity")
from gutbrain.analysis import bistability as bi  # noqa: E402
from gutbrain.analysis import twin as tw  # noqa: E402

EXAMPLE = resources.files("gutbrain").joinpath("data/example_diary.csv")
TRUE_EXAMPLE = {"appraisal": 1.4, "hpa_reactivity": 0.8, "w6": 0.9, "tau_dep": 250.0}


# ------------------------------------------------------------------------------------------------
# sensitivity
# ------------------------------------------------------------------------------------------------
def test_prior_quantiles_map_inside_bounds_and_monotone(model):
    names = ["appraisal", "a_pat_inflam", "k_tj_damage", "tau_dep"]
    u = np.linspace(0, 1, 11)[:, None].repeat(len(names), axis=1)
    v = sa.quantiles_to_values(model, names, u)
    for j, n in enumerate(names):
        p = model.parameters[n]
        assert np.all(v[:, j] >= p.lower) and np.all(v[:, j] <= p.upper)
        assert np.all(np.diff(v[:, j]) > 0)
    # a lognormal prior with bounds far out: the median quantile is the reference value
    assert sa.quantiles_to_values(model, ["k_tj_damage"], np.array([[0.5]]))[0, 0] == pytest.approx(
        model.parameters["k_tj_damage"].value, rel=0.05)


def test_parameter_selection_and_output_spec(model):
    grade_l = sa.select_params(model, "grade-L")
    assert grade_l and all(model.parameters[n].grade == "L" for n in grade_l)
    assert all(model.parameters[n].prior_kind != "fixed" for n in sa.select_params(model, "all"))
    assert sa.select_params(model, "appraisal,tau_dep") == ["appraisal", "tau_dep"]
    assert sa.parse_output("PHQ9@day90", model) == ("phq9", 90.0)
    assert sa.parse_output("crp@30", model) == ("CRP", 30.0)
    with pytest.raises(InputError, match="appraisal"):
        sa.select_params(model, "apraisal")
    with pytest.raises(InputError, match="@"):
        sa.parse_output("PHQ9", model)
    with pytest.raises(InputError):
        sa.parse_output("mood@day90", model)


def test_grade_l_summary_line():
    r = sa.SensitivityResult("sobol", "s", "PHQ9@day90", ["a", "b", "c"], ["L", "L", "H"], ["m"] * 3, 64, 100, 1.0,
                             S1=[0.3, 0.2, 0.1], S1_conf=[0.1] * 3, ST=[0.5, 0.3, 0.1], ST_conf=[0.1] * 3)
    assert r.summary.startswith("this result rests mostly on grade-L assumptions")
    r.grades = ["H", "M", "L"]
    assert "grade-H/M" in r.summary
    assert r.top(2) == [("a", "H", 0.5), ("b", "M", 0.3)]


def test_morris_small_run_ranks_and_plots(model, tmp_path):
    res = sa.morris(model, "chronic-work-stress", "PHQ9@day30", ["appraisal", "K_pss"], r=2, workers=1, rtol=1e-4)
    assert res.n_runs == 6 and res.failed_runs == 0
    # appraisal scales perceived stress, which drives depression; K_pss only maps PS to the PSS read-out
    assert res.top(1)[0][0] == "appraisal"
    assert res.mu_star[res.names.index("K_pss")] < 1e-6
    png, html = res.plot(tmp_path / "morris")
    assert png.stat().st_size > 5000
    assert DISCLAIMER in html.read_text()
    assert res.to_dict()["disclaimer"] == DISCLAIMER


# ------------------------------------------------------------------------------------------------
# bistability
# ------------------------------------------------------------------------------------------------
def _consistent(bm):
    """The map's verdicts, region and summary say the same thing (whatever the verdict is)."""
    assert len(bm.bistable) == len(bm.levels)
    on = [x for x, b in zip(bm.levels, bm.bistable, strict=True) if b]
    assert bm.region == ((min(on), max(on)) if on else None)
    assert ("hysteresis" in bm.summary) == bool(on) and ("no bistability" in bm.summary) == (not on)


def test_bistability_map_agrees_with_long_simulations(tmp_path):
    """Gut-loop subtype (steep inflammation -> pathobiont-niche feedback): the map's steady states at no stress,
    from the healthy and the dysregulated start, are where long simulations from those starts settle. Whether the
    two starts settle apart (hysteresis) is the model's answer, reported, not fixed here: with the small pathobiont
    niche overlap of version 2 (docs/design.md, "Proportionate chronic endotoxaemia") the loop lost most of its gain."""
    bm = bi.sweep(bi.SUBTYPE_GUT_LOOP, [0.0, 0.3], settle_days=150, workers=1, label="gut-loop subtype")
    _consistent(bm)
    assert all(0 < x < 1 for br in (bm.healthy, bm.dysregulated) for x in br["pathobiont_share"])
    for branch in ("healthy", "dysregulated"):
        v = bi.validate(bm, 0.0, branch, days=300)
        assert v["agrees"], v
    png, html = bi.plot([bm], tmp_path / "bist")
    assert png.exists() and DISCLAIMER in html.read_text()
    assert bm.to_dict()["disclaimer"] == DISCLAIMER


def test_diet_axis_map_for_the_reference_patient(tmp_path):
    """Diet-quality axis: western (0) to fibre-rich (1). The reference patient has one steady state at each end
    (both starts agree), with more pathobionts on the western diet; a long run confirms the map point."""
    assert bi.diet_quality(0.5) == bi.DIET_ANCHORS[1] and bi.diet_quality(0.0) == bi.DIET_ANCHORS[0]
    with pytest.raises(InputError, match="diet quality"):
        bi.diet_quality(1.5)
    with pytest.raises(InputError, match="axis"):
        bi.sweep(None, [0.0], axis="sleep", settle_days=60, average_days=14)
    bm = bi.sweep(None, [0.0, 1.0], axis="diet", settle_days=80, average_days=14, workers=1, label="reference patient")
    _consistent(bm)
    assert bm.healthy["pathobiont_share"][0] > bm.healthy["pathobiont_share"][1]
    assert "diet quality" in bm.summary
    v = bi.validate(bm, 0.0, "dysregulated", days=160)
    assert v["agrees"], v
    png, html = bi.plot([bm], tmp_path / "diet")
    assert png.exists() and "diet quality" in html.read_text()


def test_reference_patient_scan_over_the_gut_loop_gain(tmp_path):
    """The reference patient's family along the inflammation -> pathobiont-niche gain (all else at the reference),
    at no and mild stress. The patient's own value is always mapped; every row's verdicts agree with its region;
    where a hysteresis region exists, a long run of one point on each branch stays on that branch at the mapped value.
    (Version 2 part 1 had two steady states from a gain of about 0.7; the measured map of the current model is in
    docs/design.md, not fixed here.)"""
    sm = bi.scan("a_pat_inflam", [0.9], [0.0, 0.05, 0.1], settle_days=150, workers=1)
    assert sm.values == [0.4, 0.9] and sm.reference_value == 0.4  # the patient's own value is always mapped
    assert sm.bistable.shape == (2, 3)
    for bm in sm.maps:
        _consistent(bm)
    rows = [v for v, b in zip(sm.values, sm.bistable.any(axis=1), strict=True) if b]
    assert sm.onset == (min(rows) if rows else None)
    checks = sm.validate_region(days=300)
    if sm.onset is None:
        assert checks == [] and "one steady state everywhere" in sm.summary
    else:
        assert [c["branch"] for c in checks] == ["healthy", "dysregulated"] and all(c["agrees"] for c in checks), checks
        assert "hysteresis region" in sm.summary
    assert sm.prior_distance(0.9) == pytest.approx(5.0)  # normal prior, SD 0.1
    png, html = bi.plot_scan(sm, tmp_path / "scan")
    assert png.stat().st_size > 5000 and DISCLAIMER in html.read_text()
    assert sm.to_dict()["disclaimer"] == DISCLAIMER
    assert sm.to_dict()["onset_prior_sd"] == (None if sm.onset is None else pytest.approx(sm.prior_distance(sm.onset)))


def test_scan_bad_input():
    with pytest.raises(InputError, match="scan parameter"):
        bi.scan("a_pat_inflamm", [0.5], [0.0])
    with pytest.raises(GutbrainError, match="a_pat_inflam"):
        bi.scan("a_pat_inflam", [7.0], [0.0])  # outside the evidence bounds 0-5
    with pytest.raises(InputError, match="other than the patient's own"):
        bi.scan("a_pat_inflam", [0.4], [0.0])
    with pytest.raises(InputError, match="set by the scan"):
        bi.scan("a_pat_inflam", [0.5], [0.0], params={"a_pat_inflam": 1.0})
    from gutbrain.analysis.cli import _parse_scan

    assert _parse_scan("auto") == "auto" and _parse_scan("none") is None
    assert _parse_scan("a_pat_inflam=0.4:1.2:5") == ("a_pat_inflam", [0.4, 0.6, 0.8, 1.0, 1.2])
    assert _parse_scan("a_pat_inflam=0.5, 0.8") == ("a_pat_inflam", [0.5, 0.8])
    for bad in ("a_pat_inflam", "a_pat_inflam=1:0.5:3", "a_pat_inflam=0.4:1.2:100", "a_pat_inflam=x,y", "a=0:1"):
        with pytest.raises(InputError, match="--scan"):
            _parse_scan(bad)


@pytest.mark.slow
def test_reference_patient_is_monostable_and_full_map():
    maps = bi.run(None, levels=[0.0, 0.1, 0.2, 0.3, 0.4], settle_days=200)
    assert maps[0].region is None and "no bistability" in maps[0].summary
    assert maps[1].region is not None and all(v["agrees"] for v in maps[1].validation)


# ------------------------------------------------------------------------------------------------
# twin: diary handling
# ------------------------------------------------------------------------------------------------
def _rows():
    with EXAMPLE.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(tmp_path, rows, name="d.csv"):
    p = tmp_path / name
    with p.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return p


def test_example_diary_reads_cleanly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = tw.read_diary(EXAMPLE)
    assert d.n_days == 60 and set(d.observed()) == {"mood", "gad2", "gi_symptoms", "cortisol_am", "crp"}


@pytest.mark.parametrize(("edit", "match"), [
    (lambda r: [{k: v for k, v in x.items() if k != "stress"} for x in r], "stress"),
    (lambda r: [{**x, "date": "03/04/2024"} if i == 3 else x for i, x in enumerate(r)], "line 5, date"),
    (lambda r: [{**x, "mood": "12"} if i == 5 else x for i, x in enumerate(r)], r"line 7, mood"),
    (lambda r: [{**x, "gi_symptoms": "bad"} if i == 2 else x for i, x in enumerate(r)], "a number"),
    (lambda r: [*r, dict(r[-1])], "one row per day"),
    (lambda r: r[:10], "at least 14 days"),
    (lambda r: [{k: v for k, v in x.items() if k != "mood"} for x in r], "mood"),
])
def test_malformed_diaries_get_clear_errors(tmp_path, edit, match):
    with pytest.raises(InputError, match=match):
        tw.read_diary(_write(tmp_path, edit(_rows())))


def test_gaps_and_empty_cells_are_carried_forward_with_a_warning(tmp_path):
    rows = _rows()
    del rows[10:13]  # three missing days
    rows[20]["sleep_hours"] = ""
    rows[21]["mood"] = ""
    with pytest.warns(tw.DiaryWarning) as caught:
        d = tw.read_diary(_write(tmp_path, rows))
    said = " | ".join(str(w.message) for w in caught)
    assert "3 missing day" in said and "empty input cells carried forward: sleep_hours on 1 day(s)" in said
    assert d.n_days == 60
    assert np.isnan(d.data["mood"][11]) and d.data["stress"][11] == d.data["stress"][9]
    i = 23  # rows[20] is day 23 after the gap
    assert d.data["sleep_hours"][i] == d.data["sleep_hours"][i - 1]
    assert np.isnan(d.data["mood"][i + 1])


def test_diary_scenario_follows_the_diary():
    d = tw.read_diary(EXAMPLE)
    s = tw.diary_scenario(d, extra_days=14)
    sched = s.schedule(s.days)
    names = [i.name for i in __import__("gutbrain").load_model().inputs]
    for day in (0, 17, 59):
        u = sched.at(24.0 * day + 12.0)
        assert u[names.index("stress")] == pytest.approx(d.data["stress"][day] / 10)
        assert u[names.index("fibre")] == pytest.approx(d.data["fibre_servings"][day] * tw.FIBRE_G_PER_SERVING)
        assert u[names.index("sleep_hours")] == pytest.approx(d.data["sleep_hours"][day])
    tail = tw.habitual_inputs(d, slice(46, None))
    assert sched.at(24.0 * 65)[names.index("stress")] == pytest.approx(tail["stress"])


# ------------------------------------------------------------------------------------------------
# twin: fit and what-if
# ------------------------------------------------------------------------------------------------
def test_small_fit_recovers_parameters_and_what_if(model, tmp_path):
    true = {"appraisal": 1.5, "tau_dep": 250.0}
    d = tw.synthetic_diary(true, days=30, seed=3, model=model, cortisol_every=0, crp_days=())
    f = tw.fit(d, ["appraisal", "tau_dep"], model=model, max_nfev=12)
    lo, hi = f.interval(0.9)
    # the fit moves from the prior median (1.0) most of the way to the generating value; coverage over
    # repeated diaries is checked by the slow test below
    assert 1.25 < f.map_values[0] < 1.8 and lo[0] < f.map_values[0] < hi[0]
    assert np.all(np.sqrt(np.diag(f.cov_z)) < 1.0)  # the data inform both parameters
    assert f.rmse["mood"] < 1.6
    wi = tw.what_if(f, d, weeks=2, draws=2, workers=1, model=model)
    assert set(wi.outcomes) == set(tw.ARMS)
    th = wi.outcomes["therapy"]
    assert th["d_phq9"][0] < 0  # therapy lowers predicted PHQ-9
    assert wi.attribution["therapy"]["depression"]["perceived stress"][0] < 0
    png, html = tw.plot_twin(f, d, wi, tmp_path / "twin")
    assert png.exists() and DISCLAIMER in html.read_text()
    assert wi.disclaimer == DISCLAIMER and f.disclaimer == DISCLAIMER


def test_cli_reports_diary_errors(tmp_path):
    from typer.testing import CliRunner

    from gutbrain.cli import app

    rows = [{k: v for k, v in x.items() if k != "gi_symptoms"} for x in _rows()]
    res = CliRunner().invoke(app, ["twin", "fit", str(_write(tmp_path, rows)), "--out", str(tmp_path / "t")])
    assert res.exit_code == 2 and "gi_symptoms" in res.output
    res = CliRunner().invoke(app, ["sensitivity", "chronic-work-stress", "--output", "PHQ9", "--out", str(tmp_path / "s")])
    assert res.exit_code == 2 and "PHQ9@day90" in res.output


def test_cli_bistability_scan_writes_the_phase_map(tmp_path):
    from typer.testing import CliRunner

    from gutbrain.cli import app

    stem = tmp_path / "b"
    res = CliRunner().invoke(app, ["bistability", "--max-stress", "0.05", "--steps", "2", "--settle-days", "60",
                                   "--no-fallback", "--scan", "a_pat_inflam=0.9", "--workers", "1", "--out", str(stem)])
    assert res.exit_code == 0, res.output
    out = json.loads(stem.with_suffix(".json").read_text())
    if out["scan"]["onset"] is None:  # no hysteresis region anywhere in the scan: nothing to check by long runs
        assert out["scan"]["validation"] == [] and "one steady state everywhere" in out["scan"]["summary"]
    else:
        assert "(patient)" in res.output and "long-simulation check" in res.output and len(out["scan"]["validation"]) == 2
    assert "a_pat_inflam" in res.output
    # the verdicts are the model's (they moved with each model change), not the test's: check their form
    assert out["scan"]["values"] == [0.4, 0.9]
    assert [len(row) for row in out["scan"]["bistable"]] == [2, 2]
    assert all(isinstance(b, bool) for row in out["scan"]["bistable"] for b in row)
    assert out["disclaimer"] == DISCLAIMER
    assert (tmp_path / "b-scan.png").exists() and DISCLAIMER in (tmp_path / "b-scan.html").read_text()
    res = CliRunner().invoke(app, ["bistability", "--scan", "a_pat_inflam=1:0:3", "--out", str(stem)])
    assert res.exit_code == 2 and "--scan" in res.output


@pytest.mark.slow
def test_twin_recovery_coverage_over_20_seeds(model):
    """Synthetic 60-day diaries from parameters drawn from the priors, with noise: each personal parameter lies
    inside its 90 % credible interval in at least 80 % of 20 seeded repetitions."""
    from scipy import stats

    hits = {n: 0 for n in tw.DEFAULT_PARAMS}
    for seed in range(20):
        rng = np.random.default_rng(seed)
        true = {}
        for n in tw.DEFAULT_PARAMS:
            p = model.parameters[n]
            sd = p.prior_scale
            a, b = (np.log(p.lower) - np.log(p.value)) / sd, (np.log(p.upper) - np.log(p.value)) / sd
            true[n] = float(np.exp(np.log(p.value) + sd * stats.truncnorm(a, b).rvs(random_state=rng)))
        d = tw.synthetic_diary(true, days=60, seed=seed, model=model)
        f = tw.fit(d, model=model)
        lo, hi = f.interval(0.9)
        for n, a, b in zip(f.params, lo, hi, strict=True):
            hits[n] += int(a <= true[n] <= b)
    assert all(h >= 16 for h in hits.values()), hits


@pytest.mark.slow
def test_example_diary_fit_covers_generating_parameters(model):
    d = tw.read_diary(EXAMPLE)
    f = tw.fit(d, model=model)
    lo, hi = f.interval(0.9)
    inside = [a <= TRUE_EXAMPLE[n] <= b for n, a, b in zip(f.params, lo, hi, strict=True)]
    assert sum(inside) >= 3, json.dumps(f.rows())


def test_what_if_draws_the_population_couplings_each_option_rests_on():
    """The what-if intervals include the prior uncertainty of the couplings that carry each option's effect."""
    import gutbrain
    from gutbrain.analysis.twin.whatif import LEVER_COUPLINGS, carrying_couplings, population_draws

    model = gutbrain.load_model()
    carried = carrying_couplings(model, tw.ARMS["fibre + probiotic"])
    names = [p for p, _ in carried]
    assert set(names) <= set(LEVER_COUPLINGS["fibre_extra_g"]) | set(LEVER_COUPLINGS["probiotic"])
    assert {g for _, g in carried} <= {"H", "M", "L"} and "g_gaba_pro" in names
    assert carrying_couplings(model, tw.ARMS["usual life"]) == []
    draws = population_draws(model, names, 50, seed=0)
    for p in names:
        x = np.array([d[p] for d in draws])
        par = model.parameters[p]
        assert np.all((x >= par.lower) & (x <= par.upper)) and np.std(x) > 0
    assert population_draws(model, names, 50, seed=0) == draws  # reproducible
