"""Compile the generated right-hand side and Jacobian to machine code with numba (optional).

The same SymPy expressions are printed as Python source (common subexpressions eliminated),
written once per model structure to a cache directory and compiled with ``numba.njit``
(``cache=True``, so later processes load the machine code instead of recompiling). The
SciPy backend uses these functions when numba is installed; otherwise it falls back to the
pure-Python functions of :mod:`gutbrain.solvers.codegen` (same equations, ~20x slower).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from ..model.assemble import Structure

_LOADED: dict[str, object] = {}


def available() -> bool:
    if os.environ.get("GUTBRAIN_NO_NUMBA"):
        return False
    return importlib.util.find_spec("numba") is not None


def cache_dir() -> Path:
    root = os.environ.get("GUTBRAIN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "gutbrain")
    path = Path(root) / "jit"
    path.mkdir(parents=True, exist_ok=True)
    return path


class _Printer(PythonCodePrinter):
    def _print_Max(self, expr):
        args = [self._print(a) for a in expr.args]
        out = args[0]
        for a in args[1:]:
            out = f"max({out}, {a})"
        return out

    def _print_Heaviside(self, expr):
        return f"(1.0 if {self._print(expr.args[0])} > 0 else 0.0)"


def functions(s: Structure, rows=None, rhs_name: str = "rhs", jac_name: str = "jac") -> list[str]:
    """Source lines of two numba functions of ``(t, y, p, u)`` (``y`` the full state vector).

    ``rhs_name`` returns the derivatives of the states ``rows`` (default: all, in order) and ``jac_name``
    the Jacobian block ``d rows / d rows``; only the expressions these need are computed.
    """
    n = len(s.states)
    rows = list(range(n)) if rows is None else [int(r) for r in rows]
    pos = {r: k for k, r in enumerate(rows)}
    m = len(rows)
    nz = [(pos[i], pos[j], e) for i, j, e in s.jacobian if i in pos and j in pos]
    exprs = [s.rhs[r] for r in rows] + [e for _, _, e in nz]
    subs, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_c"), optimizations="basic")
    pr = _Printer({"fully_qualified_modules": True})

    def header(name, shape):
        body = ["@njit(cache=True)", f"def {name}(t, y, p, u):", f"    out = np.zeros({shape})"]
        body += [f"    {sym} = y[{k}]" for k, sym in enumerate(s.state_symbols)]
        body += [f"    {sym} = p[{k}]" for k, sym in enumerate(s.param_symbols)]
        body += [f"    {sym} = u[{k}]" for k, sym in enumerate(s.input_symbols)]
        return body

    used_rhs = set().union(*(e.free_symbols for e in reduced[:m]))
    used_jac = set().union(*(e.free_symbols for e in reduced[m:])) if nz else set()

    def needed(roots):
        need = set(roots)
        for sym, e in reversed(subs):
            if sym in need:
                need |= e.free_symbols
        return [(sym, e) for sym, e in subs if sym in need]

    body = header(rhs_name, m)
    body += [f"    {sym} = {pr.doprint(e)}" for sym, e in needed(used_rhs)]
    body += [f"    out[{k}] = {pr.doprint(e)}" for k, e in enumerate(reduced[:m])]
    body += ["    return out", "", ""]
    body += header(jac_name, f"({m}, {m})")
    body += [f"    {sym} = {pr.doprint(e)}" for sym, e in needed(used_jac)]
    body += [f"    out[{i}, {j}] = {pr.doprint(e)}" for (i, j, _), e in zip(nz, reduced[m:], strict=True)]
    body += ["    return out", "", ""]
    return body


def source(s: Structure) -> str:
    lines = ["import math", "import numpy as np", "from numba import njit", "", ""]
    body = functions(s)
    # argument order of scipy.integrate.odeint (y, t, *args): no Python wrapper between LSODA and the compiled code
    body += ["@njit(cache=True)", "def rhs_odeint(y, t, p, u):", "    return rhs(t, y, p, u)", "", ""]
    body += ["@njit(cache=True)", "def jac_odeint(y, t, p, u):", "    return jac(t, y, p, u)", ""]
    return "\n".join(lines + body)


def compiled(s: Structure):
    """Return numba-compiled ``(rhs, jac, rhs_odeint, jac_odeint)`` (compiled once, cached on disk)."""
    if s.digest in _LOADED:
        return _LOADED[s.digest]
    path = cache_dir() / f"gutbrain_rhs2_{s.digest}.py"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(source(s))
        tmp.replace(path)
    import sys

    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    module = importlib.import_module(path.stem)  # importable by name, so numba can reload its on-disk cache
    _LOADED[s.digest] = (module.rhs, module.jac, module.rhs_odeint, module.jac_odeint)
    return _LOADED[s.digest]
