"""Qualitative behaviour that emerges from the equations (nothing here is imposed by construction)."""

import numpy as np
import pytest

import gutbrain


def window_mean(ds, var, a, b):
    return float(ds[var].sel(time=slice(a, b)).mean())


@pytest.fixture(scope="module")
def runs(model):
    names = ["healthy-baseline", "chronic-work-stress", "western-diet", "fibre-rich-diet", "antibiotic-course"]
    return {n: gutbrain.simulate(model, n, days=90, output_every=1.0) for n in names}


@pytest.mark.parametrize("var", ["CORT", "lm_ratio", "plasma_endotoxin", "CRP", "gad7", "phq9"])
def test_chronic_work_stress_raises_the_stress_gut_readouts(runs, var):
    # weeks 6-8 of the stressor (days 56-70), daily means
    stressed = window_mean(runs["chronic-work-stress"], var, 56, 70)
    healthy = window_mean(runs["healthy-baseline"], var, 56, 70)
    assert stressed > healthy * 1.05, (var, stressed, healthy)


def test_fibre_rich_diet_beats_western_diet(runs):
    fib, west = runs["fibre-rich-diet"], runs["western-diet"]
    assert window_mean(fib, "Bf", 60, 90) > 1.5 * window_mean(west, "Bf", 60, 90)
    assert window_mean(fib, "lm_ratio", 60, 90) < 0.8 * window_mean(west, "lm_ratio", 60, 90)
    assert window_mean(fib, "portal_butyrate", 60, 90) > window_mean(west, "portal_butyrate", 60, 90)


def test_antibiotics_drop_beneficial_groups_within_days_and_recover_over_weeks(runs):
    ds = runs["antibiotic-course"]
    before = float(ds.beneficial.sel(time=9.5, method="nearest"))
    after4 = float(ds.beneficial.sel(time=14.0, method="nearest"))
    week4 = float(ds.beneficial.sel(time=42.0, method="nearest"))
    week10 = float(ds.beneficial.sel(time=84.0, method="nearest"))
    assert after4 < 0.5 * before  # course days 10-14
    assert after4 < week4 < week10 <= before * 1.01
    assert week10 > 0.75 * before


def test_endotoxin_bolus_cytokine_order(model):
    ds = gutbrain.simulate(model, "endotoxin-bolus-2ngkg", days=1, output_every=0.05)
    t = ds.time.values * 24 - 8.0  # hours after the 08:00 bolus
    peak = {v: t[int(np.argmax(ds[v].values))] for v in ("TNF", "IL6", "IL8", "IL10")}
    assert 0.5 < peak["TNF"] < peak["IL6"] and peak["TNF"] < peak["IL8"]
    assert peak["IL10"] > max(peak["IL6"], peak["IL8"]) - 0.05
    assert float(ds.TNF.max()) > 20 * float(ds.TNF[0])
