"""Generate the model reference pages from the equations and parameter tables (so docs cannot drift).

``python -m gutbrain.docs DIR`` writes one Markdown page per module: the module's description,
its states, its named quantities and rate equations (LaTeX, printed by SymPy from the same
expressions the solvers use), and its parameter table with units, bounds, priors, sources and
evidence grades.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sympy as sp

from .errors import DISCLAIMER
from .model.assemble import MODULES, load_model
from .model.core import Namespace


def _latex(expr) -> str:
    return sp.latex(expr, mul_symbol="dot").replace("\n", " ")


def _esc(text: str) -> str:
    return str(text).replace("|", "\\|")


def module_page(module, model) -> str:
    s = model.structure
    symbols = {str(x): x for x in s.state_symbols + s.param_symbols + s.input_symbols}
    ns = Namespace(symbols, s.quantities, expand=False)
    lines = [f"# {module.TITLE}", "", f"> {DISCLAIMER}", "", (module.__doc__ or "").strip(), "", "## States", "",
             "| state | unit | initial (before warm-up) | description |", "|---|---|---|---|"]
    for st in module.STATES:
        lines.append(f"| `{st.name}` | {st.unit} | {st.initial:g} | {_esc(st.description)} |")
    lines += ["", "## Quantities", ""]
    for q in module.QUANTITIES:
        tex_name = q.name.replace("_", "\\_")
        lines += [f"**`{q.name}`** ({q.unit}{', observable' if q.observable else ''}) — {q.description}", "",
                  f"$$ \\mathrm{{{tex_name}}} = {_latex(q.expr(ns))} $$", ""]
    lines += ["## Rate equations (per hour)", ""]
    for name, rate in module.rates(ns).items():
        lines += [f"$$ \\frac{{d\\,\\mathrm{{{name}}}}}{{dt}} = {_latex(rate)} $$", ""]
    lines += ["## Parameters", "", "| name | value | unit | bounds | prior | grade | source | note |", "|---|---|---|---|---|---|---|---|"]
    for p in model.parameters.values():
        if p.module == module.NAME:
            pub = f" (published in {p.published_unit})" if p.published_unit else ""
            lines.append(f"| `{p.name}` | {p.value:.4g} | {p.unit}{pub} | [{p.lower:.4g}, {p.upper:.4g}] | {p.prior} | {p.grade} | "
                         f"{_esc(p.source)} | {_esc(p.note)} |")
    lines += ["", "Grades: H human data, M animal/in-vitro/review, L assumption.", ""]
    return "\n".join(lines)


def generate(out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = load_model()
    written = []
    index = ["# Model reference", "", f"> {DISCLAIMER}", "",
             f"{len(model.states)} states, {len(model.parameters)} parameters, {len(model.observable_names)} observables. "
             "Each page is generated from the equations and parameter tables that the solvers use.", ""]
    for m in MODULES:
        p = out / f"{m.NAME}.md"
        p.write_text(module_page(m, model))
        written.append(p)
        index.append(f"- [{m.TITLE}]({m.NAME}.md)")
    (out / "index.md").write_text("\n".join(index) + "\n")
    written.append(out / "index.md")
    return written


if __name__ == "__main__":
    for path in generate(sys.argv[1] if len(sys.argv) > 1 else "docs/modules"):
        print(path)
