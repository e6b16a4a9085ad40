"""The export-sbml and verify-sbml commands."""

from __future__ import annotations

import time as _time
from pathlib import Path

from ..errors import DISCLAIMER, GutbrainError, InputError
from .check import check
from .export import to_sbml
from .roadrunner import verify, warm_state


def register(app) -> None:
    """Add the ``export-sbml`` and ``verify-sbml`` commands to a :class:`typer.Typer` app."""
    import typer
    from rich.console import Console
    from rich.table import Table

    from .._paths import check_new_output, write_new_file

    console = Console()

    def fail(exc: Exception) -> None:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2)

    @app.command("export-sbml")
    def export_sbml(scenario: str = typer.Argument(None, help="built-in scenario name or .toml file (default: none, "
                                                               "inputs constant at their defaults)"),
                    out: Path = typer.Option("model.xml", "-o", "--out", help="SBML file to write"),
                    days: float = typer.Option(None, help="horizon of the exported input schedule in days (default: the scenario's)"),
                    warmup_days: float = typer.Option(0.0, help="start from the state after this many days of the scenario's "
                                                                "baseline (0: the nominal initial state)")):
        """Write the model (and a scenario's input schedule as events) as SBML Level 3 Version 2."""
        from .. import load_model
        from ..scenarios import get

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
        from .. import load_model

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
