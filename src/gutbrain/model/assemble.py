"""Assemble the nine modules and their parameter tables into one immutable :class:`Model`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import sympy as sp

from ..errors import ParameterError, suggest
from ..parameters import Parameter, builtin_tables, load_table
from . import autonomic, barrier, glucose, hpa, immune, microbiome, mood, scores, tryptophan
from .core import Input, Namespace, Quantity, State, T
from .inputs import INPUTS

__all__ = ["MODULES", "Model", "Structure", "load_model"]

MODULES = (microbiome, barrier, immune, hpa, tryptophan, autonomic, glucose, mood, scores)


class Structure:
    """The symbolic equations of the model, independent of parameter values (shared by all patients)."""

    def __init__(self, param_names: tuple[str, ...]):
        self.states: tuple[State, ...] = tuple(replace(s, module=m.NAME) for m in MODULES for s in m.STATES)
        self.quantities: dict[str, Quantity] = {q.name: replace(q, module=m.NAME) for m in MODULES for q in m.QUANTITIES}
        self.inputs: tuple[Input, ...] = INPUTS
        self.param_names = param_names
        names = [s.name for s in self.states] + list(param_names) + [i.name for i in INPUTS]
        dup = {n for n in names if names.count(n) > 1} | (set(names) & set(self.quantities))
        if dup:
            raise RuntimeError(f"model names used twice: {sorted(dup)}")
        self.state_symbols = tuple(sp.Symbol(s.name, real=True) for s in self.states)
        self.param_symbols = tuple(sp.Symbol(p, real=True) for p in param_names)
        self.input_symbols = tuple(sp.Symbol(i.name, real=True) for i in INPUTS)
        symbols = {str(s): s for s in self.state_symbols + self.param_symbols + self.input_symbols}
        self.namespace = Namespace(symbols, self.quantities)
        rates: dict[str, sp.Expr] = {}
        for m in MODULES:
            r = m.rates(self.namespace)
            missing = {s.name for s in m.STATES} - set(r)
            if missing:
                raise RuntimeError(f"module {m.NAME} gives no rate for {sorted(missing)}")
            rates.update({k: sp.sympify(v) for k, v in r.items()})
        self.rates = rates
        self.rhs = tuple(rates[s.name] for s in self.states)
        self.observables: dict[str, Quantity] = {k: q for k, q in self.quantities.items() if q.observable}
        self.observable_exprs = tuple(getattr(self.namespace, k) for k in self.observables)
        used = set().union(*(e.free_symbols for e in self.rhs + self.observable_exprs))
        unused = [p for p in param_names if sp.Symbol(p, real=True) not in used]
        self.unused_params = tuple(unused)
        self.t = T

    @cached_property
    def jacobian(self) -> list[tuple[int, int, sp.Expr]]:
        """Non-zero entries ``(row, col, d rhs_row / d state_col)`` of the symbolic Jacobian (derived once)."""
        m = sp.Matrix(self.rhs).jacobian(list(self.state_symbols))
        return [(i, j, m[i, j]) for i in range(m.rows) for j in range(m.cols) if m[i, j] != 0]

    @cached_property
    def digest(self) -> str:
        text = "|".join(str(e) for e in self.rhs + self.observable_exprs)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


_STRUCTURES: dict[tuple[str, ...], Structure] = {}


def _structure(param_names: tuple[str, ...]) -> Structure:
    if param_names not in _STRUCTURES:
        _STRUCTURES[param_names] = Structure(param_names)
    return _STRUCTURES[param_names]


@dataclass(frozen=True)
class Model:
    """An immutable model: equations (shared :class:`Structure`) plus one parameter set.

    Change parameters with :meth:`with_params`, which validates names and evidence bounds
    and returns a new model; the original is never mutated.
    """

    parameters: Mapping[str, Parameter]
    name: str = "gutbrain-v1"
    _structure: Structure = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self):
        if self._structure is None:
            object.__setattr__(self, "_structure", _structure(tuple(self.parameters)))

    def __reduce__(self):
        # the symbolic structure holds closures; a pickled model carries only its parameters and
        # rebuilds (or reuses) the shared structure where it is unpickled
        return (Model, (dict(self.parameters), self.name))

    # -- structure ---------------------------------------------------------------------------
    @property
    def structure(self) -> Structure:
        return self._structure

    @property
    def states(self) -> tuple[State, ...]:
        return self._structure.states

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self._structure.states)

    @property
    def observable_names(self) -> tuple[str, ...]:
        return tuple(self._structure.observables)

    @property
    def inputs(self) -> tuple[Input, ...]:
        return self._structure.inputs

    # -- values ------------------------------------------------------------------------------
    @property
    def param_vector(self) -> np.ndarray:
        return np.array([p.value for p in self.parameters.values()], dtype=float)

    @property
    def y0(self) -> np.ndarray:
        """Nominal initial state (the simulator warms up from here to the patient's own steady rhythm)."""
        return np.array([s.initial for s in self.states], dtype=float)

    @property
    def state_scales(self) -> np.ndarray:
        """Typical magnitude of each state; absolute tolerances are ``atol * state_scales``."""
        return np.array([s.typical for s in self.states], dtype=float)

    def with_params(self, overrides: Mapping[str, float] | None = None, /, **kwargs: float) -> Model:
        """Return a copy with some parameter values changed (each checked against its bounds)."""
        changes = dict(overrides or {}, **kwargs)
        params = dict(self.parameters)
        for k, v in changes.items():
            if k not in params:
                raise ParameterError("parameter name", k, "a parameter of the model", suggest(k, params))
            params[k] = params[k].with_value(v)
        return Model(parameters=params, name=self.name, _structure=self._structure)

    @property
    def param_hash(self) -> str:
        blob = json.dumps({k: p.value for k, p in self.parameters.items()}, sort_keys=True)
        return hashlib.sha256((self._structure.digest + blob).encode()).hexdigest()[:16]

    def module_of(self, name: str) -> str:
        return self.parameters[name].module


def load_model(path: str | Path | None = None, *, overrides: Mapping[str, float] | None = None) -> Model:
    """Load the reference model.

    Parameters
    ----------
    path
        Optional directory of parameter TOML tables replacing the built-in ones (same names).
    overrides
        Parameter values to change (validated against bounds).
    """
    if path is None:
        params = builtin_tables()
    else:
        path = Path(path)
        if not path.is_dir():
            raise ParameterError("parameter directory", str(path), "an existing directory of <module>.toml tables",
                                 "pass the folder that holds the TOML files")
        params = {}
        for f in sorted(path.glob("*.toml")):
            params.update(load_table(f))
        expected = set(builtin_tables())
        missing = expected - set(params)
        if missing:
            raise ParameterError("parameter tables", str(path), "tables defining every model parameter",
                                 f"add the missing parameters: {', '.join(sorted(missing)[:10])}")
    model = Model(parameters=params)
    return model.with_params(overrides) if overrides else model
