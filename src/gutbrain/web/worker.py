"""Work done away from the web server's event loop: simulations, cohort chunks and claims.

Every function here is module-level and takes/returns plain picklable values, so it runs the
same in a process pool (the default: the SciPy/numba path holds the GIL for most of a run) or
in a single worker thread (``workers=0``, used by tests). User errors are returned as
``{"error": ..., "fix": ...}`` dictionaries rather than raised, because gutbrain's error
classes carry constructor arguments that do not survive pickling.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "REFERENCE_VARIABLES",
    "init_worker",
    "pathways",
    "reference_means",
    "run_claims_chunk",
    "run_cohort_chunk",
    "run_simulation",
    "warm_up",
    "watch_parent",
]

_LOCK = threading.Lock()
_MODEL = None
_REFERENCE: dict[str, float] | None = None

#: variables the explorer's axis diagram reads (reference = healthy reference patient, daily mean)
REFERENCE_VARIABLES = ("beneficial", "dysbiosis_index", "portal_butyrate", "lm_ratio", "TJ", "plasma_endotoxin",
                       "inflammation", "CRP", "IL6", "CORT", "kyn_trp", "serotonin_brain", "gaba_signal", "VAG", "SNS",
                       "glucose", "hypo_symptoms", "ANX", "DEP", "PS", "perceived_stress", "gad7", "phq9", "gad7_state", "phq9_state", "hrv_rmssd",
                       "heart_rate", "QA", "GR", "gi_symptoms", "gi_symptoms_state")


def _model():
    global _MODEL
    if _MODEL is None:
        with _LOCK:
            if _MODEL is None:
                import gutbrain

                _MODEL = gutbrain.load_model()
    return _MODEL


def init_worker() -> None:
    """Process-pool initializer: load the model once per worker process.

    A daemon thread ends the worker if the server process dies without shutting the pool down
    (e.g. SIGKILL), so that no worker outlives its server.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    watch_parent()
    _model()


