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

import math
import re
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import sympy as sp

from ._version import __version__
from .errors import DISCLAIMER, GutbrainError, InputError
from .model.assemble import Model

__all__ = ["to_sbml", "verify", "check", "sympy_to_ast", "sympy_to_formula", "unit_definition", "register",
           "SBMLExportError", "CheckReport", "ANNOTATION_NS"]

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
# SymPy -> libSBML AST
# ------------------------------------------------------------------------------------------------
def _ast(libsbml, type_, children=()):
    node = libsbml.ASTNode(type_)
    for c in children:
        if node.addChild(c) != libsbml.LIBSBML_OPERATION_SUCCESS:  # pragma: no cover
            raise SBMLExportError("libSBML refused to build a MathML node")
    return node


def _num(libsbml, value) -> object:
    """A numeric AST node; negative numbers as unary minus (MathML <cn> of a negative is legal,
    but a unary minus keeps the infix form readable and round-trips through every reader)."""
    if isinstance(value, sp.Integer) or isinstance(value, int):
        v = int(value)
        node = libsbml.ASTNode(libsbml.AST_INTEGER)
        node.setValue(abs(v))
    else:
        v = float(value)
        if not math.isfinite(v):
            raise SBMLExportError(f"the expression contains the non-finite number {v!r}")
        v = 0.0 if abs(v) < float(np.finfo(float).tiny) else v
        node = libsbml.ASTNode(libsbml.AST_REAL)
        node.setValue(abs(v))
    return _ast(libsbml, libsbml.AST_MINUS, [node]) if v < 0 else node


_FUNCS = {  # SymPy function -> libSBML AST type name
    sp.exp: "AST_FUNCTION_EXP", sp.log: "AST_FUNCTION_LN", sp.tanh: "AST_FUNCTION_TANH",
    sp.sinh: "AST_FUNCTION_SINH", sp.cosh: "AST_FUNCTION_COSH", sp.sin: "AST_FUNCTION_SIN",
    sp.cos: "AST_FUNCTION_COS", sp.tan: "AST_FUNCTION_TAN", sp.Abs: "AST_FUNCTION_ABS",
    sp.floor: "AST_FUNCTION_FLOOR", sp.ceiling: "AST_FUNCTION_CEILING",
    sp.asin: "AST_FUNCTION_ARCSIN", sp.acos: "AST_FUNCTION_ARCCOS", sp.atan: "AST_FUNCTION_ARCTAN",
}
_RELS = {sp.StrictGreaterThan: "AST_RELATIONAL_GT", sp.GreaterThan: "AST_RELATIONAL_GEQ",
         sp.StrictLessThan: "AST_RELATIONAL_LT", sp.LessThan: "AST_RELATIONAL_LEQ",
         sp.Equality: "AST_RELATIONAL_EQ", sp.Unequality: "AST_RELATIONAL_NEQ"}


def _with_units(node, unit_id: str):
    """Give a numeric literal node (or the number under a unary minus) the unit ``unit_id`` (sbml:units)."""
    target = node.getChild(0) if node.getType() == _libsbml().AST_MINUS else node
    if target.isNumber():
        target.setUnits(unit_id)
    return node


