"""The daily diary: its columns, reading and validating a CSV, and the scenario it describes."""

from __future__ import annotations

import csv
import datetime as _dt
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import GutbrainWarning, InputError
from ...scenarios import STANDARD_MEALS, Episode, Scenario

FIBRE_G_PER_SERVING = 5.0


SUGAR_G_PER_SERVING = 12.5


OBS_HOUR = 20.0  # diary filled in the evening ...


WAKE_HOUR = 8.0  # ... about the waking day since 08:00


LAB_HOUR = 8.0  # morning cortisol / CRP


# column -> (aliases, lower, upper, kind) ; kind: "input" (carried forward) or "obs" (missing = not used)
COLUMNS: dict[str, tuple[tuple[str, ...], float, float, str]] = {
    "mood": ((), 0.0, 10.0, "obs"),
    "phq2": (("phq-2",), 0.0, 6.0, "obs"),
    "gad2": (("gad-2",), 0.0, 6.0, "obs"),
    "stress": (("stress_0_10",), 0.0, 10.0, "input"),
    "sleep_hours": (("sleep", "sleep_h"), 0.0, 24.0, "input"),
    "fibre_servings": (("fiber_servings", "fibre", "fiber"), 0.0, 30.0, "input"),
    "sugar_servings": (("sugar",), 0.0, 40.0, "input"),
    "fermented": (("fermented_servings", "fermented_food"), 0.0, 10.0, "input"),
    "gi_symptoms": (("gi", "gi_symptom"), 0.0, 10.0, "obs"),
    "cortisol_am": (("cortisol", "morning_cortisol"), 0.5, 60.0, "obs"),
    "crp": (("crp_mg_l",), 0.01, 200.0, "obs"),
}


REQUIRED = ("stress", "sleep_hours", "fibre_servings", "sugar_servings", "fermented", "gi_symptoms")


INPUT_COLS = ("stress", "sleep_hours", "fibre_servings", "sugar_servings", "fermented")


OBS_COLS = ("mood", "phq2", "gad2", "gi_symptoms", "cortisol_am", "crp")


class DiaryWarning(GutbrainWarning):
    """A diary was repaired (gaps filled, values clipped)."""


# ---------------------------------------------------------------------------------------------
# diary
# ---------------------------------------------------------------------------------------------
@dataclass
class Diary:
    dates: list[_dt.date]
    data: dict[str, np.ndarray]  # column -> (n_days,) float, NaN = missing observation
    notes: list[str] = field(default_factory=list)

    @property
    def n_days(self) -> int:
        return len(self.dates)

    def observed(self) -> list[str]:
        return [c for c in OBS_COLS if c in self.data and np.isfinite(self.data[c]).any()]


def _canon(header: str) -> str | None:
    h = header.strip().lower().replace(" ", "_")
    if h == "date":
        return "date"
    for col, (aliases, *_rest) in COLUMNS.items():
        if h == col or h in aliases:
            return col
    return None


