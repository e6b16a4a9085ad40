import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gutbrain
from gutbrain.errors import ScenarioError
from gutbrain.scenarios import Episode, Meal, Scenario, endotoxin, get, load, names

REQUIRED = {"healthy-baseline", "western-diet", "fibre-rich-diet", "chronic-work-stress", "stress-then-recovery",
            "antibiotic-course", "probiotic-8-weeks", "high-gi-meals", "stable-meals", "therapy-only",
            "therapy-plus-gut-repair", "endotoxin-bolus-2ngkg"}


def test_builtin_scenarios_include_the_named_ones():
    assert REQUIRED <= set(names())
    assert len(names()) >= 11
    for n in names():
        s = get(n)
        assert s.description and s.meals


def test_unknown_scenario_suggests_a_close_name():
    with pytest.raises(ScenarioError, match="did you mean 'western-diet'"):
        get("westren-diet")


def test_negative_carbohydrate_is_refused():
    with pytest.raises(ScenarioError, match=r"meal.carbs = -5"):
        Meal(12.0, -5)


@pytest.mark.parametrize("dose", [-2.0, 0.0, math.nan, math.inf, 1000.0])
def test_bad_endotoxin_doses_are_refused(dose):
    with pytest.raises(ScenarioError, match="ng/kg"):
        endotoxin(dose)


def test_negative_probiotic_dose_is_refused():
    with pytest.raises(ScenarioError, match=r"probiotic.*\[0.0, 1000.0\]"):
        Episode("probiotic", -10, 0, 5)


def test_overlapping_episodes_are_refused():
    with pytest.raises(ScenarioError, match="non-overlapping"):
        Scenario(episodes=(Episode("stress", 0.5, 0, 10), Episode("stress", 0.3, 5, 10)))


def test_out_of_horizon_episode_is_refused(model):
    s = Scenario(episodes=(Episode("stress", 0.5, 30, 5),), days=180)
    with pytest.raises(ScenarioError, match="run at least 35 days"):
        gutbrain.simulate(model, s, days=10)


def test_unknown_input_channel_suggests():
    with pytest.raises(ScenarioError, match="did you mean 'stress'"):
        Episode("stres", 0.5, 0, 1)


def test_malformed_scenario_toml(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("name = 'x'\n[[episodes]\n")
    with pytest.raises(ScenarioError, match="malformed TOML"):
        load(p)


def test_unknown_scenario_field(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("name = 'x'\nepisodez = []\n")
    with pytest.raises(ScenarioError, match="did you mean 'episodes'"):
        load(p)


def test_schedule_keeps_every_meal_over_180_days():
    s = get("healthy-baseline")
    sch = s.schedule(180)
    carb = sch.values[:, [i.name for i in gutbrain.load_model().inputs].index("carb_rate")]
    dt = np.diff(np.append(sch.times, sch.horizon))
    grams = float(np.sum(carb * dt))
    assert grams == pytest.approx(180 * sum(m.carbs for m in s.meals))
    assert np.count_nonzero(carb > 0) == 180 * len(s.meals)


def test_schedule_is_left_continuous():
    s = Scenario(meals=(Meal(8.0, 60, 50, minutes=30),), days=2)
    sch = s.schedule(2)
    ci = [i.name for i in gutbrain.load_model().inputs].index("carb_rate")
    assert sch.at(8.0)[ci] == 0.0  # a step ending exactly at the switch uses the old value
    assert sch.at(8.0 + 1e-9)[ci] == pytest.approx(120.0)
    assert sch.at(8.5)[ci] == pytest.approx(120.0)
    assert sch.at(8.5 + 1e-9)[ci] == 0.0


def test_scenarios_combine_and_conflicts_are_reported():
    c = get("western-diet") + get("probiotic-8-weeks").replace(meals=())
    assert {e.input for e in c.episodes} >= {"fibre", "probiotic"}
    with pytest.raises(ScenarioError, match="at most one meal pattern"):
        get("high-gi-meals") + get("stable-meals")


def test_daily_window_episode_repeats_every_day():
    e = Episode("stress", 0.6, 14, 7, daily_window=(8, 19))
    iv = e.intervals()
    assert len(iv) == 7 and iv[0] == (14 * 24 + 8, 14 * 24 + 19)


@settings(max_examples=80, deadline=None)
@given(time=st.floats(-5, 30), carbs=st.floats(-50, 600), gi=st.floats(-10, 120))
def test_meal_validation_property(time, carbs, gi):
    ok = 0 <= time <= 24 and 0 <= carbs <= 500 and 0 <= gi <= 100
    if ok:
        m = Meal(time, carbs, gi)
        assert m.carbs == carbs
    else:
        with pytest.raises(ScenarioError):
            Meal(time, carbs, gi)


@settings(max_examples=80, deadline=None)
@given(channel=st.sampled_from(["stress", "therapy", "antibiotic", "fibre", "sugar", "probiotic"]), level=st.floats(-2, 2000),
       start=st.floats(-3, 50), days=st.floats(-1, 30))
def test_episode_validation_property(channel, level, start, days):
    inp = {i.name: i for i in gutbrain.load_model().inputs}[channel]
    ok = inp.lower <= level <= inp.upper and start >= 0 and days > 0
    if ok:
        assert Episode(channel, level, start, days).level == level
    else:
        with pytest.raises(ScenarioError):
            Episode(channel, level, start, days)
