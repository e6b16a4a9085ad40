"""The gut-brain model: eight physiology modules assembled into one immutable :class:`Model`."""

from .assemble import MODULES, Model, load_model

__all__ = ["MODULES", "Model", "load_model"]