def sympy_to_ast(expr: sp.Expr, time_symbol: sp.Symbol | None = None, units: Mapping[str, str] | None = None):
    """Convert a SymPy expression to a libSBML ``ASTNode`` (L3V2 MathML).

    Symbols become names (``time_symbol`` becomes the ``time`` csymbol); ``Max``/``Min`` become
    the L3V2 ``max``/``min``; ``log`` becomes ``ln``; ``x**(1/2)`` becomes ``sqrt``;
    ``x**(-1)`` a division; ``pi`` and ``E`` the MathML constants; ``Piecewise`` ``piecewise``.
    With ``units`` (symbol name -> UnitDefinition id), a number inside ``max``/``min`` next to a
    symbol of known unit (the floors ``max(1e-12, x)``) carries that unit, so libSBML can derive
    the units of the expression.
    Raises :class:`SBMLExportError` for anything else.
    """
    libsbml = _libsbml()
    T = libsbml.AST_NAME_TIME

    def conv(e):
        if isinstance(e, sp.Symbol):
            if time_symbol is not None and e == time_symbol:
                node = libsbml.ASTNode(T)
                node.setName("time")
                return node
            if not _SID.match(e.name):
                raise SBMLExportError(f"the name {e.name!r} is not a valid SBML identifier")
            node = libsbml.ASTNode(libsbml.AST_NAME)
            node.setName(e.name)
            return node
        if isinstance(e, sp.Integer):
            return _num(libsbml, e)
        if isinstance(e, sp.Rational):
            return _ast(libsbml, libsbml.AST_DIVIDE, [_num(libsbml, int(e.p)), _num(libsbml, int(e.q))])
        if isinstance(e, sp.Float):
            return _num(libsbml, e)
        if e is sp.pi:
            return libsbml.ASTNode(libsbml.AST_CONSTANT_PI)
        if e is sp.E:
            return libsbml.ASTNode(libsbml.AST_CONSTANT_E)
        if e is sp.true or e is sp.false:
            return libsbml.ASTNode(libsbml.AST_CONSTANT_TRUE if e is sp.true else libsbml.AST_CONSTANT_FALSE)
        if isinstance(e, sp.Add):
            return _ast(libsbml, libsbml.AST_PLUS, [conv(a) for a in e.args])
        if isinstance(e, sp.Mul):
            coeff, rest = e.as_coeff_Mul()
            if coeff == -1:
                return _ast(libsbml, libsbml.AST_MINUS, [conv(rest)])
            num, den = [], []
            for a in e.args:
                if isinstance(a, sp.Pow) and a.exp.is_Number and a.exp < 0:
                    den.append(conv(a.base) if a.exp == -1 else conv(sp.Pow(a.base, -a.exp, evaluate=False)))
                elif isinstance(a, sp.Rational) and not isinstance(a, sp.Integer):
                    num.append(_num(libsbml, int(a.p)))
                    den.append(_num(libsbml, int(a.q)))
                else:
                    num.append(conv(a))
            top = num[0] if len(num) == 1 else (_ast(libsbml, libsbml.AST_TIMES, num) if num else _num(libsbml, 1))
            if not den:
                return top
            bottom = den[0] if len(den) == 1 else _ast(libsbml, libsbml.AST_TIMES, den)
            return _ast(libsbml, libsbml.AST_DIVIDE, [top, bottom])
        if isinstance(e, sp.Pow):
            b, x = e.args
            if x == sp.Rational(1, 2):  # <root><degree>2</degree>, as libSBML parses "sqrt(x)"
                return _ast(libsbml, libsbml.AST_FUNCTION_ROOT, [_num(libsbml, 2), conv(b)])
            if x == -1:
                return _ast(libsbml, libsbml.AST_DIVIDE, [_num(libsbml, 1), conv(b)])
            if x.is_Number and x < 0:
                return _ast(libsbml, libsbml.AST_DIVIDE, [_num(libsbml, 1), conv(sp.Pow(b, -x, evaluate=False))])
            if b is sp.E:
                return _ast(libsbml, libsbml.AST_FUNCTION_EXP, [conv(x)])
            return _ast(libsbml, libsbml.AST_POWER, [conv(b), conv(x)])
        if isinstance(e, (sp.Max, sp.Min)):
            kind = libsbml.AST_FUNCTION_MAX if isinstance(e, sp.Max) else libsbml.AST_FUNCTION_MIN
            known = [units[a.name] for a in e.args if isinstance(a, sp.Symbol) and units and a.name in units]
            return _ast(libsbml, kind, [_with_units(conv(a), known[0]) if known and a.is_Number else conv(a)
                                        for a in e.args])
        if isinstance(e, sp.Piecewise):
            kids = []
            for val, cond in e.args:
                if cond is sp.true:
                    kids.append(conv(val))
                else:
                    kids += [conv(val), conv(cond)]
            return _ast(libsbml, libsbml.AST_FUNCTION_PIECEWISE, kids)
        if isinstance(e, (sp.And, sp.Or, sp.Not, sp.Xor)):
            kind = {sp.And: "AST_LOGICAL_AND", sp.Or: "AST_LOGICAL_OR", sp.Not: "AST_LOGICAL_NOT", sp.Xor: "AST_LOGICAL_XOR"}[type(e)]
            return _ast(libsbml, getattr(libsbml, kind), [conv(a) for a in e.args])
        for cls, kind in _RELS.items():
            if isinstance(e, cls):
                return _ast(libsbml, getattr(libsbml, kind), [conv(a) for a in e.args])
        if isinstance(e, sp.Function):
            for cls, kind in _FUNCS.items():
                if isinstance(e, cls):
                    if len(e.args) != 1:
                        break
                    return _ast(libsbml, getattr(libsbml, kind), [conv(e.args[0])])
        raise SBMLExportError(f"no SBML translation for the SymPy node {type(e).__name__}: {str(e)[:120]}")

    return conv(sp.sympify(expr))


