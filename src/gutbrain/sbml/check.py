"""Validate an SBML document with libSBML (consistency and units)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._common import _libsbml


# ------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------
@dataclass
class CheckReport:
    """Outcome of ``SBMLDocument.checkConsistency()``."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    by_id: dict[int, int] = field(default_factory=dict)   # libSBML error id -> count
    categories: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def check(sbml: str, *, units: bool = True) -> CheckReport:
    """Read ``sbml`` and run every libSBML consistency check (unit checks included unless ``units=False``)."""
    libsbml = _libsbml()
    doc = libsbml.readSBMLFromString(sbml)
    report = CheckReport()
    _collect(libsbml, doc, report)  # read errors
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, units)
    for cat in ("GENERAL_CONSISTENCY", "IDENTIFIER_CONSISTENCY", "MATHML_CONSISTENCY", "SBO_CONSISTENCY",
                "OVERDETERMINED_MODEL", "MODELING_PRACTICE"):
        doc.setConsistencyChecks(getattr(libsbml, "LIBSBML_CAT_" + cat), True)
    doc.getErrorLog().clearLog()
    doc.checkConsistency()
    _collect(libsbml, doc, report)
    return report


def _collect(libsbml, doc, report: CheckReport) -> None:
    log = doc.getErrorLog()
    for i in range(log.getNumErrors()):
        e = log.getError(i)
        msg = f"[{e.getErrorId()} {e.getCategoryAsString()} {e.getSeverityAsString()}] line {e.getLine()}: {e.getMessage().strip()}"
        if e.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            report.errors.append(msg)
        elif e.getSeverity() == libsbml.LIBSBML_SEV_WARNING:
            report.warnings.append(msg)
        else:
            continue
        report.by_id[e.getErrorId()] = report.by_id.get(e.getErrorId(), 0) + 1
        report.categories[e.getCategoryAsString()] = report.categories.get(e.getCategoryAsString(), 0) + 1
