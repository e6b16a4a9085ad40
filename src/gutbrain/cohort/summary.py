"""Summaries of a cohort store: status counts, end-of-run percentiles, responder fractions, percentile bands.

Everything is computed chunk by chunk (patients) or block by block (time), so memory stays
bounded for any cohort size: per output only one ``float64`` value per patient is held.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._paths import quiet_zarr
from . import store as _store

__all__ = ["MAIN", "PERCENTILES", "percentile_bands", "plot_bands", "start_end", "summarize"]

PERCENTILES = (5, 25, 50, 75, 95)
#: read-outs summarised by default (those present in the store are used)
MAIN = ("gad7", "phq9", "CORT", "CRP", "IL6", "lm_ratio", "plasma_endotoxin", "portal_butyrate", "glucose", "hrv_rmssd")
#: clinical responder definitions: (output, label, baseline threshold, kind, value); gad7 and phq9 are the
#: questionnaire scores (14-day recall windows, model/scores.py), as the trial definitions mean them
RESPONDERS = (
    ("gad7", "GAD-7 response (>= 50% reduction, baseline >= 5)", 5.0, "relative", 0.5),
    ("gad7", "GAD-7 improved >= 4 points (MCID, baseline >= 5)", 5.0, "absolute", 4.0),
    ("phq9", "PHQ-9 response (>= 50% reduction, baseline >= 5)", 5.0, "relative", 0.5),
    ("phq9", "PHQ-9 improved >= 5 points (MCID, baseline >= 5)", 5.0, "absolute", 5.0),
)
_BLOCK_BYTES = 64 * 2**20


def _group(path):
    import zarr

    with quiet_zarr():
        return zarr.open_group(str(path), mode="r", use_consolidated=False)


def _status(g, n, chunk) -> np.ndarray:
    return np.concatenate([np.asarray(g["status"][a:min(n, a + chunk)]) for a in range(0, n, chunk)]) if n else np.zeros(0)


def start_end(path, output: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-patient start and end values of ``output`` (first/last-day means), read chunk by chunk."""
    attrs = _store.read_attrs(path)
    g = _group(path)
    n, chunk, reduce = int(attrs["n"]), int(attrs["chunk"]), attrs["reduce"]
    arr = g[output]
    start, end = np.full(n, np.nan), np.full(n, np.nan)
    if reduce == "summary":
        i0, i1 = _store.STATS.index("first_day_mean"), _store.STATS.index("last_day_mean")
        first = last = None
    elif reduce == "daily":
        first = last = None
    else:
        t = np.asarray(g["time"][:])
        first, last = t <= t[0] + 1 + 1e-9, t >= t[-1] - 1 - 1e-9
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        v = np.asarray(arr[a:b])
        if reduce == "summary":
            start[a:b], end[a:b] = v[:, i0], v[:, i1]
        elif reduce == "daily":
            start[a:b], end[a:b] = v[:, 0], v[:, -1]
        else:
            start[a:b], end[a:b] = v[:, first].mean(1), v[:, last].mean(1)
    return start, end


def summarize(path: str | os.PathLike, outputs=None, percentiles=PERCENTILES) -> dict:
    """Status counts, percentiles of start/end values and responder fractions of a cohort store."""
    attrs = _store.read_attrs(path)
    if attrs.get("cohort_format") is None:
        from ..errors import InputError

        raise InputError("store", str(path), "a cohort store written by `gutbrain cohort`", "check the path")
    g = _group(path)
    n, chunk = int(attrs["n"]), int(attrs["chunk"])
    status = _status(g, n, chunk)
    done = np.asarray(g["done"][:]) == 1
    outs = [o for o in (outputs or MAIN) if o in attrs["outputs"]] or list(attrs["outputs"])
    res = {"store": str(path), "scenario": attrs["scenario"], "days": attrs["days"], "n": n, "reduce": attrs["reduce"],
           "backend": attrs["backend"], "gutbrain_version": attrs["gutbrain_version"],
           "ok": int(np.sum(status == 1)), "failed": int(np.sum(status == 2)), "pending": int(np.sum(status == 0)),
           "chunks_done": int(done.sum()), "n_chunks": len(done), "percentiles": list(percentiles),
           "outputs": {}, "responders": []}
    cache = {}
    for o in outs:
        s, e = start_end(path, o)
        cache[o] = (s, e)
        ok = np.isfinite(s) & np.isfinite(e)
        if not ok.any():
            res["outputs"][o] = None
            continue
        change = e[ok] - s[ok]
        rel = change / np.where(np.abs(s[ok]) > 0, np.abs(s[ok]), np.nan)
        res["outputs"][o] = {
            "unit": g[o].attrs.get("units", ""),
            "start": [float(x) for x in np.percentile(s[ok], percentiles)],
            "end": [float(x) for x in np.percentile(e[ok], percentiles)],
            "frac_down_10pct": float(np.nanmean(rel <= -0.1)), "frac_up_10pct": float(np.nanmean(rel >= 0.1)),
        }
    for o, label, base, kind, value in RESPONDERS:
        if o not in cache:
            continue
        s, e = cache[o]
        elig = np.isfinite(s) & np.isfinite(e) & (s >= base)
        hit = e[elig] <= (1 - value) * s[elig] if kind == "relative" else e[elig] <= s[elig] - value
        res["responders"].append({"label": label, "output": o, "eligible": int(elig.sum()),
                                  "fraction": float(hit.mean()) if elig.any() else None})
    return res


def percentile_bands(path, output: str, percentiles=PERCENTILES) -> tuple[np.ndarray, np.ndarray]:
    """``(time, bands)``: percentiles over patients (failed ones excluded) at every stored time, in time blocks."""
    attrs = _store.read_attrs(path)
    if attrs["reduce"] == "summary":
        raise ValueError("a summary store has no time series")
    g = _group(path)
    n = int(attrs["n"])
    t = np.asarray(g["time"][:])
    arr = g[output]
    block = max(1, int(_BLOCK_BYTES // (8 * max(n, 1))))
    bands = np.full((len(percentiles), len(t)), np.nan)
    for a in range(0, len(t), block):
        b = min(len(t), a + block)
        v = np.asarray(arr[:, a:b])
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                bands[:, a:b] = np.nanpercentile(v, percentiles, axis=0)
    return t, bands


def plot_bands(path, out_png: str | os.PathLike, outputs=None) -> Path:
    """A PNG of percentile bands (5-95 %, 25-75 %, median) over time for the main read-outs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    attrs = _store.read_attrs(path)
    g = _group(path)
    outs = [o for o in (outputs or MAIN) if o in attrs["outputs"]][:9] or list(attrs["outputs"])[:9]
    ncol = 3
    nrow = -(-len(outs) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.8 * nrow), squeeze=False)
    for ax, o in zip(axes.flat, outs, strict=False):
        t, b = percentile_bands(path, o)
        ax.fill_between(t, b[0], b[4], alpha=0.25, color="C0", lw=0, label="5-95 %")
        ax.fill_between(t, b[1], b[3], alpha=0.45, color="C0", lw=0, label="25-75 %")
        ax.plot(t, b[2], color="C0", lw=1.2, label="median")
        unit = g[o].attrs.get("units", "")
        ax.set_title(f"{o} [{unit}]" if unit else o, fontsize=9)
        ax.set_xlabel("day", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(outs):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{attrs['scenario']}: {attrs['n']} virtual patients ({attrs['reduce']} outputs)", fontsize=9)
    from ..plotting import save_png

    return save_png(fig, Path(out_png))
