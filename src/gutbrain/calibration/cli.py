"""``gutbrain calibrate --report DIR``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from .._paths import check_output_dir
from ..errors import DISCLAIMER, GutbrainError, InputError

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def calibrate(report: Path = typer.Option(Path("calibration-report"), help="folder for the report (HTML, Markdown, JSON, PNG); may exist (its report files are rewritten, nothing else is touched); its parent must exist"),
                  cohort: int = typer.Option(1000, help="virtual patients for the cohort targets T18-T22 and T30-T33"),
                  seed: int = typer.Option(0), workers: int = typer.Option(2),
                  fit: bool = typer.Option(False, "--fit", help="re-run the module fits first and write fitted_parameters.toml")):
        """Evaluate every calibration target on the reference parameters and write the report."""
        from .report import write_report

        if cohort < 0:
            console.print("[bold red]error:[/] --cohort must be >= 0 (0 skips the cohort targets)")
            raise typer.Exit(2)
        try:
            if not 1 <= workers <= 256:
                raise InputError("--workers", workers, "a whole number of processes in [1, 256]", "e.g. --workers 2")
            check_output_dir(report, "--report")  # an existing report folder is fine: its files are rewritten
        except GutbrainError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        from .. import load_model

        model = load_model()
        if fit:
            from .fitting import fit_modules, to_toml

            with console.status("fitting modules (cortisol curve, endotoxin bolus, stress permeability) ..."):
                res = fit_modules(model)
            report.mkdir(parents=True, exist_ok=True)
            (report / "fitted_parameters.toml").write_text(to_toml(res["values"]))
            console.print(f"module fits done in {res['seconds']} s: {res['metrics']}")
            model = model.with_params(res["values"])
        with console.status("evaluating calibration targets ..."):
            payload = write_report(report, model=model, cohort_n=cohort, seed=seed, workers=workers)
        s = payload["summary"]
        for r in payload["targets"]:
            console.print(f"{r['id']}  {'[green]PASS[/]' if r['passed'] else '[red]MISS[/]'}  {r['quantity']}: {r['value']} (tolerance {r['tolerance']})")
        console.print(f"targets passed {s['targets_passed']}/{s['targets_total']}; bolus cytokines {s['bolus_cytokines_passed']}/4; "
                      f"cortisol RMSE {s['cortisol_curve']['rmse']:.2f}, r {s['cortisol_curve']['r']:.3f}; report in {report}")
        console.print(f"[dim]{DISCLAIMER}[/]")
