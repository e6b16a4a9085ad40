"""A virtual general adult population: life exposures drawn from stated distributions.

Each virtual adult gets physiology from the parameter priors (:func:`~gutbrain.cohort.sample_patients`)
and, independently, one everyday life: a diet pattern, a level of chronic work/life stress and a
habitual sleep duration, each drawn from the distribution below. The strata and their shares are
the population's assumptions; each names its source. Exposures are assumed independent of each
other and of physiology (a simplification: poor diet, stress and short sleep cluster in real
populations, which would widen the tails).

The people live that life through the warm-up (diet and sleep are scenario baselines) and then for
``days`` more days with the stressor as a daily 08:00-19:00 episode; the cross-section is read on the
last day. Everything here is a research and education tool, never a diagnosis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..model.assemble import Model
from ..scenarios import Episode, Scenario

__all__ = ["DIETS", "SLEEP", "STRESS", "Stratum", "cross_section_population", "draw_lives", "life_scenario"]


@dataclass(frozen=True)
class Stratum:
    name: str
    share: float
    levels: dict
    source: str


#: diet patterns (scenario diet baselines); shares: assumption guided by US intake data
DIETS = (
    Stratum("prudent", 0.20, {"fibre": 28.0, "sugar": 30.0, "processed": 0.15, "fermented": 0.5},
            "assumption: the minority meeting fibre advice; about 5 % of US adults reach the recommended fibre intake "
            "(Quagliani & Felt-Gunderson 2017, doi:10.1177/1559827615588079)"),
    Stratum("mixed", 0.45, {},
            "the model's reference diet (20 g/day fibre, 50 g/day added sugar, 30 % ultra-processed)"),
    Stratum("western", 0.35, {"fibre": 12.0, "sugar": 120.0, "processed": 0.7, "fermented": 0.0},
            "the western-diet scenario; US adults eat about 57 % of energy as ultra-processed food (Juul et al. 2022, "
            "doi:10.1093/ajcn/nqab305) and about 16 g/day fibre (Quagliani & Felt-Gunderson 2017)"),
)

#: chronic work/life stress: stressor level during 08:00-19:00 every day
STRESS = (
    Stratum("none", 0.55, {"stress": 0.0}, "assumption: the remainder"),
    Stratum("moderate", 0.30, {"stress": 0.3}, "assumption: everyday strain below job-strain criteria"),
    Stratum("high", 0.15, {"stress": 0.6},
            "job strain in about 15 % of working adults (Kivimaki et al. 2012 IPD-Work, doi:10.1016/S0140-6736(12)60994-5); "
            "level of the chronic-work-stress scenario"),
)

#: habitual sleep duration (h)
SLEEP = (
    Stratum("7-9 h", 0.65, {"sleep_hours": 8.0}, "Liu et al. 2016 MMWR 65:137 (65 % of US adults sleep >= 7 h)"),
    Stratum("6 h", 0.23, {"sleep_hours": 6.0}, "Liu et al. 2016 (34.8 % sleep < 7 h), split by the NHIS share sleeping <= 5 h"),
    Stratum("5 h", 0.12, {"sleep_hours": 5.0}, "about 12 % of US adults report <= 5 h (NHIS; Liu et al. 2016)"),
)

AXES = {"diet": DIETS, "stress": STRESS, "sleep": SLEEP}


def draw_lives(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Stratum index of each of ``n`` adults on every axis (independent categorical draws; reproducible)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError("n", n, "a whole number of adults >= 1", "e.g. n=1000")
    rng = np.random.default_rng([seed, 30])
    return {axis: rng.choice(len(strata), size=n, p=[s.share for s in strata]) for axis, strata in AXES.items()}


def life_scenario(diet: int, stress: int, sleep: int, days: float) -> Scenario:
    """The everyday life of one stratum combination as a scenario of ``days`` days."""
    d, s, z = DIETS[diet], STRESS[stress], SLEEP[sleep]
    base = {**d.levels, **z.levels}
    level = s.levels["stress"]
    episodes = (Episode("stress", level, 0.0, days, daily_window=(8.0, 19.0), label="everyday stress"),) if level > 0 else ()
    return Scenario(name=f"life-{d.name}-{s.name}-{z.name}", diet=base, episodes=episodes, days=days,
                    description=f"{d.name} diet, {s.name} chronic stress, {z.name} sleep")


def cross_section_population(patients: Sequence[Model], *, seed: int = 0, days: float = 120.0, workers: int = 2,
                             output_every: float = 1.0):
    """Simulate every adult under its own life; yields ``(indices, (diet, stress, sleep), dataset)`` per stratum
    combination."""
    from ..simulation import simulate

    lives = draw_lives(len(patients), seed)
    combos = np.stack([lives["diet"], lives["stress"], lives["sleep"]], axis=1)
    for key in sorted({(int(c[0]), int(c[1]), int(c[2])) for c in combos}):
        idx = np.flatnonzero((combos == key).all(axis=1))
        members = [patients[int(i)] for i in idx]
        ds = simulate(members, life_scenario(*key, days), days=days, output_every=output_every, throw=False, workers=workers)
        yield idx, key, ds
