"""Solvers as values: a small protocol, the built-in solvers and a registry.

A solver integrates the generated right-hand side of a model over a schedule of inputs; none
knows the physiology. :func:`gutbrain.simulate` takes one with ``solver=`` (a name from
:data:`SOLVERS` or any object that satisfies :class:`Solver`) and records its ``name`` in the
result's ``attrs["solver"]``. The older ``backend=``/``method=`` strings map onto these
(``resolve``).

Built-in solvers (names say what runs):

======================  ================================================================  =======  =====
name                    what runs                                                         batched  GPU
======================  ================================================================  =======  =====
``numba-bdf-split``     SciPy's BDF ported to numba, glucose block then the rest (default)  no       no
``numba-bdf``           the same BDF on the whole model                                    no       no
``scipy-lsoda``         ``scipy.integrate.odeint`` (LSODA), symbolic Jacobian              no       no
``scipy-bdf``           ``scipy.integrate.solve_ivp(method="BDF")``                        no       no
``scipy-radau``         ``scipy.integrate.solve_ivp(method="Radau")``                      no       no
``diffrax-kvaerno5``    diffrax Kvaerno5 with a PID controller, jit + vmap                 yes      yes
``roadrunner-cvode``    libroadrunner (CVODE) on the model exported as SBML                no       no
======================  ================================================================  =======  =====

To add one, write a class with the attributes and methods of :class:`Solver` and call
:func:`register` (docs/contributing.md, "Adding a solver").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import InputError, SolverFailure, suggest

__all__ = ["SOLVERS", "DiffraxSolver", "RoadRunnerSolver", "ScipySolver", "Solver", "default_solver", "get_solver",
           "register", "resolve"]


@runtime_checkable
class Solver(Protocol):
    """What :func:`gutbrain.simulate` needs from a solver."""

    # read-only members (properties), so that frozen dataclasses and plain class attributes both satisfy them

    @property
    def name(self) -> str:
        """The registry name, recorded in ``attrs["solver"]``."""
        ...

    @property
    def description(self) -> str:
        """One line on what runs."""
        ...

    @property
    def capabilities(self) -> Mapping[str, Any]:
        """``stiff``, ``batched`` (integrates many patients in one call), ``gpu``, ``processes`` (may be spread
        over worker processes), ``start_anywhere`` (can start at any time on the scenario clock), ``backend``."""
        ...

    def prepare(self, model) -> None:
        """Load or compile what the solver needs for ``model``'s structure (called once per process)."""

    def integrate(self, models: Sequence, y0s: np.ndarray, schedule, ts: np.ndarray, *, rtol: float,
                  atol: np.ndarray, scenario) -> tuple[np.ndarray, np.ndarray]:
        """States at ``ts`` (h), shape ``(n_patients, len(ts), n_states)``, and a status per patient
        (``"ok"`` or ``"failed"``). ``atol`` is per state (already scaled); ``scenario`` is the scenario
        the ``schedule`` was built from (for solvers that need the whole scenario, such as SBML export)."""
        ...


def _capabilities(**kw) -> dict[str, Any]:
    base = {"stiff": True, "batched": False, "gpu": False, "processes": True, "start_anywhere": True}
    base.update(kw)
    return base


@dataclass(frozen=True)
class ScipySolver:
    """One of the CPU methods of the reference backend (``backend="scipy"``)."""

    name: str
    method: str
    description: str
    capabilities: Mapping[str, Any] = field(default_factory=lambda: _capabilities(backend="scipy"))

    def prepare(self, model) -> None:
        from .codegen import numpy_functions
        from .scipy_backend import rhs_and_jacobian

        rhs_and_jacobian(model.structure)
        numpy_functions(model.structure)

    def integrate(self, models, y0s, schedule, ts, *, rtol, atol, scenario=None):
        from .scipy_backend import integrate

        structure = models[0].structure
        ys = np.full((len(models), len(ts), len(models[0].states)), np.nan)
        status = np.array(["ok"] * len(models), dtype=object)
        for i, m in enumerate(models):
            try:
                ys[i] = integrate(structure, y0s[i], m.param_vector, schedule, ts, rtol=rtol, atol=atol, method=self.method)
            except (SolverFailure, ArithmeticError):
                status[i] = "failed"
        return ys, status


@dataclass(frozen=True)
class DiffraxSolver:
    """diffrax Kvaerno5 (JAX): batched over patients with ``vmap``; runs on a GPU where JAX has one."""

    name: str = "diffrax-kvaerno5"
    description: str = "diffrax Kvaerno5, PID step-size controller, jump_ts at schedule switches, jit + vmap"
    capabilities: Mapping[str, Any] = field(default_factory=lambda: _capabilities(batched=True, gpu=True, processes=False,
                                                                                  backend="jax"))

    def prepare(self, model) -> None:  # JAX compiles on first call, per horizon; nothing to load ahead
        return None

    def integrate(self, models, y0s, schedule, ts, *, rtol, atol, scenario=None):
        from . import jax_backend

        structure = models[0].structure
        n = len(models)
        status = np.array(["ok"] * n, dtype=object)
        if n == 1:
            y, ok, _ = jax_backend.integrate(structure, y0s[0], models[0].param_vector, schedule, ts, rtol=rtol, atol=atol)
            ys, oks = np.asarray(y)[None], np.array([ok])
        else:
            ps = np.stack([m.param_vector for m in models])
            ys, oks, _ = jax_backend.integrate_batch(structure, np.asarray(y0s), ps, schedule, ts, rtol=rtol, atol=atol)
            ys = np.array(ys)
        for i in range(n):
            if not oks[i] or not np.all(np.isfinite(ys[i])):
                status[i] = "failed"
        return ys, status


