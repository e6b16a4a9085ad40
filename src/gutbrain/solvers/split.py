"""Block-triangular split integration (``method="BDF-split"``): exact, and ~3x faster here.

The model's Jacobian is block-triangular: the glucose-insulin block (Dalla Man et al. 2007)
reads no state outside itself, only the meal inputs, while the rest of the model reads two
of its states (plasma glucose ``Gp`` and counter-regulation ``CR``). Integrating everything
together forces the whole 51-state system through the meal switches and the minute-scale
meal transients (~800 BDF steps a day, ~200 of them in the 15-minute ingestion pulses). This
module integrates the two blocks one after the other, which is an exact reordering of the
same equations, not an approximation:

1. **Upstream block** (found structurally by :func:`partition`: the union of every proper
   subset of states closed under "depends on"), day by day with the compiled BDF of
   :mod:`gutbrain.solvers.numba_bdf`, restarting only at switches of the inputs it reads.
   Each day is recorded on a grid (1 minute, plus every switch and output time of that day)
   with the right-hand side at every grid point. A day whose upstream inputs and output
   times repeat an earlier day's and whose start state matches that day's within the
   solver tolerance (error norm <= 1) reuses the earlier record: under a periodic meal plan
   the glucose block reaches its periodic orbit during warm-up and one day is computed once.
2. **Downstream block**, over the whole horizon in one pass that restarts only at switches
   of the inputs it reads (stressors, diet, doses; not meals). The coupling states enter
   its right-hand side by cubic Hermite interpolation of the recorded values and
   derivatives (both smooth: the meal switches act on stomach contents, two integrations
   upstream of ``Gp``).

Agreement with the unsplit BDF and with LSODA is tested in ``tests/test_split.py``.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from ..model.assemble import Structure
from ..scenarios.scenario import Schedule
from . import numba_bdf

GRID_H = 1.0 / 60.0  # recording grid of the upstream block (h)
DAY = 24.0

_PARTITIONS: dict[str, Partition | None] = {}  # by structure digest; None: no upstream block
_DRIVERS: dict[str, object] = {}


@dataclass(frozen=True)
class Partition:
    """State and input indices of the two blocks."""

    upstream: tuple[int, ...]  # states that read no state outside this set
    downstream: tuple[int, ...]
    coupling: tuple[int, ...]  # upstream states the downstream block reads
    upstream_inputs: tuple[int, ...]
    downstream_inputs: tuple[int, ...]


def partition(structure: Structure) -> Partition | None:
    """The upstream/downstream split of ``structure``, or ``None`` when no state is upstream of the feedback core.

    The upstream block is the largest connected set of states whose dependency closures miss the largest
    strongly connected component of the state graph (read from the symbolic right-hand sides, not numbers).
    """
    if structure.digest in _PARTITIONS:
        return _PARTITIONS[structure.digest]
    syms = structure.state_symbols
    index = {s: i for i, s in enumerate(syms)}
    inputs = {s: i for i, s in enumerate(structure.input_symbols)}
    deps = [{index[s] for s in e.free_symbols if s in index} for e in structure.rhs]
    reads = [{inputs[s] for s in e.free_symbols if s in inputs} for e in structure.rhs]
    n = len(syms)
    closures = []
    for i in range(n):
        closure, todo = {i}, [i]
        while todo:
            for j in deps[todo.pop()]:
                if j not in closure:
                    closure.add(j)
                    todo.append(j)
        closures.append(closure)
    # the largest strongly connected component (the feedback core); upstream = everything that never reads it
    core = max(({j for j in closures[i] if i in closures[j]} for i in range(n)), key=len)
    up: set[int] = set()
    for i in range(n):
        if not closures[i] & core:
            up |= closures[i]
    # keep the largest connected piece (the glucose block here); small input-driven pieces (a probiotic strain, an
    # infused endotoxin pool) change from day to day and are cheaper inside the downstream block
    pieces: list[set[int]] = []
    for i in sorted(up):
        linked = [q for q in pieces if i in q or deps[i] & q or any(i in deps[j] for j in q)]
        merged = {i}.union(*linked)
        pieces = [q for q in pieces if not any(q is r for r in linked)] + [merged]
    up = max(pieces, key=len) if pieces else set()
    result = None
    if len(up) > 1:
        down = [i for i in range(n) if i not in up]
        result = Partition(
            upstream=tuple(sorted(up)), downstream=tuple(down),
            coupling=tuple(sorted({j for i in down for j in deps[i] if j in up})),
            upstream_inputs=tuple(sorted(set().union(*(reads[i] for i in up)))),
            downstream_inputs=tuple(sorted(set().union(*(reads[i] for i in down)))))
    _PARTITIONS[structure.digest] = result
    return result


@njit(error_model="numpy", inline="always")
def couple(t, pe, base, coupling, y):
    """Write the coupling states at time ``t`` into ``y`` by cubic Hermite interpolation of the day records in ``pe``."""
    t0 = pe[base]
    n_days = int(pe[base + 1])
    day_map = int(pe[base + 2])
    tab_index = int(pe[base + 3])
    nc = coupling.shape[0]
    d = int(np.floor((t - t0) / DAY))
    if d < 0:
        d = 0
    if d > n_days - 1:
        d = n_days - 1
    k = int(pe[day_map + d])
    off = int(pe[tab_index + 2 * k])
    m = int(pe[tab_index + 2 * k + 1])
    tr = t - t0 - DAY * d
    lo = 0
    hi = m - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pe[off + mid] <= tr:
            lo = mid
        else:
            hi = mid
    g0 = pe[off + lo]
    h = pe[off + hi] - g0
    s = (tr - g0) / h
    s2 = s * s
    s3 = s2 * s
    h00 = 2 * s3 - 3 * s2 + 1
    h10 = s3 - 2 * s2 + s
    h01 = -2 * s3 + 3 * s2
    h11 = s3 - s2
    vals = off + m
    ders = off + m + m * nc
    for c in range(nc):
        v0 = pe[vals + lo * nc + c]
        v1 = pe[vals + hi * nc + c]
        d0 = pe[ders + lo * nc + c]
        d1 = pe[ders + hi * nc + c]
        y[coupling[c]] = h00 * v0 + h10 * h * d0 + h01 * v1 + h11 * h * d1


@njit(error_model="numpy", inline="always")
def _full_state(t, yb, pe, n_params, base, idx, coupling):
    """The full state for a block's ``yb``: other states from ``pe[n_params:base]``, coupling states interpolated."""
    y = pe[n_params:base].copy()
    for k in range(idx.shape[0]):
        y[idx[k]] = yb[k]
    if coupling.shape[0]:
        couple(t, pe, base, coupling, y)
    return y


