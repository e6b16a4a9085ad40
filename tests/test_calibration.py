"""The calibration report is regenerated on the reference parameters; met targets must stay met."""

import json

import numpy as np
import pytest

from gutbrain.calibration.data import cortisol_24h, endotoxin_summary
from gutbrain.calibration.report import write_report

# targets of the reference patient met by the reference parameter set; a change that loses one must fail here, not
# silently in a report. (The cohort targets need the default 1,000-patient cohort, which this test does not run.)
# T17 (antibiotic recovery, 30-60 days) was lost on 2026-12-02 by the pathobiont niche change and regained on
# 2026-12-03 by refitting k_recolonise to it (docs/parameters.md). T26 is a known miss (docs/calibration.md).
MET_ON_REFERENCE = {f"T{k:02d}" for k in (*range(1, 26), 27, 28, 29)} - {f"T{k:02d}" for k in range(18, 23)}


def _read_shared_csv(path):
    """The shared CSV as a frame; a row with more fields than the header (an unquoted comma in the
    last, free-text column: T33's source in the shared targets) is read with those fields joined
    back, which is the one repair the shipped copy makes (it quotes that field; data/README.md)."""
    import csv

    import pandas as pd

    with open(path, newline="") as fh:
        header, *rows = list(csv.reader(fh))
    rows = [r if len(r) == len(header) else [*r[:len(header) - 1], ",".join(r[len(header) - 1:])] for r in rows]
    frame = pd.DataFrame(rows, columns=header)
    return pd.read_csv(__import__("io").StringIO(frame.to_csv(index=False)))


def test_shipped_data_equal_the_shared_data(shared_data):
    import os

    import pandas as pd

    if not os.path.isdir(shared_data):
        pytest.skip(f"shared data not found at {shared_data}")
    for name in ("cortisol_24h_healthy_carroll2007.csv", "endotoxin_bolus_2ngkg_summary.csv", "calibration_targets.csv",
                 "endotoxin_bolus_2ngkg_subjects.csv", "endotoxin_dose_response_bolus.csv"):
        a = _read_shared_csv(os.path.join(shared_data, name))
        from importlib import resources

        with resources.files("gutbrain.data").joinpath(name).open() as fh:
            b = pd.read_csv(fh)
        pd.testing.assert_frame_equal(a, b)


def test_data_loaders():
    t, c = cortisol_24h()
    assert len(t) == 145 and t[0] == 0 and t[-1] == 24 and 1 < c.mean() < 10
    s = endotoxin_summary()
    assert set(s) == {"TNF", "IL6", "IL8", "IL10"} and len(s["TNF"]["time"]) == 8


def test_every_reference_parameter_is_inside_its_bounds(model):
    for p in model.parameters.values():
        assert p.lower <= p.value <= p.upper, p.name


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration")
    payload = write_report(out, cohort_n=16, seed=0, workers=2)
    return out, payload


def test_report_files_and_plots(report):
    out, _payload = report
    for f in ("calibration.md", "calibration.html", "calibration.json", "cytokines.png", "cortisol.png"):
        assert (out / f).stat().st_size > 500, f
    assert "research and education tool" in (out / "calibration.html").read_text()
    assert json.loads((out / "calibration.json").read_text())["summary"]["targets_total"] == 33


def test_met_targets_stay_met(report):
    _, payload = report
    passed = {t["id"] for t in payload["targets"] if t["passed"]}
    assert passed >= MET_ON_REFERENCE, sorted(MET_ON_REFERENCE - passed)


def test_bolus_tolerances_and_cortisol_curve(report):
    _, payload = report
    s = payload["summary"]
    assert s["bolus_cytokines_passed"] == 4
    assert s["cortisol_curve"]["rmse"] <= 1.5 and s["cortisol_curve"]["r"] >= 0.9
    assert s["parameters_outside_bounds"] == []
    for c, b in payload["bolus"].items():
        assert b["within_1sd"] >= 6, c


def test_cohort_effect_sizes_are_finite_numbers(report):
    _, payload = report
    by = {t["id"]: t for t in payload["targets"]}
    for tid in ("T18", "T19"):
        # the probiotic lowers scores in the counterfactual trial: a negative effect size
        assert np.isfinite(by[tid]["value"]) and by[tid]["value"] < 0, (tid, by[tid]["value"])


def test_kaplan_meier_median_closed_form():
    from gutbrain.calibration.targets import _kaplan_meier_median

    # no censoring: the Kaplan-Meier median is the smallest duration whose survival drops to <= 0.5
    assert _kaplan_meier_median(np.array([1.0, 2, 3, 4]), np.ones(4, bool)) == 2.0
    # censoring at 1 leaves 3 at risk: S(2) = 2/3, S(3) = 1/3 -> median 3 (the naive median of events would be 2.5)
    assert _kaplan_meier_median(np.array([1.0, 2, 3, 4]), np.array([False, True, True, True])) == 3.0
    # most episodes censored: the curve never reaches 0.5
    assert np.isnan(_kaplan_meier_median(np.array([5.0, 6, 7]), np.array([True, False, False])))


def test_episode_protocol_on_synthetic_scores():
    """T32's episode rules on hand-made daily PHQ-9 rows (docs/calibration.md)."""
    from gutbrain.calibration.targets import episode_durations

    days = np.arange(0.0, 366.0)
    calm = np.full(days.size, 3.0)
    ep = calm.copy()
    ep[20:80] = 12  # onset day 20, recovered on day 80 for good
    dip = calm.copy()
    dip[20:80] = 12
    dip[40:45] = 8  # a 5-day dip below 10 does not end the episode
    chronic = calm.copy()
    chronic[30:] = 14  # never recovers: censored at day 351
    already = np.full(days.size, 11.0)  # depressed before the stressor: not eligible
    late = calm.copy()
    late[100:130] = 12  # onset after day 70: not an episode of this protocol
    dur, obs, eligible = episode_durations(np.stack([calm, ep, dip, chronic, already, late]), days)
    assert eligible == 5
    np.testing.assert_array_equal(dur, [60.0, 60.0, 351.0 - 30.0])
    np.testing.assert_array_equal(obs, [True, True, False])


def test_new_targets_are_computed_and_reported(report):
    _, payload = report
    by = {t["id"]: t for t in payload["targets"]}
    assert {f"T{k}" for k in range(23, 34)} <= set(by)
    for tid in ("T23", "T24", "T25", "T26", "T27", "T28", "T29", "T30", "T31"):
        assert isinstance(by[tid]["value"], float) and np.isfinite(by[tid]["value"]), (tid, by[tid])
    assert 0 <= by["T30"]["value"] <= 100 and by["T30"]["value"] + by["T31"]["value"] <= 100
