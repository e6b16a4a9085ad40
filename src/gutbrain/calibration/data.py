"""Access to the calibration data shipped in ``gutbrain/data`` (copied from the project's shared data)."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np


def _rows(name: str) -> list[dict[str, str]]:
    with resources.files("gutbrain.data").joinpath(name).open() as fh:
        return list(csv.DictReader(fh))


def cortisol_24h() -> tuple[np.ndarray, np.ndarray]:
    """Clock time (h) and mean plasma cortisol (ug/dL) every 10 min (Carroll et al. 2007)."""
    rows = _rows("cortisol_24h_healthy_carroll2007.csv")
    return (np.array([float(r["time_min_from_midnight"]) / 60 for r in rows]), np.array([float(r["cortisol_ugdl"]) for r in rows]))


def endotoxin_summary() -> dict[str, dict[str, np.ndarray]]:
    """Per cytokine: time (h), mean and SD (pg/mL) after a 2 ng/kg endotoxin bolus."""
    out: dict[str, dict[str, list[float]]] = {}
    for r in _rows("endotoxin_bolus_2ngkg_summary.csv"):
        d = out.setdefault(r["cytokine"], {"time": [], "mean": [], "sd": []})
        d["time"].append(float(r["time_h"]))
        d["mean"].append(float(r["mean_pg_per_ml"]))
        d["sd"].append(float(r["sd_pg_per_ml"]))
    return {k: {kk: np.array(vv) for kk, vv in v.items()} for k, v in out.items()}


def endotoxin_subjects() -> dict[str, np.ndarray]:
    """Per cytokine: array (subject, time) of pg/mL values."""
    rows = _rows("endotoxin_bolus_2ngkg_subjects.csv")
    out: dict[str, dict[int, dict[float, float]]] = {}
    for r in rows:
        out.setdefault(r["cytokine"], {}).setdefault(int(r["subject"]), {})[float(r["time_h"])] = float(r["value_pg_per_ml"])
    return {c: np.array([[v[t] for t in sorted(v)] for _, v in sorted(subj.items())]) for c, subj in out.items()}


def targets() -> list[dict[str, str]]:
    """Scalar calibration targets T01-T33 with tolerances and sources."""
    return _rows("calibration_targets.csv")
