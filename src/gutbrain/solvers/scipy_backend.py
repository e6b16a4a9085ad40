"""SciPy backend: LSODA with critical times at every switch, or BDF/Radau segment by segment.

The right-hand side and its symbolic Jacobian come from :mod:`gutbrain.solvers.codegen`.
Every method integrates each constant-input segment separately and restarts exactly at the
switch (meal start/end, dose, stressor on/off): LSODA through ``scipy.integrate.odeint``
(lowest call overhead), BDF and Radau through ``solve_ivp``.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import odeint, solve_ivp

from ..model.assemble import Structure
from ..scenarios.scenario import Schedule
from .codegen import numpy_functions

METHODS = ("LSODA", "BDF", "Radau")


class SolverFailure(RuntimeError):
    pass


def rhs_and_jacobian(structure: Structure):
    """``(rhs, jac, rhs_odeint, jac_odeint)``: compiled (numba) when available, else generated pure Python."""
    from . import numba_codegen

    if numba_codegen.available():
        return numba_codegen.compiled(structure)
    fns = numpy_functions(structure)
    return fns.rhs, fns.jac, (lambda y, t, p, u: fns.rhs(t, y, p, u)), (lambda y, t, p, u: fns.jac(t, y, p, u))


def integrate(structure: Structure, y0: np.ndarray, p: np.ndarray, schedule: Schedule, ts: np.ndarray, *,
              rtol: float, atol: float, method: str = "LSODA") -> np.ndarray:
    """Integrate from ``ts[0]`` and return the states at ``ts`` (shape ``(len(ts), n_states)``)."""
    rhs, jac, rhs_o, jac_o = rhs_and_jacobian(structure)
    times, values = schedule.times, schedule.values

    def u_at(t):
        k = np.searchsorted(times, t, side="left") - 1
        return values[k if k > 0 else 0]

    if method not in METHODS:
        raise ValueError(f"method {method!r}: choose one of {METHODS}")
    inner = schedule.switches[(schedule.switches > ts[0]) & (schedule.switches < ts[-1])]
    edges = np.concatenate([[ts[0]], inner, [ts[-1]]])
    out = np.empty((len(ts), len(y0)))
    out[0] = y0
    y = np.asarray(y0, float)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
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
