"""Small statistics for the cohort calibration targets: effect sizes, shares, bootstrap CIs, Kaplan-Meier.

The literature the cohort targets come from reports a point estimate with a 95 % confidence interval;
``bootstrap_ci`` gives the model's values the same companion (percentile bootstrap). A statistic of
this module carries a ``batched`` attribute: the same statistic of 2-D arrays, one resample per row,
returning one value per row; ``bootstrap_ci`` uses it when present (2000 resamples of 1000 patients
in milliseconds) and otherwise calls the statistic once per resample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ..errors import InputError

__all__ = ["bootstrap_ci", "cohen_d", "hedges_g", "hedges_g_log", "km_median", "share"]

#: resampled values held at once (rows x patients): bounds the memory of a batched bootstrap
_CHUNK_ELEMENTS = 4_000_000
#: a bootstrap with more than this share of degenerate (NaN) resamples has no interval
MAX_NAN_SHARE = 0.10
#: a pooled SD below this fraction of the groups' mean magnitudes is no spread (d undefined)
_NO_SPREAD = 1e-12

_Statistic = TypeVar("_Statistic", bound=Callable[..., Any])


def _sample(x, name: str = "sample") -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise InputError(name, f"an array of shape {a.shape}", "a one-dimensional sample", "pass one value per patient")
    if a.size == 0:
        raise InputError(name, "an empty sample", "at least one value", "check the selection that built the sample")
    return a


def _batched(fn: Callable[..., np.ndarray]) -> Callable[[_Statistic], _Statistic]:
    """Attach ``fn`` as the batched form of the decorated statistic (which keeps its own signature)."""

    def attach(stat: _Statistic) -> _Statistic:
        stat.__dict__["batched"] = fn  # the function attribute ``stat.batched`` (read with getattr by bootstrap_ci)
        return stat

    return attach


def _cohen_d_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na, nb = a.shape[-1], b.shape[-1]
    if na + nb < 3:
        return np.full(np.broadcast_shapes(a.shape[:-1], b.shape[:-1]), np.nan)
    va = a.var(axis=-1, ddof=1) if na > 1 else np.zeros(a.shape[:-1])
    vb = b.var(axis=-1, ddof=1) if nb > 1 else np.zeros(b.shape[:-1])
    sp = np.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
    ma, mb = a.mean(axis=-1), b.mean(axis=-1)
    # no spread: exactly 0, or the rounding noise of a constant sample (the mean of n equal values is not always exact)
    spread = sp > _NO_SPREAD * (np.abs(ma) + np.abs(mb))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(spread, (ma - mb) / np.where(spread, sp, 1.0), np.nan)


def _hedges_factor(n: int) -> float:
    """Hedges' small-sample correction J = 1 - 3 / (4 (na + nb) - 9) = 1 - 3 / (4 df - 1), df = na + nb - 2."""
    return 1 - 3 / (4 * n - 9)


@_batched(_cohen_d_rows)
def cohen_d(a, b) -> float:
    """Cohen's d of ``a`` minus ``b`` over the pooled SD of the two groups; NaN when the pooled SD is 0 or undefined."""
    a, b = _sample(a, "a"), _sample(b, "b")
    return float(_cohen_d_rows(a, b))


def _hedges_g_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _cohen_d_rows(a, b) * _hedges_factor(a.shape[-1] + b.shape[-1])


@_batched(_hedges_g_rows)
def hedges_g(a, b) -> float:
    """Hedges' g: Cohen's d times the small-sample factor 1 - 3 / (4 (na + nb) - 9)."""
    a, b = _sample(a, "a"), _sample(b, "b")
    return float(_hedges_g_rows(a, b))


def _positive(a: np.ndarray, name: str) -> np.ndarray:
    if not np.all(a > 0):
        bad = a[~(a > 0)][0]
        raise InputError(name, float(bad), "positive concentrations for a log-scale effect size",
                         "use hedges_g on the raw scale, or drop the non-positive values")
    return a


