"""Built-in and user scenarios (TOML or Python), and helpers to build them.

Examples
--------
>>> from gutbrain.scenarios import get, stressor, probiotic
>>> s = get("western-diet") + Scenario(episodes=probiotic(start_day=14, days=56, dose=10))
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from ..errors import ScenarioError, suggest
from .scenario import BASELINE_CHANNELS, Episode, Meal, Scenario, Schedule, episodes_from

__all__ = [
    "STANDARD_MEALS",
    "Episode",
    "Meal",
    "Scenario",
    "Schedule",
    "antibiotic",
    "builtin",
    "diet_change",
    "endotoxin",
    "from_dict",
    "get",
    "load",
    "names",
    "prebiotic",
    "probiotic",
    "stressor",
    "therapy",
]

STANDARD_MEALS = (Meal(7.5, 50, 55), Meal(12.5, 70, 55), Meal(19.0, 70, 55))
_ALLOWED = {"name", "description", "days", "tags", "diet", "meals", "episodes", "diet_changes", "endotoxin", "include"}


def stressor(start_day: float, days: float = 0.0, intensity: float = 0.5, *, hours: float = 0.0, start_hour: float = 0.0,
             daily_window: tuple[float, float] | None = None) -> tuple[Episode, ...]:
    return (Episode("stress", intensity, start_day, days, start_hour, hours, daily_window, label="stressor"),)


def antibiotic(start_day: float, days: float, strength: float = 1.0) -> tuple[Episode, ...]:
    return (Episode("antibiotic", strength, start_day, days, label="antibiotic course"),)


def probiotic(start_day: float, days: float, dose: float = 10.0) -> tuple[Episode, ...]:
    """Probiotic dosing, ``dose`` in billion CFU per day."""
    return (Episode("probiotic", dose, start_day, days, label="probiotic"),)


def prebiotic(start_day: float, days: float, grams: float = 10.0) -> tuple[Episode, ...]:
    return (Episode("prebiotic", grams, start_day, days, label="prebiotic"),)


def therapy(start_day: float, days: float, engagement: float = 1.0) -> tuple[Episode, ...]:
    return (Episode("therapy", engagement, start_day, days, label="therapy"),)


def diet_change(start_day: float, days: float = 3650.0, **levels: float) -> tuple[Episode, ...]:
    """Change diet channels (fibre, sugar, processed, fermented) from ``start_day`` for ``days``."""
    for k in levels:
        if k not in BASELINE_CHANNELS:
            raise ScenarioError("diet change", k, "a diet or sleep channel", suggest(k, BASELINE_CHANNELS))
    return tuple(Episode(k, v, start_day, days, label=f"diet: {k}") for k, v in levels.items())


def endotoxin(dose_ng_per_kg: float, *, day: float = 0.0, hour: float = 8.0, infusion_hours: float = 1.0 / 60.0) -> tuple[Episode, ...]:
    """Intravenous endotoxin: ``dose_ng_per_kg`` (ng per kg body weight) given over ``infusion_hours``.

    The default (one minute) is a bolus; the dose is converted once to an infusion rate (ng/kg/h).
    """
    if isinstance(dose_ng_per_kg, bool) or not isinstance(dose_ng_per_kg, (int, float)) or not (0 < dose_ng_per_kg <= 50):
        raise ScenarioError("endotoxin.dose_ng_per_kg", dose_ng_per_kg, "a dose in (0, 50] ng/kg body weight",
                            "human challenge studies use 0.4-4 ng/kg; note the unit is ng per kg, not ng")
    if not isinstance(infusion_hours, (int, float)) or not (0 < infusion_hours <= 24):
        raise ScenarioError("endotoxin.infusion_hours", infusion_hours, "a duration in (0, 24] h", "use 1/60 for a bolus")
    return (Episode("lps_iv", dose_ng_per_kg / infusion_hours, day, 0.0, hour, infusion_hours, label="endotoxin"),)


def from_dict(d: Mapping, *, source: str = "scenario") -> Scenario:
    """Build a scenario from a TOML-like mapping (see ``scenarios/builtin/*.toml``)."""
    if not isinstance(d, Mapping):
        raise ScenarioError(source, d, "a table of scenario fields")
    unknown = set(d) - _ALLOWED
    if unknown:
        raise ScenarioError(f"{source}: field", sorted(unknown)[0], "one of " + ", ".join(sorted(_ALLOWED)),
                            suggest(sorted(unknown)[0], _ALLOWED))
    base = Scenario()
    for inc in d.get("include", []):
        base = base + get(inc)
    meals = d.get("meals", [dict(m.__dict__) for m in STANDARD_MEALS] if not base.meals else [])
    try:
        meals = tuple(Meal(**m) for m in meals)
    except TypeError as exc:
        raise ScenarioError(f"{source}: meals", meals, "tables with time, carbs, gi, minutes, start_day, end_day", str(exc)) from None
    episodes = list(episodes_from(d.get("episodes", [])))
    for k, ch in enumerate(d.get("diet_changes", [])):
        ch = dict(ch)
        try:
            start, days = ch.pop("start_day", 0.0), ch.pop("days", 3650.0)
        except AttributeError:
            raise ScenarioError(f"{source}: diet_changes[{k}]", ch, "a table with start_day, days and channel levels") from None
        episodes += diet_change(start, days, **ch)
    for k, e in enumerate(d.get("endotoxin", [])):
        try:
            episodes += endotoxin(**e)
        except TypeError as exc:
            raise ScenarioError(f"{source}: endotoxin[{k}]", e, "dose_ng_per_kg, day, hour, infusion_hours", str(exc)) from None
    own = Scenario(name=str(d.get("name", "custom")), description=str(d.get("description", "")), diet=d.get("diet", {}),
                   meals=meals, episodes=tuple(episodes), days=d.get("days", 180.0), tags=tuple(d.get("tags", ())))
    if d.get("include"):
        combined = base + own
        return combined.replace(name=own.name, description=own.description, days=own.days, tags=own.tags)
    return own


def load(path: str | Path) -> Scenario:
    """Load a scenario from a TOML file."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError("scenario file", str(path), "an existing TOML file", "check the path")
    if not path.is_file():
        raise ScenarioError("scenario file", str(path), "a TOML file (this is a directory or another non-file)",
                            "pass the .toml file itself")
    try:
        d = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"scenario file {path.name}", "malformed TOML", "valid TOML", f"fix the syntax: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError("scenario file", str(path), "a UTF-8 text file (TOML is UTF-8; byte "
                            f"{exc.start} of this file is not)", "save the file as UTF-8 (e.g. 'UTF-8' in the editor's "
                            "save dialog, or iconv -f latin1 -t utf-8)") from None
    except OSError as exc:
        raise ScenarioError("scenario file", str(path), f"a readable file ({exc.strerror or exc})",
                            "check the path and its permissions") from None
    d.setdefault("name", path.stem)
    return from_dict(d, source=path.name)


_BUILTIN: dict[str, Scenario] | None = None
_RAW: dict[str, dict] = {}


def _raw() -> dict[str, dict]:
    if not _RAW:
        for res in resources.files(__package__).joinpath("builtin").iterdir():
            if res.name.endswith(".toml"):
                d = tomllib.loads(res.read_text(encoding="utf-8"))
                d.setdefault("name", res.name[:-5])
                _RAW[d["name"]] = d
    return _RAW


def names() -> list[str]:
    return sorted(_raw())


def get(name: str | Scenario) -> Scenario:
    """A built-in scenario by name (or a path to a TOML file, or a Scenario passed through)."""
    if isinstance(name, Scenario):
        return name
    if not isinstance(name, str):
        raise ScenarioError("scenario", name, "a scenario name, a TOML path or a Scenario")
    raw = _raw()
    if name in raw:
        return from_dict(raw[name], source=f"{name}.toml")
    if name.endswith(".toml"):
        return load(name)
    raise ScenarioError("scenario", name, "a built-in scenario name or a .toml file", suggest(name, raw))


def builtin() -> dict[str, Scenario]:
    return {n: get(n) for n in names()}
