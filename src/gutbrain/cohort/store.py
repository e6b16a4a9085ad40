"""The on-disk layout of a cohort run: one Zarr store, written chunk by chunk, resumable.

Layout (open it with ``xarray.open_zarr(path)`` or :func:`open_cohort`)::

    <output>   (patient, time)  float64   one per selected state/observable   reduce="none" | "daily"
    <output>   (patient, stat)  float64   start, end, min, max, mean, ...     reduce="summary"
    status     (patient,)       int8      0 pending, 1 ok, 2 failed (flag_values / flag_meanings attrs)
    params     (patient, parameter) float64   every patient's full parameter vector (model order)
    done       (chunk,)         int8      1 once that chunk's data are on disk (written after the data)

The Zarr chunks of every per-patient array coincide with the cohort chunks, so each task
writes whole Zarr chunks of its own region and no two tasks ever touch the same file.
Provenance (gutbrain version, model name/structure digest/parameter hash, scenario name/hash,
backend, solver, tolerances, sampling settings) is stored in the attributes; the subset that
determines the numbers (the *fingerprint*) must match before a store is resumed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._paths import check_new_output, check_parent, quiet_zarr
from ..errors import InputError

if TYPE_CHECKING:
    import zarr

__all__ = [
    "FORMAT_VERSION",
    "STATS",
    "STATUS_CODES",
    "check_store_path",
    "create_store",
    "fingerprint_mismatch",
    "open_cohort",
    "read_attrs",
    "read_done",
    "remove_stale_temps",
    "stale_temps",
    "write_chunk",
]

FORMAT_VERSION = 1
STATUS_CODES = {"pending": 0, "ok": 1, "failed": 2}
STATUS_NAMES = np.array(["pending", "ok", "failed"])
#: per-patient summary statistics (reduce="summary"); day means are over the first / last 24 h
STATS = ("start", "end", "min", "max", "mean", "first_day_mean", "last_day_mean")
#: attributes that determine the numbers: a store is resumed only if all of them match
FINGERPRINT_KEYS = ("cohort_format", "gutbrain_version", "model", "structure_digest", "parameter_hash", "scenario",
                    "scenario_hash", "n", "seed", "method", "vary", "subtypes", "spread", "days", "warmup_days",
                    "output_every", "backend", "solver", "rtol", "atol", "reduce", "outputs", "chunk")

#: the temporary sibling a store is built in before it is renamed into place: ``.<name>.tmp-<host>-<pid>-<8 hex>``
#: (host: 8 hex digits of a hash of the host name). Older versions named it ``.<name>.tmp-<8 hex>``.
_TMP = re.compile(r"\.(?P<name>.+)\.tmp-(?:(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-)?[0-9a-f]{8}")
#: a temporary store in the old format (no process id) counts as abandoned once it has not changed for this long
LEGACY_TMP_AGE_S = 3600.0


def _array(g: zarr.Group, name: str) -> zarr.Array:
    """The array ``name`` of group ``g`` (every member of a cohort store is an array, never a sub-group)."""
    import zarr

    arr = g[name]
    if not isinstance(arr, zarr.Array):
        raise TypeError(f"{name!r} in the cohort store is not a Zarr array")
    return arr


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _tmp_path(path: Path) -> Path:
    return path.parent / f".{path.name}.tmp-{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def stale_temps(path: str | os.PathLike) -> list[Path]:
    """Temporary directories left next to ``path`` by a store creation that was killed before it finished.

    Only this store's own temporaries count (``.<name>.tmp-...`` for exactly this name, see :data:`_TMP`): those
    of a process on this host that is no longer running, and old-format ones untouched for
    :data:`LEGACY_TMP_AGE_S`. A creation still running (here or on another host) is never touched.
    """
    p = Path(path)
    parent = p.parent
    out: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return out
    for e in entries:
        m = _TMP.fullmatch(e.name)
        if m is None or m.group("name") != p.name or e.is_symlink() or not e.is_dir():
            continue
        if m.group("pid") is not None:
            if m.group("host") == _host() and not _alive(int(m.group("pid"))):
                out.append(e)
        else:
            with contextlib.suppress(OSError):
                if time.time() - e.stat().st_mtime > LEGACY_TMP_AGE_S:
                    out.append(e)
    return sorted(out)


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove :func:`stale_temps` of ``path``; returns what was removed."""
    gone = []
    for t in stale_temps(path):
        shutil.rmtree(t, ignore_errors=True)
        if not t.exists():
            gone.append(t)
    return gone


