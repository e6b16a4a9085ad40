"""SBML export of the model (Level 3 Version 2) and its verification in libroadrunner.

The document is generated from the same SymPy expressions the solvers use
(:attr:`Structure.rhs`, :attr:`Structure.observable_exprs`), converted node by node into
libSBML ASTs by :func:`sympy_to_ast`; nothing of the model's content is written here by hand.

Layout of the document
----------------------
* every state is a non-constant ``parameter`` with a ``rateRule`` (d/dt per hour; the model's
  ``timeUnits`` is ``hour``), initial value = ``model.y0`` or the ``initial_state`` given;
* every model parameter is a constant ``parameter`` with its value and unit; its evidence
  (source, grade, bounds, prior, note) is in ``<notes>`` (XHTML) and, machine-readable, in a
  ``<gutbrain:parameter>`` annotation;
* every input channel is a non-constant ``parameter`` whose initial value is the schedule's
  first value; each later switch of the scenario's schedule is one ``event``
  (trigger ``time >= t_k``, ``persistent``, ``initialValue = false``,
  ``useValuesFromTriggerTime``) that assigns the channels that change at ``t_k``;
* every observable is a non-constant ``parameter`` with an ``assignmentRule``.

Units are translated from the project's unit strings with pint into SBML unit definitions
(SI base kinds, with the conversion factor in the multiplier). Dimensions SBML cannot express
(``serving``) are dropped and units pint does not know (``score``) become ``dimensionless``;
each such case is listed in the element's notes and in the model notes.

:func:`verify` exports a scenario from the warm state, simulates it with libroadrunner (CVODE)
and compares it with the SciPy backend; :func:`register` adds the ``export-sbml`` and
``verify-sbml`` commands to a Typer app.
"""

from __future__ import annotations

from ._common import ANNOTATION_NS, SBMLExportError
from .check import CheckReport, check
from .cli import register
from .export import build_document, to_sbml
from .mathml import sympy_to_ast, sympy_to_formula
from .roadrunner import roadrunner_simulate, verify, warm_state
from .units import unit_definition

__all__ = [
           "ANNOTATION_NS",
           "CheckReport",
           "SBMLExportError",
           "build_document",
           "check",
           "register",
           "roadrunner_simulate",
           "sympy_to_ast",
           "sympy_to_formula",
           "to_sbml",
           "unit_definition",
           "verify",
           "warm_state",
]