def watch_parent() -> None:
    """Start a daemon thread that ends this process once its parent has died."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(2.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="gutbrain-parent-watch", daemon=True).start()


def warm_up() -> int:
    """Run a one-day simulation so that the compiled right-hand side is loaded; returns the pid."""
    import gutbrain

    gutbrain.simulate(_model(), "healthy-baseline", days=1.0)
    reference_means()
    return os.getpid()


def _error(exc: Exception) -> dict:
    return {"error": str(exc), "fix": getattr(exc, "fix", None) or "check the request against the schema at /docs"}


def pathways(ds, model) -> dict:
    """Each pathway term of the anxiety and depression drives over time (log-drive units).

    The terms are read from the model's own mood-drive equations (:func:`gutbrain.model.pathways.mood_pathways`).
    ``drive = exp(sum(terms))``, so a term's change between two times is its contribution
    to the change of log(drive); the index (ANX/DEP) relaxes towards the drive within hours
    (anxiety) or weeks (depression). The panel reports the state measure (``gad7_state``),
    not the 14-day recall score, which follows it with a week's lag.
    """
    from gutbrain.model.pathways import mood_pathways

    values = {k: p.value for k, p in model.parameters.items()}
    data = _Lazy(ds, {})
    out = {}
    for key, pw in mood_pathways(model).items():
        terms = []
        total = None
        for t in pw.terms:
            term = t.evaluate(data, values)
            total = term if total is None else total + term
            terms.append({"key": t.key, "label": t.label, "parameter": t.parameter, "elasticity": values[t.parameter],
                          "sign": t.sign, "signal": t.signal, "values": term})
        out[key] = {"label": pw.label, "state": pw.state, "score": pw.score, "terms": terms, "log_drive": total}
    return out


class _Lazy(Mapping):
    """Dataset variables as float arrays, fetched once."""

    def __init__(self, ds, cache):
        self._ds, self._cache = ds, cache

    def __getitem__(self, k):
        if k not in self._cache:
            if k not in self._ds:
                raise KeyError(k)
            self._cache[k] = np.asarray(self._ds[k].values, dtype=float)
        return self._cache[k]

    def __iter__(self):
        return iter(self._ds.data_vars)

    def __len__(self):
        return len(self._ds.data_vars)


def reference_means() -> dict[str, float]:
    """Daily means of the healthy reference patient (second day of healthy-baseline)."""
    global _REFERENCE
    if _REFERENCE is None:
        import gutbrain

        ds = gutbrain.simulate(_model(), "healthy-baseline", days=2.0, output_every=0.5)
        day2 = ds.sel(time=slice(1.0, 2.0))
        _REFERENCE = {v: float(day2[v].mean()) for v in REFERENCE_VARIABLES if v in ds}
    return dict(_REFERENCE)


def run_simulation(scenario, overrides: Mapping[str, float], days: float, output_every: float,
                   variables: Sequence[str], explain: bool) -> dict:
    """Simulate one patient; return time, the chosen variables (arrays) and optionally the pathways."""
    import gutbrain
    from gutbrain.errors import GutbrainError

    try:
        model = _model().with_params(dict(overrides)) if overrides else _model()
        ds = gutbrain.simulate(model, scenario, days=days, output_every=output_every)
    except GutbrainError as exc:
        return _error(exc)
    out = {
        "time": np.asarray(ds["time"].values, dtype=float),
        "variables": {v: {"values": np.asarray(ds[v].values, dtype=float), "units": str(ds[v].attrs.get("units", "")),
                          "long_name": str(ds[v].attrs.get("long_name", ""))} for v in variables},
        "attrs": {k: ds.attrs[k] for k in ("scenario", "scenario_hash", "parameter_hash", "solver", "wall_time_s",
                                           "gutbrain_version") if k in ds.attrs},
        "pid": os.getpid(),
    }
    if explain:
        out["why"] = pathways(ds, model)
        out["reference"] = reference_means()
    return out


def run_cohort_chunk(scenario, patients: Sequence[Mapping[str, float]], days: float, output_every: float,
                     variables: Sequence[str]) -> dict:
    """Simulate a few patients (each a dict of parameter values) together; failed ones are NaN."""
    import gutbrain
    from gutbrain.errors import GutbrainError

    try:
        models = [_model().with_params(dict(p)) for p in patients]
        ds = gutbrain.simulate(models, scenario, days=days, output_every=output_every, throw=False)
    except GutbrainError as exc:
        return _error(exc)
    return {
        "time": np.asarray(ds["time"].values, dtype=float),
        "status": [str(s) for s in ds["status"].values],
        "variables": {v: np.asarray(ds[v].values, dtype=float).reshape(len(models), -1) for v in variables},
        "units": {v: str(ds[v].attrs.get("units", "")) for v in variables},
    }


def run_claims_chunk(ids: Sequence[str] | None, cohort: int, progress: Callable[[int, int], None] | None = None) -> dict:
    """Run claims with :func:`gutbrain.claims.run_claims` (one solver process); results as plain dicts.

    ``progress`` (optional) is called with ``(done, total)`` patient counts as the experiments run.
    """
    try:
        from gutbrain import claims
    except ImportError as exc:
        return {"error": f"claims are not available: {exc}", "fix": "install a gutbrain version with gutbrain.claims"}
    import inspect

    from gutbrain.errors import GutbrainError

    kwargs: dict[str, Any] = {"cohort": cohort}
    accepted = inspect.signature(claims.run_claims).parameters
    if "workers" in accepted:
        kwargs["workers"] = 1  # the web server's pool already runs work in parallel
    if progress is not None and "progress" in accepted:
        kwargs["progress"] = progress
    if "assumptions" in accepted:
        kwargs["assumptions"] = 0  # the assumption check on the reference patient alone (a web job stays short)
    try:
        results = claims.run_claims(ids=list(ids) if ids is not None else None, **kwargs)
    except GutbrainError as exc:
        return _error(exc)
    out: dict[str, Any] = {"results": [_plain(r.to_dict() if hasattr(r, "to_dict") else r) for r in results]}
    try:
        from gutbrain.claims.report import COLUMNS, rows

        out["table"] = {"columns": list(COLUMNS), "rows": rows(out["results"])}
    except ImportError:  # an installation without the table module
        pass
    return out


def _plain(x):
    """Make numpy scalars/arrays and other odd values JSON-friendly (NaN/inf become None)."""
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_plain(v) for v in x.tolist()]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return f if math.isfinite(f) else None
    if x is None or isinstance(x, str):
        return x
    return str(x)
