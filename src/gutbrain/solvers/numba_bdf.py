"""Variable-order BDF/NDF integrator compiled end to end with numba.

A line-by-line port of SciPy's ``scipy.integrate.BDF`` (``scipy/integrate/_ivp/bdf.py``:
``compute_R``, ``change_D``, ``solve_bdf_system``, ``BDF._step_impl``, ``BdfDenseOutput``;
``select_initial_step`` and ``norm`` from ``_ivp/common.py``). The algorithm is the
quasi-constant step size, variable-order (1-5) backward-differentiation method of
Byrne & Hindmarsh (1975), "A polyalgorithm for the numerical solution of ordinary
differential equations", ACM Trans. Math. Softw. 1(1):71-96, with the numerical
differentiation formulas (NDF) and error/order strategy of Shampine & Reichelt (1997),
"The MATLAB ODE Suite", SIAM J. Sci. Comput. 18(1):1-22. It uses the analytic Jacobian (a dense matrix), an LU factorisation
with partial pivoting that skips the Jacobian's exact zeros (reused across steps exactly
where SciPy reuses its LU) and the same Newton iteration, step-size and order control.

The whole schedule is integrated in one compiled call (:func:`integrate_schedule`): every
constant-input segment, every step, Newton iteration, Jacobian and LU. As with
``solve_ivp`` per segment, the method restarts at each input switch (order 1, fresh
initial step, fresh Jacobian) and the states at the requested output times come from the
BDF dense output. Results therefore agree with :func:`gutbrain.solvers.scipy_backend.integrate`
``method="BDF"`` up to floating-point rounding (summation order in dot products and the LU),
with the same numbers of steps, right-hand side and Jacobian evaluations and LU factorisations.

Failures (step size too small, non-finite state, too many steps) are returned as status
codes from the compiled code; :func:`integrate` raises
:class:`~gutbrain.solvers.scipy_backend.SolverFailure` with the segment and time.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from pathlib import Path
from typing import Literal, TypedDict

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ..model.assemble import Structure
from ..scenarios.scenario import Schedule

MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
EPS = float(np.finfo(float).eps)

# status codes returned by integrate_schedule
OK = 0
TOO_SMALL_STEP = 1
TOO_MANY_STEPS = 2
NOT_FINITE = 3
MESSAGES = {
    TOO_SMALL_STEP: "required step size is less than spacing between numbers",
    TOO_MANY_STEPS: "too many steps (max_steps) in one constant-input segment",
    NOT_FINITE: "the state became non-finite (NaN or inf)",
}
STATS = ("steps", "rhs_evals", "jac_evals", "lu_decompositions", "segments", "rejected_steps")
N_STATS = len(STATS)

# NDF coefficients (SciPy BDF.__init__), as tuples: compiled in as constants, so the machine code can be cached
_KAPPA = np.array([0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0])
_GAMMA = np.concatenate(([0.0], np.cumsum(1.0 / np.arange(1, MAX_ORDER + 1))))
GAMMA = tuple(float(v) for v in _GAMMA)
ALPHA = tuple(float(v) for v in (1.0 - _KAPPA) * _GAMMA)
ERROR_CONST = tuple(float(v) for v in _KAPPA * _GAMMA + 1.0 / np.arange(1, MAX_ORDER + 2))



class _JitOptions(TypedDict, total=False):
    """Keyword options passed to ``njit`` (typed so that ``**`` unpacking matches its signature)."""

    error_model: Literal["python", "numpy"]
    inline: Literal["never", "always"]


_JIT: _JitOptions = {"error_model": "numpy"}  # float division by zero gives inf/nan (as NumPy), never raises
# Functions receiving ``rhs``/``jac`` are inlined into their caller at the numba IR level: the
# dispatchers are then called directly and never passed as run-time values, which would keep
# numba from caching the compiled driver.
_JIT_FN: _JitOptions = {"error_model": "numpy", "inline": "always"}


# ---------------------------------------------------------------------------------------------
# LU with partial pivoting (stands in for LAPACK getrf/getrs used by SciPy)
# ---------------------------------------------------------------------------------------------

MASK_BITS = 64  # matrices up to this size track their non-zero pattern in one int64 bit mask per row/column


@intrinsic
def _ctz(typingctx, x):
    """Index of the lowest set bit of a non-zero int64 (LLVM ``cttz``)."""
    if x != types.int64:
        return None

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.cttz", [ir.IntType(64), ir.IntType(1)])
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 0)])

    return types.int64(types.int64), codegen


@njit(**_JIT)
def lu_alloc(n):
    """Work space for :func:`lu_factor`: ``(a, piv, perm, dinv, ptr, idx, val, rows, masks)``.

    ``a`` (n, n) holds the matrix and then its factors, ``piv`` the row interchanges and
    ``perm`` their product (row ``i`` of ``P A`` is row ``perm[i]`` of ``A``), ``dinv`` the
    reciprocals of the diagonal of ``U``; ``ptr``, ``idx``, ``val`` a compressed-row copy
    of the non-zero entries of ``U`` (strictly upper, rows ``n+1 ..``) and ``L`` (strictly
    lower, rows ``0 .. n``) for the solves; ``rows`` is scratch; ``masks`` (4, n) holds the
    row and column patterns set by :func:`lu_pattern` and their working copies.
    """
    return (np.empty((n, n)), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n), np.zeros(2 * n + 2, np.int64),
            np.zeros(n * n, np.int64), np.zeros(n * n), np.zeros(n, np.int64), np.zeros((4, n), np.int64))


@njit(**_JIT)
def lu_pattern(lu, J):
    """Record the non-zero pattern of ``I - c J`` (that of ``J`` plus the diagonal) for :func:`lu_factor`.

    Call it whenever ``J`` changes; matrices larger than ``MASK_BITS`` use dense loops and ignore it.
    """
    n = J.shape[0]
    if n > MASK_BITS:
        return
    masks = lu[8]
    for i in range(n):
        masks[0, i] = 0
        masks[1, i] = 0
    for i in range(n):
        for j in range(n):
            if J[i, j] != 0.0 or i == j:
                masks[0, i] |= 1 << j
                masks[1, j] |= 1 << i


@njit(**_JIT)
def lu_factor(lu):
    """Factorise ``lu[0]`` in place with partial pivoting (right-looking, as LAPACK ``getf2``): ``P A = L U``.

    ``L`` (unit diagonal) is stored below the diagonal and ``U`` on and above it; ``piv[k]``
    is the row swapped with row ``k`` at elimination step ``k`` (first largest pivot, as
    ``idamax``). Entries outside the pattern given to :func:`lu_pattern` (and its fill-in)
    must be zero; the elimination and the solves then only visit the pattern. Skipping exact
    zeros leaves every result unchanged, and makes the sparse Jacobians of ODE models cheap
    (a 49-state model's factors have ~400 non-zeros out of 2,401).
    """
    if lu[0].shape[0] > MASK_BITS:
        _lu_factor_dense(lu)
        return
    a, piv, perm, dinv, ptr, idx, val, _, masks = lu
    n = a.shape[0]
    rm = masks[2]
    cm = masks[3]
    for i in range(n):
        rm[i] = masks[0, i]
        cm[i] = masks[1, i]
    base = n + 1
    pos = 0
    for k in range(n):
        bk = 1 << k
        upto = bk | (bk - 1)  # bits 0..k
        p = k
        big = abs(a[k, k])
        m = cm[k] & ~upto
        while m != 0:
            i = _ctz(m)
            m &= m - 1
            v = abs(a[i, k])
            if v > big:
                big = v
                p = i
        piv[k] = p
        if p != k:
            bp = 1 << p
            m = rm[k] | rm[p]
            while m != 0:
                j = _ctz(m)
                m &= m - 1
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
                c = cm[j]
                if ((c & bk) != 0) != ((c & bp) != 0):
                    cm[j] = c ^ (bk | bp)
            tmp_m = rm[k]
            rm[k] = rm[p]
            rm[p] = tmp_m
        pivot = a[k, k]
        dinv[k] = 1.0 / pivot
        rows_k = cm[k] & ~upto
        cols_k = rm[k] & ~upto
        if pivot != 0.0:
            inv = dinv[k]
            m = rows_k
            while m != 0:
                i = _ctz(m)
                m &= m - 1
                a[i, k] *= inv
        # row k of U is final from here on: record it, then update the rows below
        p0 = pos
        ptr[base + k] = pos
        m = cols_k
        while m != 0:
            j = _ctz(m)
            m &= m - 1
            idx[pos] = j
            val[pos] = a[k, j]
            pos += 1
        m = rows_k
        while m != 0:
            i = _ctz(m)
            m &= m - 1
            f = a[i, k]
            for q in range(p0, pos):
                a[i, idx[q]] -= f * val[q]
            rm[i] |= cols_k
        m = cols_k
        while m != 0:
            j = _ctz(m)
            m &= m - 1
            cm[j] |= rows_k
    ptr[base + n] = pos
    # L, once all row interchanges are done
    for i in range(n):
        ptr[i] = pos
        m = rm[i] & ((1 << i) - 1)
        while m != 0:
            j = _ctz(m)
            m &= m - 1
            idx[pos] = j
            val[pos] = a[i, j]
            pos += 1
    ptr[n] = pos
    _permutation(piv, perm)


@njit(**_JIT)
def _lu_factor_dense(lu):
    """:func:`lu_factor` for matrices larger than ``MASK_BITS``: dense scans, skipping exact zeros."""
    a, piv, perm, dinv, ptr, idx, val, rows, _ = lu
    n = a.shape[0]
    base = n + 1
    pos = 0
    for k in range(n):
        p = k
        big = abs(a[k, k])
        for i in range(k + 1, n):
            v = abs(a[i, k])
            if v > big:
                big = v
                p = i
        piv[k] = p
        if p != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
        pivot = a[k, k]
        dinv[k] = 1.0 / pivot
        nr = 0
        if pivot != 0.0:
            inv = dinv[k]
            for i in range(k + 1, n):
                f = a[i, k] * inv
                a[i, k] = f
                rows[nr] = i
                nr += int(f != 0.0)
        else:
            for i in range(k + 1, n):
                rows[nr] = i
                nr += int(a[i, k] != 0.0)
        p0 = pos
        ptr[base + k] = pos
        for j in range(k + 1, n):
            v = a[k, j]
            idx[pos] = j
            val[pos] = v
            pos += int(v != 0.0)
        for r in range(nr):
            i = rows[r]
            f = a[i, k]
            for q in range(p0, pos):
                a[i, idx[q]] -= f * val[q]
    ptr[base + n] = pos
    for i in range(n):
        ptr[i] = pos
        for j in range(i):
            v = a[i, j]
            idx[pos] = j
            val[pos] = v
            pos += int(v != 0.0)
    ptr[n] = pos
    _permutation(piv, perm)


@njit(**_JIT)
def _permutation(piv, perm):
    for i in range(piv.shape[0]):
        perm[i] = i
    for k in range(piv.shape[0]):
        p = piv[k]
        tmp = perm[k]
        perm[k] = perm[p]
        perm[p] = tmp


@njit(**_JIT)
def lu_solve(lu, b, x):
    """Solve ``A x = b`` with the factors from :func:`lu_factor` (``x`` must not share memory with ``b``).

    The diagonal of ``U`` is applied as a reciprocal (LAPACK ``getrs`` divides: differs in the
    last bit at most).
    """
    a, _, perm, dinv, ptr, idx, val, _, _ = lu
    n = a.shape[0]
    for i in range(n):
        s = b[perm[i]]
        for q in range(ptr[i], ptr[i + 1]):
            s -= val[q] * x[idx[q]]
        x[i] = s
    for i in range(n - 1, -1, -1):
        s = x[i]
        for q in range(ptr[n + 1 + i], ptr[n + 2 + i]):
            s -= val[q] * x[idx[q]]
        x[i] = s * dinv[i]


@njit(**_JIT)
def _rms(x, scale):
    """Weighted RMS norm ``norm(x / scale)`` of SciPy's ``_ivp.common.norm``."""
    s = 0.0
    for i in range(x.shape[0]):
        v = x[i] / scale[i]
        s += v * v
    return np.sqrt(s) / x.shape[0] ** 0.5


@njit(**_JIT)
def _rms_scaled(c, x, scale):
    """``norm(c * x / scale)`` without a temporary (``c * x`` rounded first, as in SciPy)."""
    s = 0.0
    for i in range(x.shape[0]):
        v = (c * x[i]) / scale[i]
        s += v * v
    return np.sqrt(s) / x.shape[0] ** 0.5


# ---------------------------------------------------------------------------------------------
# BDF building blocks (scipy/integrate/_ivp/bdf.py)
# ---------------------------------------------------------------------------------------------

@njit(**_JIT)
def compute_R(order, factor, R):
    """Matrix for changing the differences array (SciPy ``compute_R``), written into ``R[:order+1, :order+1]``."""
    for j in range(order + 1):
        R[0, j] = 1.0
    for i in range(1, order + 1):
        R[i, 0] = 0.0
        for j in range(1, order + 1):
            R[i, j] = R[i - 1, j] * ((i - 1 - factor * j) / i)


@njit(**_JIT)
def change_D(D, order, factor, R, U, RU, tmp):
    """Rescale the differences array in place for a step-size change by ``factor`` (SciPy ``change_D``)."""
    compute_R(order, factor, R)
    compute_R(order, 1.0, U)
    m = order + 1
    for i in range(m):
        for j in range(m):
            s = 0.0
            for k in range(m):
                s += R[i, k] * U[k, j]
            RU[i, j] = s
    n = D.shape[1]
    for i in range(m):
        for c in range(n):
            tmp[i, c] = 0.0
        for k in range(m):
            w = RU[k, i]
            for c in range(n):
                tmp[i, c] += w * D[k, c]
    for i in range(m):
        for c in range(n):
            D[i, c] = tmp[i, c]


@njit(**_JIT_FN)
def select_initial_step(rhs, p, u, t0, y0, f0, t_bound, rtol, atol, scale, y1):
    """Initial step size (SciPy ``select_initial_step``, Hairer, Norsett & Wanner Sec. II.4), error order 1."""
    interval_length = abs(t_bound - t0)
    if interval_length == 0.0:
        return 0.0
    n = y0.shape[0]
    for i in range(n):
        scale[i] = atol[i] + abs(y0[i]) * rtol
    d0 = _rms(y0, scale)
    d1 = _rms(f0, scale)
    h0 = 1e-06 if d0 < 1e-05 or d1 < 1e-05 else 0.01 * d0 / d1
    h0 = min(h0, interval_length)
    for i in range(n):
        y1[i] = y0[i] + h0 * f0[i]
    f1 = rhs(t0 + h0, y1, p, u)
    s = 0.0
    for i in range(n):
        v = (f1[i] - f0[i]) / scale[i]
        s += v * v
    d2 = np.sqrt(s) / n ** 0.5 / h0
    h1 = max(1e-06, h0 * 0.001) if d1 <= 1e-15 and d2 <= 1e-15 else (0.01 / max(d1, d2)) ** 0.5
    return min(100 * h0, h1, interval_length)


@njit(**_JIT_FN)
def solve_bdf_system(rhs, p, u, t_new, y_predict, c, psi, lu, scale, tol, y, d, rhs_b, dy, stats):
    """Newton iteration for the BDF algebraic system (SciPy ``solve_bdf_system``); returns ``(converged, n_iter)``.

    ``y`` receives the corrected state and ``d`` the accumulated correction.
    """
    n = y.shape[0]
    for i in range(n):
        d[i] = 0.0
        y[i] = y_predict[i]
    dy_norm_old = 0.0
    have_old = False
    converged = False
    k = 0
    for k in range(NEWTON_MAXITER):
        f = rhs(t_new, y, p, u)
        stats[1] += 1
        finite = True
        for i in range(n):
            if not np.isfinite(f[i]):
                finite = False
                break
        if not finite:
            break
        for i in range(n):
            rhs_b[i] = c * f[i] - psi[i] - d[i]
        lu_solve(lu, rhs_b, dy)
        dy_norm = _rms(dy, scale)
        rate = 0.0
        if have_old:
            rate = dy_norm / dy_norm_old
            if rate >= 1 or rate ** (NEWTON_MAXITER - k) / (1 - rate) * dy_norm > tol:
                break
        for i in range(n):
            y[i] += dy[i]
            d[i] += dy[i]
        if dy_norm == 0 or (have_old and rate / (1 - rate) * dy_norm < tol):
            converged = True
            break
        dy_norm_old = dy_norm
        have_old = True
    return converged, k + 1


@njit(**_JIT)
def dense_eval(t_eval, t, h, order, D, out):
    """BDF dense output (SciPy ``BdfDenseOutput``) at ``t_eval`` after a step ending at ``t`` with step ``h``."""
    n = D.shape[1]
    for i in range(n):
        out[i] = 0.0
    p = 1.0
    for j in range(order):
        p *= (t_eval - (t - h * j)) / (h * (1 + j))
        for i in range(n):
            out[i] += D[j + 1, i] * p
    for i in range(n):
        out[i] += D[0, i]


@njit(**_JIT)
def _error_factor(norm, exponent):
    # error_norm ** (-1 / exponent) with NumPy's 0 -> inf and inf -> 0
    if norm == 0.0:
        return np.inf
    if norm == np.inf:
        return 0.0
    return norm ** (-1.0 / exponent)


@njit(**_JIT_FN)
def bdf_step(rhs, jac, p, u, t_bound, rtol, atol, newton_tol, fs, ist, D, J, lu, W, R, U, RU, tmp, stats):
    """One step of SciPy's ``BDF._step_impl``; returns a status code.

    Scalar state: ``fs = [t, h_abs]``, ``ist = [order, n_equal_steps, lu_valid]``. Work
    vectors are the rows of ``W``: y_predict, psi, scale, y_new, d, Newton right-hand side,
    Newton correction.
    """
    y_predict, psi, scale, y_new, d, rhs_b, dy = W[0], W[1], W[2], W[3], W[4], W[5], W[6]
    n = D.shape[1]
    t = fs[0]
    order = ist[0]
    lu_valid = ist[2] == 1
    min_step = 10 * abs(np.nextafter(t, np.inf) - t)
    if fs[1] < min_step:
        h_abs = min_step
        change_D(D, order, min_step / fs[1], R, U, RU, tmp)
        ist[1] = 0
    else:
        h_abs = fs[1]

    current_jac = False
    n_iter = 0
    t_new = t
    while True:
        if h_abs < min_step:
            return TOO_SMALL_STEP
        t_new = t + h_abs
        if t_new - t_bound > 0:
            t_new = t_bound
            change_D(D, order, abs(t_new - t) / h_abs, R, U, RU, tmp)
            ist[1] = 0
            lu_valid = False
        h = t_new - t
        h_abs = abs(h)

        # y_predict = sum(D[:order+1]); psi = D[1:order+1].T @ gamma[1:order+1] / alpha[order]
        for i in range(n):
            y_predict[i] = D[0, i]
            psi[i] = 0.0
        for j in range(1, order + 1):
            g = GAMMA[j]
            for i in range(n):
                y_predict[i] += D[j, i]
                psi[i] += D[j, i] * g
        a_k = ALPHA[order]
        for i in range(n):
            psi[i] /= a_k
            scale[i] = atol[i] + rtol * abs(y_predict[i])

        converged = False
        c = h / ALPHA[order]
        while not converged:
            if not lu_valid:
                A = lu[0]
                for i in range(n):
                    for j in range(n):
                        A[i, j] = -(c * J[i, j])
                    A[i, i] += 1.0  # I - c J
                lu_factor(lu)
                stats[3] += 1
                lu_valid = True
            converged, n_iter = solve_bdf_system(rhs, p, u, t_new, y_predict, c, psi, lu, scale, newton_tol,
                                                 y_new, d, rhs_b, dy, stats)
            if not converged:
                if current_jac:
                    break
                J[:, :] = jac(t_new, y_predict, p, u)
                lu_pattern(lu, J)
                stats[2] += 1
                lu_valid = False
                current_jac = True

        if not converged:
            factor = 0.5
            h_abs *= factor
            change_D(D, order, factor, R, U, RU, tmp)
            ist[1] = 0
            lu_valid = False
            stats[5] += 1
            continue

        safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
        for i in range(n):
            scale[i] = atol[i] + rtol * abs(y_new[i])
        error_norm = _rms_scaled(ERROR_CONST[order], d, scale)
        if error_norm > 1:
            factor = max(MIN_FACTOR, safety * error_norm ** (-1.0 / (order + 1)))
            h_abs *= factor
            change_D(D, order, factor, R, U, RU, tmp)
            ist[1] = 0
            stats[5] += 1
        else:
            break

    # accepted
    ist[1] += 1
    fs[0] = t_new
    fs[1] = h_abs
    # D^{j+1} y_n = D^j y_n - D^j y_{n-1}, with d = D^{k+1} y_n
    for i in range(n):
        D[order + 2, i] = d[i] - D[order + 1, i]
        D[order + 1, i] = d[i]
    for j in range(order, -1, -1):
        for i in range(n):
            D[j, i] += D[j + 1, i]

    if ist[1] < order + 1:
        ist[2] = 1 if lu_valid else 0
        return OK

    error_m_norm = _rms_scaled(ERROR_CONST[order - 1], D[order], scale) if order > 1 else np.inf
    if order < MAX_ORDER:
        error_p_norm = _rms_scaled(ERROR_CONST[order + 1], D[order + 2], scale)
    else:
        error_p_norm = np.inf

    f_m = _error_factor(error_m_norm, order)
    f_0 = _error_factor(error_norm, order + 1)
    f_p = _error_factor(error_p_norm, order + 2)
    delta_order = -1  # np.argmax: first maximum
    best = f_m
    if f_0 > best:
        best = f_0
        delta_order = 0
    if f_p > best:
        best = f_p
        delta_order = 1
    order += delta_order
    ist[0] = order

    factor = min(MAX_FACTOR, safety * best)
    fs[1] *= factor
    change_D(D, order, factor, R, U, RU, tmp)
    ist[1] = 0
    ist[2] = 0
    return OK


# ---------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------

@njit(**_JIT_FN)
def integrate_schedule(rhs, jac, y0, p, edges, useg, ts, rtol, atol, max_steps):
    """Integrate over consecutive constant-input segments ``(edges[k], edges[k+1]]`` with inputs ``useg[k]``.

    ``rhs(t, y, p, u)`` and ``jac(t, y, p, u)`` are numba-compiled functions; ``ts`` are the
    increasing output times with ``ts[0] == edges[0]``. The BDF restarts at each edge (as one
    ``solve_ivp`` call per segment). ``max_steps`` bounds the accepted steps per segment.

    Returns ``(out, status, stats, t_fail)``: the states at ``ts`` (NaN where not reached),
    a status code (``OK``, ``TOO_SMALL_STEP``, ``TOO_MANY_STEPS``, ``NOT_FINITE``), the
    counters named in ``STATS`` (``stats[4]`` is the number of segments integrated, i.e.
    the failing segment's index on failure) and the time reached when a failure occurred.
    """
    n = y0.shape[0]
    nt = ts.shape[0]
    out = np.full((nt, n), np.nan)
    stats = np.zeros(N_STATS, np.int64)
    y = y0.copy()
    D = np.empty((MAX_ORDER + 3, n))
    J = np.empty((n, n))
    lu = lu_alloc(n)
    W = np.empty((7, n))
    R = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    U = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    RU = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    tmp = np.empty((MAX_ORDER + 1, n))
    fs = np.zeros(2)
    ist = np.zeros(3, np.int64)
    newton_tol = max(10 * EPS / rtol, min(0.03, rtol ** 0.5))

    k = 0
    while k < nt and ts[k] <= edges[0]:
        out[k] = y0
        k += 1
    for seg in range(edges.shape[0] - 1):
        a = edges[seg]
        b = edges[seg + 1]
        stats[4] = seg
        if not b > a:
            continue
        u = useg[seg]
        for i in range(n):
            if not np.isfinite(y[i]):
                return out, NOT_FINITE, stats, a
        f = rhs(a, y, p, u)
        stats[1] += 1
        h_abs = select_initial_step(rhs, p, u, a, y, f, b, rtol, atol, W[0], W[1])
        stats[1] += 1
        J[:, :] = jac(a, y, p, u)
        lu_pattern(lu, J)
        stats[2] += 1
        for i in range(n):
            D[0, i] = y[i]
            D[1, i] = f[i] * h_abs
        fs[0] = a
        fs[1] = h_abs
        ist[0] = 1
        ist[1] = 0
        ist[2] = 0
        n_steps = 0
        while fs[0] < b:
            if n_steps >= max_steps:
                return out, TOO_MANY_STEPS, stats, fs[0]
            status = bdf_step(rhs, jac, p, u, b, rtol, atol, newton_tol, fs, ist, D, J, lu, W, R, U, RU, tmp, stats)
            if status != OK:
                return out, status, stats, fs[0]
            n_steps += 1
            stats[0] += 1
            for i in range(n):
                if not np.isfinite(D[0, i]):
                    return out, NOT_FINITE, stats, fs[0]
            while k < nt and ts[k] <= fs[0]:
                dense_eval(ts[k], fs[0], fs[1], ist[0], D, out[k])
                k += 1
        for i in range(n):
            y[i] = D[0, i]  # the dense output at the segment end (what solve_ivp returns there)
    stats[4] = edges.shape[0] - 1
    return out, OK, stats, edges[-1]


# ---------------------------------------------------------------------------------------------
# Python interface
# ---------------------------------------------------------------------------------------------

_DRIVERS: dict[str, object] = {}


def segments(schedule: Schedule, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment edges over ``[ts[0], ts[-1]]`` and the constant input on each, as in ``scipy_backend.integrate``."""
    times, values = np.asarray(schedule.times, float), np.asarray(schedule.values, float)
    switches = np.asarray(schedule.switches, float)
    inner = switches[(switches > ts[0]) & (switches < ts[-1])]
    edges = np.concatenate([[ts[0]], inner, [ts[-1]]])
    mid = 0.5 * (edges[:-1] + edges[1:])
    k = np.maximum(np.searchsorted(times, mid, side="left") - 1, 0)
    return edges, np.ascontiguousarray(values[k], dtype=float)


def _source_hash(*extra: str) -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    for e in extra:
        h.update(e.encode())
    return h.hexdigest()[:12]


def driver(structure: Structure):
    """Compiled ``integrate(y0, p, edges, useg, ts, rtol, atol, max_steps)`` for one model structure.

    A small module binding :func:`integrate_schedule` to the structure's compiled right-hand
    side and Jacobian is written next to them (named by the structure digest and a hash of
    this file and of the right-hand side's module name, so edits here never reuse stale
    machine code) and compiled with ``cache=True``: later processes load it from disk.
    """
    if structure.digest in _DRIVERS:
        return _DRIVERS[structure.digest]
    from .numba_codegen import cache_dir, compiled

    rhs = compiled(structure)[0]
    rhs_module = rhs.py_func.__module__
    path = cache_dir() / f"gutbrain_bdf_{structure.digest}_{_source_hash(rhs_module)}.py"
    if not path.exists():
        src = "\n".join([
            "from numba import njit",
            "",
            "from gutbrain.solvers.numba_bdf import integrate_schedule",
            f"from {rhs_module} import jac, rhs",
            "",
            "",
            "@njit(cache=True, error_model='numpy')",
            "def integrate(y0, p, edges, useg, ts, rtol, atol, max_steps):",
            "    return integrate_schedule(rhs, jac, y0, p, edges, useg, ts, rtol, atol, max_steps)",
            "",
        ])
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(src)
        tmp.replace(path)
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    fn = importlib.import_module(path.stem).integrate
    _DRIVERS[structure.digest] = fn
    return fn


def prepare(ts, y0, p, rtol, atol):
    """Fresh writable C-contiguous float64 copies (one compiled signature for every call), ``atol`` per state and
    ``rtol`` floored as SciPy's ``validate_tol`` does."""
    ts = np.array(ts, dtype=float, order="C")
    y0 = np.array(y0, dtype=float, order="C")
    p = np.array(p, dtype=float, order="C")
    atol = np.array(np.broadcast_to(np.asarray(atol, float), y0.shape), order="C")
    return ts, y0, p, max(float(rtol), 100 * EPS), atol


def check(label: str, status, stats, t_fail, edges) -> None:
    """Raise ``SolverFailure`` naming the segment and time where the compiled integration of ``label`` stopped."""
    if status == OK:
        return
    from .scipy_backend import SolverFailure

    seg = min(int(stats[4]), len(edges) - 2)
    raise SolverFailure(f"{label} failed on ({edges[seg]:g}, {edges[seg + 1]:g}) h at t = {t_fail:.6g} h: "
                        f"{MESSAGES.get(int(status), f'status {status}')}")


def _run(fn, y0, p, schedule, ts, rtol, atol, max_steps, return_stats):
    ts, y0, p, rtol, atol = prepare(ts, y0, p, rtol, atol)
    edges, useg = segments(schedule, ts)
    out, status, stats, t_fail = fn(y0, p, edges, useg, ts, rtol, atol, int(max_steps))
    check("BDF-numba", status, stats, t_fail, edges)
    if return_stats:
        return out, dict(zip(STATS, (int(s) for s in stats), strict=True))
    return out


def integrate(structure: Structure, y0: np.ndarray, p: np.ndarray, schedule: Schedule, ts: np.ndarray, *,
              rtol: float, atol, max_steps: int = 100_000, return_stats: bool = False):
    """Integrate from ``ts[0]`` and return the states at ``ts`` (shape ``(len(ts), n_states)``).

    Same contract as :func:`gutbrain.solvers.scipy_backend.integrate`; ``atol`` is a scalar
    or per-state vector and ``max_steps`` bounds the steps per constant-input segment. With
    ``return_stats`` the counters of ``STATS`` are returned too, as ``(states, dict)``.
    Raises ``SolverFailure`` when the integration fails.
    """
    return _run(driver(structure), y0, p, schedule, ts, rtol, atol, max_steps, return_stats)


def integrate_functions(rhs, jac, y0, p, schedule: Schedule, ts, *, rtol: float, atol, max_steps: int = 100_000,
                        return_stats: bool = False):
    """As :func:`integrate` for any numba-compiled ``rhs(t, y, p, u)`` / ``jac(t, y, p, u)`` pair.

    The integrator is compiled once per pair and process (not cached on disk).
    """

    def fn(*args):
        return integrate_schedule(rhs, jac, *args)

    return _run(fn, y0, p, schedule, ts, rtol, atol, max_steps, return_stats)