@dataclass(frozen=True)
class RoadRunnerSolver:
    """libroadrunner's CVODE on the model exported as SBML (with the scenario's inputs as events).

    A solver in its own right, independent of gutbrain's generated code: the equations travel through
    the SBML export. Needs ``pip install 'gutbrain[sbml]'``; the output grid must be uniform and start at
    scenario day 0 (the export writes the scenario from day 0).
    """

    name: str = "roadrunner-cvode"
    description: str = "libroadrunner CVODE (stiff) on the exported SBML; inputs as SBML events"
    capabilities: Mapping[str, Any] = field(default_factory=lambda: _capabilities(start_anywhere=False, backend="roadrunner"))

    def prepare(self, model) -> None:
        from ..sbml.roadrunner import _roadrunner

        _roadrunner()

    def integrate(self, models, y0s, schedule, ts, *, rtol, atol, scenario=None):
        from ..sbml import roadrunner_simulate, to_sbml

        if scenario is None:
            raise InputError("scenario", None, "the scenario (roadrunner-cvode exports it to SBML)",
                             "call through gutbrain.simulate")
        step = np.diff(ts)
        if abs(ts[0]) > 1e-9 or (len(step) and np.max(np.abs(step - step[0])) > 1e-9 * max(1.0, ts[-1])):
            raise InputError("solver", self.name, "a run on a uniform output grid that starts at scenario day 0",
                             "drop start_day, or use solver='numba-bdf-split'")
        days = float(ts[-1]) / 24.0
        every = float(step[0]) if len(step) else float(ts[-1])
        # relative to each state's typical scale, as the other solvers use it
        atol0 = float(np.min(atol / models[0].state_scales))
        ys = np.full((len(models), len(ts), len(models[0].states)), np.nan)
        status = np.array(["ok"] * len(models), dtype=object)
        for i, m in enumerate(models):
            try:
                xml = to_sbml(m, scenario, days=days, initial_state=np.asarray(y0s[i], float))
                _, vals, _ = roadrunner_simulate(xml, m, days, output_every=every, rtol=rtol, atol=atol0)
                ys[i] = np.stack([vals[s] for s in m.state_names], axis=1)
            except RuntimeError:
                status[i] = "failed"
            if not np.all(np.isfinite(ys[i])):
                status[i] = "failed"
        return ys, status


SOLVERS: dict[str, Solver] = {}


def register(solver: Solver, *, replace: bool = False) -> Solver:
    """Add ``solver`` to :data:`SOLVERS` under ``solver.name`` (``replace=True`` to overwrite a name)."""
    if not isinstance(solver, Solver):
        raise InputError("solver", type(solver).__name__, "an object with name, description, capabilities, "
                         "prepare(model) and integrate(models, y0s, schedule, ts, *, rtol, atol, scenario)",
                         "see gutbrain.solvers.registry.Solver")
    if solver.name in SOLVERS and not replace:
        raise InputError("solver.name", solver.name, "a name not yet registered", "choose another name or pass replace=True")
    SOLVERS[solver.name] = solver
    return solver


for _s in (ScipySolver("numba-bdf-split", "BDF-split", "SciPy's BDF compiled with numba, on the glucose block and then the rest"),
           ScipySolver("numba-bdf", "BDF-numba", "SciPy's BDF compiled with numba, on the whole model"),
           ScipySolver("scipy-lsoda", "LSODA", "scipy.integrate.odeint (LSODA), symbolic Jacobian"),
           ScipySolver("scipy-bdf", "BDF", "scipy.integrate.solve_ivp, BDF, symbolic Jacobian"),
           ScipySolver("scipy-radau", "Radau", "scipy.integrate.solve_ivp, Radau IIA, symbolic Jacobian"),
           DiffraxSolver(), RoadRunnerSolver()):
    register(_s)

#: the ``method=`` names of the scipy backend
_BY_METHOD = {"BDF-split": "numba-bdf-split", "BDF-numba": "numba-bdf", "LSODA": "scipy-lsoda", "BDF": "scipy-bdf",
              "Radau": "scipy-radau"}


def default_solver() -> Solver:
    """``numba-bdf-split`` where numba is installed, else ``scipy-lsoda``."""
    from .scipy_backend import default_method

    return SOLVERS[_BY_METHOD[default_method()]]


def get_solver(spec: str | Solver) -> Solver:
    """A registered solver by name, or ``spec`` itself if it already satisfies :class:`Solver`."""
    if isinstance(spec, str):
        if spec not in SOLVERS:
            raise InputError("solver", spec, "a registered solver: " + ", ".join(SOLVERS), suggest(spec, SOLVERS))
        return SOLVERS[spec]
    if isinstance(spec, Solver):
        return spec
    raise InputError("solver", type(spec).__name__, "a solver name or an object satisfying gutbrain.solvers.registry.Solver",
                     "e.g. solver='numba-bdf-split'")


def resolve(backend: str | None, method: str | None, solver: str | Solver | None) -> Solver:
    """The solver named by ``solver``, or by the older ``backend``/``method`` pair."""
    if solver is not None:
        if backend is not None or method is not None:
            raise InputError("solver", getattr(solver, "name", solver), "either solver= or backend=/method=, not both",
                             "pass only solver=...")
        return get_solver(solver)
    if backend in (None, "scipy"):
        return default_solver() if method is None else SOLVERS[_BY_METHOD[method]]
    if backend == "jax":
        return SOLVERS["diffrax-kvaerno5"]
    if backend == "roadrunner":
        return SOLVERS["roadrunner-cvode"]
    from . import BACKENDS

    raise InputError("backend", backend, "one of " + ", ".join(BACKENDS), suggest(str(backend), BACKENDS))