@njit(error_model="numpy", inline="always")
def block_call(fn, t, yb, pe, u, n_params, base, idx, coupling):
    """``fn(t, y, p, u)`` (a generated block right-hand side or Jacobian) at the full state for ``yb``."""
    return fn(t, _full_state(t, yb, pe, n_params, base, idx, coupling), pe, u)


_TEMPLATE = '''"""Generated by gutbrain.solvers.split for structure {digest}: do not edit."""
import math  # noqa: F401  (used by the generated expressions)

import numpy as np
from numba import njit

from gutbrain.solvers.numba_bdf import integrate_schedule
from gutbrain.solvers.split import block_call

UP = np.array({up}, dtype=np.int64)
DOWN = np.array({down}, dtype=np.int64)
COUPLING = np.array({coupling}, dtype=np.int64)
NONE = np.zeros(0, dtype=np.int64)
NP = {n_params} + {n_consts}  # parameters, then the parameter-only constants (numba_codegen.Constants)
N = {n}
BASE = NP + N


{block_functions}
@njit(cache=True, error_model="numpy")
def rhs_up(t, y, pe, u):
    return block_call(_rhs_up, t, y, pe, u, NP, BASE, UP, NONE)


@njit(cache=True, error_model="numpy")
def jac_up(t, y, pe, u):
    return block_call(_jac_up, t, y, pe, u, NP, BASE, UP, NONE)


@njit(cache=True, error_model="numpy")
def rhs_down(t, y, pe, u):
    return block_call(_rhs_down, t, y, pe, u, NP, BASE, DOWN, COUPLING)


@njit(cache=True, error_model="numpy")
def jac_down(t, y, pe, u):
    return block_call(_jac_down, t, y, pe, u, NP, BASE, DOWN, COUPLING)


@njit(cache=True, error_model="numpy")
def up_derivatives(ts, ys, pe, us):
    out = np.empty_like(ys)
    for k in range(ts.shape[0]):
        out[k] = rhs_up(ts[k], ys[k], pe, us[k])
    return out


@njit(cache=True, error_model="numpy")
def integrate_up(y0, p, edges, useg, ts, rtol, atol, max_steps):
    return integrate_schedule(rhs_up, jac_up, y0, p, edges, useg, ts, rtol, atol, max_steps)


@njit(cache=True, error_model="numpy")
def integrate_down(y0, p, edges, useg, ts, rtol, atol, max_steps):
    return integrate_schedule(rhs_down, jac_down, y0, p, edges, useg, ts, rtol, atol, max_steps)
'''


