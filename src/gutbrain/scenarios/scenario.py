"""Scenarios: time-indexed input schedules (diet, meals, stressors, drugs, therapy, endotoxin).

A :class:`Scenario` is an immutable value. Its ``diet`` sets the baseline of the diet and
sleep channels; ``meals`` repeat every day (optionally only between ``start_day`` and
``end_day``); each :class:`Episode` sets one input channel to a level for a time window,
optionally only during a daily clock window (e.g. work hours). Two episodes of the same
channel may not overlap.

Composition rules (``a + b``):

* baselines (``diet``): the union; a channel set to different values in ``a`` and ``b`` is an
  error naming the channel and both values;
* meals: the one pattern that either defines (identical patterns are one); two different
  patterns are an error;
* episodes: all of both; two episodes of one channel that overlap in time are an error naming
  both episodes and their hours;
* horizon: the longer of the two default lengths (``days``), so neither scenario's episodes are
  cut; a run's own ``days`` argument still overrides it.

``a.then(day, **levels)`` changes baseline channels (diet, sleep, any non-meal input) from ``day``
on: episodes of those channels still running at ``day`` end there (e.g. the 10-year diet episode
of ``western-diet``), and new open-ended episodes set the levels. An episode of a changed channel
that starts after ``day`` cannot be ordered by this rule and is an error naming it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..errors import ScenarioError, suggest
from ..model.inputs import INPUT_NAMES, INPUTS

__all__ = ["BASELINE_CHANNELS", "MEAL_CHANNELS", "Episode", "Meal", "Scenario", "Schedule"]

_INPUT = {i.name: i for i in INPUTS}
MEAL_CHANNELS = ("carb_rate", "meal_gi", "meal_carbs")
BASELINE_CHANNELS = tuple(n for n in INPUT_NAMES if n not in MEAL_CHANNELS)
MAX_DAYS = 3650.0
_LIFESTYLE = ("fibre", "sugar", "processed", "fermented", "wake_time", "sleep_hours")  # baselines a person lives with


def _num(field_name: str, value, lo: float, hi: float, fix: str, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ScenarioError(field_name, value, f"a number in [{lo}, {hi}]", fix)
    v = float(value)
    if not math.isfinite(v) or v > hi or v < lo or (open_low and v <= lo):
        rng = f"({lo}, {hi}]" if open_low else f"[{lo}, {hi}]"
        raise ScenarioError(field_name, value, f"a finite number in {rng}", fix)
    return v


def _channel(name: str, where: str) -> str:
    if name not in _INPUT:
        raise ScenarioError(f"{where}.input", name, "a known input channel", suggest(name, INPUT_NAMES))
    return name


def _level(channel: str, value, where: str) -> float:
    i = _INPUT[channel]
    return _num(f"{where}.level", value, i.lower, i.upper, f"{channel} is in {i.unit}; give a value in [{i.lower}, {i.upper}]")


@dataclass(frozen=True)
class Meal:
    """A daily meal: clock time (h), carbohydrate (g), glycaemic index, eating time (min)."""

    time: float
    carbs: float
    gi: float = 55.0
    minutes: float = 15.0
    start_day: float = 0.0
    end_day: float = MAX_DAYS

    def __post_init__(self):
        w = "meal"
        object.__setattr__(self, "time", _num(f"{w}.time", self.time, 0.0, 24.0, "give the clock hour, e.g. 12.5 for 12:30"))
        object.__setattr__(self, "carbs", _num(f"{w}.carbs", self.carbs, 0.0, 500.0,
                                               "carbohydrate in grams per meal must be between 0 and 500 g"))
        object.__setattr__(self, "gi", _num(f"{w}.gi", self.gi, 0.0, 100.0, "glycaemic index is on the 0-100 glucose scale"))
        object.__setattr__(self, "minutes", _num(f"{w}.minutes", self.minutes, 1.0, 120.0, "eating time in minutes, 1-120"))
        object.__setattr__(self, "start_day", _num(f"{w}.start_day", self.start_day, 0.0, MAX_DAYS, "a day >= 0"))
        object.__setattr__(self, "end_day", _num(f"{w}.end_day", self.end_day, 0.0, MAX_DAYS, "a day >= start_day"))
        if self.end_day <= self.start_day:
            raise ScenarioError("meal.end_day", self.end_day, f"a day after start_day = {self.start_day}", "swap or fix the days")


@dataclass(frozen=True)
class Episode:
    """Set ``input`` to ``level`` from ``start_day`` (+ ``start_hour``) for ``days`` + ``hours``.

    ``daily_window = (h0, h1)`` restricts the episode to those clock hours each day.
    """

    input: str
    level: float
    start_day: float = 0.0
    days: float = 0.0
    start_hour: float = 0.0
    hours: float = 0.0
    daily_window: tuple[float, float] | None = None
    label: str = ""

    def __post_init__(self):
        w = f"episode({self.input})"
        _channel(self.input, w)
        if self.input in MEAL_CHANNELS:
            raise ScenarioError(f"{w}.input", self.input, "a non-meal channel", "describe meals with Meal entries")
        object.__setattr__(self, "level", _level(self.input, self.level, w))
        object.__setattr__(self, "start_day", _num(f"{w}.start_day", self.start_day, 0.0, MAX_DAYS, "a day >= 0"))
        object.__setattr__(self, "start_hour", _num(f"{w}.start_hour", self.start_hour, 0.0, 24.0, "an hour in [0, 24]"))
        object.__setattr__(self, "days", _num(f"{w}.days", self.days, 0.0, MAX_DAYS, "a duration in days >= 0"))
        object.__setattr__(self, "hours", _num(f"{w}.hours", self.hours, 0.0, 24.0 * MAX_DAYS, "a duration in hours >= 0"))
        if self.duration_h <= 0:
            raise ScenarioError(f"{w}.days/hours", (self.days, self.hours), "a positive duration", "set days or hours > 0")
        if self.daily_window is not None:
            dw = tuple(self.daily_window)
            if len(dw) != 2:
                raise ScenarioError(f"{w}.daily_window", self.daily_window, "two clock hours [start, end]")
            a = _num(f"{w}.daily_window[0]", dw[0], 0.0, 24.0, "clock hours in [0, 24]")
            b = _num(f"{w}.daily_window[1]", dw[1], 0.0, 24.0, "clock hours in [0, 24]")
            if b <= a:
                raise ScenarioError(f"{w}.daily_window", dw, "start < end within one day", "e.g. [9, 17]")
            object.__setattr__(self, "daily_window", (a, b))

    @property
    def start_h(self) -> float:
        return 24.0 * self.start_day + self.start_hour

    @property
    def duration_h(self) -> float:
        return 24.0 * self.days + self.hours

    def intervals(self) -> list[tuple[float, float]]:
        """Active time intervals in hours."""
        t0, t1 = self.start_h, self.start_h + self.duration_h
        if self.daily_window is None:
            return [(t0, t1)]
        a, b = self.daily_window
        out = []
        for d in range(int(t0 // 24), int(math.ceil(t1 / 24)) + 1):
            lo, hi = max(t0, 24 * d + a), min(t1, 24 * d + b)
            if hi > lo:
                out.append((lo, hi))
        return out


@dataclass(frozen=True)
class Schedule:
    """Compiled, left-continuous piecewise-constant inputs.

    ``times[k]`` are the switch times (h, ``times[0] = 0``); ``values[k]`` holds on
    ``(times[k], times[k+1]]``. ``switches`` are the interior switch times the solvers step onto.
    """

    times: np.ndarray
    values: np.ndarray
    horizon: float

    @property
    def switches(self) -> np.ndarray:
        return self.times[1:]

    def at(self, t: np.ndarray | float) -> np.ndarray:
        idx = np.clip(np.searchsorted(self.times, t, side="left") - 1, 0, len(self.times) - 1)
        return self.values[idx]


@dataclass(frozen=True)
class Scenario:
    """An immutable intervention scenario (see module docs)."""

    name: str = "custom"
    description: str = ""
    diet: Mapping[str, float] = field(default_factory=dict)
    meals: tuple[Meal, ...] = ()
    episodes: tuple[Episode, ...] = ()
    days: float = 180.0
    tags: tuple[str, ...] = ()

    def __post_init__(self):
        diet = dict(self.diet)
        for k, v in diet.items():
            _channel(k, "diet")
            if k in MEAL_CHANNELS:
                raise ScenarioError(f"diet.{k}", v, "a baseline channel", "describe meals with Meal entries")
            diet[k] = _level(k, v, f"diet.{k}")
        object.__setattr__(self, "diet", dict(sorted(diet.items())))
        meals = tuple(m if isinstance(m, Meal) else Meal(**m) for m in self.meals)
        episodes = tuple(e if isinstance(e, Episode) else Episode(**e) for e in self.episodes)
        object.__setattr__(self, "meals", tuple(sorted(meals, key=lambda m: (m.start_day, m.time))))
        object.__setattr__(self, "episodes", episodes)
        object.__setattr__(self, "days", _num("scenario.days", self.days, 0.0, MAX_DAYS, "a horizon in days, e.g. 180", open_low=True))
        self._check_overlaps()

    # -- validation --------------------------------------------------------------------------
    def _check_overlaps(self) -> None:
        by_channel: dict[str, list[tuple[float, float, Episode]]] = {}
        for e in self.episodes:
            for a, b in e.intervals():
                by_channel.setdefault(e.input, []).append((a, b, e))
        for ch, ivs in by_channel.items():
            ivs.sort(key=lambda x: x[0])
            for (a0, b0, e0), (a1, _b1, e1) in itertools.pairwise(ivs):
                if a1 < b0 - 1e-9:
                    raise ScenarioError(
                        f"episodes on {ch}", f"{e0.label or 'episode'} (hours {a0:g}-{b0:g}) and {e1.label or 'episode'} (from hour {a1:g})",
                        "non-overlapping episodes per channel",
                        "shift one episode or merge them into one" + (
                            f"; to change the baseline {ch} from a day on, use scenario.then(day, {ch}=level)"
                            if ch in _LIFESTYLE else ""))
        days_sorted: dict[float, list[Meal]] = {}  # meals by clock time
        for m in self.meals:
            for other in days_sorted.get(round(m.time, 6), []):
                if m.start_day < other.end_day and other.start_day < m.end_day:
                    raise ScenarioError("meals", f"two meals at {m.time:g} h", "one meal per clock time on any day",
                                        "remove the duplicate or give different start/end days")
            days_sorted.setdefault(round(m.time, 6), []).append(m)
        daily = sorted(self.meals, key=lambda m: m.time)
        for m0, m1 in itertools.pairwise(daily):
            if m0.start_day < m1.end_day and m1.start_day < m0.end_day and m0.time + m0.minutes / 60 > m1.time:
                raise ScenarioError("meals", f"meal at {m0.time:g} h lasting {m0.minutes:g} min overlaps meal at {m1.time:g} h",
                                    "meals that end before the next begins", "shorten or move a meal")

    def check_horizon(self, days: float) -> None:
        """Raise if an episode lies outside a run of ``days`` days."""
        for e in self.episodes:
            if e.start_h >= 24 * days:
                raise ScenarioError(f"episode({e.input}).start_day", e.start_day,
                                    f"a start inside the {days:g}-day run", f"run at least {e.start_h / 24 + e.duration_h / 24:g} days or move the episode")

    # -- composition -------------------------------------------------------------------------
    def __add__(self, other: Scenario) -> Scenario:
        if not isinstance(other, Scenario):
            return NotImplemented
        diet = dict(self.diet)
        for k, v in other.diet.items():
            if k in diet and diet[k] != v:
                raise ScenarioError(f"diet.{k}", (diet[k], v), "the same baseline in both scenarios",
                                    f"set {k} explicitly on the combined scenario with .replace(diet=...)")
            diet[k] = v
        meals = self.meals if not other.meals else other.meals if not self.meals else None
        if meals is None:
            if set(self.meals) != set(other.meals):
                raise ScenarioError("meals", "two different meal patterns", "at most one meal pattern",
                                    "combine a meal scenario with scenarios that define no meals")
            meals = self.meals
        return Scenario(name=f"{self.name}+{other.name}", description=f"{self.description} Combined with: {other.description}",
                        diet=diet, meals=meals, episodes=self.episodes + other.episodes, days=max(self.days, other.days),
                        tags=tuple(dict.fromkeys(self.tags + other.tags)))

    def then(self, day: float, *, label: str = "", **levels: float) -> Scenario:
        """The same scenario, with baseline channels set to ``levels`` from ``day`` on (see module docs)."""
        day = _num("then.day", day, 0.0, MAX_DAYS, "a day in the scenario, e.g. 70", open_low=True)
        if not levels:
            raise ScenarioError("then", "no levels", "at least one channel=level", "e.g. .then(70, fibre=30, sugar=40)")
        for k in levels:
            _channel(k, "then")
            if k in MEAL_CHANNELS:
                raise ScenarioError(f"then.{k}", levels[k], "a non-meal channel", "describe meals with Meal entries")
        t = 24.0 * day
        kept: list[Episode] = []
        for e in self.episodes:
            if e.input not in levels:
                kept.append(e)
                continue
            if e.start_h >= t - 1e-9:
                raise ScenarioError(f"then({day:g}).{e.input}", f"{e.label or 'episode'} starting on day {e.start_h / 24:g}",
                                    f"no {e.input} episode starting on or after day {day:g}",
                                    f"remove that episode or change {e.input} with .then() after it ends")
            end = e.start_h + e.duration_h
            if end <= t + 1e-9:
                kept.append(e)
            elif e.daily_window is not None:
                raise ScenarioError(f"then({day:g}).{e.input}", f"{e.label or 'episode'} with a daily window {e.daily_window}",
                                    "an episode without a daily window", "end that episode before the change day instead")
            else:
                kept.append(replace(e, days=(t - e.start_h) / 24.0, hours=0.0))
        new = tuple(Episode(k, v, day, MAX_DAYS - day, label=label or f"from day {day:g}: {k}") for k, v in levels.items())
        desc = ", ".join(f"{k} = {v:g}" for k, v in levels.items())
        return replace(self, name=f"{self.name}, then {desc} from day {day:g}",
                       description=f"{self.description} From day {day:g}: {desc}.".strip(), episodes=tuple(kept) + new)

    def replace(self, **changes) -> Scenario:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["meals"] = [asdict(m) for m in self.meals]
        d["episodes"] = [asdict(e) for e in self.episodes]
        return d

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True, default=list).encode()).hexdigest()[:16]

    def baseline(self) -> Scenario:
        """The same person with no episodes (diet, meals and sleep only): used for warm-up."""
        return replace(self, name="baseline", description="", episodes=(), tags=(), days=1.0)

    # -- compilation -------------------------------------------------------------------------
    def schedule(self, days: float | None = None) -> Schedule:
        """Compile to a left-continuous piecewise-constant :class:`Schedule` over ``days``."""
        days = self.days if days is None else days
        horizon = 24.0 * days
        base = np.array([self.diet.get(i.name, i.default) for i in INPUTS])
        idx = {n: k for k, n in enumerate(INPUT_NAMES)}
        changes: list[tuple[float, int, float, int]] = []  # (time, channel, value, order)
        for e in self.episodes:
            c = idx[e.input]
            for a, b in e.intervals():
                if a >= horizon:
                    continue
                changes.append((a, c, e.level, 1))
                changes.append((min(b, horizon), c, base[c], 0))
        ci, gi, mi = idx["carb_rate"], idx["meal_gi"], idx["meal_carbs"]
        if self.meals:
            first_day = int(min(m.start_day for m in self.meals))
            for d in range(first_day, int(math.ceil(days))):
                for m in self.meals:
                    if not (m.start_day <= d < m.end_day):
                        continue
                    t0 = 24.0 * d + m.time
                    if t0 >= horizon:
                        continue
                    t1 = min(t0 + m.minutes / 60.0, horizon)
                    changes.append((t0, ci, m.carbs / (m.minutes / 60.0), 1))
                    changes.append((t0, gi, m.gi, 1))
                    changes.append((t0, mi, m.carbs, 1))
                    changes.append((t1, ci, 0.0, 0))
        changes.sort(key=lambda c: (c[0], c[3]))
        times = [0.0]
        values = [base.copy()]
        current = base.copy()
        for t, c, v, _ in changes:
            if t <= times[-1] + 1e-12:
                current[c] = v
                values[-1] = current.copy()
                continue
            times.append(t)
            current[c] = v
            values.append(current.copy())
        times_a = np.asarray(times)
        values_a = np.asarray(values)
        # drop switches that change nothing
        keep = np.ones(len(times_a), bool)
        keep[1:] = np.any(values_a[1:] != values_a[:-1], axis=1)
        times_a, values_a = times_a[keep], values_a[keep]
        times_a = times_a[times_a < horizon] if len(times_a) > 1 else times_a
        return Schedule(times=times_a, values=values_a[: len(times_a)], horizon=horizon)


def episodes_from(entries: Iterable[Mapping]) -> tuple[Episode, ...]:
    out = []
    for k, e in enumerate(entries):
        if not isinstance(e, Mapping):
            raise ScenarioError(f"episodes[{k}]", e, "a table with input, level, start_day, days/hours")
        try:
            out.append(Episode(**e))
        except TypeError as exc:
            raise ScenarioError(f"episodes[{k}]", sorted(e), "fields input, level, start_day, days, start_hour, hours, daily_window, label",
                                str(exc)) from None
    return tuple(out)
