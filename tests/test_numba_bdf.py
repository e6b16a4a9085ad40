"""The compiled BDF integrator (``method="BDF-numba"``): exact solutions, agreement with SciPy's BDF, accuracy, failures."""

import warnings

import numpy as np
import pytest

pytest.importorskip("numba")

from numba import njit
from scipy.integrate import solve_ivp
from scipy.linalg import expm, lu_factor

import gutbrain
from gutbrain.scenarios import get
from gutbrain.scenarios.scenario import Schedule
from gutbrain.solvers import numba_bdf, numba_codegen, scipy_backend
from gutbrain.solvers.scipy_backend import SolverFailure


# y' = A y + u with A = p.reshape(n, n): a linear system with a closed-form solution
@njit
def lin_rhs(t, y, p, u):
    n = y.shape[0]
    out = np.zeros(n)
    for i in range(n):
        s = u[i]
        for j in range(n):
            s += p[i * n + j] * y[j]
        out[i] = s
    return out


@njit
def lin_jac(t, y, p, u):
    n = y.shape[0]
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = p[i * n + j]
    return out


def exact_linear(A, y0, schedule, ts):
    """Piecewise closed form: y(t) = y* + expm(A (t - a)) (y(a) - y*), y* = -A^-1 u on each input segment."""
    edges, useg = numba_bdf.segments(schedule, ts)
    out = np.empty((len(ts), len(y0)))
    y = np.asarray(y0, float)
    out[ts <= edges[0]] = y
    for a, b, u in zip(edges[:-1], edges[1:], useg, strict=True):
        ystar = -np.linalg.solve(A, u)
        sel = (ts > a) & (ts <= b)
        for k in np.flatnonzero(sel):
            out[k] = ystar + expm(A * (ts[k] - a)) @ (y - ystar)
        y = ystar + expm(A * (b - a)) @ (y - ystar)
    return out


def run_linear(A, y0, schedule, ts, rtol, atol, **kw):
    return numba_bdf.integrate_functions(lin_rhs, lin_jac, np.asarray(y0, float), np.ascontiguousarray(A, float).ravel(),
                                         schedule, ts, rtol=rtol, atol=atol, **kw)


def test_lu_matches_lapack_pivots_and_solution():
    def solve(A, b):  # the integrator's own compiled LU (called from Python: same machine code)
        lu = numba_bdf.lu_alloc(A.shape[0])
        numba_bdf.lu_pattern(lu, A)
        lu[0][:, :] = A
        numba_bdf.lu_factor(lu)
        x = np.empty_like(b)
        numba_bdf.lu_solve(lu, b, x)
        return x, lu[1]

    rng = np.random.default_rng(3)
    for n in (1, 3, 49, 64, 70):  # 70 > MASK_BITS: dense loops
        for density in (1.0, 0.1):
            A = rng.normal(size=(n, n)) * (rng.random((n, n)) < density) + 0.1 * np.eye(n)
            b = rng.normal(size=n)
            x, piv = solve(A, b)
            np.testing.assert_array_equal(piv, lu_factor(A)[1])
            np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-9, atol=1e-12 * np.abs(x).max())


def test_linear_decay_matches_exponential():
    k, y0 = 0.7, 2.0
    sched = Schedule(times=np.array([0.0]), values=np.zeros((1, 1)), horizon=10.0)
    ts = np.linspace(0.0, 10.0, 21)
    exact = y0 * np.exp(-k * ts)
    for rtol, bound in ((1e-4, 5.0), (1e-6, 30.0), (1e-8, 60.0)):  # global error / rtol: 2.3, 16, 31 (as SciPy's BDF)
        y, stats = run_linear(np.array([[-k]]), [y0], sched, ts, rtol, 1e-14, return_stats=True)
        assert np.max(np.abs(y[:, 0] - exact) / exact) < bound * rtol
        assert stats["segments"] == 1 and stats["jac_evals"] == 1
    sol = solve_ivp(lambda t, y: -k * y, (0.0, 10.0), [y0], method="BDF", t_eval=ts, rtol=1e-8, atol=1e-14,
                    jac=lambda t, y: np.array([[-k]]))
    np.testing.assert_allclose(y[:, 0], sol.y[0], rtol=1e-13)
    assert (stats["rhs_evals"], stats["lu_decompositions"]) == (sol.nfev, sol.nlu)


def test_stiff_linear_system_with_input_switches():
    # eigenvalues -1000 and -0.5: stiff; inputs switch at 2, 2.5 and 5 (left-continuous segments)
    A = np.array([[-1000.0, 999.0], [0.0, -0.5]])
    sched = Schedule(times=np.array([0.0, 2.0, 2.5, 5.0]), values=np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0], [1.0, 1.0]]),
                     horizon=8.0)
    ts = np.linspace(0.0, 8.0, 33)  # includes the switch times
    exact = exact_linear(A, [1.0, 1.0], sched, ts)
    rtol = 1e-7
    y, stats = run_linear(A, [1.0, 1.0], sched, ts, rtol, 1e-12, return_stats=True)
    rel = np.abs(y - exact) / np.maximum(np.abs(exact), 1e-6)
    assert rel.max() < 50 * rtol
    assert stats["segments"] == 4
    # far fewer steps than an explicit method would need at |lambda| h < 2 (4,000 steps)
    assert stats["steps"] < 1000


@pytest.fixture(scope="module")
def healthy():
    m = gutbrain.load_model()
    sc = get("healthy-baseline")
    return m, sc