def driver(structure: Structure):
    """The generated, compiled module of block functions for ``structure`` (cached on disk like the BDF driver)."""
    if structure.digest in _DRIVERS:
        return _DRIVERS[structure.digest]
    from . import numba_codegen
    from .numba_codegen import Constants, cache_dir, functions

    part = partition(structure)
    if part is None:
        raise ValueError("the model has no upstream block to split off")
    numba_codegen.announce(structure)
    # named by the structure and by this file's and the code printer's source: edits never reuse stale machine code
    stamp = numba_bdf._source_hash(_split_source(), Path(numba_codegen.__file__).read_text())
    path = cache_dir() / f"gutbrain_split_{structure.digest}_{stamp}.py"
    if not path.exists():
        # each block's own rows of the right-hand side and its own Jacobian block, generated from the equations
        # (parameter-only subexpressions of both blocks are computed once per patient by `constants`)
        consts = Constants(structure)
        blocks = (functions(structure, part.upstream, "_rhs_up", "_jac_up", consts)
                  + functions(structure, part.downstream, "_rhs_down", "_jac_down", consts) + consts.source("constants"))
        src = _TEMPLATE.format(digest=structure.digest, up=list(part.upstream), down=list(part.downstream),
                               coupling=list(part.coupling), n_params=len(structure.param_names), n_consts=len(consts),
                               n=len(structure.states), block_functions="\n".join(blocks))
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(src)
        tmp.replace(path)
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    module = importlib.import_module(path.stem)
    _DRIVERS[structure.digest] = module
    return module


def _split_source() -> str:
    return Path(__file__).read_text()


def _filtered_segments(schedule: Schedule, a: float, b: float, channels: tuple[int, ...]):
    """Edges over ``[a, b]`` restarting only where one of ``channels`` switches, and the full input on each piece."""
    times, values = np.asarray(schedule.times, float), np.asarray(schedule.values, float)
    sw = np.asarray(schedule.switches, float)
    k = np.flatnonzero((sw > a) & (sw < b))
    ch = list(channels)
    keep = sw[k[np.any(values[k + 1][:, ch] != values[k][:, ch], axis=1)]] if ch and k.size else np.empty(0)
    edges = np.concatenate([[a], keep, [b]]).astype(float)
    mid = 0.5 * (edges[:-1] + edges[1:])
    idx = np.maximum(np.searchsorted(times, mid, side="left") - 1, 0)
    return edges, np.ascontiguousarray(values[idx], dtype=float)


