"""Generate numerical functions from the model's symbolic equations (the single source).

* :func:`numpy_functions` — scalar Python code (``math`` module, common subexpressions
  eliminated) for the right-hand side and its symbolic Jacobian, used by the SciPy backend;
  vectorised NumPy code for observables.
* :func:`jax_functions` — ``jax.numpy`` code for the right-hand side and observables,
  used by the diffrax backend (jit, vmap, GPU).

All functions take ``(t, y, p, u)``: time (h), state vector, parameter vector, input vector.
Generated functions are cached per model structure, so every patient shares them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from ..model.assemble import Structure

_NUMPY: dict[str, Any] = {}
_JAX: dict[str, Any] = {}


class NumpyFunctions:
    """Right-hand side and observables, plus the Jacobian built on first use (only the pure-Python
    SciPy fallback needs it; deriving it costs seconds, which reading observables should not pay)."""

    def __init__(self, s: Structure):
        self._structure = s
        self.rhs = sp.lambdify(_args(s), list(s.rhs), modules="math", cse=True)
        self.observables = sp.lambdify(_args(s), list(s.observable_exprs), modules="numpy", cse=True)
        self._jac = None

    @property
    def jac(self):
        if self._jac is None:
            s = self._structure
            nz = s.jacobian
            entries = sp.lambdify(_args(s), [e for _, _, e in nz], modules="math", cse=True)
            rows = np.array([i for i, _, _ in nz])
            cols = np.array([j for _, j, _ in nz])
            n = len(s.states)

            def jac(t, y, p, u):
                out = np.zeros((n, n))
                out[rows, cols] = entries(t, y, p, u)
                return out

            self._jac = jac
        return self._jac


def _args(s: Structure):
    return [s.t, list(s.state_symbols), list(s.param_symbols), list(s.input_symbols)]


def numpy_functions(s: Structure) -> NumpyFunctions:
    if s.digest not in _NUMPY:
        _NUMPY[s.digest] = NumpyFunctions(s)
    return _NUMPY[s.digest]


def jax_functions(s: Structure):
    """Return ``(rhs, observables)`` written in jax.numpy (both return stacked arrays)."""
    if s.digest not in _JAX:
        import jax.numpy as jnp

        args = _args(s)
        rhs_list = sp.lambdify(args, list(s.rhs), modules="jax", cse=True)
        obs_list = sp.lambdify(args, list(s.observable_exprs), modules="jax", cse=True)

        def rhs(t, y, p, u):
            return jnp.stack(rhs_list(t, y, p, u))

        def observables(t, y, p, u):
            return jnp.stack([jnp.broadcast_to(v, jnp.shape(t)) for v in obs_list(t, y, p, u)])

        _JAX[s.digest] = (rhs, observables)
    return _JAX[s.digest]
