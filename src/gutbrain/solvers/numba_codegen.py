"""Compile the generated right-hand side and Jacobian to machine code with numba (optional).

The same SymPy expressions are printed as Python source (common subexpressions eliminated),
written once per model structure to a cache directory and compiled with ``numba.njit``
(``cache=True``, so later processes load the machine code instead of recompiling). The
SciPy backend uses these functions when numba is installed; otherwise it falls back to the
pure-Python functions of :mod:`gutbrain.solvers.codegen` (same equations, ~20x slower).
"""

from __future__ import annotations

import contextlib
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


class Constants:
    """Subexpressions that depend on the parameters only, computed once per patient instead of at every call.

    Blocks generated with the same :class:`Constants` share it: each distinct expression gets one
    symbol ``_k<j>``, read by the generated functions from ``p[n_params + j]``; :meth:`source` prints
    the function that computes them all from the parameters (append its result to the parameter vector).
    ``x / K`` becomes ``x * (1 / K)`` and ``K ** h`` a constant: the same values to rounding.
    """

    def __init__(self, s: Structure):
        self.n_params = len(s.param_symbols)
        self.exprs: dict[sp.Expr, sp.Symbol] = {}
        self.order: list[tuple[sp.Symbol, sp.Expr]] = []
        self.known = set(s.param_symbols)  # parameters and the constant symbols made so far
        self._param_lines = [f"    {sym} = p[{k}]" for k, sym in enumerate(s.param_symbols)]

    def __len__(self) -> int:
        return len(self.order)

    def symbol(self, e: sp.Expr) -> sp.Symbol:
        if e not in self.exprs:
            sym = sp.Symbol(f"_k{len(self.order)}", real=True)
            self.exprs[e] = sym
            self.order.append((sym, e))
            self.known.add(sym)
        return self.exprs[e]

    def is_constant(self, e) -> bool:
        """``e`` depends on parameters (and constants) only."""
        return bool(e.free_symbols) and e.free_symbols <= self.known

    def hoist(self, e: sp.Expr) -> sp.Expr:
        """``e`` with its largest parameter-only subexpressions replaced by constant symbols."""
        if e.is_Atom:
            return e
        if self.is_constant(e):
            return self.symbol(e)
        args = [self.hoist(a) for a in e.args]
        if isinstance(e, (sp.Add, sp.Mul)):  # gather the constant factors/terms of a sum or product into one
            const = [a for a in args if not a.is_Number and self.is_constant(a)]
            if len(const) > 1:
                rest = [a for a in args if a not in const]
                args = [*rest, self.symbol(e.func(*const))]
        return e.func(*args)

    def source(self, name: str) -> list[str]:
        body = ["@njit(cache=True)", f"def {name}(p):", f"    out = np.empty({len(self.order)})", *self._param_lines]
        pr = _Printer({"fully_qualified_modules": True})
        for j, (sym, e) in enumerate(self.order):
            body += [f"    {sym} = {pr.doprint(e)}", f"    out[{j}] = {sym}"]
        return [*body, "    return out", "", ""]


