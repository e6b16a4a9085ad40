"""Write the model and a scenario as an SBML Level 3 Version 2 document."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from .._version import __version__
from ..errors import DISCLAIMER, InputError
from ..model.assemble import Model
from ._common import _SID, ANNOTATION_NS, SBMLExportError, _finite, _fmt, _libsbml
from .mathml import _ast, sympy_to_ast
from .units import _add_unit_definition, _Unit, unit_definition


# ------------------------------------------------------------------------------------------------
# Notes and annotations
# ------------------------------------------------------------------------------------------------
def _notes(lines: Mapping[str, object]) -> str:
    items = "".join(f"<li><b>{escape(str(k))}</b>: {escape(str(v))}</li>" for k, v in lines.items() if v not in ("", None))
    return f'<body xmlns="http://www.w3.org/1999/xhtml"><ul>{items}</ul></body>'


def _annotation(tag: str, attrs: dict[str, object]) -> str:
    a = " ".join(f"{k}={quoteattr(str(v))}" for k, v in attrs.items() if v not in ("", None))
    return f'<gutbrain:{tag} xmlns:gutbrain="{ANNOTATION_NS}" {a}/>'


def _set(obj, rc_or_bool, what: str):
    libsbml = _libsbml()
    if isinstance(rc_or_bool, int) and rc_or_bool not in (libsbml.LIBSBML_OPERATION_SUCCESS,):
        raise SBMLExportError(f"libSBML could not set {what} on {obj.getId() if hasattr(obj, 'getId') else obj}: "
                              f"{libsbml.OperationReturnValue_toString(rc_or_bool)}")


def build_document(model: Model, scenario=None, *, level: int = 3, version: int = 2, days: float | None = None,
                   initial_state=None):
    """Build the ``libsbml.SBMLDocument`` (see :func:`to_sbml`)."""
    libsbml = _libsbml()
    from ..scenarios import get

    if (level, version) != (3, 2):
        raise InputError("level/version", (level, version), "(3, 2): SBML Level 3 Version 2",
                         "the equations use max(), which SBML has only from L3V2")
    st = model.structure
    scenario = get(scenario) if scenario is not None else None
    schedule = None
    if scenario is not None:
        days = float(scenario.days if days is None else days)
        if not (math.isfinite(days) and days > 0):
            raise InputError("days", days, "a positive horizon in days", "e.g. days=180")
        schedule = scenario.schedule(days)
    y0 = model.y0 if initial_state is None else np.asarray(initial_state, dtype=float).reshape(-1)
    if y0.shape != (len(st.states),) or not np.all(np.isfinite(y0)):
        raise InputError("initial_state", f"array of shape {y0.shape}", f"{len(st.states)} finite values in state order",
                         "pass e.g. the states of a simulate() dataset at time 0")

    doc = libsbml.SBMLDocument(level, version)
    sbml_model = doc.createModel()
    mid = re.sub(r"[^A-Za-z0-9_]", "_", model.name)
    sbml_model.setId(mid if _SID.match(mid) else "gutbrain")
    sbml_model.setName(f"{model.name}" + (f" under scenario {scenario.name}" if scenario else ""))
    caveats: dict[str, str] = {}

    hour = unit_definition("h")
    _add_unit_definition(libsbml, sbml_model, hour)
    sbml_model.setTimeUnits("hour")

    unit_ids: dict[str, str] = {"h": "hour"}      # project unit string -> UnitDefinition id
    defined: dict[str, _Unit] = {"hour": hour}

    def unit_of(text: str) -> str:
        if text in unit_ids:
            return unit_ids[text]
        u = unit_definition(text)
        if u.caveat:
            caveats[text] = u.caveat
        sid, k = u.sid, 1
        while sid in defined and (defined[sid].factor, defined[sid].bases) != (u.factor, u.bases):
            k += 1
            sid = f"{u.sid}_{k}"  # two spellings that sanitise to one id but differ in meaning
        if sid != "dimensionless" and sid not in defined:
            u = _Unit(sid, u.factor, u.bases, u.caveat)
            _add_unit_definition(libsbml, sbml_model, u)
            defined[sid] = u
        unit_ids[text] = sid
        return sid

    def add_param(pid, value, unit, constant, name="", notes=None, annotation=None):
        if not _SID.match(pid):
            raise SBMLExportError(f"the name {pid!r} is not a valid SBML identifier")
        p = sbml_model.createParameter()
        _set(p, p.setId(pid), "id")
        if name:
            p.setName(name)
        _set(p, p.setValue(_finite(value)), "value")
        p.setConstant(constant)
        _set(p, p.setUnits(unit_of(unit)), "units")
        if notes:
            _set(p, p.setNotes(notes), "notes")
        if annotation:
            _set(p, p.setAnnotation(annotation), "annotation")
        return p

    # parameters (constant)
    for pname, par in model.parameters.items():
        cav = unit_definition(par.unit).caveat
        add_param(pname, par.value, par.unit, True, name=par.note or pname,
                  notes=_notes({"module": par.module, "value": f"{par.value:g} {par.unit}", "bounds": f"[{par.lower:g}, {par.upper:g}] {par.unit}",
                                "prior": par.prior, "evidence grade": f"{par.grade} ({_grade(par.grade)})", "source": par.source,
                                "published unit": getattr(par, "published_unit", ""), "note": par.note, "unit caveat": cav}),
                  annotation=_annotation("parameter", {"kind": "parameter", "module": par.module, "value": _fmt(par.value),
                                                       "unit": par.unit, "lower": _fmt(par.lower), "upper": _fmt(par.upper),
                                                       "prior": par.prior, "grade": par.grade, "source": par.source,
                                                       "note": par.note}))
    # unit of every name a rule can mention (numbers next to them in max/min take it)
    sym_units = {n: unit_of(x.unit) for n, x in model.parameters.items()}
    sym_units.update({x.name: unit_of(x.unit) for x in st.states})
    sym_units.update({x.name: unit_of(x.unit) for x in st.inputs})
    sym_units.update({n: unit_of(q.unit) for n, q in st.observables.items()})
    # states (rate rules)
    for s, rate, v0 in zip(st.states, st.rhs, y0, strict=True):
        cav = unit_definition(s.unit).caveat
        add_param(s.name, v0, s.unit, False, name=s.description,
                  notes=_notes({"kind": "state (rate rule, per hour)", "module": s.module, "unit": s.unit, "description": s.description,
                                "nominal initial value": f"{s.initial:g}", "typical scale": f"{s.typical:g}", "unit caveat": cav}),
                  annotation=_annotation("state", {"kind": "state", "module": s.module, "unit": s.unit,
                                                   "nominal_initial": _fmt(s.initial), "typical": _fmt(s.typical)}))
        rr = sbml_model.createRateRule()
        _set(rr, rr.setVariable(s.name), "rate rule variable")
        _set(rr, rr.setMath(sympy_to_ast(rate, st.t, sym_units)), "rate rule math")
    # inputs (events)
    u0 = schedule.values[0] if schedule is not None else np.array([i.default for i in st.inputs], dtype=float)
    for k, inp in enumerate(st.inputs):
        cav = unit_definition(inp.unit).caveat
        add_param(inp.name, u0[k], inp.unit, False, name=inp.description,
                  notes=_notes({"kind": "input channel (piecewise constant, left-continuous; set by events)", "unit": inp.unit,
                                "description": inp.description, "default": f"{inp.default:g}",
                                "allowed range": f"[{inp.lower:g}, {inp.upper:g}] {inp.unit}", "unit caveat": cav}),
                  annotation=_annotation("input", {"kind": "input", "unit": inp.unit, "default": _fmt(inp.default),
                                                   "lower": _fmt(inp.lower), "upper": _fmt(inp.upper)}))
    n_events = 0
    if schedule is not None:
        for k in range(1, len(schedule.times)):
            changed = np.nonzero(schedule.values[k] != schedule.values[k - 1])[0]
            if len(changed) == 0:
                continue
            tk = float(schedule.times[k])
            ev = sbml_model.createEvent()
            ev.setId(f"switch_{k}")
            ev.setUseValuesFromTriggerTime(True)
            trig = ev.createTrigger()
            trig.setInitialValue(False)
            trig.setPersistent(True)
            when = libsbml.ASTNode(libsbml.AST_NAME_TIME)
            when.setName("time")
            at = libsbml.ASTNode(libsbml.AST_REAL)
            at.setValue(_finite(tk))
            at.setUnits("hour")  # literal numbers carry their unit (sbml:units), so units stay checkable
            _set(trig, trig.setMath(_ast(libsbml, libsbml.AST_RELATIONAL_GEQ, [when, at])), "trigger")
            for c in changed:
                ea = ev.createEventAssignment()
                ea.setVariable(st.inputs[c].name)
                val = libsbml.ASTNode(libsbml.AST_REAL)
                val.setValue(_finite(schedule.values[k][c]))  # input levels are >= 0 (scenario validation)
                val.setUnits(unit_of(st.inputs[c].unit))
                _set(ea, ea.setMath(val), "event assignment")
            n_events += 1
    # observables (assignment rules)
    for (oname, q), expr in zip(st.observables.items(), st.observable_exprs, strict=True):
        cav = unit_definition(q.unit).caveat
        p = add_param(oname, 0.0, q.unit, False, name=q.description,
                      notes=_notes({"kind": "observable (assignment rule)", "module": q.module, "unit": q.unit,
                                    "description": q.description, "unit caveat": cav}),
                      annotation=_annotation("observable", {"kind": "observable", "module": q.module, "unit": q.unit}))
        p.unsetValue()
        ar = sbml_model.createAssignmentRule()
        _set(ar, ar.setVariable(oname), "assignment rule variable")
        _set(ar, ar.setMath(sympy_to_ast(expr, st.t, sym_units)), "assignment rule math")

    info = {"generator": f"gutbrain {__version__} (gutbrain.sbml.to_sbml)", "model": model.name,
            "structure hash": st.digest, "parameter hash": model.param_hash,
            "time unit": "hour (every rate rule is d/dt per hour)",
            "states": f"{len(st.states)} (non-constant parameters with rate rules)",
            "parameters": f"{len(model.parameters)} (constant; evidence in notes and gutbrain:parameter annotations)",
            "inputs": f"{len(st.inputs)} (non-constant parameters set by {n_events} events)",
            "observables": f"{len(st.observables)} (assignment rules)",
            "scenario": (f"{scenario.name} over {days:g} days (hash {scenario.hash})" if scenario else
                         "none: inputs held at their defaults, no events"),
            "initial state": "given by the caller (e.g. the warm-up state)" if initial_state is not None else "nominal model.y0",
            "unit caveats": "; ".join(sorted(set(caveats.values()))) or "none",
            "disclaimer": DISCLAIMER}
    sbml_model.setNotes(_notes(info))
    sbml_model.setAnnotation(_annotation("model", {"version": __version__, "structure_hash": st.digest,
                                                   "parameter_hash": model.param_hash,
                                                   "scenario": scenario.name if scenario else "",
                                                   "scenario_hash": scenario.hash if scenario else "",
                                                   "days": _fmt(days) if scenario and days is not None else ""}))
    return doc


def _grade(g: str) -> str:
    from ..parameters import GRADES

    return GRADES.get(g, "unknown grade")


def to_sbml(model: Model, scenario=None, *, level: int = 3, version: int = 2, days: float | None = None,
            initial_state=None) -> str:
    """The model (and optionally a scenario's input schedule) as an SBML Level 3 Version 2 string.

    Parameters
    ----------
    model
        A :class:`~gutbrain.model.assemble.Model`.
    scenario
        ``None`` (inputs constant at their defaults, no events), a :class:`Scenario` or a built-in name.
        Its schedule over ``days`` becomes one event per input switch.
    days
        Horizon of the exported schedule (default: the scenario's own).
    initial_state
        State vector (model state order) used as initial values instead of ``model.y0``, e.g. the
        warm-up state ``[ds[s].values[0] for s in model.state_names]``.
    """
    doc = build_document(model, scenario, level=level, version=version, days=days, initial_state=initial_state)
    return _libsbml().writeSBMLToString(doc)