def is_store(path: str | os.PathLike) -> bool:
    return (Path(path) / "zarr.json").is_file() or (Path(path) / ".zgroup").is_file()


def check_store_path(path: str | os.PathLike, option: str = "store") -> Path:
    """Refuse a path that cannot hold a store (a file, a non-empty foreign directory, an unwritable location).

    An existing cohort store (to resume) and an empty directory are accepted; otherwise the rules of
    :func:`gutbrain._paths.check_new_output` apply (an existing parent in which a file can be created).
    """
    p = Path(path)
    fix = "pass --out/store= a new path in a writable directory, e.g. --out run.zarr"
    if os.path.lexists(p):
        if not p.is_dir():
            raise InputError(option, str(p), "a directory path for a Zarr store (this is an existing file)", fix)
        if not is_store(p) and any(p.iterdir()):
            raise InputError(option, str(p), "a new path or an existing cohort store (this directory holds other "
                             "files; gutbrain never deletes them)", fix)
        check_parent(p / "x", option)
        return p
    return check_new_output(p, option, example="--out run.zarr")


def read_attrs(path: str | os.PathLike) -> dict:
    """The store's root attributes (read without consolidated metadata, so always current)."""
    import zarr

    with quiet_zarr():
        g = zarr.open_group(str(path), mode="r", use_consolidated=False)
        return dict(g.attrs)


def read_done(path: str | os.PathLike, n_chunks: int) -> np.ndarray:
    """Boolean per-chunk completion flags. A flag that cannot be read (torn write) counts as not done."""
    import zarr

    with quiet_zarr():
        arr = _array(zarr.open_group(str(path), mode="r", use_consolidated=False), "done")
        try:
            return np.asarray(arr[:]) == 1
        except Exception:  # pragma: no cover - only after a crash inside a flag write
            out = np.zeros(n_chunks, bool)
            for k in range(n_chunks):
                try:
                    out[k] = arr[k] == 1
                except Exception:
                    out[k] = False
            return out


def _norm(v):
    """Normalise attribute values for comparison (tuples vs lists, ints vs floats)."""
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, (bool, str)) or v is None:
        return v
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    return v


def fingerprint_mismatch(stored: dict, wanted: dict) -> list[tuple[str, object, object]]:
    """``[(key, in_store, requested)]`` for every fingerprint key that differs."""
    out = []
    for k in FINGERPRINT_KEYS:
        if _norm(stored.get(k)) != _norm(wanted.get(k)):
            out.append((k, stored.get(k), wanted.get(k)))
    return out


def refuse_mismatch(path, diffs) -> None:
    what = "; ".join(f"{k}: store has {a!r}, this run asks for {b!r}" for k, a, b in diffs[:8])
    raise InputError("store", str(path),
                     "a store written by the same command (same gutbrain version, model, scenario, n, seed, "
                     f"days, backend, tolerances, outputs and chunk) to resume; it differs in {what}",
                     f"write to a new path (e.g. --out {Path(path).stem}-2.zarr) or delete the old store (rm -r {path})")


