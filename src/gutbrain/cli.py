"""Command-line interface (Typer + rich): a thin layer over the public API."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._paths import check_new_output, write_new_file, write_new_zarr
from .errors import DISCLAIMER, GutbrainError, InputError, suggest

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="gutbrain: a mechanistic model of the microbiota-gut-brain axis. " + DISCLAIMER)
console = Console()

SUMMARY = (("gad7", "GAD-7 (14-day recall)", "score"), ("phq9", "PHQ-9 (14-day recall)", "score"), ("CORT", "cortisol", "ug/dL"), ("CRP", "CRP", "mg/L"),
           ("lm_ratio", "L/M ratio", ""), ("plasma_endotoxin", "plasma endotoxin", "pg/mL"), ("portal_butyrate", "portal butyrate", "uM"),
           ("glucose", "glucose", "mmol/L"), ("hrv_rmssd", "HRV (RMSSD)", "ms"))


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(code=2)


def _disclaimer() -> None:
    console.print(f"[dim]{DISCLAIMER}[/]")


def summary_table(ds, scenario=None) -> Table:
    """Mean of the main read-outs in each phase of the run (before, during and after each episode), min and peak."""
    from .plotting import phases

    table = Table(title=f"{ds.attrs.get('scenario')}: {float(ds.time[-1] - ds.time[0]):g} days ({ds.attrs.get('solver')}); "
                        "phase means")
    t = ds["time"].values
    cuts = phases(ds, scenario)
    table.add_column("read-out")
    table.add_column("unit")
    for a, b, label in cuts:
        table.add_column(f"{label}\n(days {a:g}-{b:g})", justify="right")
    table.add_column("min", justify="right")
    table.add_column("peak", justify="right")
    for var, label, unit in SUMMARY:
        v = ds[var].values
        means = []
        for k, (a, b, _) in enumerate(cuts):
            sel = (t >= a) & ((t < b) if k < len(cuts) - 1 else (t <= b))
            means.append(f"{v[sel].mean():.3g}" if sel.any() else "-")
        table.add_row(label, unit, *means, f"{v.min():.3g}", f"{v.max():.3g}")
    return table


@app.command()
def run(scenario: str = typer.Argument(..., help="built-in scenario name or a scenario .toml file"),
        days: float = typer.Option(None, help="horizon in days (default: the scenario's)"),
        backend: str = typer.Option("scipy", help="scipy or jax"),
        out: Path = typer.Option(None, help="write results to a new .nc (netCDF) or .zarr path (an existing one is refused)"),
        plot: Path = typer.Option(None, help="write a plot to a new .png or .html path (an existing one is refused)"),
        output_every: float = typer.Option(1.0, help="output spacing in hours")):
    """Simulate the reference patient under a scenario and print a summary table."""
    from . import load_model
    from .scenarios import get
    from .simulation import simulate

    try:
        sc = get(scenario)  # a bad name or an unreadable file is reported before anything else
        if out is not None:
            check_new_output(out, "--out", suffixes=(".nc", ".zarr"), example="--out results.nc")
        if plot is not None:
            check_new_output(plot, "--plot", suffixes=(".png", ".html"), example="--plot out.png")
        if out is not None and plot is not None and out.resolve() == plot.resolve():
            raise InputError("--plot", str(plot), "a path other than --out", "e.g. --out results.nc --plot results.png")
        with console.status(f"simulating {scenario} ..."):
            ds = simulate(load_model(), sc, days=days, backend=backend, output_every=output_every)
    except GutbrainError as exc:
        _fail(exc)
    console.print(summary_table(ds, sc))
    console.print(f"wall time {ds.attrs['wall_time_s']:.1f} s, solver {ds.attrs['solver']}, rtol {ds.attrs['rtol']:g}")
    try:
        if out is not None:
            if out.suffix == ".nc":
                write_new_file(out, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf"), "--out")
            else:
                write_new_zarr(ds, out, "--out")
            console.print(f"results written to {out}")
        if plot is not None:
            from .plotting import plot as make_plot

            write_new_file(plot, lambda tmp: make_plot(ds, tmp, scenario=sc), "--plot")
            console.print(f"plot written to {plot}")
    except GutbrainError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(InputError("output", str(exc.filename or out or plot), "a path that can be written",
                         f"{exc.strerror or exc}; free some space or choose another directory"))
    _disclaimer()


@app.command()
def scenarios():
    """List the built-in scenarios."""
    from .scenarios import builtin

    table = Table(title="built-in scenarios")
    table.add_column("name")
    table.add_column("days", justify="right")
    table.add_column("description")
    for name, s in builtin().items():
        table.add_row(name, f"{s.days:g}", s.description)
    console.print(table)
    _disclaimer()


@app.command()
def params(module: str = typer.Argument(None, help="module name (microbiome, barrier, immune, hpa, tryptophan, autonomic, glucose, mood)")):
    """Show every parameter with unit, bounds, prior, grade and source."""
    from . import load_model
    from .model import MODULES

    model = load_model()
    modules = [m.NAME for m in MODULES]
    if module is not None and module not in modules:
        _fail(InputError("module", module, "a model module", suggest(module, modules)))
    table = Table(title=f"parameters{' of ' + module if module else ''}", show_lines=False)
    for col in ("module", "name", "value", "unit", "lower", "upper", "prior", "grade", "source"):
        table.add_column(col, overflow="fold")
    for p in model.parameters.values():
        if module is None or p.module == module:
            table.add_row(p.module, p.name, f"{p.value:.4g}", p.unit, f"{p.lower:.4g}", f"{p.upper:.4g}", p.prior, p.grade, p.source)
    console.print(table)
    console.print("grades: H human data, M animal/in-vitro/review, L assumption")
    _disclaimer()


@app.command()
def explain(scenario: str = typer.Argument(..., help="scenario name or .toml file")):
    """Say what a scenario does: its diet, meals and episodes."""
    from .model.inputs import INPUTS
    from .scenarios import get

    try:
        s = get(scenario)
    except GutbrainError as exc:
        _fail(exc)
    units = {i.name: i.unit for i in INPUTS}
    console.print(f"[bold]{s.name}[/] ({s.days:g} days): {s.description}")
    if s.diet:
        console.print("baseline diet: " + ", ".join(f"{k} = {v:g} {units[k]}" for k, v in s.diet.items()))
    else:
        console.print("baseline diet: reference mixed diet (" + ", ".join(f"{i.name} {i.default:g} {i.unit}" for i in INPUTS[:5]) + ")")
    for m in s.meals:
        console.print(f"meal daily at {m.time:05.2f} h: {m.carbs:g} g carbohydrate, GI {m.gi:g}, eaten over {m.minutes:g} min")
    for e in s.episodes:
        when = f"day {e.start_day:g}" + (f" {e.start_hour:g}:00" if e.start_hour else "")
        window = f", daily {e.daily_window[0]:g}-{e.daily_window[1]:g} h" if e.daily_window else ""
        console.print(f"{e.label or e.input}: {e.input} = {e.level:g} {units[e.input]} from {when} for {e.duration_h / 24:g} days{window}")
    console.print("Before day 0 the patient is warmed up for 28 days on the baseline diet and meals, with no episodes.")
    _disclaimer()


def _register_optional() -> None:
    import importlib

    for mod in ("gutbrain.sbml", "gutbrain.calibration.cli", "gutbrain.claims.cli", "gutbrain.web.cli",
                "gutbrain.cohort.cli", "gutbrain.analysis.cli"):
        try:
            module = importlib.import_module(mod)
        except ImportError:
            continue
        if hasattr(module, "register"):
            module.register(app)


_register_optional()


def main() -> None:
    try:
        app()
    except GutbrainError as exc:  # errors raised outside a command's own handler
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