def read_diary(path: str | Path | None = None, *, rows: Sequence[Mapping[str, object]] | None = None, source: str | None = None,
               min_days: int = 14) -> Diary:
    """Read and validate a diary CSV (or a list of row dicts). See the module docs for the format."""
    if rows is None:
        if path is None:
            raise InputError("diary", None, "a CSV path or rows", "pass the diary file, e.g. read_diary('diary.csv')")
        p = Path(path)
        if not p.exists():
            raise InputError("diary", str(p), "an existing CSV file", "check the path")
        if not p.is_file():
            raise InputError("diary", str(p), "a CSV file (this is a directory or another non-file)",
                             "pass the diary file itself, e.g. diary.csv")
        try:
            with p.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames:
                    raise InputError("diary", str(p), "a CSV file with a header row", "the first line must name the columns")
                rows = list(reader)
        except UnicodeDecodeError as exc:
            raise InputError("diary", str(p), "a UTF-8 text CSV file (this file is binary or in another encoding: "
                             f"byte {exc.start} cannot be read as UTF-8)",
                             "export the diary as CSV in UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet program)") from None
        except csv.Error as exc:
            raise InputError("diary", str(p), f"a CSV file ({exc})", "export the diary as plain CSV") from None
        except OSError as exc:
            raise InputError("diary", str(p), f"a readable file ({exc.strerror or exc})", "check the path and its permissions") from None
        source = source or p.name
    source = source or "diary"
    if not rows:
        raise InputError(source, "no rows", f"at least {min_days} daily rows", "add one row per day")
    header = list(rows[0].keys())
    mapping = {h: _canon(h) for h in header}
    present = {v for v in mapping.values() if v}
    missing = [c for c in ("date", *REQUIRED) if c not in present]
    if missing:
        raise InputError(f"{source}: column", missing[0], "columns date, mood or phq2, " + ", ".join(REQUIRED),
                         f"add a '{missing[0]}' column (unknown columns: {[h for h, v in mapping.items() if v is None]})")
    if "mood" not in present and "phq2" not in present:
        raise InputError(f"{source}: column", "mood/phq2", "a mood column (0-10) or a phq2 column (0-6)", "add one of them")
    records: dict[_dt.date, dict[str, float]] = {}
    for k, row in enumerate(rows, start=2):  # line number in the file (header = 1)
        rec: dict[str, float] = {}
        date = None
        for h, value in row.items():
            col = mapping.get(h)
            if col is None:
                continue
            s = "" if value is None else str(value).strip()
            if col == "date":
                try:
                    date = _dt.date.fromisoformat(s)
                except ValueError:
                    raise InputError(f"{source}: line {k}, date", s, "an ISO date YYYY-MM-DD", "e.g. 2024-03-01") from None
                continue
            if s == "" or s.lower() in ("na", "nan", "none"):
                rec[col] = math.nan
                continue
            try:
                v = float(s)
            except ValueError:
                raise InputError(f"{source}: line {k}, {col}", s, "a number", "leave the cell empty if not recorded") from None
            _, lo, hi, _kind = COLUMNS[col]
            if not math.isfinite(v) or not lo <= v <= hi:
                raise InputError(f"{source}: line {k}, {col}", v, f"a value in [{lo:g}, {hi:g}]", "check the scale of this column")
            rec[col] = v
        if date is None:
            raise InputError(f"{source}: line {k}, date", "", "an ISO date YYYY-MM-DD", "every row needs a date")
        if date in records:
            raise InputError(f"{source}: line {k}, date", date.isoformat(), "one row per day", "merge or remove the duplicate row")
        records[date] = rec
    dates_sorted = sorted(records)
    notes = []
    if list(records) != dates_sorted:
        notes.append("rows were not in date order; sorted")
    first, last = dates_sorted[0], dates_sorted[-1]
    n = (last - first).days + 1
    if n < min_days:
        raise InputError(f"{source}: days", n, f"at least {min_days} days", "keep the diary for at least two weeks")
    if n > 365:
        raise InputError(f"{source}: days", n, "at most 365 days", "fit the most recent year")
    dates = [first + _dt.timedelta(days=i) for i in range(n)]
    gaps = [d for d in dates if d not in records]
    cols = sorted(present - {"date"})
    data = {c: np.array([records.get(d, {}).get(c, math.nan) for d in dates], float) for c in cols}
    filled: list[str] = []
    is_gap = np.array([d not in records for d in dates])
    for c in INPUT_COLS:
        series = data[c]
        if np.isnan(series[0]):
            ok = np.flatnonzero(np.isfinite(series))
            if not len(ok):
                raise InputError(f"{source}: column {c}", "empty", "at least one recorded value", "fill in the column")
            series[: ok[0]] = series[ok[0]]
            filled.append(f"{c} on the first {ok[0]} day(s) (back-filled)")
        nan = np.isnan(series)
        if (nan & ~is_gap).any():
            filled.append(f"{c} on {int((nan & ~is_gap).sum())} day(s)")
        if nan.any():
            idx = np.where(~nan, np.arange(len(series)), 0)
            np.maximum.accumulate(idx, out=idx)
            data[c] = series[idx]
    sl = data["sleep_hours"]
    if np.any((sl < 3) | (sl > 12)):
        notes.append(f"sleep_hours outside 3-12 h on {int(np.sum((sl < 3) | (sl > 12)))} day(s) clipped to [3, 12]")
        data["sleep_hours"] = np.clip(sl, 3, 12)
    if gaps:
        notes.append(f"{len(gaps)} missing day(s) ({', '.join(d.isoformat() for d in gaps[:5])}{', ...' if len(gaps) > 5 else ''}): "
                     "inputs carried forward, symptoms treated as not recorded")
    if filled:
        notes.append("empty input cells carried forward: " + "; ".join(filled))
    diary = Diary(dates, data, notes)
    if not diary.observed():
        raise InputError(f"{source}: symptoms", "all empty", "some recorded mood/PHQ-2/GI values", "fill in the symptom columns")
    for note in notes:
        warnings.warn(note, DiaryWarning, stacklevel=2)
    return diary


def _day_inputs(diary: Diary, i: int | slice) -> dict[str, np.ndarray | float]:
    d = diary.data
    return {"stress": d["stress"][i] / 10.0, "sleep_hours": np.clip(d["sleep_hours"][i], 3, 12),
            "fibre": np.clip(d["fibre_servings"][i] * FIBRE_G_PER_SERVING, 0, 150),
            "sugar": np.clip(d["sugar_servings"][i] * SUGAR_G_PER_SERVING, 0, 500),
            "fermented": np.clip(d["fermented"][i], 0, 10)}


def habitual_inputs(diary: Diary, days: slice = slice(0, 7)) -> dict[str, float]:
    return {k: float(np.mean(v)) for k, v in _day_inputs(diary, days).items()}


def diary_scenario(diary: Diary, *, extra_days: float = 0.0, after: Mapping[str, float] | None = None,
                   extra_episodes: Sequence[Episode] = ()) -> Scenario:
    """Daily input episodes for the diary (baseline = first-week means), optionally continued for ``extra_days``
    with inputs ``after`` (default: means of the last 14 diary days) plus ``extra_episodes``."""
    base = habitual_inputs(diary)
    eps = []
    for i in range(diary.n_days):
        for ch, v in _day_inputs(diary, i).items():
            eps.append(Episode(ch, float(v), float(i), 1.0, label=f"diary {ch}"))
    if extra_days > 0:
        tail = dict(after) if after is not None else habitual_inputs(diary, slice(max(0, diary.n_days - 14), None))
        for ch, v in tail.items():
            eps.append(Episode(ch, float(v), float(diary.n_days), float(extra_days), label=f"continued {ch}"))
    return Scenario(name="diary", diet=base, meals=STANDARD_MEALS, episodes=tuple(eps) + tuple(extra_episodes),
                    days=float(diary.n_days + extra_days))


def write_diary(diary: Diary, path: str | Path) -> Path:
    path = Path(path)
    cols = [c for c in ("mood", "phq2", "gad2", "stress", "sleep_hours", "fibre_servings", "sugar_servings", "fermented",
                        "gi_symptoms", "cortisol_am", "crp") if c in diary.data]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["date", *cols])
        for i, d in enumerate(diary.dates):
            row = [d.isoformat()]
            for c in cols:
                v = diary.data[c][i]
                row.append("" if not np.isfinite(v) else (f"{v:g}"))
            w.writerow(row)
    return path
