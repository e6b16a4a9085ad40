"""Endotoxin dose-response of the innate-immune module (targets T23-T28, docs/calibration.md).

The peak ratios (T23-T26) and fold rises (T27, T28) are **calibration targets**: the reference
immune parameters were fitted to them jointly with the 2 ng/kg bolus curves. These tests guard
the fitted result against regression; they are not a validation of the model.

The graded-response checks are not fitted targets. Their threshold comes from the data
(``endotoxin_dose_response_bolus.csv``, Dillingh et al. 2014, one laboratory): the least steep
log-log slope of the peak between neighbouring doses (0.5 -> 1 and 1 -> 2 ng/kg) in that study,
for each cytokine. It was fixed before the fitted model was checked against it.
"""

from __future__ import annotations

import csv
import itertools
import math
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gutbrain.calibration.data import targets
from gutbrain.calibration.targets import _range, dose_response_values
from gutbrain.errors import ScenarioError
from gutbrain.scenarios import Scenario, endotoxin, from_dict
from gutbrain.simulation import simulate

DOSES = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 4.0)


def _peaks(model, dose: float) -> dict[str, tuple[float, float]]:
    """(peak in the 8 h after a bolus at 08:00, value at the bolus) for TNF and IL-6: the T23-T28 protocol."""
    sc = Scenario(name=f"bolus-{dose:g}", episodes=endotoxin(dose, day=0, hour=8.0), days=1)
    ds = simulate(model, sc, days=1, output_every=0.05)
    h = ds.time.values * 24 - 8.0
    after = (h >= 0) & (h <= 8)
    return {c: (float(ds[c].values[after].max()), float(np.interp(0.0, h, ds[c].values))) for c in ("TNF", "IL6")}


@pytest.fixture(scope="module")
def curve(model):
    return {d: _peaks(model, d) for d in DOSES}


def _dillingh_peaks() -> dict[tuple[float, str], float]:
    with resources.files("gutbrain.data").joinpath("endotoxin_dose_response_bolus.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["study"] == "Dillingh2014"]
    out: dict[tuple[float, str], float] = {}
    for r in rows:
        key = (float(r["dose_ng_per_kg"]), r["cytokine"])
        out[key] = max(out.get(key, 0.0), float(r["mean_pg_per_ml"]))
    return out


def data_min_slope(cytokine: str) -> float:
    """The least steep log-log slope of the peak between neighbouring doses in Dillingh et al. 2014."""
    p = _dillingh_peaks()
    return min(math.log(p[b, cytokine] / p[a, cytokine]) / math.log(b / a) for a, b in ((0.5, 1.0), (1.0, 2.0)))


def test_data_slopes_are_what_the_docs_say():
    # TNF peaks 18, 87, 223 pg/mL; IL-6 57, 98, 318 pg/mL (0.5, 1, 2 ng/kg)
    assert data_min_slope("TNF") == pytest.approx(1.36, abs=0.01)
    assert data_min_slope("IL6") == pytest.approx(0.78, abs=0.01)


@pytest.fixture(scope="module")
def dose_values(model):
    return dose_response_values(model)


MISSED = pytest.mark.xfail(strict=True, reason="T26 is missed by the joint fit inside the evidence bounds (docs/calibration.md): "
                                             "if it starts to pass, move it to the met targets")


@pytest.mark.parametrize("tid", ["T23", "T24", "T25", pytest.param("T26", marks=MISSED), "T27", "T28"])
def test_fitted_dose_targets_are_met_on_the_reference_parameters(dose_values, tid):
    """T23-T28 lie in their tolerance ranges (fitted targets: a regression guard, not validation)."""
    rows = {r["id"]: r for r in targets()}
    lo, hi = _range(rows[tid]["tolerance"])
    value, how = dose_values[tid]
    assert lo <= value <= hi, (tid, value, rows[tid]["tolerance"], how)


def test_missed_target_t26_is_no_worse_than_after_the_joint_fit(dose_values):
    # IL-6 peak ratio 0.5 vs 2 ng/kg: 0.004 before the joint fit, 0.047 after it (tolerance 0.09-0.36)
    assert dose_values["T26"][0] >= 0.04


@pytest.mark.parametrize("cytokine", ["TNF", "IL6"])
def test_peaks_rise_strictly_with_dose(curve, cytokine):
    peaks = [curve[d][cytokine][0] for d in DOSES]
    assert all(b > a for a, b in itertools.pairwise(peaks)), dict(zip(DOSES, peaks, strict=True))
    # the lowest dose still gives a measurable rise over the value at the bolus
    assert curve[0.1][cytokine][0] > 1.05 * curve[0.1][cytokine][1]


@pytest.mark.parametrize("cytokine", ["TNF", "IL6"])
def test_response_is_graded_between_0_3_and_1_ngkg(curve, cytokine):
    """Log-log slope of the rise over baseline between 0.3 and 1 ng/kg >= the data's least steep slope.

    The data's peaks sit on a baseline below detection, so the model's rise (peak minus the value at
    the bolus) is compared.
    """
    rise = {d: curve[d][cytokine][0] - curve[d][cytokine][1] for d in (0.3, 1.0)}
    slope = math.log(rise[1.0] / rise[0.3]) / math.log(1.0 / 0.3)
    assert slope >= data_min_slope(cytokine), (cytokine, slope, rise)


BAD_DOSES = st.one_of(st.floats(max_value=0.0, allow_nan=False), st.just(float("nan")), st.just(float("inf")),
                      st.floats(min_value=50.0, exclude_min=True, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(BAD_DOSES)
def test_negative_nan_and_huge_bolus_doses_are_refused(dose):
    with pytest.raises(ScenarioError, match="dose_ng_per_kg") as err:
        endotoxin(dose)
    assert "ng/kg" in str(err.value)
    with pytest.raises(ScenarioError, match="dose_ng_per_kg"):
        from_dict({"days": 1, "endotoxin": [{"dose_ng_per_kg": dose, "day": 0, "hour": 8.0}]})
