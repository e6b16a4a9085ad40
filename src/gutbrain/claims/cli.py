"""``gutbrain claims``: run C1-C17 and print (or write as JSON) the verdict table."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .._paths import check_output_dir
from ..errors import DISCLAIMER, GutbrainError
from .core import CLAIMS_RTOL

console = Console()


def _table(results) -> Table:
    from .report import COLUMNS, rows

    t = Table(title="claims C1-C17 (model predictions, not medical facts)", show_lines=True)
    for col in COLUMNS:
        t.add_column(col, overflow="fold")
    colours = {"holds": "green", "partly": "yellow", "does not hold": "red"}
    for r in rows(results):  # the cells are plain text: escape what rich would read as markup, e.g. "[SD units]"
        t.add_row(*[f"[{colours[r[c]]}]{r[c]}[/]" if c == "verdict" else escape(r[c]) for c in COLUMNS])
    return t


def _save(fig, path: Path) -> Path:
    from ..plotting import save_png

    return save_png(fig, path)


def plot_claims(results, data_dir: Path) -> list[Path]:
    """C8: fraction still dysregulated vs stressor length; C15: recovery time course."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data_dir.mkdir(parents=True, exist_ok=True)
    out = []
    by = {r.id: r for r in results}
    if "C8" in by:
        fr = by["C8"].numbers.get("fraction_dysregulated_by_duration", {})
        fig, ax = plt.subplots(figsize=(6, 4))
        ks = sorted(int(k) for k in fr)
        ax.plot(ks, [100 * fr[k] if k in fr else 100 * fr[str(k)] for k in ks], "o-")
        ax.set_xlabel("stressor length (days, intensity 0.8)")
        ax.set_ylabel("% still dysregulated 60 days later")
        ax.set_title(f"C8 hysteresis ({by['C8'].n_cohort} virtual patients)")
        ax.set_ylim(-2, 102)
        out.append(_save(fig, data_dir / "C8_hysteresis.png"))
    if "C15" in by and "recovery_curve" in by["C15"].numbers:
        curve = by["C15"].numbers["recovery_curve"]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(np.arange(len(curve["reference"])), 100 * np.asarray(curve["reference"]), label="reference patient")
        if curve.get("cohort_median") is not None:
            ax.plot(np.arange(len(curve["cohort_median"])), 100 * np.asarray(curve["cohort_median"]), label="cohort median (locked-in)")
        ax.axhline(20, ls=":", c="grey")
        ax.axhline(80, ls=":", c="grey")
        ax.set_xlabel("days since therapy + gut repair began")
        ax.set_ylabel("% of the PHQ-9 excess resolved")
        ax.set_title("C15 recovery time course")
        ax.legend()
        out.append(_save(fig, data_dir / "C15_recovery.png"))
    return out


def register(app: typer.Typer) -> None:
    @app.command()
    def claims(ids: list[str] = typer.Argument(None, help="claim ids, e.g. C1 C8 (default: all)"),
               cohort: int = typer.Option(0, help="virtual patients drawn from the priors (0 = reference patient only)"),
               seed: int = typer.Option(0, help="cohort seed"),
               workers: int = typer.Option(2, help="processes"),
               rtol: float = typer.Option(CLAIMS_RTOL, help="solver relative tolerance (effects agree with 1e-6 within 1 %; "
                                                                "1e-4: within 0.05 %)"),
               assumptions: int = typer.Option(4, help="virtual patients (besides the reference patient) for the assumption "
                                                       "check, taken from the cohort; -1: skip the check"),
               as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
               plots: Path = typer.Option(None, help="folder for the C8 and C15 plots (may exist; its parent must exist)")):
        """Run the claims C1-C17 on the reference patient and an optional virtual cohort."""
        from . import run_claims

        started = time.perf_counter()
        try:
            if plots is not None:
                check_output_dir(plots, "--plots")  # before the claims run, not after
            with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} patients"),
                          TimeRemainingColumn(), console=console, transient=True, disable=as_json) as prog:
                task = prog.add_task("simulating claim experiments", total=cohort + 1)
                if assumptions < -1:
                    from ..errors import InputError

                    raise InputError("--assumptions", assumptions, "-1 (skip) or a number of patients >= 0", "e.g. --assumptions 4")
                results = run_claims(ids or None, cohort=cohort, seed=seed, workers=workers, rtol=rtol,
                                     progress=lambda done, total: prog.update(task, completed=done, total=total),
                                     assumptions=None if assumptions < 0 else assumptions)
        except GutbrainError as exc:
            console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(code=2) from None
        elapsed = time.perf_counter() - started
        written = plot_claims(results, plots) if plots is not None else []
        if as_json:
            from .. import load_model
            from .report import fingerprint

            checked = [r.assumption.get("patients", 1) - 1 for r in results if r.assumption]
            print(json.dumps({"claims": [r.to_dict() for r in results], "elapsed_s": round(elapsed, 1), "cohort": cohort,
                              "assumption_patients": max(checked, default=0), "fingerprint": fingerprint(load_model()),
                              "disclaimer": DISCLAIMER}, indent=2, default=float))
            return
        console.print(_table(results))
        counts = {v: sum(r.verdict == v for r in results) for v in ("holds", "partly", "does not hold")}
        console.print(f"{counts['holds']} hold, {counts['partly']} partly, {counts['does not hold']} do not hold; "
                      f"{cohort} virtual patients; {elapsed:.0f} s")
        for p in written:
            console.print(f"plot written to {p}")
        console.print(f"[dim]{DISCLAIMER}[/]")
