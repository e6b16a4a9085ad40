"""``gutbrain cohort`` and ``gutbrain summarize`` (registered by :mod:`gutbrain.cli`)."""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["register"]


def register(app) -> None:
    """Add the ``cohort`` and ``summarize`` commands to a :class:`typer.Typer` app."""
    import typer
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from .._paths import check_new_output, write_new_file
    from ..errors import DISCLAIMER, GutbrainError, InputError

    console = Console()

    def fail(exc: Exception):
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        console.print(f"[dim]{DISCLAIMER}[/]")
        raise typer.Exit(code=2)

    @app.command()
    def cohort(scenario: str = typer.Argument(..., help="built-in scenario name or a scenario .toml file"),
               n: int = typer.Option(1000, "--n", help="number of virtual patients"),
               days: float = typer.Option(None, help="horizon in days (default: the scenario's)"),
               out: Path = typer.Option(Path("run.zarr"), help="Zarr store to write (resumed if it exists)"),
               chunk: int = typer.Option(None, help="patients per task (default: by n; on resume: the store's)"),
               dask: str = typer.Option(None, "--dask", help="address of a Dask scheduler (tcp://host:8786); "
                                        "'local' starts a LocalCluster"),
               workers: int = typer.Option(None, help="worker processes (default: CPU count)"),
               resume: bool = typer.Option(False, "--resume", help="require an existing store and continue it "
                                           "(a plain re-run also resumes)"),
               seed: int = typer.Option(0, help="sampler seed"),
               method: str = typer.Option("sobol", help="sobol, lhs or random"),
               subtype: list[str] = typer.Option([], "--subtype", help="named prior shift (repeatable)"),
               reduce: str = typer.Option("daily", help="daily (daily means), none (every sample) or summary"),
               outputs: str = typer.Option(None, help="comma-separated states/observables (default: main read-outs)"),
               output_every: float = typer.Option(1.0, help="sample spacing in hours"),
               warmup_days: float = typer.Option(28.0, help="warm-up days on the baseline diet"),
               backend: str = typer.Option("scipy", help="scipy or jax"),
               rtol: float = typer.Option(1e-6, help="solver relative tolerance (absolute: rtol / 100 x each state's "
                                          "typical magnitude)")):
        """Simulate a virtual cohort under a scenario into a resumable Zarr store."""
        from .. import load_model
        from .engine import DEFAULT_OUTPUTS, Cohort
        from .store import check_store_path, is_store

        try:
            check_store_path(out, "--out")  # before anything is sampled or simulated
            if isinstance(n, bool) or n <= 0:
                raise InputError("--n", n, "a positive number of patients", "e.g. --n 1000")
            if chunk is not None and not 1 <= chunk <= n:
                raise InputError("--chunk", chunk, f"a chunk size in [1, n = {n}]", f"e.g. --chunk {min(n, 16)}")
            if resume and not is_store(out):
                raise InputError("--out", str(out), "an existing cohort store with --resume",
                                 "drop --resume to start a new run, or check the path")
            c = Cohort(load_model(), n=n, seed=seed, method=method, subtypes=tuple(subtype))
            executor = "dask" if dask else "local"
            sched = None if dask in (None, "local") else dask
            columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("patients"), TextColumn("{task.fields[rate]}"), TextColumn("ETA {task.fields[eta]}"),
                       TimeElapsedColumn())
            with Progress(*columns, console=console, transient=False) as bar:
                task = bar.add_task(f"{scenario}", total=n, rate="", eta="?")
                t0, first = time.perf_counter(), [None]

                def progress(done, total, info):
                    if first[0] is None:
                        first[0] = done
                    new, dt = done - first[0], time.perf_counter() - t0
                    rate = new / dt if dt > 0 and new > 0 else 0.0
                    eta = f"{(total - done) / rate:,.0f} s" if rate > 0 else ("0 s" if done >= total else "?")
                    bar.update(task, completed=done, rate=f"{rate:.2f} patients/s" if rate else "", eta=eta)

                res = c.run(scenario, days=days, store=out, chunk=chunk, backend=backend, executor=executor,
                            scheduler=sched, workers=workers, reduce=reduce, output_every=output_every,
                            warmup_days=warmup_days, outputs=outputs.split(",") if outputs else DEFAULT_OUTPUTS,
                            progress=progress, rtol=rtol, atol=rtol * 1e-2)
        except GutbrainError as exc:
            fail(exc)
        if res.chunks_skipped:
            console.print(f"resumed: {res.chunks_skipped} of {res.n_chunks} chunks were already complete")
        console.print(f"{res.chunks_run} chunks simulated in {res.wall_s:.1f} s "
                      f"({res.patients_per_s:.2f} patients/s); {res.n_ok} ok, {res.n_failed} failed; store {res.path}")
        console.print(f"next: gutbrain summarize {res.path}")
        console.print(f"[dim]{DISCLAIMER}[/]")

    @app.command()
    def summarize(store: Path = typer.Argument(..., help="a cohort store written by `gutbrain cohort`"),
                  plot: Path = typer.Option(None, help="PNG of percentile bands (default: <store>-bands.png)"),
                  no_plot: bool = typer.Option(False, "--no-plot", help="skip the plot")):
        """Responder fractions, end-of-run percentiles and a percentile-band plot of a cohort store."""
        from . import summary as S
        from .store import is_store, read_attrs

        try:
            if not is_store(store) or read_attrs(store).get("cohort_format") is None:
                raise InputError("store", str(store), "an existing cohort store written by `gutbrain cohort`",
                                 "check the path (e.g. run.zarr)")
            target = plot or store.with_name(store.stem + "-bands.png")
            if not no_plot:
                check_new_output(target, "--plot", suffixes=(".png",), example="--plot bands.png",
                                 also="or --no-plot to skip the plot")
            res = S.summarize(store)
        except GutbrainError as exc:
            fail(exc)
        console.print(f"[bold]{res['scenario']}[/]: {res['n']} patients, {res['days']:g} days, backend {res['backend']}, "
                      f"outputs {res['reduce']}; {res['ok']} ok, {res['failed']} failed, {res['pending']} pending "
                      f"({res['chunks_done']}/{res['n_chunks']} chunks done)")
        q = res["percentiles"]
        table = Table(title="read-outs: start (first-day mean) and end (last-day mean), percentiles over patients")
        table.add_column("read-out")
        table.add_column("unit")
        table.add_column("start median", justify="right")
        for p in q:
            table.add_column(f"end p{p}", justify="right")
        table.add_column("down >=10%", justify="right")
        table.add_column("up >=10%", justify="right")
        for o, r in res["outputs"].items():
            if r is None:
                table.add_row(o, "", "no data", *[""] * (len(q) + 2))
                continue
            table.add_row(o, r["unit"], f"{r['start'][q.index(50)]:.3g}", *[f"{x:.3g}" for x in r["end"]],
                          f"{100 * r['frac_down_10pct']:.1f}%", f"{100 * r['frac_up_10pct']:.1f}%")
        console.print(table)
        if res["responders"]:
            rt = Table(title="responders")
            rt.add_column("definition")
            rt.add_column("eligible", justify="right")
            rt.add_column("fraction", justify="right")
            for r in res["responders"]:
                rt.add_row(r["label"], str(r["eligible"]), "-" if r["fraction"] is None else f"{100 * r['fraction']:.1f}%")
            console.print(rt)
        if not no_plot:
            if res["reduce"] == "summary":
                console.print("no plot: a summary store holds no time series (run with --reduce daily)")
            elif res["ok"] == 0:
                console.print("no plot: no completed patients yet")
            else:
                try:
                    write_new_file(target, lambda tmp: S.plot_bands(store, tmp), "--plot")
                    console.print(f"plot written to {target}")
                except GutbrainError as exc:
                    fail(exc)
                except OSError as exc:
                    fail(InputError("--plot", str(target), "a writable PNG path", str(exc)))
        console.print(f"[dim]{DISCLAIMER}[/]")
