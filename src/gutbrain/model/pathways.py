"""Pathway attribution read from the model's own mood-drive equations.

The anxiety and depression set-points are log-linear in their drivers (``model/mood.py``)::

    drive = [vulnerability *] exp(sum_k  sign_k * elasticity_k * signal_k)

Each term of that sum is a *pathway*. This module takes the terms from the symbolic
expressions of the assembled model (quantities kept as named symbols), so the web
explorer's "why" panel and the digital twin's attribution cannot disagree with the
equations: add, remove or re-sign a term in ``mood.py`` and both follow; change an
elasticity in the parameter tables and both follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from .core import Namespace

__all__ = ["DRIVES", "Pathway", "PathwayTerm", "mood_pathways", "pathway_variables"]

#: the log-linear drives and the index each one sets: key -> (quantity, state, display label, state score)
DRIVES: dict[str, tuple[str, str, str, str]] = {
    "anxiety": ("anxiety_drive", "ANX", "Anxiety (GAD-7 state measure)", "gad7_state"),
    "depression": ("depression_drive", "DEP", "Depression (PHQ-9 state measure)", "phq9_state"),
}


@dataclass(frozen=True)
class PathwayTerm:
    """One term ``sign * elasticity * signal`` of a log-linear drive."""

    key: str  #: the driving state or observable (e.g. ``"inflammation"``, ``"VAG"``)
    label: str  #: the model's description of that driver
    parameter: str  #: the elasticity parameter
    sign: int  #: +1 raises the drive, -1 lowers it (for a positive elasticity and a rising signal)
    signal: str  #: the signal as written in the equations (e.g. ``"VAG - 1"``)
    variables: tuple[str, ...]  #: states/observables the signal reads
    parameters: tuple[str, ...]  #: parameters the signal reads (besides the elasticity)

    def evaluate(self, data: Mapping[str, object], values: Mapping[str, float]) -> np.ndarray:
        """The term's value (log-drive units) from driver values ``data`` and parameter ``values``."""
        fn = _lambdified(self.signal, self.variables + self.parameters)
        args = [np.asarray(data[v], dtype=float) for v in self.variables] + [float(values[p]) for p in self.parameters]
        return self.sign * float(values[self.parameter]) * np.asarray(fn(*args), dtype=float)


@dataclass(frozen=True)
class Pathway:
    key: str
    quantity: str
    state: str
    label: str
    score: str
    terms: tuple[PathwayTerm, ...]


@lru_cache(maxsize=64)
def _lambdified(signal: str, names: tuple[str, ...]):
    syms = [sp.Symbol(n, real=True) for n in names]
    return sp.lambdify(syms, sp.sympify(signal, locals={n: s for n, s in zip(names, syms, strict=True)}), "numpy")


def _short(description: str) -> str:
    for sep in (":", "(", ";"):
        description = description.split(sep)[0]
    return description.strip()


def mood_pathways(model) -> dict[str, Pathway]:
    """The pathway terms of each mood drive, read from ``model``'s symbolic equations."""
    return _pathways(model.structure)


_CACHE: dict[int, dict[str, Pathway]] = {}


def _pathways(structure) -> dict[str, Pathway]:
    if id(structure) in _CACHE:
        return _CACHE[id(structure)]
    symbols = {str(s): s for s in structure.state_symbols + structure.param_symbols + structure.input_symbols}
    named = Namespace(symbols, structure.quantities, expand=False)
    params = set(structure.param_names)
    described = {s.name: s.description for s in structure.states} | {k: q.description for k, q in structure.quantities.items()}
    out: dict[str, Pathway] = {}
    for key, (quantity, state, label, score) in DRIVES.items():
        expr = sp.sympify(structure.quantities[quantity].expr(named))
        exps = [f for f in sp.Mul.make_args(expr) if isinstance(f, sp.exp)]
        if len(exps) != 1:
            raise RuntimeError(f"{quantity} is not of the form [factor *] exp(sum of terms); pathway attribution needs that form")
        terms = []
        for term in sp.Add.make_args(exps[0].args[0]):
            coeff, factors = term.as_coeff_mul()
            elastic = [f for f in factors if isinstance(f, sp.Symbol) and str(f) in params]
            if len(elastic) != 1:
                raise RuntimeError(f"term {term} of {quantity} has no single elasticity parameter")
            signal = sp.Mul(*[f for f in factors if f is not elastic[0]]) * abs(coeff)
            names = sorted(str(s) for s in signal.free_symbols)
            variables = tuple(n for n in names if n not in params)
            if not variables:
                raise RuntimeError(f"term {term} of {quantity} reads no state or observable")
            driver = variables[0]
            terms.append(PathwayTerm(key=driver, label=_short(described.get(driver, driver)), parameter=str(elastic[0]),
                                     sign=1 if coeff > 0 else -1, signal=str(signal), variables=variables,
                                     parameters=tuple(n for n in names if n in params)))
        out[key] = Pathway(key, quantity, state, label, score, tuple(terms))
    _CACHE[id(structure)] = out
    return out


def pathway_variables(model) -> tuple[str, ...]:
    """Every state/observable the mood pathways read (what a run must keep to attribute them)."""
    seen: dict[str, None] = {}
    for pw in mood_pathways(model).values():
        for t in pw.terms:
            seen.update(dict.fromkeys(t.variables))
    return tuple(seen)
