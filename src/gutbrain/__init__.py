"""gutbrain: a quantitative, mechanistic model of the microbiota-gut-brain axis.

Research and education tool only: it is not a diagnostic device and gives no medical advice.
"""

from ._version import __version__
from .errors import DISCLAIMER, GutbrainError
from .model import Model, load_model

__all__ = ["__version__", "DISCLAIMER", "GutbrainError", "Model", "load_model", "Scenario", "simulate", "scenarios"]


_LAZY = {"Scenario": (".scenarios", "Scenario"), "simulate": (".simulate", "simulate"), "scenarios": (".scenarios", None)}


def __getattr__(name):  # lazy: keep `import gutbrain` light
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        module = importlib.import_module(module_name, __name__)
        return module if attr is None else getattr(module, attr)
    raise AttributeError(name)
