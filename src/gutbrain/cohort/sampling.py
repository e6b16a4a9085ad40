"""Sample virtual patients from the parameter priors (seeded Sobol or Latin hypercube).

Each parameter's prior (``lognormal:<sd of log>``, ``normal:<sd>``, ``uniform`` or ``fixed``,
centred on the reference value) is truncated to its evidence bounds; quasi-random uniforms
are mapped through the truncated inverse CDF, so every patient lies inside the bounds.
Named subtypes shift priors (e.g. a glucose-sensitive or a high-stress-reactivity person).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import qmc

from ..errors import InputError, suggest
from ..model.assemble import Model

__all__ = ["MAX_PATIENTS", "SUBTYPES", "sample_blocks", "sample_matrix", "sample_patients"]

MAX_PATIENTS = 10_000_000

#: named prior shifts: parameter -> multiplicative shift of the prior centre (clipped to bounds)
SUBTYPES: dict[str, dict[str, float]] = {
    "high-stress-reactivity": {"hpa_reactivity": 1.8, "appraisal": 1.4},
    "glucose-sensitive": {"glc_cr_threshold": 1.04, "K_ins": 1.6, "e_anx_hypo": 1.5},
    "leaky-gut-prone": {"k_tj_damage": 1.5, "a_perm_mc": 1.5},
    "inflammation-prone": {"w6": 1.6, "f_lps_bioactive": 2.0},
}


def _validate(model: Model, n: int, seed: int, method: str, vary: Sequence[str] | None, subtypes: Sequence[str]):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_PATIENTS:
        raise InputError("n", n, f"a whole number of patients in [1, {MAX_PATIENTS:,}]", "e.g. n=1000")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", seed, "a non-negative integer", "e.g. seed=0")
    if method not in ("sobol", "lhs", "random"):
        raise InputError("method", method, "one of sobol, lhs, random", suggest(str(method), ("sobol", "lhs", "random")))
    for v in vary or ():
        if v not in model.parameters:
            raise InputError("vary", v, "parameter names of the model", suggest(v, model.parameters))
    for s in subtypes:
        if s not in SUBTYPES:
            raise InputError("subtype", s, "a named subtype", suggest(s, SUBTYPES))


#: rows per block of :func:`sample_blocks` (2,048 patients x ~280 parameters: ~4.5 MB)
BLOCK = 2048


def sample_matrix(model: Model, n: int, *, seed: int = 0, method: str = "sobol", vary: Sequence[str] | None = None,
                  subtypes: Sequence[str] = (), spread: float = 1.0) -> tuple[np.ndarray, list[str]]:
    """Return ``(values, names)``: an ``(n, n_params)`` matrix of parameter values (model order).

    ``vary`` restricts sampling to some parameters (others stay at the model's values);
    ``spread`` scales every prior's width (1 = as tabulated).
    """
    names = [p.name for p in model.parameters.values()]
    out = np.empty((n, len(names)))
    for start, block in sample_blocks(model, n, seed=seed, method=method, vary=vary, subtypes=subtypes, spread=spread):
        out[start:start + len(block)] = block
    return out, names


def sample_blocks(model: Model, n: int, *, seed: int = 0, method: str = "sobol", vary: Sequence[str] | None = None,
                  subtypes: Sequence[str] = (), spread: float = 1.0, block: int = BLOCK):
    """Yield ``(start, values)``: rows ``start:start + len(values)`` of :func:`sample_matrix`, identical to it.

    Memory stays at one block for Sobol and random sampling (both sequences are generated in order); a Latin
    hypercube is one design over all ``n`` rows, so its ``(n, n_varied)`` unit sample is drawn at once.
    """
    _validate(model, n, seed, method, vary, subtypes)
    params = list(model.parameters.values())
    names = [p.name for p in params]
    centre = {p.name: p.value for p in params}
    for s in subtypes:
        for pname, f in SUBTYPES[s].items():
            p = model.parameters[pname]
            centre[pname] = float(np.clip(centre[pname] * f, p.lower, p.upper))
    varied = [i for i, p in enumerate(params) if p.prior_kind != "fixed" and p.lower < p.upper
              and (vary is None or p.name in vary)]
    row = np.array([centre[k] for k in names])
    dists = [_marginal(params[i], centre[params[i].name], spread) for i in varied]
    d = len(varied)
    if method == "sobol" and d:
        sampler = qmc.Sobol(d, scramble=True, seed=seed)  # successive draws continue one sequence

        def draw(start, k):  # whole powers of two (Sobol's balance); only the last block is cut
            return sampler.random(1 << max(0, int(k - 1).bit_length()))[:k]
    elif method == "lhs" and d:
        design = qmc.LatinHypercube(d, seed=seed).random(n)

        def draw(start, k):
            return design[start:start + k]
    else:
        rng = np.random.default_rng(seed)

        def draw(start, k):
            return rng.random((k, d))
    for start in range(0, n, block):
        k = min(block, n - start)
        out = np.tile(row, (k, 1))
        if d:
            u = np.clip(draw(start, k), 1e-12, 1 - 1e-12)
            for col, (i, dist) in enumerate(zip(varied, dists, strict=True)):
                out[:, i] = np.clip(dist(u[:, col]), params[i].lower, params[i].upper)
        yield start, out


def _marginal(p, c: float, spread: float):
    """The prior of parameter ``p`` centred on ``c`` as a function of a uniform sample (inverse CDF)."""
    return p.prior_distribution(c, spread).ppf


def sample_patients(model: Model, n: int, *, seed: int = 0, method: str = "sobol", vary: Sequence[str] | None = None,
                    subtypes: Sequence[str] = (), spread: float = 1.0, overrides: Mapping[str, float] | None = None) -> list[Model]:
    """Draw ``n`` virtual patients (models) from the priors; reproducible for a given seed."""
    values, names = sample_matrix(model, n, seed=seed, method=method, vary=vary, subtypes=subtypes, spread=spread)
    patients = []
    for row in values:
        patients.append(model.with_params(dict(zip(names, row, strict=True)), **(overrides or {})))
    return patients
