"""Virtual patients: parameter sets drawn from the evidence-graded priors."""

from .sampling import SUBTYPES, sample_patients, sample_matrix

__all__ = ["SUBTYPES", "sample_patients", "sample_matrix"]

from .engine import DEFAULT_OUTPUTS, Cohort, RunResult  # noqa: E402
from .store import open_cohort  # noqa: E402

__all__ += ["Cohort", "RunResult", "DEFAULT_OUTPUTS", "open_cohort"]
