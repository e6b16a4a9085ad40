"""Project unit strings to SBML unit definitions (through pint)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

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
    from ..parameters import ureg

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
    target: list[str] = []
    bases: list[tuple[str, float]] = []
    dropped: list[str] = []
    for d, e in sorted(dims.items()):
        if d not in _DIMS:
            dropped.append(d)
            continue
        pint_unit, kind = _DIMS[d]
        target.append(f"{pint_unit}**{e}")
        if kind is None:
            dropped.append(d)
        else:
            bases.append((kind, float(e)))  # type: ignore[arg-type]  # pint types exponents as any Number
    factor = float(q.to(" * ".join(target)).magnitude) if target else float(q.to("dimensionless").magnitude)
    caveat = ""
    if dropped:
        caveat = (f"unit {text!r}: the dimension(s) {', '.join(dropped)} cannot be expressed in SBML and are treated as "
                  "dimensionless counts")
    merged: dict[str, float] = {}
    for k, e in bases:  # cell and CFU both map to item
        merged[k] = merged.get(k, 0) + e
    kept = tuple((k, e) for k, e in merged.items() if e != 0)
    sid = "u_" + re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", text.replace("/", "_per_").replace("**", "_pow_"))).strip("_")
    if not kept and math.isclose(factor, 1.0, rel_tol=1e-12):
        return _Unit("dimensionless", 1.0, (), caveat)
    return _Unit(sid, factor, kept, caveat)


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
