"""Parameter tables: one TOML file per module, every number with unit, bounds, prior, source, grade.

A parameter entry looks like::

    [kE]
    value = 1.01
    unit = "1/h"
    lower = 0.5
    upper = 2.0
    prior = "lognormal:0.2"   # or "uniform", "normal:<sd>", "fixed"
    source = "Windoloski et al. 2024 Exp Physiol (bolus model, nominal value)"
    grade = "H"               # H human data, M animal/in-vitro/review, L assumption
    note = "endotoxin clearance rate"
    published = 1.01          # optional: the cited source's own value, in ``unit``

An entry may give ``model_unit``: the value, bounds and published value are then converted with
pint from ``unit`` (as published) to ``model_unit`` (as the equations use them) when the table loads.

Two optional provenance fields (see docs/parameters.md, "Provenance rules"): ``published``, the
value the cited source gives (a value that differs from it by more than :data:`PUBLISHED_RTOL`
must say in its source that gutbrain fitted it, or why else it differs), and ``bounds_reason``,
why the bounds are where they are (required by the tests when the value sits on a bound).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import pint

from ..errors import ParameterError, suggest

__all__ = ["GRADES", "PRIOR_KINDS", "PUBLISHED_RTOL", "Parameter", "builtin_tables", "load_table", "ureg"]

ureg: pint.UnitRegistry[float] = pint.UnitRegistry()  # magnitudes are plain floats (unit conversion factors)
ureg.define("cell = [cell_count]")
ureg.define("CFU = [colony_forming_unit]")
ureg.define("serving = [food_serving]")
ureg.define("AU = [] = arbitrary_unit")
ureg.define("bpm = 1/minute")

GRADES = {"H": "human data", "M": "animal, in-vitro or review value", "L": "assumption"}
PRIOR_KINDS = ("lognormal", "normal", "uniform", "fixed")
REQUIRED = ("value", "unit", "lower", "upper", "prior", "source", "grade")
OPTIONAL = ("note", "model_unit", "published", "bounds_reason")
#: a value "carries" its published value when they agree to this relative tolerance: the tables
#: quote published numbers to three significant figures (and derived ones, e.g. 100/0.71, rounded)
PUBLISHED_RTOL = 0.005


@dataclass(frozen=True)
class Parameter:
    """One model parameter with its evidence."""

    name: str
    module: str
    value: float
    unit: str
    lower: float
    upper: float
    prior: str
    source: str
    grade: str
    note: str = ""
    #: the unit the table gives the value in, when ``model_unit`` converted it (else "")
    published_unit: str = ""
    #: the cited source's own value, in :attr:`unit` (None where the source gives no single value)
    published: float | None = None
    #: why the bounds are where they are ("" where the source field says it)
    bounds_reason: str = ""

    @property
    def on_bound(self) -> bool:
        """The value sits on a bound (within 0.1 % of the value, as the calibration report flags it) of a
        parameter that is free to vary (lower < upper)."""
        gap = min(self.value - self.lower, self.upper - self.value)
        return self.lower < self.upper and gap <= 1e-3 * max(abs(self.value), 1e-12)

    @property
    def carries_published(self) -> bool | None:
        """Whether the value equals the published one within :data:`PUBLISHED_RTOL` (None: none published)."""
        if self.published is None:
            return None
        return math.isclose(self.value, self.published, rel_tol=PUBLISHED_RTOL, abs_tol=0.0)

    @property
    def prior_kind(self) -> str:
        return self.prior.split(":")[0]

    @property
    def prior_scale(self) -> float:
        parts = self.prior.split(":")
        return float(parts[1]) if len(parts) > 1 else 0.0

    def prior_distribution(self, centre: float | None = None, spread: float = 1.0):
        """The prior as a frozen ``scipy.stats`` distribution on the parameter's own scale, inside its bounds.

        ``normal:<sd>``: a normal of SD ``sd * spread`` centred on ``centre`` (default: the value), truncated to the
        bounds; ``lognormal:<sd>``: the same on the log scale (a log-SD); ``uniform``: uniform on ``centre`` plus or
        minus half the bounds' width times ``spread``, cut to the bounds. Cohort sampling and sensitivity analysis
        both map uniform quantiles through its ``ppf``. A ``fixed`` prior has no distribution (an error).
        """
        from scipy import stats

        c = self.value if centre is None else float(centre)
        lo, hi = self.lower, self.upper
        kind = self.prior_kind
        if kind == "fixed":
            raise ParameterError(f"parameter {self.name}", self.prior, "a prior that varies (the prior is fixed)",
                                 "fixed parameters are not sampled; leave them out of vary=")
        if not lo <= c <= hi:
            raise ParameterError(f"prior centre of {self.name}", c, f"a value in [{lo}, {hi}]", "centre the prior inside the bounds")
        if kind == "uniform":
            half = 0.5 * (hi - lo) * spread
            a, b = max(lo, c - half), min(hi, c + half)
            return stats.uniform(loc=a, scale=b - a)
        sd = self.prior_scale * spread
        if kind == "lognormal":
            mu = math.log(c)
            a = (math.log(lo) - mu) / sd if lo > 0 else -math.inf
            return _LOG_TRUNCNORM(a, (math.log(hi) - mu) / sd, mu, sd)
        return stats.truncnorm((lo - c) / sd, (hi - c) / sd, loc=c, scale=sd)

    def check_value(self, value: float) -> float:
        """Validate ``value`` against the bounds; return it as float."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"parameter {self.name}", value, f"a number in [{self.lower}, {self.upper}] {self.unit}",
                "pass a plain number in the parameter's unit",
            ) from None
        if not math.isfinite(v) or v < self.lower or v > self.upper:
            raise ParameterError(
                f"parameter {self.name}", value,
                f"a finite number in [{self.lower}, {self.upper}] {self.unit} (its evidence bounds)",
                f"choose a value inside the bounds; see `gutbrain params {self.module}` for the source",
            )
        return v

    def with_value(self, value: float) -> Parameter:
        return replace(self, value=self.check_value(value))


