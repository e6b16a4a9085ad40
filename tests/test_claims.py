import json

import numpy as np
import pytest
from typer.testing import CliRunner

from gutbrain.claims import CLAIMS, run_claims
from gutbrain.claims.core import _verdict
from gutbrain.cli import app
from gutbrain.errors import InputError


def test_all_seventeen_claims_are_registered():
    from gutbrain.claims import definitions  # noqa: F401

    assert list(CLAIMS) == [f"C{k}" for k in range(1, 18)]
    for c in CLAIMS.values():
        assert c.criterion and c.experiments


@pytest.mark.parametrize(("ref", "frac", "rule", "expected"), [
    (True, None, "majority", "holds"), (False, None, "majority", "does not hold"),
    (True, 0.8, "majority", "holds"), (True, 0.3, "majority", "partly"), (False, 0.1, "majority", "does not hold"),
    (None, 0.0, "at-least:0.1", "does not hold"), (False, 0.05, "at-least:0.1", "partly"), (False, 0.1, "at-least:0.1", "holds"),
    (None, 0.7, "between:0.3:0.9", "holds"), (None, 1.0, "between:0.3:0.9", "does not hold"),
    (None, 0.2, "between:0.3:0.9", "partly"), (None, 0.95, "between:0.3:0.9", "partly"),
])
def test_verdict_rules(ref, frac, rule, expected):
    assert _verdict(ref, frac, rule) == expected


def test_unknown_claim_and_bad_cohort():
    with pytest.raises(InputError, match="did you mean 'C1'"):
        run_claims(["C01"])
    with pytest.raises(InputError, match="cohort"):
        run_claims(["C7"], cohort=-1)


@pytest.fixture(scope="module")
def results():
    return run_claims(cohort=3, seed=1, workers=2)


def test_claims_run_on_reference_and_cohort_with_numbers(results):
    assert [r.id for r in results] == [f"C{k}" for k in range(1, 18)]
    for r in results:
        assert r.verdict in ("holds", "partly", "does not hold")
        assert r.effect and r.criterion and r.numbers
        assert r.numbers["patients_failed"] == 0 and r.numbers["patients_implausible"] >= 0
        d = r.to_dict()
        assert "research and education tool" in d["disclaimer"]
        assert {"criterion", "effect", "human", "assumption", "cohort_fraction", "verdict", "threshold"} <= set(d)
        assert set(d["effect"]) == {"text", "value", "ci", "measure"}
        assert (d["human"] is None) == bool(d["human_reason"])
        assert r.threshold and r.measure and r.couplings


def test_claim_effects_are_the_reported_numbers(results):
    by = {r.id: r for r in results}
    c7 = by["C7"]
    assert c7.numbers["kyn_trp_rise"] > 0 and 2 < c7.numbers["peak_hours"] < 16
    frac_ok = c7.cohort_fraction is None or c7.cohort_fraction >= 0.5
    assert (c7.verdict == "holds") == (c7.numbers["kyn_trp_rise"] >= 0.1 and frac_ok)
    c8 = by["C8"]
    fr = c8.numbers["fraction_dysregulated_by_duration"]
    assert set(fr) == {14, 28, 56, 84} and all(0 <= v <= 1 for v in fr.values())


