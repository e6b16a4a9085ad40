"""CLI commands: ``gutbrain sensitivity``, ``gutbrain bistability`` and ``gutbrain twin fit``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .._paths import check_new_output, write_new_file
from ..errors import DISCLAIMER, GutbrainError, InputError, suggest

console = Console()
twin_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="Personal digital twin from a daily diary (fit + what-if). " + DISCLAIMER)


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(code=2)


def _json(path: Path, obj) -> None:
    text = json.dumps(obj, indent=1, default=float)
    write_new_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "--out")


def _check_stem(out: Path, *names: str) -> Path:
    """The output stem of ``out``, after checking that none of STEM.png/.html/.json (and ``names``) exists yet."""
    from ._common import check_plot_path

    stem = check_plot_path(out)
    for suffix in (".png", ".html", ".json"):
        check_new_output(stem.with_suffix(suffix), "--out", example="--out results/run2 (a new stem)")
    for name in names:
        check_new_output(stem.with_name(stem.name + name), "--out", example="--out results/run2 (a new stem)")
    return stem


def _check_count(option: str, value: int | None, lo: int, hi: int, example: str) -> None:
    if value is not None and (isinstance(value, bool) or not lo <= value <= hi):
        raise InputError(option, value, f"a whole number in [{lo}, {hi}]", f"e.g. {option} {example}")


def _parse_params(items: list[str] | None) -> dict[str, float]:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise InputError("--param", it, "NAME=VALUE", "e.g. --param a_pat_inflam=2.0")
        k, v = it.split("=", 1)
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise InputError("--param", it, "NAME=VALUE with a number", "e.g. --param hpa_reactivity=1.8") from None
    return out


def _print_check(v: dict, where: str) -> None:
    """One long-simulation check of a bistability map point."""
    console.print(f"long-simulation check ({v['days']:g} days) at {where}, {v['branch']} branch: "
                  f"map {v['map_pathobiont_share']:.3f}, long run {v['long_pathobiont_share']:.3f} -> "
                  + ("agrees" if v["agrees"] else "[red]differs[/]"))


def _parse_scan(text: str):
    """``auto``, ``none``, ``NAME=LO:HI:N`` or ``NAME=V1,V2,...`` -> "auto", None or (name, values)."""
    import numpy as np

    t = (text or "").strip()
    if t.lower() in ("auto", "none", ""):
        return None if t.lower() in ("none", "") else "auto"
    hint = "e.g. --scan a_pat_inflam=0.4:1.2:9 or --scan a_pat_inflam=0.5,0.8,1.0"
    if "=" not in t:
        raise InputError("--scan", text, "auto, none, NAME=LO:HI:N or NAME=V1,V2,...", hint)
    name, spec = (x.strip() for x in t.split("=", 1))
    try:
        if ":" in spec:
            lo, hi, n_text = spec.split(":")
            n = int(n_text)
            if not 2 <= n <= 41 or float(hi) <= float(lo):
                raise ValueError
            values = [float(x) for x in np.round(np.linspace(float(lo), float(hi), n), 6)]
        else:
            values = [float(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise InputError("--scan", text, "NAME=LO:HI:N with LO < HI and 2-41 values, or NAME=V1,V2,...", hint) from None
    if not 1 <= len(values) <= 41:
        raise InputError("--scan", text, "1-41 values", hint)
    return name, values


def sensitivity(scenario: str = typer.Argument(..., help="built-in scenario name or .toml file"),
                output: str = typer.Option("PHQ9@day90", help="read-out and day, e.g. PHQ9@day90, GAD7@day60, CRP@day30"),
                method: str = typer.Option("sobol", help="sobol (Morris screen, then Sobol on the top parameters) or morris"),
                n: int = typer.Option(None, help="Sobol base sample N (power of 2; default 64) or Morris trajectories (default 4)"),
                params: str = typer.Option("all", help="all, grade-L, grade-M, grade-H (join with +), module-<name> or a comma list"),
                top: int = typer.Option(8, help="parameters kept after the Morris screen"),
                screen_r: int = typer.Option(2, help="Morris trajectories of the screen"),
                workers: int = typer.Option(2, help="processes"),
                seed: int = typer.Option(0, help="random seed"),
                out: Path = typer.Option(Path("sensitivity"), help="output stem: writes STEM.png, STEM.html, STEM.json")):
    """Global sensitivity of a read-out to the parameter priors (SALib), ranked with evidence grades."""
    from . import sensitivity as sa

    try:
        stem = _check_stem(out)
        _check_count("--workers", workers, 1, 256, "2")
        _check_count("--top", top, 1, 100, "8")
        _check_count("--screen-r", screen_r, 2, 1000, "2")
        if method == "sobol":
            _check_count("--n", n, 2, 2 ** 16, "64")
            if n is not None and n & (n - 1):
                raise InputError("--n", n, "a power of 2 for the Sobol base sample", "e.g. --n 64")
        else:
            _check_count("--n", n, 2, 1000, "4")
        with console.status(f"sensitivity of {output} under {scenario} ..."):
            res = sa.run(scenario, output, method=method, n=n, params=params, top=top, morris_r=screen_r,
                         workers=workers, seed=seed, rtol=1e-4)
    except GutbrainError as exc:
        _fail(exc)
    table = Table(title=f"{res.method} sensitivity of {output} under {res.scenario} ({res.n_runs} runs, {res.runtime_s:.0f} s)")
    cols = ["rank", "parameter", "module", "grade"] + (["S1", "S1 95% CI", "ST", "ST 95% CI"] if res.method == "sobol"
                                                        else ["mu*", "mu* 95% CI", "sigma"])
    for c in cols:
        table.add_column(c, justify="right" if c not in ("parameter", "module") else "left")
    for row in res.rows()[:20]:
        if res.method == "sobol":
            vals = [f"{row['S1']:.3f}", f"±{row['S1_conf']:.3f}", f"{row['ST']:.3f}", f"±{row['ST_conf']:.3f}"]
        else:
            vals = [f"{row['mu_star']:.3g}", f"±{row['mu_star_conf']:.2g}", f"{row['sigma']:.3g}"]
        table.add_row(str(row["rank"]), row["parameter"], row["module"], row["grade"], *vals)
    console.print(table)
    for note in res.notes:
        console.print(note)
    console.print(f"[bold]{res.summary}[/]")
    png, html = res.plot(stem)
    _json(stem.with_suffix(".json"), res.to_dict())
    console.print(f"written: {png}, {html}, {stem.with_suffix('.json')}")
    console.print(f"[dim]{DISCLAIMER}[/]")


def bistability(param: list[str] = typer.Option(None, "--param", help="patient parameter NAME=VALUE (repeatable); default: reference"),
                axis: str = typer.Option("stress", help="stress (chronic stress 0-max) or diet (quality 0 western - 1 fibre-rich)"),
                stress: float = typer.Option(0.0, help="fixed chronic stress level on the diet axis"),
                max_stress: float = typer.Option(0.6, help="highest chronic stress level (stress axis)"),
                steps: int = typer.Option(None, help="number of levels (default 13 for stress, 11 for diet)"),
                settle_days: float = typer.Option(200.0, help="days simulated per point"),
                no_fallback: bool = typer.Option(False, help="do not map the gut-loop subtype when the patient is monostable"),
                scan: str = typer.Option("auto", help="two-parameter map: NAME=LO:HI:N or NAME=V1,V2,... (the patient's "
                                         "family along one parameter x the axis); auto: a_pat_inflam=0.4:1.2:9 when the "
                                         "patient is monostable; none: no scan"),
                workers: int = typer.Option(2, help="processes"),
                out: Path = typer.Option(Path("bistability"), help="output stem: STEM.png, STEM.html, STEM.json "
                                         "(and STEM-scan.png/.html for the two-parameter map)")):
    """Steady states vs chronic stress from a healthy and a dysregulated start: both branches and the hysteresis region."""
    import numpy as np

    from . import bistability as bi

    try:
        scan_spec = _parse_scan(scan)
        stem = _check_stem(out, *(() if scan_spec is None else ("-scan.png", "-scan.html")))
        _check_count("--workers", workers, 1, 256, "2")
        params = _parse_params(param)
        if axis not in bi.AXES:
            raise InputError("--axis", axis, "stress or diet", suggest(axis, bi.AXES))
        steps = steps if steps is not None else (13 if axis == "stress" else 11)
        if not 0 < max_stress <= 1 or not 2 <= steps <= 41:
            raise InputError("--max-stress/--steps", (max_stress, steps), "max stress in (0, 1] and 2-41 steps")
        if not 0 <= stress <= 1:
            raise InputError("--stress", stress, "a chronic stress level in [0, 1]")
        top = max_stress if axis == "stress" else 1.0
        levels = list(np.round(np.linspace(0, top, steps), 4))
        with console.status("mapping steady states ..."):
            maps = bi.run(params, levels=levels, settle_days=settle_days, workers=workers, axis=axis, stress=stress,
                          fallback={} if no_fallback else bi.SUBTYPE_GUT_LOOP)
        sm = None
        if scan_spec == "auto":
            scan_spec = bi.GAIN_SCAN if maps[0].region is None and bi.GAIN_SCAN[0] not in params else None
        if scan_spec is not None:
            with console.status(f"mapping steady states over {scan_spec[0]} x {axis} ({len(scan_spec[1])} values) ..."):
                sm = bi.scan(scan_spec[0], scan_spec[1], levels, params=params, axis=axis, stress=stress,
                             settle_days=settle_days, workers=workers, label=maps[0].label)
                sm.validate_region()
    except GutbrainError as exc:
        _fail(exc)
    for bm in maps:
        table = Table(title=bm.label)
        for c in (bm.axis, "Bp share (healthy start)", "Bp share (dysregulated start)", "PHQ-9 healthy", "PHQ-9 dysregulated", "two states?"):
            table.add_column(c, justify="right")
        for i, lv in enumerate(bm.levels):
            table.add_row(f"{lv:g}", f"{bm.healthy['pathobiont_share'][i]:.3f}", f"{bm.dysregulated['pathobiont_share'][i]:.3f}",
                          f"{bm.healthy['phq9'][i]:.1f}", f"{bm.dysregulated['phq9'][i]:.1f}", "yes" if bm.bistable[i] else "")
        console.print(table)
        console.print(f"[bold]{bm.summary}[/]")
        for v in bm.validation:
            _print_check(v, f"{bm.axis} {v['level']:g}")
    written = list(bi.plot(maps, stem))
    if sm is not None:
        table = Table(title=f"{sm.label}: steady states over {sm.name} x {sm.axis}")
        for c in (sm.name, f"{sm.axis} levels with two steady states", "largest gap in Bp share"):
            table.add_column(c, justify="right")
        for value, row, gaps in zip(sm.values, sm.bistable, sm.gap, strict=True):
            two_states = [f"{x:g}" for x, b in zip(sm.levels, row, strict=True) if b]
            table.add_row(f"{value:g}" + (" (patient)" if value == sm.reference_value else ""), ", ".join(two_states) or "none",
                          f"{gaps.max():.3f}")
        console.print(table)
        console.print(f"[bold]{sm.summary}[/]")
        for v in sm.validation:
            _print_check(v, f"{sm.name} {v[sm.name]:g}, {sm.axis} {v['level']:g}")
        written += bi.plot_scan(sm, stem.with_name(stem.name + "-scan"))
    _json(stem.with_suffix(".json"), {"maps": [bm.to_dict() for bm in maps], "scan": None if sm is None else sm.to_dict(),
                                      "disclaimer": DISCLAIMER})
    console.print("written: " + ", ".join(str(w) for w in [*written, stem.with_suffix(".json")]))
    console.print(f"[dim]{DISCLAIMER}[/]")


@twin_app.command("fit")
def twin_fit(diary: Path = typer.Argument(..., help="daily diary CSV (see docs/analysis.md for the columns)"),
             params: str = typer.Option(",".join(("appraisal", "hpa_reactivity", "w6", "tau_dep")), help="personal parameters to fit"),
             weeks: float = typer.Option(8.0, help="what-if horizon after the diary (weeks)"),
             draws: int = typer.Option(16, help="posterior draws for the what-if credible intervals"),
             no_what_if: bool = typer.Option(False, help="fit only"),
             workers: int = typer.Option(2, help="processes for the what-if runs"),
             out: Path = typer.Option(Path("twin"), help="output stem: STEM.png, STEM.html, STEM.json")):
    """Fit a personal twin to a diary (MAP + Laplace) and compare 8 weeks of fibre+probiotic, therapy, or both."""
    from . import twin as tw

    try:
        stem = _check_stem(out)
        _check_count("--workers", workers, 1, 256, "2")
        if not 2 <= draws <= 200:
            raise InputError("--draws", draws, "2-200 posterior draws", "e.g. --draws 16")
        if not 1 <= weeks <= 52:
            raise InputError("--weeks", weeks, "1-52 weeks")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", tw.DiaryWarning)
            d = tw.read_diary(diary)
        for w in caught:
            console.print(f"[yellow]diary warning:[/] {w.message}")
        with console.status(f"fitting {params} to {d.n_days} diary days ..."):
            fit = tw.fit(d, [p.strip() for p in params.split(",") if p.strip()])
        wi = None
        if not no_what_if:
            with console.status(f"what-if: {len(tw.ARMS)} arms x {draws} posterior draws ..."):
                wi = tw.what_if(fit, d, weeks=weeks, draws=draws, workers=workers)
    except GutbrainError as exc:
        _fail(exc)
    table = Table(title=f"personal parameters ({fit.n_obs} observations, {fit.n_days} days, fit {fit.runtime_s:.0f} s)")
    for c in ("parameter", "grade", "reference", "MAP", "90% credible interval", "posterior/prior SD"):
        table.add_column(c, justify="right" if c not in ("parameter",) else "left")
    for r in fit.rows():
        table.add_row(r["parameter"], r["grade"], f"{r['reference (prior median)']:.4g}", f"{r['MAP']:.4g}",
                      f"{r['CrI90_low']:.4g} - {r['CrI90_high']:.4g}", f"{r['posterior_sd/prior_sd']:.2f}")
    console.print(table)
    console.print("fit RMSE: " + ", ".join(f"{k} {v:.2f}" for k, v in fit.rmse.items()))
    for note in fit.notes:
        console.print(f"note: {note}")
    report = {"fit": {"rows": fit.rows(), "rmse": fit.rmse, "n_obs": fit.n_obs, "n_days": fit.n_days, "notes": fit.notes,
                      "runtime_s": fit.runtime_s}, "disclaimer": DISCLAIMER}
    if wi is not None:
        t2 = Table(title=f"what if, {weeks:g} weeks after the diary (median and 90 % credible interval over {wi.n_draws} draws)")
        for c in ("option", "PHQ-9 at end", "change vs usual life", "GAD-7 at end", "change vs usual life"):
            t2.add_column(c, justify="right" if c != "option" else "left")
        for a in wi.arms:
            o = wi.outcomes[a]
            f = lambda x: f"{x[0]:.1f} ({x[1]:.1f} to {x[2]:.1f})"  # noqa: E731
            t2.add_row(a, f(o["phq9"]), f(o["d_phq9"]) if a != wi.arms[0] else "-", f(o["gad7"]), f(o["d_gad7"]) if a != wi.arms[0] else "-")
        console.print(t2)
        note = ("intervals include the prior uncertainty of the population couplings each option rests on"
                if wi.population_uncertainty else "intervals reflect the personal parameters only")
        console.print(f"[dim]{note}[/]")
        for a in wi.arms[1:]:
            if wi.carried_by.get(a):
                console.print(f"[bold]{a}[/] rests on: " + ", ".join(f"{p} ({g})" for p, g in wi.carried_by[a]))
        for a in wi.arms[1:]:
            dep = wi.attribution[a]["depression"]
            parts = sorted(dep.items(), key=lambda kv: -abs(kv[1][0]))
            console.print(f"[bold]{a}[/]: change in log depression drive by pathway: "
                          + ", ".join(f"{k} {v[0]:+.3f}" for k, v in parts if abs(v[0]) > 1e-4))
        report["what_if"] = {"weeks": weeks, "draws": wi.n_draws, "outcomes": wi.outcomes, "attribution": wi.attribution,
                             "carried_by": wi.carried_by, "population_uncertainty": wi.population_uncertainty}
    png, html = tw.plot_twin(fit, d, wi, stem)
    _json(stem.with_suffix(".json"), report)
    console.print(f"written: {png}, {html}, {stem.with_suffix('.json')}")
    console.print(f"[dim]{DISCLAIMER}[/]")


def register(app: typer.Typer) -> None:
    app.command("sensitivity")(sensitivity)
    app.command("bistability")(bistability)
    app.add_typer(twin_app, name="twin")
