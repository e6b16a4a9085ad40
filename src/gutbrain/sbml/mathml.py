"""SymPy expressions to libSBML ASTs and SBML formula strings (node by node; nothing written by hand)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import sympy as sp

from ._common import _SID, SBMLExportError, _libsbml


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
    if isinstance(value, (sp.Integer, int)):
        iv = int(value)
        node = libsbml.ASTNode(libsbml.AST_INTEGER)
        node.setValue(abs(iv))
        negative = iv < 0
    else:
        v = float(value)
        if not math.isfinite(v):
            raise SBMLExportError(f"the expression contains the non-finite number {v!r}")
        v = 0.0 if abs(v) < float(np.finfo(float).tiny) else v
        node = libsbml.ASTNode(libsbml.AST_REAL)
        node.setValue(abs(v))
        negative = v < 0
    return _ast(libsbml, libsbml.AST_MINUS, [node]) if negative else node


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
