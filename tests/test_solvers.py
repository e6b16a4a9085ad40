"""Solvers as values: the registry, simulate(solver=...), a user-defined solver, libroadrunner as a solver."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import gutbrain as gb
from gutbrain.errors import InputError
from gutbrain.solvers.registry import SOLVERS, ScipySolver, Solver, resolve


@pytest.fixture(scope="module")
def model():
    return gb.load_model()


def test_every_built_in_solver_satisfies_the_protocol_and_says_what_it_can_do():
    assert {"numba-bdf-split", "numba-bdf", "scipy-lsoda", "scipy-bdf", "scipy-radau", "diffrax-kvaerno5",
            "roadrunner-cvode"} <= set(SOLVERS)
    for name, s in SOLVERS.items():
        assert isinstance(s, Solver) and s.name == name and s.description
        assert {"stiff", "batched", "gpu", "processes", "start_anywhere"} <= set(s.capabilities)


def test_the_old_backend_and_method_strings_map_onto_solvers():
    assert resolve("scipy", "LSODA", None).name == "scipy-lsoda"
    assert resolve("jax", None, None).name == "diffrax-kvaerno5"
    assert resolve(None, None, None).name == "numba-bdf-split"
    with pytest.raises(InputError, match="not both"):
        resolve("scipy", None, "scipy-lsoda")
    with pytest.raises(InputError, match="did you mean 'scipy-lsoda'"):
        gb.get_solver("scipy-lsod")


def test_simulate_by_solver_name_equals_the_method_path_and_records_the_name(model):
    a = gb.simulate(model, "healthy-baseline", days=1.0, solver="scipy-lsoda", warmup_days=1.0)
    b = gb.simulate(model, "healthy-baseline", days=1.0, backend="scipy", method="LSODA", warmup_days=1.0)
    assert a.attrs["solver"] == b.attrs["solver"] == "scipy-lsoda"
    np.testing.assert_array_equal(a["CORT"].values, b["CORT"].values)


def test_a_user_defined_solver_runs_through_simulate(model):
    calls = []

    @dataclasses.dataclass(frozen=True)
    class Counting(ScipySolver):
        def integrate(self, models, y0s, schedule, ts, *, rtol, atol, scenario=None):
            calls.append(len(models))
            return super().integrate(models, y0s, schedule, ts, rtol=rtol, atol=atol, scenario=scenario)

    mine = Counting("counting-lsoda", "LSODA", "LSODA, counting its calls")
    ds = gb.simulate(model, "healthy-baseline", days=1.0, solver=mine, warmup_days=1.0)
    assert ds.attrs["solver"] == "counting-lsoda" and calls == [1, 1]  # warm-up, then the run
    ref = gb.simulate(model, "healthy-baseline", days=1.0, solver="scipy-lsoda", warmup_days=1.0)
    np.testing.assert_array_equal(ds["DEP"].values, ref["DEP"].values)
    gb.register_solver(mine)
    try:
        assert gb.get_solver("counting-lsoda") is mine
        with pytest.raises(InputError, match="a name not yet registered"):
            gb.register_solver(mine)
    finally:
        SOLVERS.pop("counting-lsoda")
    with pytest.raises(InputError, match="prepare"):
        gb.register_solver(object())


def test_roadrunner_on_the_exported_sbml_agrees_with_the_reference_solver(model):
    pytest.importorskip("roadrunner")
    kw = dict(days=2.0, warmup_days=3.0, rtol=1e-8, atol=1e-10)
    rr = gb.simulate(model, "high-gi-meals", solver="roadrunner-cvode", **kw)
    ref = gb.simulate(model, "high-gi-meals", solver="numba-bdf-split", **kw)
    assert rr.attrs["solver"] == "roadrunner-cvode"
    for v in ("CORT", "Gp", "DEP", "TJ", "glucose", "phq9"):
        x, y = rr[v].values, ref[v].values
        scale = np.max(np.abs(y)) or 1.0
        assert np.max(np.abs(x - y)) / scale < 1e-4, v
    with pytest.raises(InputError, match="start_day"):
        gb.simulate(model, "high-gi-meals", solver="roadrunner-cvode", initial=rr.isel(time=-1), days=1.0)