def test_faithful_port_of_scipy_bdf(healthy):
    """Same algorithm as SciPy's BDF: identical step/evaluation counts, states equal to rounding."""
    m, sc = healthy
    sched = sc.schedule(1.0)
    p, atol = m.param_vector, 1e-8 * m.state_scales
    ts = np.linspace(0.0, 24.0, 25)
    ref = scipy_backend.integrate(m.structure, m.y0, p, sched, ts, rtol=1e-6, atol=atol, method="BDF")
    y, stats = numba_bdf.integrate(m.structure, m.y0, p, sched, ts, rtol=1e-6, atol=atol, return_stats=True)
    rel = np.abs(y - ref) / np.maximum(np.abs(ref), 1e-6 * m.state_scales)
    assert rel.max() < 1e-8  # observed ~1e-11: only summation order and the LU's rounding differ

    rhs, jac = numba_codegen.compiled(m.structure)[:2]
    edges, useg = numba_bdf.segments(sched, ts)
    counts = dict(steps=0, rhs_evals=0, jac_evals=0, lu_decompositions=0)
    yy = m.y0
    for a, b, u in zip(edges[:-1], edges[1:], useg, strict=True):
        sol = solve_ivp(lambda t, x, u=u: rhs(t, x, p, u), (a, b), yy, method="BDF", jac=lambda t, x, u=u: jac(t, x, p, u),
                        rtol=1e-6, atol=atol)
        counts["steps"] += len(sol.t) - 1
        counts["rhs_evals"] += sol.nfev
        counts["jac_evals"] += sol.njev
        counts["lu_decompositions"] += sol.nlu
        yy = sol.y[:, -1]
    assert {k: stats[k] for k in counts} == counts


@pytest.mark.parametrize(("scenario", "start_day"), [("chronic-work-stress", 14.0), ("antibiotic-course", 10.0)])
def test_accuracy_against_tight_lsoda(scenario, start_day):
    """5 days around the intervention's onset: rtol 1e-6 against LSODA at rtol 1e-9."""
    m = gutbrain.load_model()
    sched = get(scenario).schedule(start_day + 5.0)
    p, scales = m.param_vector, m.state_scales
    ts = np.linspace((start_day - 1.0) * 24.0, (start_day + 4.0) * 24.0, 41)
    ref = scipy_backend.integrate(m.structure, m.y0, p, sched, ts, rtol=1e-9, atol=1e-11 * scales, method="LSODA")
    atol = 1e-8 * scales
    y = scipy_backend.integrate(m.structure, m.y0, p, sched, ts, rtol=1e-6, atol=atol, method="BDF-numba")
    err = np.abs(y - ref)
    # 1e-3 relative to max(|ref|, 1e-6 scale), plus a few atol where the absolute tolerance governs the step
    # control (|ref| < atol / rtol: e.g. the stomach's solid carbohydrate between meals, 2e-6 of its scale)
    assert np.all(err <= 1e-3 * np.maximum(np.abs(ref), 1e-6 * scales) + 10 * atol)
    # in units of the requested tolerance (observed: at most ~45)
    assert np.max(err / (1e-6 * np.abs(ref) + atol)) < 200


def test_max_steps_failure_names_the_segment(healthy):
    m, sc = healthy
    ts = np.linspace(0.0, 24.0, 3)
    with pytest.raises(SolverFailure, match=r"BDF-numba failed on \(0, [0-9.]+\) h at t = .*max_steps"):
        numba_bdf.integrate(m.structure, m.y0, m.param_vector, sc.schedule(1.0), ts, rtol=1e-6, atol=1e-8 * m.state_scales,
                            max_steps=5)


def test_blow_up_is_a_solver_failure():
    sched = Schedule(times=np.array([0.0]), values=np.zeros((1, 1)), horizon=1000.0)
    with pytest.raises(SolverFailure, match="BDF-numba failed"):
        run_linear(np.array([[50.0]]), [1.0], sched, np.array([0.0, 1000.0]), 1e-6, 1e-9)


def test_simulate_accepts_the_method(healthy):
    m, _ = healthy
    ds = gutbrain.simulate(m, "healthy-baseline", days=1, output_every=6, warmup_days=1, method="BDF-numba")
    assert ds.attrs["solver"] == "numba-bdf"
    ref = gutbrain.simulate(m, "healthy-baseline", days=1, output_every=6, warmup_days=1, method="LSODA")
    for v in ("cortisol_nmol", "IL6", "glucose"):
        np.testing.assert_allclose(ds[v].values, ref[v].values, rtol=1e-3)


def test_without_numba_falls_back_to_scipy_bdf(healthy, monkeypatch):
    m, sc = healthy
    monkeypatch.setattr(numba_codegen, "available", lambda: False)
    monkeypatch.setattr(scipy_backend, "_WARNED_NO_NUMBA", False)
    ts = np.linspace(0.0, 0.5, 3)
    kw = dict(rtol=1e-6, atol=1e-8 * m.state_scales)
    with pytest.warns(RuntimeWarning, match="BDF-numba"):
        y = scipy_backend.integrate(m.structure, m.y0, m.param_vector, sc.schedule(1.0), ts, method="BDF-numba", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        y2 = scipy_backend.integrate(m.structure, m.y0, m.param_vector, sc.schedule(1.0), ts, method="BDF-numba", **kw)
    ref = scipy_backend.integrate(m.structure, m.y0, m.param_vector, sc.schedule(1.0), ts, method="BDF", **kw)
    np.testing.assert_array_equal(y, ref)
    np.testing.assert_array_equal(y2, ref)
