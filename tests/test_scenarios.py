import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gutbrain
import gutbrain as gb
from gutbrain.errors import ScenarioError
from gutbrain.model.inputs import INPUT_NAMES
from gutbrain.scenarios import Episode, Meal, Scenario, endotoxin, get, load, names

REQUIRED = {"healthy-baseline", "western-diet", "fibre-rich-diet", "chronic-work-stress", "stress-then-recovery",
            "antibiotic-course", "probiotic-8-weeks", "high-gi-meals", "stable-meals", "therapy-only",
            "therapy-plus-gut-repair", "endotoxin-bolus-2ngkg"}


def test_builtin_scenarios_include_the_named_ones():
    assert set(names()) >= REQUIRED
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


# -- composition: then() and the rules of a + b ---------------------------------------------------
def test_then_changes_the_diet_from_a_day_on():
    wd = gb.scenarios.get("western-diet")
    s = wd.then(70, fibre=30, sugar=40)
    sch = s.schedule(100)
    idx = {n: k for k, n in enumerate(INPUT_NAMES)}
    before, after = sch.at(24 * 69.5), sch.at(24 * 70.5)
    assert before[idx["fibre"]] == 12 and before[idx["sugar"]] == 120
    assert after[idx["fibre"]] == 30 and after[idx["sugar"]] == 40
    assert before[idx["processed"]] == after[idx["processed"]] == 0.7  # unchanged channels keep their episode
    assert np.any(np.isclose(sch.switches, 24 * 70))
    # the same diet change as an episode added with + collides with the 10-year diet episode, and says what to do
    with pytest.raises(ScenarioError, match=r"diet: fibre.*then\(day, fibre=level\)"):
        wd + gb.Scenario(episodes=gb.scenarios.diet_change(70, fibre=30))


@given(day=st.floats(0.01, 3649.0, allow_nan=False))
@settings(max_examples=40, deadline=None)
def test_then_switches_exactly_on_its_day(day):
    s = gb.scenarios.get("western-diet").then(day, fibre=35)
    fibre = [e for e in s.episodes if e.input == "fibre"]
    assert len(fibre) == 2
    assert math.isclose(fibre[0].start_h + fibre[0].duration_h, 24 * day, rel_tol=1e-12, abs_tol=1e-9)
    assert fibre[1].start_h == 24 * day


def test_then_refuses_what_it_cannot_order():
    s = gb.Scenario(episodes=gb.scenarios.diet_change(100, fibre=30))
    with pytest.raises(ScenarioError, match="starting on day 100"):
        s.then(50, fibre=10)
    with pytest.raises(ScenarioError, match="non-meal channel"):
        s.then(50, meal_gi=70)
    with pytest.raises(ScenarioError, match="known input channel"):
        s.then(50, fiber=10)
    with pytest.raises(ScenarioError, match="at least one"):
        s.then(50)
    with pytest.raises(ScenarioError):
        s.then(-1, fibre=10)


def test_sum_takes_the_longer_horizon_and_names_both_overlapping_episodes():
    a = gb.Scenario(name="a", days=30, episodes=gb.scenarios.stressor(5, 10, 0.5))
    b = gb.Scenario(name="b", days=90, episodes=gb.scenarios.probiotic(14, 56))
    assert (a + b).days == 90 and (b + a).days == 90
    c = gb.Scenario(name="c", episodes=gb.scenarios.stressor(12, 5, 0.3))
    with pytest.raises(ScenarioError, match=r"stressor \(hours 120-360\) and stressor \(from hour 288\)"):
        a + c
