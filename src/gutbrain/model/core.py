"""Equations as data: states, inputs, algebraic quantities and rates as SymPy expressions.

Each physiology module (``microbiome.py``, ``barrier.py`` ...) declares

* ``STATES``: :class:`State` entries (name, unit, initial value, description);
* ``QUANTITIES``: :class:`Quantity` entries, named algebraic expressions of states,
  parameters and inputs (read-outs in clinical units are quantities with ``observable=True``);
* ``rates(ns)``: a dict ``state name -> d(state)/dt`` (per hour) built from the namespace.

The namespace resolves a name to the SymPy symbol of a state, parameter or input, or to the
expression of a quantity (resolved lazily, so modules may use each other's quantities).
This is the single source from which the numerical right-hand sides, the Jacobian, the SBML
document and the documentation's equations are all generated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

__all__ = ["Input", "Namespace", "Quantity", "State", "T", "hill", "hill_down", "hill_excess", "pos", "saturate", "smooth_pos"]

T = sp.Symbol("t", real=True)  # model time in hours


@dataclass(frozen=True)
class State:
    name: str
    unit: str
    initial: float
    description: str
    module: str = ""
    scale: float | None = None  # typical magnitude; absolute tolerance is atol * scale

    @property
    def typical(self) -> float:
        return self.scale if self.scale is not None else max(abs(self.initial), 1.0)


@dataclass(frozen=True)
class Quantity:
    name: str
    unit: str
    description: str
    expr: Callable[[Namespace], sp.Expr]
    observable: bool = False
    module: str = ""


@dataclass(frozen=True)
class Control:
    """How the web explorer's scenario builder offers an input (the controls are built from this, not hand-written).

    ``kind`` is ``"diet"`` (a slider for the diet from day 0) or ``"treatment"`` (an episode: a level, a start
    day and a duration). ``lower``/``upper`` narrow the slider or level field to a useful range inside the
    input's own bounds; ``start_day``/``days``/``max_days`` are a treatment's defaults and longest duration.
    """

    kind: str
    label: str
    id: str
    step: float
    unit_label: str = ""
    lower: float | None = None
    upper: float | None = None
    level: float | None = None
    start_day: float = 28.0
    days: float = 56.0
    max_days: float = 365.0
    colour: str = "#555555"

    def __post_init__(self):
        if self.kind not in ("diet", "treatment"):
            raise ValueError(f"Control.kind must be 'diet' or 'treatment', not {self.kind!r}")


@dataclass(frozen=True)
class Input:
    name: str
    unit: str
    default: float
    lower: float
    upper: float
    description: str
    control: Control | None = None  #: how the web explorer offers it (None: not offered in the builder)

    def __post_init__(self):
        c = self.control
        if c is not None and not (self.lower <= (c.lower if c.lower is not None else self.lower)
                                  < (c.upper if c.upper is not None else self.upper) <= self.upper):
            raise ValueError(f"input {self.name}: the control's range must lie inside the input's bounds")


class Namespace:
    """Name lookup for module equations (states, parameters, inputs, then quantities)."""

    def __init__(self, symbols: dict[str, sp.Symbol], quantities: dict[str, Quantity], *, expand: bool = True):
        self._symbols = symbols
        self._quantities = quantities
        self._expand = expand  # False: quantities stay named symbols (for documentation)
        self._cache: dict[str, sp.Expr] = {}
        self._resolving: list[str] = []

    def __getattr__(self, name: str) -> sp.Expr:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._symbols:
            return self._symbols[name]
        if name in self._cache:
            return self._cache[name]
        if name in self._quantities and not self._expand:
            return sp.Symbol(name, real=True)
        if name in self._quantities:
            if name in self._resolving:
                raise RuntimeError("circular quantity definition: " + " -> ".join([*self._resolving, name]))
            self._resolving.append(name)
            try:
                expr = sp.sympify(self._quantities[name].expr(self))
            finally:
                self._resolving.pop()
            self._cache[name] = expr
            return expr
        raise AttributeError(f"the model has no state, parameter, input or quantity named {name!r}")

    @property
    def t(self) -> sp.Symbol:
        return T


def pos(x: sp.Expr) -> sp.Expr:
    """max(x, 0): keeps Hill functions real if a solver undershoots zero slightly."""
    return sp.Max(x, 0)


TINY = 1e-12


def smooth_pos(x: sp.Expr, eps: float) -> sp.Expr:
    """Smooth max(x, 0): (x + sqrt(x^2 + eps^2)) / 2, within eps/2 of max(x, 0) and differentiable.

    Used where a published model switches on the sign of a signal (insulin secretion), so that
    stiff solvers do not chatter at the switch.
    """
    return (x + sp.sqrt(x**2 + eps**2)) / 2


def hill(x: sp.Expr, k: sp.Expr, n: sp.Expr | float) -> sp.Expr:
    """Up-regulating Hill function x^n / (x^n + k^n), in [0, 1).

    The argument is floored at 1e-12 (not 0) so that x^n and its derivative stay finite for
    any exponent; the floor changes no value by more than 1e-12^n / k^n.
    """
    r = (sp.Max(x, TINY) / k) ** n  # written on x/k so that the exponent acts on a dimensionless ratio
    return r / (1 + r)


def hill_excess(x: sp.Expr, k: sp.Expr, n: sp.Expr | float) -> sp.Expr:
    """Hill function of an excess ``x`` that crosses zero near the reference state (e.g. IL-6 - baseline).

    Uses :func:`smooth_pos` (width 1 % of ``k``) instead of a hard floor, so the right-hand side
    stays differentiable where the patient actually lives and stiff solvers are not forced to
    reject steps at the kink.
    """
    r = (smooth_pos(x, 0.01 * k) / k) ** n
    return r / (1 + r)


def hill_down(x: sp.Expr, k: sp.Expr, n: sp.Expr | float) -> sp.Expr:
    """Down-regulating Hill function k^n / (x^n + k^n), in (0, 1] (argument floored as in :func:`hill`)."""
    return 1 / (1 + (sp.Max(x, TINY) / k) ** n)


def saturate(z: sp.Expr, top: sp.Expr | float) -> sp.Expr:
    """Bounded signal equal to 1 at z = 0, rising to ``top`` as z -> +inf and to 0 as z -> -inf."""
    # top / (1 + (top - 1) exp(-z)), written with tanh so that no exponential can overflow
    return top * (1 + sp.tanh((z - sp.log(top - 1)) / 2)) / 2
