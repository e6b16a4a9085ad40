"""Virtual patients: parameter sets drawn from the evidence-graded priors, simulated as cohorts at scale."""

from .engine import DEFAULT_OUTPUTS, Cohort, RunResult
from .sampling import SUBTYPES, sample_matrix, sample_patients
from .store import open_cohort

__all__ = ["SUBTYPES", "sample_patients", "sample_matrix", "Cohort", "RunResult", "DEFAULT_OUTPUTS", "open_cohort"]