def test_claims_cli_json():
    res = CliRunner().invoke(app, ["claims", "C7", "--json", "--workers", "1"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["claims"][0]["id"] == "C7" and np.isfinite(payload["claims"][0]["numbers"]["kyn_trp_rise"])
    res = CliRunner().invoke(app, ["claims", "C99"])
    assert res.exit_code == 2 and "C9" in res.output


def test_bad_tolerance_and_workers():
    with pytest.raises(InputError, match="rtol"):
        run_claims(["C7"], rtol=0.5)
    with pytest.raises(InputError, match="workers"):
        run_claims(["C7"], workers=0)


def test_claims_tolerance_changes_no_reference_effect():
    """The claims' default rtol (1e-3) against 1e-6: every verdict equal, every effect of the reference patient within 1 %
    (or 0.01 in the effect's unit; measured: at most 0.8 %, C12)."""
    import gutbrain
    from gutbrain.claims import definitions  # noqa: F401
    from gutbrain.claims.core import CLAIMS_RTOL
    from gutbrain.claims.experiments import run

    m = gutbrain.load_model()
    fine, loose = run([m], workers=1, rtol=1e-6), run([m], workers=1, rtol=CLAIMS_RTOL)
    for cid, c in CLAIMS.items():
        a, b = c.fn(fine), c.fn(loose)
        assert bool(a.holds[0]) == bool(b.holds[0]), cid
        np.testing.assert_allclose(float(b.effect[0]), float(a.effect[0]), rtol=1e-2, atol=1e-2, err_msg=cid)


def test_branches_equal_independent_runs():
    """A branch (continued from its parent's state) equals the experiment simulated from day 0."""
    import gutbrain
    from gutbrain.claims.experiments import BRANCHES, EXPERIMENTS, VARS, _daily, run

    m = gutbrain.load_model()
    names = list(BRANCHES)  # includes branches of branches (stress_14d <- stress_84d <- healthy)
    data = run([m], names, workers=1, rtol=1e-6)
    for name in names:
        make, days = EXPERIMENTS[name]
        full = _daily(gutbrain.simulate([m], make(), days=days, output_every=2.0))
        np.testing.assert_array_equal(data[name].day.values, full.day.values)
        for v in VARS:
            np.testing.assert_allclose(data[name][v].values, full[v].values, rtol=1e-5, atol=1e-7, err_msg=f"{name} {v}")


def test_branch_inputs_equal_parent_before_branch_day():
    """A branch may reuse its parent's prefix only if every input, meal and the warm-up agree before the branch day."""
    from gutbrain.claims.experiments import BRANCHES, EXPERIMENTS

    for name, (parent, day0) in BRANCHES.items():
        a, b = EXPERIMENTS[name][0](), EXPERIMENTS[parent][0]()
        t = np.arange(0.0, 24.0 * day0, 0.05)
        np.testing.assert_array_equal(a.schedule(day0).at(t), b.schedule(day0).at(t), err_msg=name)
        assert a.baseline().hash == b.baseline().hash, name
        # and they differ afterwards (else the branch would be a duplicate experiment)
        t2 = np.arange(24.0 * day0, 24.0 * EXPERIMENTS[name][1], 0.05)
        assert not np.array_equal(a.schedule(EXPERIMENTS[name][1]).at(t2), b.schedule(EXPERIMENTS[name][1]).at(t2)), name


def test_screen_skips_rejected_patients_and_keeps_the_rest_unchanged():
    """Screened-out patients get NaN and status "skipped" outside the screening experiment; the kept ones equal an
    unscreened run; the first patient is always simulated."""
    import gutbrain
    from gutbrain.claims.experiments import run
    from gutbrain.cohort import sample_matrix

    m = gutbrain.load_model()
    values, params = sample_matrix(m, 2, seed=3)
    pats = [m] + [m.with_params(dict(zip(params, row, strict=True))) for row in values]
    names = ["healthy", "antibiotic", "stress_14d"]
    reject_all = ("healthy", lambda ds: np.zeros(ds.sizes["patient"], bool))
    screened = run(pats, names, workers=1, chunk=2, rtol=1e-4, screen=reject_all)
    plain = run(pats, names, workers=1, chunk=2, rtol=1e-4)
    np.testing.assert_array_equal(screened["healthy"]["phq9"].values, plain["healthy"]["phq9"].values)
    for name in names[1:]:
        assert list(screened[name]["status"].values) == ["ok", "skipped", "skipped"]
        assert np.all(np.isnan(screened[name]["phq9"].values[1:]))
        np.testing.assert_array_equal(screened[name]["phq9"].values[0], plain[name]["phq9"].values[0])
        np.testing.assert_array_equal(screened[name].day.values, plain[name].day.values)
    keep_second = ("healthy", lambda ds: np.arange(ds.sizes["patient"]) == 1)  # chunk-local index 1: patient 1 only
    part = run(pats, names, workers=1, chunk=2, rtol=1e-4, screen=keep_second)
    assert list(part["antibiotic"]["status"].values) == ["ok", "ok", "skipped"]
    np.testing.assert_array_equal(part["antibiotic"]["phq9"].values[:2], plain["antibiotic"]["phq9"].values[:2])
    with pytest.raises(ValueError, match="screening experiment"):
        run(pats, ["antibiotic"], workers=1, screen=reject_all)


def test_c8_fractions_count_only_patients_with_results():
    """C8's fraction by stressor length is over the virtual patients with results: a screened-out patient (NaN) is
    neither dysregulated nor in the denominator."""
    import xarray as xr

    from gutbrain.claims import definitions
    from gutbrain.claims.experiments import STRESS_DURATIONS

    days = np.arange(260)

    def ds(phq9_after):  # patients: reference, dysregulated, screened out, recovered
        v = np.zeros((4, days.size))
        v[:, 70:] = np.asarray(phq9_after, float)[:, None]  # every C8 window (and the healthy days 143-150) lies after day 70
        zero = np.zeros_like(v)
        return xr.Dataset({"phq9": (("patient", "day"), v), "gad7": (("patient", "day"), zero),
                           "Bp": (("patient", "day"), zero + 0.1)}, coords={"day": days})

    d = {"healthy": ds([0, 0, np.nan, 0]), "long_stress": ds([0, 5, np.nan, 0])}
    d.update({f"stress_{k}d": ds([0, 5, np.nan, 0]) for k in STRESS_DURATIONS})
    out = definitions.c8(d)
    assert out.numbers["fraction_dysregulated_by_duration"] == {k: 0.5 for k in STRESS_DURATIONS}
    assert list(out.holds) == [False, True, False, False]


# -- the criteria, the human comparison and the assumption check on synthetic results ----------------------------


def _daily(**series):
    """A dataset of per-patient constant daily means (patients x 250 days)."""
    import xarray as xr

    days = np.arange(250)
    return xr.Dataset({k: (("patient", "day"), np.repeat(np.asarray(v, float)[:, None], days.size, axis=1))
                       for k, v in series.items()}, coords={"day": days})


def test_c12_counts_a_small_standardised_effect_on_either_score():
    from gutbrain.claims import definitions as d

    h = _daily(phq9=[3, 3, 3, 3], gad7=[3, 3, 3, 3])
    # PHQ-9 falls 0.8 (0.23 SD) | GAD-7 falls 0.7 (0.21 SD) | both fall 0.5 (0.14-0.15 SD) | both rise
    x = _daily(phq9=[2.2, 2.6, 2.5, 3.5], gad7=[3, 2.3, 2.5, 3.5])
    out = d.c12({"healthy": h, "probiotic": x})
    assert list(out.holds) == [True, True, False, False]
    np.testing.assert_allclose(out.effect[:2], [0.8 / d.SD_PHQ9, 0.7 / d.SD_GAD7])


def test_c17_responder_is_a_halved_gad7_and_the_rule_is_many_but_not_all():
    from gutbrain.claims import definitions as d
    from gutbrain.claims.core import _verdict

    before = _daily(phq9=[12, 12, 12, 8], gad7=[10, 10, 4, 10])  # the third has no anxiety to reverse; the fourth is not locked in
    after = _daily(phq9=[5, 5, 5, 5], gad7=[5, 5.5, 1, 2])
    out = d.c17({"vicious_none": before, "vicious_both": after})
    assert list(out.holds[:2]) == [True, False] and list(out.applicable) == [True, True, False, False]
    assert out.cohort_rule == "between:0.3:0.9" and _verdict(None, 0.5, out.cohort_rule) == "holds"


def test_c16_reads_the_end_of_treatment_and_the_share_of_the_excess():
    from gutbrain.claims import definitions as d

    base = _daily(phq9=[12, 12], gad7=[5, 5])
    healthy = _daily(phq9=[2, 2], gad7=[2, 2])
    out = d.c16({"vicious_none": base, "healthy": healthy, "vicious_therapy": _daily(phq9=[8, 8], gad7=[3, 3]),
                 "vicious_gut": _daily(phq9=[7, 7.5], gad7=[3, 3]), "vicious_both": _daily(phq9=[6, 7], gad7=[3, 3])})
    assert list(out.holds) == [True, False]  # advantage 1.0 and 0.5 points against 0.70
    assert out.numbers["excess_removed_both"] == pytest.approx(0.6)


def test_c3_uses_the_calibrated_gi_cut_off():
    from gutbrain.claims import definitions as d

    h = _daily(phq9=[2, 2], gad7=[2, 2], gi_symptoms=[1, 1])
    x = _daily(phq9=[3, 3], gad7=[2, 2], gi_symptoms=[d.BOTHERSOME_GI - 0.1, d.BOTHERSOME_GI + 0.05])
    assert list(d.c3({"healthy": h, "western": x}).holds) == [True, False]


@pytest.mark.parametrize(("model", "ci", "human", "hci", "expected"), [
    (-0.2, (-0.3, -0.1), -0.24, None, "consistent"), (-0.05, (-0.08, -0.02), -0.24, None, "smaller"),
    (150.0, (120.0, 180.0), 71.0, (40.0, 100.0), "larger"), (90.0, (80.0, 100.0), 71.0, (40.0, 85.0), "consistent"),
])
def test_human_comparison_classes(model, ci, human, hci, expected):
    from gutbrain.claims.evidence import classify_comparison

    assert classify_comparison(model, ci, human, hci) == expected


def test_every_claim_has_a_human_value_or_a_reason():
    from gutbrain.claims import definitions  # noqa: F401
    from gutbrain.claims.evidence import HUMAN, REASONS

    assert set(HUMAN) | set(REASONS) == set(CLAIMS) and not set(HUMAN) & set(REASONS)


G = {"a": "M", "b": "L"}


@pytest.mark.parametrize(("base", "singles", "joint", "lower", "status"), [
    ("holds", {("a", "lower"): "holds", ("a", "upper"): "holds"}, "does not hold", {"a": 0.0}, "holds by model assumption"),
    ("holds", {("a", "lower"): "holds", ("a", "upper"): "holds"}, "holds", {"a": 0.0}, "emerges"),
    ("holds", {("a", "lower"): "holds", ("a", "upper"): "holds"}, "holds", {"a": 0.2}, "holds by model assumption"),
    ("holds", {("a", "lower"): "partly", ("a", "upper"): "holds"}, "partly", {"a": 0.0}, "depends on"),
    ("does not hold", {("a", "lower"): "does not hold", ("b", "upper"): "holds"}, "does not hold", {"a": 0.0, "b": 0.0}, "depends on"),
    ("does not hold", {("a", "lower"): "does not hold", ("a", "upper"): "partly"}, "does not hold", {"a": 0.0},
     "does not hold at any setting tried"),
])
def test_assumption_status_is_computed_from_the_verdicts(base, singles, joint, lower, status):
    from gutbrain.claims.assumptions import STATUSES, classify

    res = classify(base, singles, joint, lower, G)
    assert res["status"] == status and status in STATUSES
    if status == "depends on":
        assert {f["parameter"] for f in res["flips"]} <= set(G)


def test_assumption_check_runs_each_bound_and_bisects_the_flip(monkeypatch):
    """The check re-runs a claim at each coupling's bounds and all lower bounds together, and brackets the flip point
    (here a synthetic verdict that flips at k_gr_loss = 0.02)."""
    import gutbrain
    from gutbrain.claims import assumptions, definitions  # noqa: F401
    from gutbrain.claims.core import ClaimResult

    model = gutbrain.load_model()
    calls = []

    def fake(ids, values, model, cohort, seed, workers, rtol):
        calls.append(dict(values))
        ok = values.get("k_gr_loss", 0.006) < 0.02
        return dict.fromkeys(ids, "holds" if ok else "does not hold")

    monkeypatch.setattr(assumptions, "_verdicts", fake)
    res = ClaimResult("C8", "", "", "holds", "", True, None, 0)
    out = assumptions.check_assumptions([res], model=model)["C8"]
    assert out["status"] == "depends on" and out["parameters"] == ["k_gr_loss"]
    flip = out["flips"][0]
    assert flip["end"] == "upper" and flip["flip_between"][0] < 0.02 <= flip["flip_between"][1]
    n_couplings = len(CLAIMS["C8"].couplings)
    assert len(calls) == 2 * n_couplings + 1 + assumptions.BISECTIONS


def test_the_docs_page_is_the_rendering_of_the_committed_json_of_this_model():
    """docs/claims.md is generated from docs/claims.json, and that JSON was computed from this model and claims code."""
    from pathlib import Path

    import gutbrain
    from gutbrain.claims.report import fingerprint, render_markdown

    docs = Path(__file__).resolve().parents[1] / "docs"
    payload = json.loads((docs / "claims.json").read_text())
    assert (docs / "claims.md").read_text() == render_markdown(payload)
    assert payload["fingerprint"] == fingerprint(gutbrain.load_model()), (
        "the claims code or the model changed: regenerate with "
        "`gutbrain claims --cohort 1000 --json > docs/claims.json` and `python -m gutbrain.claims.report`")
    assert len(payload["claims"]) == 17 and payload["cohort"] >= 1000


def test_claims_table_prints_the_cells_as_text():
    """A measure in brackets ("[... SD units ...]") is shown, not swallowed as console markup."""
    import io

    from rich.console import Console

    from gutbrain.claims.cli import _table

    results = run_claims(["C12"], workers=1)
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(_table(results))
    text = console.export_text()
    assert f"[{results[0].measure}]" in text and "not checked" in text
    res = CliRunner().invoke(app, ["claims", "C12", "--assumptions", "-2"])
    assert res.exit_code == 2 and "--assumptions" in res.output