def _parse_unit(name: str, field: str, unit: str, path: str):
    try:
        return ureg.Unit(unit)
    except Exception as exc:  # pint raises several error types for bad units
        raise ParameterError(
            f"{path}: [{name}].{field}", unit, "a unit pint understands (e.g. 'pg/mL', '1/h', 'ug/dL', 'dimensionless')",
            f"correct the unit spelling ({type(exc).__name__})",
        ) from None


def _entry(module: str, name: str, raw: dict, path: str) -> Parameter:
    if not isinstance(raw, dict):
        raise ParameterError(f"{path}: [{name}]", raw, "a TOML table with value, unit, lower, upper, prior, source, grade")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise ParameterError(
            f"{path}: [{name}]", sorted(raw), f"all of the fields {', '.join(REQUIRED)}",
            f"add the missing field(s) {', '.join(missing)}",
        )
    unknown = set(raw) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        raise ParameterError(f"{path}: [{name}]", sorted(unknown), "only " + ", ".join(REQUIRED + OPTIONAL),
                             "remove or rename the unknown field(s)")
    for k in ("value", "lower", "upper") + (("published",) if "published" in raw else ()):
        v = raw[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ParameterError(f"{path}: [{name}].{k}", v, "a finite number", "write a plain number")
    value, lower, upper = float(raw["value"]), float(raw["lower"]), float(raw["upper"])
    pub_value = float(raw["published"]) if "published" in raw else None
    unit = str(raw["unit"])
    _parse_unit(name, "unit", unit, path)
    published = ""
    if "model_unit" in raw:
        mu = str(raw["model_unit"])
        _parse_unit(name, "model_unit", mu, path)
        try:
            f = ureg.Quantity(1.0, unit).to(mu).magnitude
        except pint.DimensionalityError:
            raise ParameterError(f"{path}: [{name}].model_unit", mu, f"a unit with the dimensions of {unit!r}",
                                 "use a compatible unit") from None
        value, lower, upper = value * f, lower * f, upper * f
        pub_value = None if pub_value is None else pub_value * f
        published, unit = unit, mu
    if not lower <= value <= upper:
        raise ParameterError(f"{path}: [{name}].value", value, f"a value inside [lower, upper] = [{lower}, {upper}]",
                             "fix the value or the bounds")
    prior = str(raw["prior"])
    kind = prior.split(":")[0]
    if kind not in PRIOR_KINDS:
        raise ParameterError(f"{path}: [{name}].prior", prior, "one of " + ", ".join(PRIOR_KINDS), suggest(kind, PRIOR_KINDS))
    if kind in ("lognormal", "normal"):
        try:
            scale = float(prior.split(":")[1])
            assert scale > 0
        except Exception:
            raise ParameterError(f"{path}: [{name}].prior", prior, f"'{kind}:<positive sd>'", f"write e.g. '{kind}:0.2'") from None
        if kind == "lognormal" and lower <= 0:
            raise ParameterError(f"{path}: [{name}].lower", lower, "a positive lower bound for a lognormal prior",
                                 "use a 'uniform' or 'normal' prior, or a positive bound")
    grade = str(raw["grade"])
    if grade not in GRADES:
        raise ParameterError(f"{path}: [{name}].grade", grade, "one of H (human), M (animal/in vitro/review), L (assumption)")
    source = str(raw["source"]).strip()
    if not source:
        raise ParameterError(f"{path}: [{name}].source", source, "a citation (DOI) or 'assumption: why'")
    return Parameter(name=name, module=module, value=value, unit=unit, lower=lower, upper=upper, prior=prior,
                     source=source, grade=grade, note=str(raw.get("note", "")), published_unit=published,
                     published=pub_value, bounds_reason=str(raw.get("bounds_reason", "")).strip())


def load_table(path: str | Path, module: str | None = None) -> dict[str, Parameter]:
    """Load one module's parameter table from a TOML file, checking every field and unit."""
    path = Path(path)
    module = module or path.stem
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"parameter file {path.name}", "malformed TOML", "valid TOML", f"fix the syntax: {exc}") from None
    return {name: _entry(module, name, entry, path.name) for name, entry in raw.items()}


