"""Shared pieces of the SBML package: the annotation namespace, identifiers, the error type, libSBML import."""

from __future__ import annotations

import math
import re

import numpy as np

from ..errors import GutbrainError

ANNOTATION_NS = "urn:gutbrain:sbml:annotation:1"


_SID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SBMLExportError(GutbrainError):
    """The model could not be written as valid SBML (unsupported expression, bad identifier ...)."""


def _libsbml():
    try:
        import libsbml
    except ImportError:  # pragma: no cover - depends on the environment
        raise SBMLExportError("SBML export needs python-libsbml: pip install 'gutbrain[sbml]'") from None
    return libsbml


# ------------------------------------------------------------------------------------------------
# Export
# ------------------------------------------------------------------------------------------------
def _fmt(v: float) -> str:
    return repr(_finite(v))


_TINY = float(np.finfo(float).tiny)


def _finite(v) -> float:
    """A finite double with subnormals flushed to 0 (libroadrunner cannot parse e.g. 7e-320;
    the change is below 2.3e-308 in absolute value)."""
    v = float(v)
    if not math.isfinite(v):
        raise SBMLExportError(f"cannot write the non-finite value {v!r} to SBML")
    return 0.0 if abs(v) < _TINY else v
