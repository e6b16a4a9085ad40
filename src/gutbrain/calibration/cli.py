"""``gutbrain calibrate --report DIR``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from .._paths import check_output_dir
from ..errors import DISCLAIMER, GutbrainError, InputError

console = Console()


def _verdict(passed: bool) -> str:
    return "[green]PASS[/]" if passed else "[red]MISS[/]"


def _num(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else escape(str(v))


def _ci(ci) -> str:
    return "none" if ci is None or any(x != x for x in ci) else f"[{ci[0]:.3g}, {ci[1]:.3g}]"


def _cohort_extras(r: dict) -> str:
    """A cohort target's 95 % CI and its second-seed value, verdict and CI (empty for the other targets)."""
    out = f"; 95 % CI {_ci(r['ci'])}" if r.get("ci") is not None else ""
    s2 = r.get("second_seed")
    if s2 is not None:
        out += f"; seed {s2['seed']}: {_num(s2['value'])} {_verdict(s2['passed'])}"
        out += f", 95 % CI {_ci(s2['ci'])}" if s2.get("ci") is not None else ""
    return out


def register(app: typer.Typer) -> None:
    @app.command()
    def calibrate(report: Path = typer.Option(Path("calibration-report"), help="folder for the report (HTML, Markdown, JSON, PNG); may exist (its report files are rewritten, nothing else is touched); its parent must exist"),
                  cohort: int = typer.Option(1000, help="virtual patients for the cohort targets T18-T22 and T30-T33"),
                  seed: int = typer.Option(0), workers: int = typer.Option(2),
                  second_seed: int | None = typer.Option(None, "--second-seed", show_default="seed + 1",
                                                         help="seed of a second virtual cohort on which the cohort targets are "
                                                              "recomputed and judged again; -1 skips it"),
                  fit: bool = typer.Option(False, "--fit", help="re-run the module fits first and write fitted_parameters.toml")):
        """Evaluate every calibration target on the reference parameters and write the report."""
        from .report import write_report

        if cohort < 0:
            console.print("[bold red]error:[/] --cohort must be >= 0 (0 skips the cohort targets)")
            raise typer.Exit(2)
        try:
            if not 1 <= workers <= 256:
                raise InputError("--workers", workers, "a whole number of processes in [1, 256]", "e.g. --workers 2")
            if second_seed is None:
                second_seed = seed + 1
            elif second_seed == -1:
                second_seed = None
            elif second_seed < 0:
                raise InputError("--second-seed", second_seed, "a seed >= 0, or -1 to skip the second cohort",
                                 f"e.g. --second-seed {seed + 1} (the default: --seed + 1) or --second-seed -1")
            elif second_seed == seed:
                raise InputError("--second-seed", second_seed, f"a seed other than --seed {seed} (the same seed draws the same cohort)",
                                 f"e.g. --second-seed {seed + 1} (the default) or --second-seed -1 to skip it")
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
            payload = write_report(report, model=model, cohort_n=cohort, seed=seed, workers=workers,
                                   second_seed=second_seed if cohort else None)
        s = payload["summary"]
        for r in payload["targets"]:
            console.print(f"{r['id']}  {_verdict(r['passed'])}  {escape(str(r['quantity']))}: {_num(r['value'])} "
                          f"(tolerance {escape(r['tolerance'])}){_cohort_extras(r)}")
        console.print(f"targets passed {s['targets_passed']}/{s['targets_total']}; bolus cytokines {s['bolus_cytokines_passed']}/4; "
                      f"cortisol RMSE {s['cortisol_curve']['rmse']:.2f}, r {s['cortisol_curve']['r']:.3f}; report in {report}")
        if s.get("second_seed") is not None:
            same = "yes" if s["same_verdicts_on_both_seeds"] else "no (" + ", ".join(s["verdict_differs"]) + ")"
            console.print(f"seed {s['second_seed']}: targets passed {s['targets_passed_second_seed']}/{s['targets_total']}; "
                          f"same pass/miss list on both seeds: {same}")
        console.print(f"[dim]{DISCLAIMER}[/]")