def functions(s: Structure, rows=None, rhs_name: str = "rhs", jac_name: str = "jac", constants: Constants | None = None) -> list[str]:
    """Source lines of two numba functions of ``(t, y, p, u)`` (``y`` the full state vector).

    ``rhs_name`` returns the derivatives of the states ``rows`` (default: all, in order) and ``jac_name``
    the Jacobian block ``d rows / d rows``; only the expressions these need are computed. With
    ``constants``, parameter-only subexpressions are read from ``p`` after the parameters (see
    :class:`Constants`).
    """
    n = len(s.states)
    rows = list(range(n)) if rows is None else [int(r) for r in rows]
    pos = {r: k for k, r in enumerate(rows)}
    m = len(rows)
    nz = [(pos[i], pos[j], e) for i, j, e in s.jacobian if i in pos and j in pos]
    exprs = [s.rhs[r] for r in rows] + [e for _, _, e in nz]
    subs, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_c"), optimizations="basic")
    if constants is not None:
        folded: dict[sp.Symbol, sp.Expr] = {}  # constant common subexpressions -> their constant symbols
        kept = []
        for sym, e in subs:
            e = constants.hoist(e.xreplace(folded))
            if constants.is_constant(e):
                folded[sym] = e if e.is_Symbol else constants.symbol(e)
            else:
                kept.append((sym, e))
        subs = kept
        reduced = [constants.hoist(e.xreplace(folded)) for e in reduced]
    pr = _Printer({"fully_qualified_modules": True})

    def header(name, shape, used):
        body = ["@njit(cache=True)", f"def {name}(t, y, p, u):", f"    out = np.zeros({shape})"]
        body += [f"    {sym} = y[{k}]" for k, sym in enumerate(s.state_symbols)]
        body += [f"    {sym} = p[{k}]" for k, sym in enumerate(s.param_symbols)]
        body += [f"    {sym} = u[{k}]" for k, sym in enumerate(s.input_symbols)]
        if constants is not None:
            body += [f"    {sym} = p[{constants.n_params + j}]" for j, (sym, _) in enumerate(constants.order) if sym in used]
        return body

    used_rhs = set().union(*(e.free_symbols for e in reduced[:m]))
    used_jac = set().union(*(e.free_symbols for e in reduced[m:])) if nz else set()

    def needed(roots):
        need = set(roots)
        for sym, e in reversed(subs):
            if sym in need:
                need |= e.free_symbols
        return [(sym, e) for sym, e in subs if sym in need]

    rhs_subs, jac_subs = needed(used_rhs), needed(used_jac)
    body = header(rhs_name, m, used_rhs.union(*(e.free_symbols for _, e in rhs_subs)))
    body += [f"    {sym} = {pr.doprint(e)}" for sym, e in rhs_subs]
    body += [f"    out[{k}] = {pr.doprint(e)}" for k, e in enumerate(reduced[:m])]
    body += ["    return out", "", ""]
    body += header(jac_name, f"({m}, {m})", used_jac.union(*(e.free_symbols for _, e in jac_subs)))
    body += [f"    {sym} = {pr.doprint(e)}" for sym, e in jac_subs]
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


_COMPILING: dict[str, float] = {}


def _say(message: str) -> None:
    import sys

    if os.environ.get("GUTBRAIN_QUIET") != "1":
        print(f"gutbrain: {message}", file=sys.stderr, flush=True)


def compile_finished(digest: str) -> None:
    """Report the end of a one-time compilation announced by :func:`compiled` (called after the first solve)."""
    import time

    started = _COMPILING.pop(digest, None)
    if started is not None:
        with contextlib.suppress(OSError):
            (cache_dir() / f"compiled_{digest}.ok").write_text("machine code for this structure is in numba's cache\n")
        _say(f"compiled in {time.perf_counter() - started:.0f} s (cached in {cache_dir()}; later runs and processes reuse it)")


def announce(s: Structure) -> None:
    """Say (once per process) that ``s`` is being compiled, unless this machine's cache already holds its code."""
    if s.digest in _COMPILING or (cache_dir() / f"compiled_{s.digest}.ok").exists():
        return
    import time

    _say(f"compiling the model ({len(s.states)} states, structure {s.digest}) and its BDF solver for this machine; "
         "one time, about a minute ...")
    _COMPILING[s.digest] = time.perf_counter()


def compiled(s: Structure):
    """Return numba-compiled ``(rhs, jac, rhs_odeint, jac_odeint)`` (compiled once, cached on disk).

    The first time a model structure runs on a machine (no machine code in the cache), a message on stderr says
    what is being compiled; :func:`compile_finished` reports the time when the first solve returns. Set
    ``GUTBRAIN_QUIET=1`` to silence both.
    """
    if s.digest in _LOADED:
        return _LOADED[s.digest]
    path = cache_dir() / f"gutbrain_rhs2_{s.digest}.py"
    announce(s)
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
