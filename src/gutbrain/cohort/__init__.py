"""Virtual patients: parameter sets drawn from the evidence-graded priors, simulated as cohorts at scale."""

from .engine import DEFAULT_OUTPUTS, Cohort, RunResult
from .sampling import SUBTYPES, sample_matrix, sample_patients
from .store import open_cohort

__all__ = ["DEFAULT_OUTPUTS", "SUBTYPES", "Cohort", "RunResult", "open_cohort", "sample_matrix", "sample_patients"]