def sympy_to_formula(expr: sp.Expr, time_symbol: sp.Symbol | None = None) -> str:
    """The SBML L3 infix formula of a SymPy expression (``libsbml.formulaToL3String`` of :func:`sympy_to_ast`)."""
    return _libsbml().formulaToL3String(sympy_to_ast(expr, time_symbol))


# ------------------------------------------------------------------------------------------------
# Units
# ------------------------------------------------------------------------------------------------
# pint dimension -> (pint unit giving the SI factor, SBML base unit kind name); None: not expressible
_DIMS = {
    "[length]": ("meter", "UNIT_KIND_METRE"), "[mass]": ("kilogram", "UNIT_KIND_KILOGRAM"),
    "[time]": ("second", "UNIT_KIND_SECOND"), "[substance]": ("mole", "UNIT_KIND_MOLE"),
    "[current]": ("ampere", "UNIT_KIND_AMPERE"), "[temperature]": ("kelvin", "UNIT_KIND_KELVIN"),
    "[luminosity]": ("candela", "UNIT_KIND_CANDELA"), "[cell_count]": ("cell", "UNIT_KIND_ITEM"),
    "[colony_forming_unit]": ("CFU", "UNIT_KIND_ITEM"), "[food_serving]": ("serving", None),
}


@dataclass(frozen=True)
class _Unit:
    sid: str                     # UnitSIdRef used on elements ("dimensionless" for the built-in one)
    factor: float                # 1 <unit> = factor * prod(base ** exponent)
    bases: tuple[tuple[str, int | float], ...]
    caveat: str = ""             # why the SBML unit is not exactly the project's unit


def unit_definition(unit: str) -> _Unit:
    """Translate a project unit string (pint syntax) into SI base kinds and a factor.

    Units pint does not know and dimensions SBML cannot express are reported in ``caveat``.
    """
    from .parameters import ureg

    text = unit.strip()
    if text in ("", "dimensionless", "1"):
        return _Unit("dimensionless", 1.0, ())
    if text in ("h", "hour"):
        return _Unit("hour", 3600.0, (("UNIT_KIND_SECOND", 1),))
    try:
        q = ureg.Quantity(1.0, text)
    except Exception:
        return _Unit("dimensionless", 1.0, (), f"unit {text!r} is not a physical unit (unknown to pint); exported as dimensionless")
    dims = dict(q.dimensionality)
    target, bases, dropped = [], [], []
    for d, e in sorted(dims.items()):
        if d not in _DIMS:
            dropped.append(d)
            continue
        pint_unit, kind = _DIMS[d]
        target.append(f"{pint_unit}**{e}")
        if kind is None:
            dropped.append(d)
        else:
            bases.append((kind, e))
    factor = float(q.to(" * ".join(target)).magnitude) if target else float(q.to("dimensionless").magnitude)
    caveat = ""
    if dropped:
        caveat = (f"unit {text!r}: the dimension(s) {', '.join(dropped)} cannot be expressed in SBML and are treated as "
                  "dimensionless counts")
    merged: dict[str, float] = {}
    for k, e in bases:  # cell and CFU both map to item
        merged[k] = merged.get(k, 0) + e
    bases = tuple((k, e) for k, e in merged.items() if e != 0)
    sid = "u_" + re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", text.replace("/", "_per_").replace("**", "_pow_"))).strip("_")
    if not bases and math.isclose(factor, 1.0, rel_tol=1e-12):
        return _Unit("dimensionless", 1.0, (), caveat)
    return _Unit(sid, factor, bases, caveat)


def _add_unit_definition(libsbml, model, u: _Unit) -> None:
    if u.sid == "dimensionless" or model.getUnitDefinition(u.sid) is not None:
        return
    ud = model.createUnitDefinition()
    ud.setId(u.sid)
    bases = list(u.bases) or [("UNIT_KIND_DIMENSIONLESS", 1)]
    for i, (kind, e) in enumerate(bases):
        unit = ud.createUnit()
        unit.setKind(getattr(libsbml, kind))
        unit.setExponent(float(e))
        unit.setScale(0)
        # (multiplier * 10^scale * kind)^exponent: put the whole factor on the first unit
        unit.setMultiplier(float(u.factor) ** (1.0 / float(e)) if i == 0 else 1.0)