def builtin_tables() -> dict[str, Parameter]:
    """All parameters of the built-in tables, keyed by name (names are unique across modules)."""
    out: dict[str, Parameter] = {}
    for res in sorted(resources.files(__package__).iterdir(), key=lambda r: r.name):
        if res.name.endswith(".toml"):
            with resources.as_file(res) as p:
                for name, par in load_table(p).items():
                    if name in out:
                        raise ParameterError(f"parameter {name}", p.name, "a name unique across modules",
                                             f"rename one of the two (also in {out[name].module})")
                    out[name] = par
    return out


def _log_truncnorm():
    import numpy as np
    from scipy import stats

    class LogTruncNorm(stats.rv_continuous):
        """exp(X), X normal(mu, sd) truncated to [mu + a sd, mu + b sd]: a log-normal prior cut to its bounds."""

        def _argcheck(self, a, b, mu, sd):
            return (a < b) & (sd > 0)

        def _get_support(self, a, b, mu, sd):
            return np.exp(mu + a * sd), np.exp(mu + b * sd)

        def _cdf(self, x, a, b, mu, sd):
            return stats.truncnorm.cdf((np.log(x) - mu) / sd, a, b)

        def _ppf(self, q, a, b, mu, sd):
            return np.exp(mu + sd * stats.truncnorm.ppf(q, a, b))

        def _pdf(self, x, a, b, mu, sd):
            return stats.truncnorm.pdf((np.log(x) - mu) / sd, a, b) / (sd * x)

    return LogTruncNorm(name="log_truncnorm", shapes="a, b, mu, sd")


class _LazyLogTruncNorm:
    _gen = None

    def __call__(self, *args):
        if _LazyLogTruncNorm._gen is None:
            _LazyLogTruncNorm._gen = _log_truncnorm()
        return _LazyLogTruncNorm._gen(*args)


_LOG_TRUNCNORM = _LazyLogTruncNorm()
