"""Shared helpers for the benchmark scripts: machine info, package versions, JSON output."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("gutbrain", "numpy", "scipy", "numba", "xarray", "zarr", "dask", "distributed", "jax", "diffrax",
            "libroadrunner", "python-libsbml", "psutil")


def machine() -> dict:
    info = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor(),
            "machine": platform.machine(), "python": sys.version.split()[0], "hostname_hash": hash(platform.node()) % 10**6}
    try:
        import psutil

        info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
        info["cpu_freq_mhz"] = getattr(psutil.cpu_freq(), "max", None)
    except Exception:
        pass
    return info


def versions() -> dict:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def write(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
               "versions": versions(), **payload}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {path}")
    return path