# ------------------------------------------------------------------------------------------------
# Notes and annotations
# ------------------------------------------------------------------------------------------------
def _notes(lines: dict[str, object]) -> str:
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


def build_document(model: Model, scenario=None, *, level: int = 3, version: int = 2, days: float | None = None,
                   initial_state=None):
    """Build the ``libsbml.SBMLDocument`` (see :func:`to_sbml`)."""
    libsbml = _libsbml()
    from .scenarios import get

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
    sym_units.update({x.name: unit_of(x.unit) for x in (*st.states, *st.inputs)})
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
                                                   "days": _fmt(days) if scenario else ""}))
    return doc


def _grade(g: str) -> str:
    from .parameters import GRADES

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


# ------------------------------------------------------------------------------------------------
# Verification in libroadrunner
# ------------------------------------------------------------------------------------------------
def _simulate_fn():
    """``gutbrain.simulate`` (the package attribute, wherever the module that defines it lives)."""
    import gutbrain

    return gutbrain.simulate


def _roadrunner():
    try:
        import roadrunner
    except ImportError:  # pragma: no cover - depends on the environment
        raise SBMLExportError("SBML verification needs libroadrunner: pip install 'gutbrain[sbml]'") from None
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)  # CVODE's 't + h = t' notes after event restarts
    return roadrunner


def roadrunner_simulate(sbml: str, model: Model, days: float, *, output_every: float = 1.0, rtol: float = 1e-8,
                        atol: float = 1e-12) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float]]:
    """Simulate an exported document with libroadrunner (CVODE, BDF) on a grid of ``output_every`` hours.

    Absolute tolerances are ``atol * state_scales`` per state (as in :func:`gutbrain.simulate`).
    Events are located by CVODE's root finder, so integration stops at every input switch and
    restarts there with the new inputs. Returns the grid (h), the values of every state and
    observable on it, and timings (``load_s``: parse and JIT compile, ``simulate_s``).
    """
    rr_mod = _roadrunner()
    t0 = _time.perf_counter()
    rr = rr_mod.RoadRunner(sbml)
    load_s = _time.perf_counter() - t0
    rr.setIntegrator("cvode")
    integ = rr.integrator
    integ.relative_tolerance = float(rtol)
    integ.stiff = True
    integ.variable_step_size = False   # report exactly on the output grid (CVODE still adapts its own steps)
    integ.maximum_num_steps = 1_000_000
    integ.absolute_tolerance = float(atol)
    for name, scale in zip(model.state_names, model.state_scales, strict=True):
        integ.setIndividualTolerance(name, float(atol * scale))
    names = list(model.state_names) + list(model.observable_names)
    rr.timeCourseSelections = ["time"] + names
    n_out = int(round(days * 24.0 / output_every))
    t0 = _time.perf_counter()
    res = np.asarray(rr.simulate(0.0, days * 24.0, n_out + 1))
    sim_s = _time.perf_counter() - t0
    return res[:, 0], {k: res[:, j + 1] for j, k in enumerate(names)}, {"load_s": load_s, "simulate_s": sim_s}


