"""SciPy backend: LSODA with critical times at every switch, or BDF/Radau segment by segment.

The right-hand side and its symbolic Jacobian come from :mod:`gutbrain.solvers.codegen`.
Every method integrates each constant-input segment separately and restarts exactly at the
switch (meal start/end, dose, stressor on/off): LSODA through ``scipy.integrate.odeint``
(lowest call overhead), BDF and Radau through ``solve_ivp``. ``"BDF-numba"`` runs the same
BDF algorithm as SciPy's, compiled end to end with numba (:mod:`gutbrain.solvers.numba_bdf`:
no Python call per step); without numba it falls back to ``solve_ivp`` BDF. ``"BDF-split"`` (the
default) runs that compiled BDF on the model's two blocks one after the other: the glucose-insulin
block, which reads no other state, day by day with repeated days reused, then the rest of the model
with the glucose coupling interpolated (:mod:`gutbrain.solvers.split`; exact up to solver tolerance).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
from scipy.integrate import odeint, solve_ivp

from ..errors import SolverFailure, SolverFallbackWarning
from ..model.assemble import Structure
from ..scenarios.scenario import Schedule
from .codegen import numpy_functions

METHODS = ("LSODA", "BDF", "Radau", "BDF-numba", "BDF-split")
_WARNED_NO_NUMBA = False


def default_method() -> str:
    """``"BDF-split"`` (compiled BDF on the model's two blocks; ~5x faster than LSODA here) when numba is installed, else LSODA."""
    from . import numba_codegen

    return "BDF-split" if numba_codegen.available() else "LSODA"




def rhs_and_jacobian(structure: Structure):
    """``(rhs, jac, rhs_odeint, jac_odeint)``: compiled (numba) when available, else generated pure Python."""
    from . import numba_codegen

    if numba_codegen.available():
        return numba_codegen.compiled(structure)
    fns = numpy_functions(structure)
    return fns.rhs, fns.jac, (lambda y, t, p, u: fns.rhs(t, y, p, u)), (lambda y, t, p, u: fns.jac(t, y, p, u))


def integrate(structure: Structure, y0: np.ndarray, p: np.ndarray, schedule: Schedule, ts: np.ndarray, *,
              rtol: float, atol: float, method: str | None = None) -> np.ndarray:
    """Integrate from ``ts[0]`` and return the states at ``ts`` (shape ``(len(ts), n_states)``)."""
    method = method or default_method()
    if method not in METHODS:
        raise ValueError(f"method {method!r}: choose one of {METHODS}")
    if method in ("BDF-numba", "BDF-split"):
        from . import numba_codegen

        if numba_codegen.available():
            from . import numba_bdf, split

            solver = split if method == "BDF-split" else numba_bdf
            out = solver.integrate(structure, y0, p, schedule, ts, rtol=rtol, atol=atol)
            numba_codegen.compile_finished(structure.digest)
            return out
        global _WARNED_NO_NUMBA
        if not _WARNED_NO_NUMBA:
            warnings.warn(f"method {method!r} needs numba: using solve_ivp BDF instead", SolverFallbackWarning, stacklevel=2)
            _WARNED_NO_NUMBA = True
        method = "BDF"
    rhs, jac, rhs_o, jac_o = rhs_and_jacobian(structure)
    times, values = schedule.times, schedule.values

    def u_at(t):
        k = np.searchsorted(times, t, side="left") - 1
        return values[k if k > 0 else 0]

    inner = schedule.switches[(schedule.switches > ts[0]) & (schedule.switches < ts[-1])]
    edges = np.concatenate([[ts[0]], inner, [ts[-1]]])
    out = np.empty((len(ts), len(y0)))
    out[0] = y0
    y = np.asarray(y0, float)
    for a, b in itertools.pairwise(edges):
        u = u_at(0.5 * (a + b))
        sel = (ts > a) & (ts <= b)
        t_eval = np.union1d(ts[sel], [b])
        if method == "LSODA":
            seg, info = odeint(rhs_o, y, np.concatenate([[a], t_eval]), args=(p, u), Dfun=jac_o, rtol=rtol, atol=atol,
                               mxstep=100000, full_output=True)
            if info["message"] != "Integration successful." or not np.all(np.isfinite(seg)):
                raise SolverFailure(f"LSODA failed on ({a:g}, {b:g}) h: {info['message']}")
            seg = seg[1:].T
        else:
            sol = solve_ivp(lambda t, yy, u=u: rhs(t, yy, p, u), (a, b), y, method=method, t_eval=t_eval,
                            jac=lambda t, yy, u=u: jac(t, yy, p, u), rtol=rtol, atol=atol)
            if not sol.success or not np.all(np.isfinite(sol.y)):
                raise SolverFailure(f"{method} failed on ({a:g}, {b:g}) h: {sol.message}")
            seg = sol.y
        out[sel] = seg.T[np.isin(t_eval, ts[sel])]
        y = seg[:, -1]
    return out
