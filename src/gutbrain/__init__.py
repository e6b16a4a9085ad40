"""gutbrain: a quantitative, mechanistic model of the microbiota-gut-brain axis.

Research and education tool only: it is not a diagnostic device and gives no medical advice.
"""

from ._version import __version__
from .errors import DISCLAIMER, GutbrainError
from .model import Model, load_model

__all__ = [
           "DISCLAIMER",
           "SOLVERS",
           "GutbrainError",
           "Model",
           "Scenario",
           "__version__",
           "cross_section",
           "get_solver",
           "load_model",
           "register_solver",
           "scenarios",
           "simulate",
           "trial",
]


from . import scenarios
from .experiments import cross_section, trial
from .scenarios import Scenario
from .simulation import simulate
from .solvers.registry import SOLVERS, get_solver
from .solvers.registry import register as register_solver
