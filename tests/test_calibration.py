"""The calibration report is regenerated on the reference parameters; met targets must stay met."""

import json

import numpy as np
import pytest

from gutbrain.calibration.data import cortisol_24h, endotoxin_summary
from gutbrain.calibration.report import write_report

# targets met by the reference parameter set; a change that loses one must fail here, not silently in a report
MET_ON_REFERENCE = {f"T{k:02d}" for k in range(1, 18)}


def test_shipped_data_equal_the_shared_data(shared_data):
    import os

    import pandas as pd

    if not os.path.isdir(shared_data):
        pytest.skip(f"shared data not found at {shared_data}")
    for name in ("cortisol_24h_healthy_carroll2007.csv", "endotoxin_bolus_2ngkg_summary.csv", "calibration_targets.csv",
                 "endotoxin_bolus_2ngkg_subjects.csv", "endotoxin_dose_response_bolus.csv"):
        a = pd.read_csv(os.path.join(shared_data, name))
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
    out, payload = report
    for f in ("calibration.md", "calibration.html", "calibration.json", "cytokines.png", "cortisol.png"):
        assert (out / f).stat().st_size > 500, f
    assert "research and education tool" in (out / "calibration.html").read_text()
    assert json.loads((out / "calibration.json").read_text())["summary"]["targets_total"] == 22


def test_met_targets_stay_met(report):
    _, payload = report
    passed = {t["id"] for t in payload["targets"] if t["passed"]}
    assert MET_ON_REFERENCE <= passed, sorted(MET_ON_REFERENCE - passed)


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