def verify(model: Model, scenario="healthy-baseline", *, days: float = 2.0, rtol: float = 1e-8, atol: float = 1e-12,
           warmup_days: float = 28.0, floor: float = 1e-6, output_every: float = 1.0) -> dict:
    """Compare the exported SBML, simulated in libroadrunner, with gutbrain's SciPy backend.

    The SciPy run (``simulate(..., backend="scipy", rtol, atol, warmup_days)``) gives the warm
    state at day 0; the scenario is exported from that state over ``days`` and simulated in
    libroadrunner with the same tolerances on the same hourly grid.

    The deviation of a variable is ``max_t |x_rr - x_scipy| / max(|x_scipy|, floor * scale)``,
    where ``scale`` is the state's typical magnitude (``State.typical``) or, for an observable,
    ``max_t |x_scipy|`` (1 if that is 0).

    ``atol`` (times each state's typical scale) defaults to 1e-12, well below the 1e-6 floor:
    with 1e-10 the solvers' own global error on a state passing through 1e-6 of its scale (the
    counter-regulation signal ``CR`` between meals under ``high-gi-meals``) reaches 1.4e-3 of its
    value in either solver alone, which would be blamed on the export.

    Returns a dict with ``max_rel_dev`` (name -> deviation), ``worst`` (name, deviation),
    ``export_s``, ``roadrunner_load_s``, ``roadrunner_simulate_s``, ``scipy_s``, ``n_events`` and
    the settings used.
    """
    from .scenarios import get
    simulate = _simulate_fn()

    scenario = get(scenario)
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not (0 < days <= 3650):
        raise InputError("days", days, "a horizon in (0, 3650] days", "e.g. days=2")
    t0 = _time.perf_counter()
    ds = simulate(model, scenario, days=days, backend="scipy", rtol=rtol, atol=atol, output_every=output_every,
                  warmup_days=warmup_days)
    scipy_s = _time.perf_counter() - t0
    y_init = np.array([float(ds[s].values[0]) for s in model.state_names])
    t0 = _time.perf_counter()
    xml = to_sbml(model, scenario, days=days, initial_state=y_init)
    export_s = _time.perf_counter() - t0
    t_rr, vals, timing = roadrunner_simulate(xml, model, days, output_every=output_every, rtol=rtol, atol=atol)
    t_ref = ds["time"].values * 24.0
    if t_rr.shape != t_ref.shape or np.max(np.abs(t_rr - t_ref)) > 1e-9:
        raise SBMLExportError("libroadrunner returned a different output grid than the SciPy backend")
    scales = dict(zip(model.state_names, model.state_scales, strict=True))
    dev, worst_time = {}, {}
    for name, x in vals.items():
        ref = ds[name].values
        scale = scales.get(name)
        if scale is None:
            scale = float(np.max(np.abs(ref))) or 1.0
        err = np.abs(x - ref) / np.maximum(np.abs(ref), floor * scale)
        err = np.where(np.isfinite(err), err, np.inf)
        dev[name] = float(np.max(err))
        worst_time[name] = float(t_ref[int(np.argmax(err))])
    worst = max(dev.items(), key=lambda kv: kv[1])
    schedule = scenario.schedule(days)
    return {"scenario": scenario.name, "days": float(days), "warmup_days": float(warmup_days), "rtol": rtol, "atol": atol,
            "floor": floor, "max_rel_dev": dev, "worst_time_h": worst_time, "worst": worst,
            "max_state_dev": max(dev[s] for s in model.state_names),
            "max_observable_dev": max((dev[o] for o in model.observable_names), default=0.0),
            "n_events": int(len(schedule.times) - 1), "sbml_bytes": len(xml), "export_s": export_s,
            "roadrunner_load_s": timing["load_s"], "roadrunner_simulate_s": timing["simulate_s"], "scipy_s": scipy_s}


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------
def warm_state(model: Model, scenario, warmup_days: float) -> np.ndarray:
    """The state after ``warmup_days`` under the scenario's baseline (no episodes), as :func:`gutbrain.simulate` starts day 0."""
    from .scenarios import get
    simulate = _simulate_fn()

    if warmup_days <= 0:
        return model.y0
    base = get(scenario).baseline()
    ds = simulate(model, base, days=warmup_days, warmup_days=0.0, output_every=24.0 * warmup_days)
    return np.array([float(ds[s].values[-1]) for s in model.state_names])