@_batched(lambda a, b: _hedges_g_rows(np.log(a), np.log(b)))
def hedges_g_log(a, b) -> float:
    """Hedges' g of the natural logs (a sensitivity for skewed concentrations such as IL-6 and CRP)."""
    a, b = _positive(_sample(a, "a"), "a"), _positive(_sample(b, "b"), "b")
    return float(_hedges_g_rows(np.log(a), np.log(b)))


@_batched(lambda mask: 100.0 * mask.mean(axis=-1))
def share(mask) -> float:
    """Percentage of true values in ``mask``."""
    m = np.asarray(mask)
    if m.ndim != 1 or m.size == 0:
        raise InputError("mask", f"an array of shape {m.shape}", "a non-empty one-dimensional mask", "pass one flag per patient")
    return float(100.0 * m.astype(bool).mean())


def km_median(durations, observed) -> float:
    """Median of right-censored durations (Kaplan-Meier); NaN when the curve never reaches 0.5 or there are none.

    At a tie, events count before censorings (the censored are still at risk at their own time).
    """
    d = np.asarray(durations, dtype=float)
    e = np.asarray(observed, dtype=bool)
    if d.ndim != 1 or d.shape != e.shape:
        raise InputError("observed", f"shape {e.shape} for durations of shape {d.shape}",
                         "one observed flag per duration (one-dimensional)", "pass durations and flags of the same length")
    order = np.argsort(d, kind="stable")
    d, e = d[order], e[order]
    surv, at_risk = 1.0, len(d)
    for t in np.unique(d):
        here = d == t
        events = int(e[here].sum())
        if events:
            surv *= 1 - events / at_risk
            if surv <= 0.5:
                return float(t)
        at_risk -= int(here.sum())
    return float("nan")


def bootstrap_ci(statistic: Callable, *samples, paired: bool = False, n_boot: int = 2000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``statistic(*samples)``.

    Unpaired (two-group effect sizes): each sample is resampled with replacement on its own, so each
    group keeps its size. Paired (every patient in every arm): one resample of the patient indices is
    applied to all samples, which must then have one length. Non-finite resample values (a degenerate
    resample, e.g. no spread) are left out; with more than 10 % of them the interval is (nan, nan).
    """
    if not callable(statistic):
        raise InputError("statistic", type(statistic).__name__, "a function of the samples", "e.g. bootstrap_ci(cohen_d, a, b)")
    if not samples:
        raise InputError("samples", "none", "at least one sample", "e.g. bootstrap_ci(cohen_d, a, b)")
    arrays = [_sample(s, f"sample {i + 1}") for i, s in enumerate(samples)]
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 100:
        raise InputError("n_boot", n_boot, "a whole number of resamples >= 100", "e.g. n_boot=2000")
    if not isinstance(level, int | float | np.floating) or not 0 < level < 1:
        raise InputError("level", level, "a confidence level strictly between 0 and 1", "e.g. level=0.95")
    sizes = [a.size for a in arrays]
    if paired and len(set(sizes)) > 1:
        raise InputError("samples", f"lengths {sizes}", "samples of one length when paired=True (one row per patient)",
                         "pass the same patients in every sample, or paired=False for independent groups")
    rng = np.random.default_rng(seed)
    batched = getattr(statistic, "batched", None)
    rows = max(1, _CHUNK_ELEMENTS // max(sum(sizes), 1))
    values = np.empty(n_boot)
    for start in range(0, n_boot, rows):
        m = min(rows, n_boot - start)
        if paired:
            idx = rng.integers(0, sizes[0], size=(m, sizes[0]))
            resampled = [a[idx] for a in arrays]
        else:
            resampled = [a[rng.integers(0, a.size, size=(m, a.size))] for a in arrays]
        if batched is not None:
            with np.errstate(all="ignore"):
                values[start:start + m] = np.asarray(batched(*resampled), dtype=float)
        else:
            with np.errstate(all="ignore"):
                values[start:start + m] = [float(statistic(*(r[i] for r in resampled))) for i in range(m)]
    finite = np.isfinite(values)
    if (~finite).sum() > MAX_NAN_SHARE * n_boot:
        return float("nan"), float("nan")
    lo, hi = np.quantile(values[finite], [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
