"""Shape check of a scenario sent as a JSON body, before :func:`gutbrain.scenarios.from_dict` reads it.

``from_dict`` checks values (ranges, channel names) with messages that teach; this module checks
the shape around them (a field that must be a table, a list, a text or a number; unknown or
missing keys in a meal, episode, diet change or endotoxin entry), so that a wrong type is
answered in the request's terms rather than with a Python ``TypeError`` text.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ENTRY_FIELDS", "ShapeError", "check_scenario_body"]

#: keys of each list entry: (required, optional)
ENTRY_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "meals": (("time", "carbs"), ("gi", "minutes", "start_day", "end_day")),
    "episodes": (("input", "level"), ("start_day", "days", "start_hour", "hours", "daily_window", "label")),
    "endotoxin": (("dose_ng_per_kg",), ("day", "hour", "infusion_hours")),
}
_TEXT_FIELDS = {"input", "label"}
_EXAMPLE = "GET /api/scenarios/healthy-baseline shows a complete scenario"
_MAX_TEXT = 200


class ShapeError(ValueError):
    """A scenario body field of the wrong shape: ``field``, what is wrong, and the fix."""

    def __init__(self, field: str, problem: str, fix: str):
        super().__init__(f"scenario.{field} {problem}")
        self.field, self.fix = field, fix


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _need(where: str, value, ok: Callable[[object], bool], wanted: str, fix: str) -> None:
    if not ok(value):
        raise ShapeError(where, f"must be {wanted} (got {_kind(value)})", fix)


def check_scenario_body(spec: dict, *, channels: tuple[str, ...]) -> None:
    """Raise :class:`ShapeError` unless every field of the scenario body ``spec`` has the right shape.

    ``channels`` are the diet and sleep channels a ``diet`` table and a ``diet_changes`` entry may set.
    """
    for key in ("name", "description"):
        if key in spec:
            _need(key, spec[key], lambda v: isinstance(v, str) and len(v) <= _MAX_TEXT,
                  f"a text of at most {_MAX_TEXT} characters", f'e.g. "{key}": "my-plan"')
    if "days" in spec:
        _need("days", spec["days"], _is_number, "a number of days", '"days": 90')
    if "tags" in spec:
        _need("tags", spec["tags"], lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v),
              "a list of texts", '"tags": ["stress"]')
    if "diet" in spec:
        diet = spec["diet"]
        _need("diet", diet, lambda v: isinstance(v, dict), "a table of channel levels",
              '"diet": {"fibre": 35, "sugar": 30}; ' + _EXAMPLE)
        for k, v in diet.items():
            _need(f"diet.{k}", v, _is_number, "a number", f'give a number, e.g. "diet": {{"{k}": 20}}')
    for key, (required, optional) in ENTRY_FIELDS.items():
        for i, entry in enumerate(spec.get(key, [])):
            _entry(f"{key}[{i}]", entry, required, optional)
    for i, entry in enumerate(spec.get("diet_changes", [])):
        where = f"diet_changes[{i}]"
        _need(where, entry, lambda v: isinstance(v, dict), "a table with start_day, days and channel levels",
              '"diet_changes": [{"start_day": 0, "fibre": 35}]')
        for k, v in entry.items():
            if k not in ("start_day", "days") and k not in channels:
                continue  # from_dict names the unknown channel and suggests the nearest one
            _need(f"{where}.{k}", v, _is_number, "a number", f'e.g. "{k}": 10')


def _entry(where: str, entry, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    fields = ", ".join(required + optional)
    _need(where, entry, lambda v: isinstance(v, dict), f"a table with the fields {fields}", _EXAMPLE)
    unknown = [k for k in entry if k not in required + optional]
    if unknown:
        raise ShapeError(f"{where}.{unknown[0]}", "is not a known field", f"use only the fields {fields}")
    missing = [k for k in required if k not in entry]
    if missing:
        raise ShapeError(where, f"lacks the field {missing[0]!r}", f"give {' and '.join(required)} (and optionally "
                         f"{', '.join(optional)})")
    for k, v in entry.items():
        if k in _TEXT_FIELDS:
            _need(f"{where}.{k}", v, lambda x: isinstance(x, str), "a text", f'e.g. "{k}": "stress"')
        elif k == "daily_window":
            _need(f"{where}.daily_window", v, lambda x: x is None or (isinstance(x, list) and len(x) == 2
                                                                      and all(_is_number(h) for h in x)),
                  "two clock hours [start, end]", '"daily_window": [9, 17]')
        else:
            _need(f"{where}.{k}", v, _is_number, "a number", f'give {k} as a number')