def register(app) -> None:
    """Add the ``export-sbml`` and ``verify-sbml`` commands to a :class:`typer.Typer` app."""
    import typer
    from rich.console import Console
    from rich.table import Table

    from ._paths import check_new_output, write_new_file

    console = Console()

    def fail(exc: Exception) -> None:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2)

    @app.command("export-sbml")
    def export_sbml(scenario: str = typer.Argument(None, help="built-in scenario name or .toml file (default: none, "
                                                               "inputs constant at their defaults)"),
                    out: Path = typer.Option("model.xml", "-o", "--out", help="SBML file to write"),  # noqa: B008
                    days: float = typer.Option(None, help="horizon of the exported input schedule in days (default: the scenario's)"),
                    warmup_days: float = typer.Option(0.0, help="start from the state after this many days of the scenario's "
                                                                "baseline (0: the nominal initial state)")):
        """Write the model (and a scenario's input schedule as events) as SBML Level 3 Version 2."""
        from . import load_model
        from .scenarios import get

        try:
            if out.suffix.lower() not in (".xml", ".sbml"):
                raise InputError("--out", str(out), "a path ending in .xml or .sbml", "e.g. -o model.xml")
            check_new_output(out, "--out", example="-o model.xml")
            if isinstance(warmup_days, float) and not (0 <= warmup_days <= 365):
                raise InputError("--warmup-days", warmup_days, "a number of days in [0, 365]", "e.g. --warmup-days 28")
            model = load_model()
            sc = get(scenario) if scenario is not None else None
            if sc is None and days is not None:
                raise InputError("--days", days, "no --days without a scenario", "name a scenario, e.g. healthy-baseline")
            t0 = _time.perf_counter()
            y0 = warm_state(model, sc if sc is not None else "healthy-baseline", warmup_days) if warmup_days > 0 else None
            t1 = _time.perf_counter()
            xml = to_sbml(model, sc, days=days, initial_state=y0)
            t2 = _time.perf_counter()
            report = check(xml)
        except GutbrainError as exc:
            fail(exc)
        try:
            write_new_file(out, lambda tmp: tmp.write_text(xml), "--out")
        except GutbrainError as exc:
            fail(exc)
        table = Table(title=f"SBML L3V2 export: {out}")
        table.add_column("item")
        table.add_column("value", justify="right")
        st = model.structure
        n_events = xml.count("<event ")
        for k, v in (("scenario", sc.name if sc else "none (inputs at defaults)"),
                     ("days", f"{(sc.days if days is None else days):g}" if sc else "-"),
                     ("initial state", f"warm-up {warmup_days:g} d" if warmup_days > 0 else "nominal"),
                     ("states (rate rules)", len(st.states)), ("parameters", len(model.parameters)),
                     ("inputs", len(st.inputs)), ("events (input switches)", n_events),
                     ("observables (assignment rules)", len(st.observables)),
                     ("consistency errors", len(report.errors)), ("consistency warnings (units)", len(report.warnings)),
                     ("size", f"{len(xml) / 1e6:.2f} MB"),
                     ("export time", f"{t2 - t1:.2f} s" + (f" (+ warm-up {t1 - t0:.1f} s)" if warmup_days > 0 else ""))):
            table.add_row(k, str(v))
        console.print(table)
        for e in report.errors[:20]:
            console.print(f"[red]{e}[/]")
        console.print(f"[dim]{DISCLAIMER}[/]")
        if report.errors:
            raise typer.Exit(code=1)

    @app.command("verify-sbml")
    def verify_sbml(scenario: str = typer.Argument("healthy-baseline", help="built-in scenario name or .toml file"),
                    days: float = typer.Option(2.0, help="horizon in days"),
                    warmup_days: float = typer.Option(28.0, help="warm-up days before day 0 (as in `gutbrain run`)"),
                    rtol: float = typer.Option(1e-8, help="relative tolerance of both solvers"),
                    atol: float = typer.Option(1e-12, help="absolute tolerance (times each state's typical scale)"),
                    tol: float = typer.Option(1e-3, help="largest accepted relative deviation"),
                    show: int = typer.Option(15, help="rows to show (worst first)")):
        """Simulate the exported SBML in libroadrunner and compare it with the SciPy backend."""
        from . import load_model

        try:
            if not (isinstance(tol, float) and tol > 0):
                raise InputError("--tol", tol, "a positive number", "e.g. --tol 1e-3")
            with console.status(f"simulating {scenario} with SciPy and libroadrunner ..."):
                res = verify(load_model(), scenario, days=days, rtol=rtol, atol=atol, warmup_days=warmup_days)
        except GutbrainError as exc:
            fail(exc)
        table = Table(title=f"SBML (libroadrunner CVODE) vs SciPy: {res['scenario']}, {res['days']:g} days")
        table.add_column("variable")
        table.add_column("max rel. deviation", justify="right")
        table.add_column("at hour", justify="right")
        rows = sorted(res["max_rel_dev"].items(), key=lambda kv: -kv[1])
        for name, d in rows[: max(show, 1)]:
            table.add_row(name, f"{d:.2e}", f"{res['worst_time_h'][name]:g}")
        console.print(table)
        ok = res["worst"][1] <= tol
        console.print(f"worst {res['worst'][0]} {res['worst'][1]:.2e} ({'PASS' if ok else 'FAIL'} at tol {tol:g}); "
                      f"{res['n_events']} events; export {res['export_s']:.2f} s, libroadrunner load {res['roadrunner_load_s']:.2f} s, "
                      f"simulate {res['roadrunner_simulate_s']:.2f} s; SciPy {res['scipy_s']:.1f} s (incl. warm-up)")
        console.print(f"[dim]{DISCLAIMER}[/]")
        if not ok:
            raise typer.Exit(code=1)
