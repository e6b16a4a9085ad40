"""The source texts' claims C1-C17 as executable checks.

Every claim is a small function with its scenario(s) and its criterion written down before any
result was looked at. It runs on the reference patient and, optionally, on a virtual cohort
drawn from the priors, and reports: holds / partly / does not hold, the effect with units, the
fraction of virtual patients in which it holds, the numbers behind it, and the three
parameters that carry it most (rank correlation with the per-patient effect) with their
evidence grades. A claim the model does not support is reported as not holding.
"""

from .core import CLAIMS, ClaimResult, run_claims

__all__ = ["CLAIMS", "ClaimResult", "run_claims"]