def create_store(path: str | os.PathLike, *, attrs: dict, params: Iterable[tuple[int, np.ndarray]], n: int,
                 param_names: list[str], outputs: list[str], units: dict[str, str], reduce: str,
                 time_coord: np.ndarray | None, chunk: int) -> None:
    """Create an empty store atomically (built in a temporary sibling directory, then renamed).

    ``params`` yields ``(start, rows)`` blocks of the ``(n, n_params)`` parameter matrix, written block by block
    (memory does not grow with ``n``).
    """
    import dask.array as da
    import xarray as xr
    import zarr

    path = Path(path)
    n_chunks = -(-n // chunk)
    # xarray's (dims, data, attrs) tuples and per-variable zarr encodings
    data: dict[str, tuple[tuple[str, ...], Any, dict[str, object]]] = {}
    enc: dict[str, dict[str, tuple[int, ...]]] = {}
    dims: tuple[str, str]
    shape: tuple[int, int]
    coords: dict[str, object]
    if reduce == "summary":
        dims, shape, coords = ("patient", "stat"), (n, len(STATS)), {"stat": list(range(len(STATS)))}
    else:
        if time_coord is None:
            raise ValueError(f"reduce={reduce!r} needs a time coordinate (time_coord)")
        dims, shape, coords = ("patient", "time"), (n, len(time_coord)), {"time": ("time", time_coord, {"units": "day"})}
    # the placeholders are single dask chunks (never computed: only the metadata is written, unwritten zarr chunks
    # read as the fill value), so that their task graphs do not grow with the number of store chunks
    for k in outputs:
        data[k] = (dims, da.full(shape, np.nan, chunks=shape), {"units": units.get(k, "")})
        enc[k] = {"chunks": (chunk, shape[1])}
    data["status"] = (("patient",), da.zeros((n,), dtype="int8", chunks=n),
                      {"flag_values": [0, 1, 2], "flag_meanings": "pending ok failed"})
    enc["status"] = {"chunks": (chunk,)}
    data["params"] = (("patient", "parameter"), da.zeros((n, len(param_names)), chunks=(n, len(param_names))),
                      {"long_name": "patient parameter vector (model order)"})
    enc["params"] = {"chunks": (chunk, len(param_names))}
    data["done"] = (("chunk",), da.zeros((n_chunks,), dtype="int8", chunks=n_chunks),
                    {"long_name": "1 once the chunk's data are written", "chunk_size": chunk})
    enc["done"] = {"chunks": (1,)}
    coords["patient"] = ("patient", np.arange(n, dtype=np.int64))
    coords["parameter"] = ("parameter", np.arange(len(param_names), dtype=np.int32))
    ds = xr.Dataset(data, coords=coords)
    a = dict(attrs)
    a["parameter_names"] = list(param_names)
    if reduce == "summary":
        a["stat_names"] = list(STATS)
    ds.attrs.update(a)
    remove_stale_temps(path)
    tmp = _tmp_path(path)
    try:
        with quiet_zarr():
            ds.to_zarr(str(tmp), mode="w", compute=False, encoding=enc, consolidated=True)
            g = zarr.open_group(str(tmp), mode="r+", use_consolidated=False)
            written = 0
            for start, rows in params:
                _array(g, "params")[start:start + len(rows)] = rows
                written += len(rows)
            if written != n:
                raise ValueError(f"parameter blocks cover {written} of {n} patients")
        try:
            os.rename(tmp, path)  # atomic; fails if another process created `path` meanwhile
        except OSError:
            if not is_store(path):
                if path.exists() and not any(path.iterdir()):
                    path.rmdir()
                    os.rename(tmp, path)
                    return
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_chunk(path: str | os.PathLike, k: int, start: int, values: dict[str, np.ndarray], status: np.ndarray) -> None:
    """Write chunk ``k`` (patients ``start:start+len(status)``) and then, only then, its ``done`` flag."""
    import zarr

    stop = start + len(status)
    with quiet_zarr():
        g = zarr.open_group(str(path), mode="r+", use_consolidated=False)
        for name, v in values.items():
            _array(g, name)[start:stop] = v
        _array(g, "status")[start:stop] = status.astype("int8")
        _array(g, "done")[k] = 1


def read_params(path: str | os.PathLike, start: int, stop: int) -> np.ndarray:
    import zarr

    with quiet_zarr():
        g = zarr.open_group(str(path), mode="r", use_consolidated=False)
        return np.asarray(_array(g, "params")[start:stop])


def open_cohort(path: str | os.PathLike, *, decode: bool = True):
    """Open a cohort store as an :class:`xarray.Dataset` (lazily, dask-backed).

    With ``decode=True`` the ``status`` codes become strings (``"pending"``, ``"ok"``, ``"failed"``),
    the ``parameter`` coordinate holds the parameter names and ``stat`` (summary stores) the statistic names.
    """
    import xarray as xr

    path = Path(path)
    if not is_store(path):
        raise InputError("store", str(path), "an existing cohort store written by `gutbrain cohort`",
                         "check the path (e.g. run.zarr)")
    with quiet_zarr():
        ds = xr.open_zarr(str(path))
    attrs = read_attrs(path)
    if attrs.get("cohort_format") is None:
        raise InputError("store", str(path), "a cohort store (this Zarr store has no cohort metadata)",
                         "pass a store written by `gutbrain cohort` / Cohort.run")
    ds.attrs = attrs
    if decode:
        ds = ds.assign_coords(parameter=("parameter", list(attrs["parameter_names"])))
        if "stat" in ds.dims:
            ds = ds.assign_coords(stat=("stat", list(attrs["stat_names"])))
        ds["status"] = ("patient", STATUS_NAMES[np.asarray(ds["status"].values, dtype=int)])
    return ds


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def to_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)