def integrate(structure: Structure, y0: np.ndarray, p: np.ndarray, schedule: Schedule, ts: np.ndarray, *,
              rtol: float, atol, max_steps: int = 100_000, return_stats: bool = False):
    """Same contract as :func:`gutbrain.solvers.numba_bdf.integrate`; see the module docstring for the method.

    With ``return_stats`` the counters of ``numba_bdf.STATS`` summed over both blocks are returned, plus
    ``days_computed`` and ``days_reused`` for the upstream block.
    """
    part = partition(structure)
    if part is None:
        return numba_bdf.integrate(structure, y0, p, schedule, ts, rtol=rtol, atol=atol, max_steps=max_steps,
                                   return_stats=return_stats)
    mod = driver(structure)
    ts, y0, p, rtol, atol = numba_bdf.prepare(ts, y0, p, rtol, atol)
    n = y0.shape[0]
    up, down, cpl = (np.array(v, dtype=np.int64) for v in (part.upstream, part.downstream, part.coupling))
    cpos = np.searchsorted(up, cpl)  # coupling states' columns within the upstream block
    pk = np.concatenate([p, mod.constants(p)])  # parameters and the constants derived from them
    pe_up = np.concatenate([pk, y0])
    out = np.full((len(ts), n), np.nan)
    stats = np.zeros(numba_bdf.N_STATS, np.int64)
    t0, t_end = float(ts[0]), float(ts[-1])
    n_days = max(1, int(np.ceil((t_end - t0) / DAY - 1e-12)))
    atol_up, atol_down = atol[up], atol[down]

    # ---- upstream block, day by day, reusing repeated days
    records: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (grid relative to day start, values, derivatives) of coupling
    seen: dict[tuple, list[tuple]] = {}  # day key -> [(start state, record index, states on the grid, output rows, end state)]
    day_map = np.zeros(n_days, dtype=float)
    yg = y0[up].copy()
    computed = reused = 0
    up_in = list(part.upstream_inputs)
    all_edges, gvals = _filtered_segments(schedule, t0, t_end, part.upstream_inputs)
    inner = all_edges[1:-1]  # upstream switches; global segment j runs from all_edges[j] to all_edges[j + 1]
    gkey = np.ascontiguousarray(gvals[:, up_in])
    starts = t0 + DAY * np.arange(n_days)
    ends = np.minimum(starts + DAY, t_end)
    ie0, ie1 = np.searchsorted(inner, starts, side="right"), np.searchsorted(inner, ends, side="left")
    k0s, k1s = np.searchsorted(ts, starts, side="right"), np.searchsorted(ts, ends, side="right")
    q = 1e9  # day keys compare times on a 1e-9 h lattice relative to t0
    inner_q = np.rint((inner - t0) * q).astype(np.int64)
    ts_q = np.rint((ts - t0) * q).astype(np.int64)
    for d in range(n_days):
        a, b = float(starts[d]), float(ends[d])
        i0, i1, k0, k1 = int(ie0[d]), int(ie1[d]), int(k0s[d]), int(k1s[d])
        off = int(round(DAY * d * q))
        key = (int(round((b - a) * q)), (inner_q[i0:i1] - off).tobytes(), gkey[i0:i1 + 1].tobytes(), (ts_q[k0:k1] - off).tobytes())
        hit = None
        for start, *rest in seen.get(key, ()):
            if np.max(np.abs(yg - start) / (atol_up + rtol * np.abs(yg))) <= 1.0:
                hit = rest
                break
        if hit is None:
            edges = np.concatenate([[a], inner[i0:i1], [b]])
            useg = np.ascontiguousarray(gvals[i0:i1 + 1])
            outs = ts[k0:k1]
            must = np.union1d(edges, outs)
            uni = a + GRID_H * np.arange(int(np.floor((b - a) / GRID_H)) + 1)
            uni = uni[(uni < b) & (np.min(np.abs(uni[:, None] - must[None, :]), axis=1) > 1e-7)]
            grid = np.union1d(uni, must)
            vals, status, st, t_fail = mod.integrate_up(yg, pe_up, edges, useg, grid, rtol, atol_up, int(max_steps))
            stats += st
            numba_bdf.check("BDF-split (upstream block)", status, st, t_fail, edges)
            seg = np.clip(np.searchsorted(edges, grid, side="right") - 1, 0, len(useg) - 1)
            ders = mod.up_derivatives(grid, vals, pe_up, np.ascontiguousarray(useg[seg]))
            stats[1] += len(grid)
            records.append((grid - a, np.ascontiguousarray(vals[:, cpos]), np.ascontiguousarray(ders[:, cpos])))
            rows = np.searchsorted(grid, outs)  # the outputs are grid points
            hit = [len(records) - 1, vals, rows, vals[-1].copy()]
            seen.setdefault(key, []).append((yg.copy(), *hit))
            computed += 1
        else:
            reused += 1
        rec, vals, rows, end = hit
        day_map[d] = rec
        if k1 > k0:
            out[k0:k1, up] = vals[rows]
        yg = end.copy()

    # ---- downstream block, whole horizon, with the coupling states interpolated from the records
    tab_index = np.zeros(2 * len(records))
    chunks, offset = [], 0
    header = 4
    base_tab = len(pk) + n + header + n_days + 2 * len(records)
    for k, (g, v, dv) in enumerate(records):
        tab_index[2 * k] = base_tab + offset
        tab_index[2 * k + 1] = len(g)
        chunks.append(np.concatenate([g, v.ravel(), dv.ravel()]))
        offset += chunks[-1].size
    base = len(pk) + n
    head = np.array([t0, n_days, base + header, base + header + n_days], dtype=float)
    pe = np.concatenate([pk, y0, head, day_map, tab_index, *chunks])
    edges, useg = _filtered_segments(schedule, t0, t_end, part.downstream_inputs)
    vals, status, st, t_fail = mod.integrate_down(y0[down].copy(), pe, edges, useg, ts, rtol, atol_down, int(max_steps))
    stats += st
    numba_bdf.check("BDF-split (downstream block)", status, st, t_fail, edges)
    out[:, down] = vals
    out[0] = y0
    if return_stats:
        info = dict(zip(numba_bdf.STATS, (int(s) for s in stats), strict=True))
        info.update(days_computed=computed, days_reused=reused)
        return out, info
    return out
