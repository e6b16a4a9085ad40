"""The virtual general population: stated exposure distributions, reproducible draws, valid scenarios."""

import numpy as np
import pytest

from gutbrain.cohort import population as pop
from gutbrain.errors import InputError


def test_every_axis_is_a_distribution_with_sources():
    for axis, strata in pop.AXES.items():
        assert sum(s.share for s in strata) == pytest.approx(1.0), axis
        assert all(0 < s.share < 1 and s.source for s in strata), axis
        assert len({s.name for s in strata}) == len(strata), axis


def test_draws_are_reproducible_and_follow_the_shares():
    a, b = pop.draw_lives(20_000, seed=3), pop.draw_lives(20_000, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    c = pop.draw_lives(20_000, seed=4)
    assert not all(np.array_equal(a[k], c[k]) for k in a)
    for axis, strata in pop.AXES.items():
        observed = np.bincount(a[axis], minlength=len(strata)) / 20_000
        expected = np.array([s.share for s in strata])
        # multinomial SD at n = 20,000 is below 0.0036 for every share; 5 SD
        assert np.all(np.abs(observed - expected) < 0.018), (axis, observed)


def test_axes_are_drawn_independently():
    d = pop.draw_lives(20_000, seed=1)
    western = d["diet"] == 2
    high = d["stress"] == 2
    assert abs(high[western].mean() - high[~western].mean()) < 0.03


@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "10"])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(InputError, match="adults"):
        pop.draw_lives(bad)


def test_life_scenarios_are_valid_and_carry_the_exposures():
    sc = pop.life_scenario(2, 2, 2, 120)
    assert sc.diet["fibre"] == 12.0 and sc.diet["sleep_hours"] == 5.0
    (ep,) = sc.episodes
    assert ep.input == "stress" and ep.level == 0.6 and ep.daily_window == (8.0, 19.0) and ep.days == 120
    ref = pop.life_scenario(1, 0, 0, 120)
    assert ref.episodes == () and ref.diet == {"sleep_hours": 8.0}
