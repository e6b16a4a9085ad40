"""The calibration report: every target, the model's value, tolerance, pass/miss, plots, fitted parameters.

``write_report(out_dir, model=None, cohort_n=1000, second_seed=None)`` writes ``calibration.md``,
``calibration.html``, ``calibration.json`` and PNG plots (cytokine curves over the data with the 20 subjects, the 24-h
cortisol curve). Cohort targets carry a 95 % bootstrap CI and, with ``second_seed``, their value, verdict
and CI on a second virtual cohort. Fitted parameters are listed with their bounds and flagged when they sit on a bound;
identifiability hints come from the rank of the sensitivity (Fisher-information) matrix of the
module fits.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import DISCLAIMER
from ..model.assemble import Model
from ..plotting import save_png
from . import cortisol as cortisol_fit
from . import endotoxin as endotoxin_fit
from .data import cortisol_24h, endotoxin_subjects, endotoxin_summary
from .targets import bolus_metrics, cortisol_metrics, evaluate

#: parameters set by gutbrain's own fits (module step), with the data they were fitted to
FITTED = {**{k: "24-h cortisol curve (Carroll 2007) + awakening response (T05)" for k in cortisol_fit.FITTED},
          **{k: "2 ng/kg endotoxin bolus, TNF/IL-6/IL-8/IL-10 means, and dose-response targets T23-T28" for k in endotoxin_fit.JOINT_FITTED},
          "a_perm_mc": "L/M under public-speech stress (T07)",
          "k_recolonise": "recovery after antibiotics (T17), one-dimensional scan",
          "K_phq9": "PHQ-9 distribution of the virtual cross-section (T30/T31), grid with n_phq9",
          "n_phq9": "PHQ-9 distribution of the virtual cross-section (T30/T31), grid with K_phq9",
          "dep_vulnerability": "its prior width only (T20-T22, T30/T31), three widths compared",
          "g_gaba_pro": "probiotic effect on anxiety (T19), scaled with v_probiotic",
          "v_probiotic": "probiotic effect on anxiety (T19), scaled with g_gaba_pro"}


def _plots(model: Model, out: Path, bolus: dict, cort: dict) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    subj = endotoxin_subjects()
    summ = endotoxin_summary()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for ax, c in zip(axes.flat, ("TNF", "IL6", "IL8", "IL10"), strict=True):
        t = summ[c]["time"]
        for row in subj[c]:
            ax.plot(t, row, color="#bbb", lw=0.6)
        ax.errorbar(t, summ[c]["mean"], yerr=summ[c]["sd"], fmt="o", color="k", label="data mean ± SD (n=20)")
        ax.plot(bolus[c]["t"], bolus[c]["y"], color="#c0392b", lw=2, label="model (reference patient)")
        ax.set_title(f"{c} (pg/mL) — {'PASS' if bolus[c]['passed'] else 'MISS'}")
        ax.set_xlim(-0.2, 6.5)
        ax.set_xlabel("hours after 2 ng/kg endotoxin")
    axes.flat[0].legend(fontsize=7)
    save_png(fig, out / "cytokines.png")
    names.append("cytokines.png")
    th, ch = cortisol_24h()
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(th, ch, "k.", ms=3, label="Carroll et al. 2007 healthy mean (10 min)")
    ax.plot(cort["h"], cort["c"], color="#2a6f97", lw=2, label="model, day 2 of healthy-baseline")
    ax.set_xlabel("clock time (h)")
    ax.set_ylabel("plasma cortisol (ug/dL)")
    ax.set_title(f"24-h cortisol: RMSE {cort['rmse']:.2f} ug/dL, r {cort['r']:.3f}")
    ax.legend(fontsize=8)
    save_png(fig, out / "cortisol.png")
    names.append("cortisol.png")
    return names


def identifiability(model: Model, reference_state: dict[str, float]) -> dict[str, dict]:
    """Rank and condition number of the log-parameter sensitivity matrix of the immune joint fit.

    Columns: the change of the joint residuals (bolus curves and T23-T28, full model) per unit
    change of each fitted parameter's log, by a 1 % forward step.
    """
    out = {}
    names = endotoxin_fit.JOINT_FITTED
    p = model.parameters
    base = endotoxin_fit.joint_residuals(model)
    cols = []
    for k in names:
        step = 1.01 if p[k].value * 1.01 <= p[k].upper else 1 / 1.01
        cols.append((endotoxin_fit.joint_residuals(model.with_params({k: p[k].value * step})) - base) / np.log(step))
    s = np.linalg.svd(np.array(cols).T, compute_uv=False)
    tol = s[0] * 1e-3
    out["immune"] = {"parameters": len(names), "numerical_rank": int((s > tol).sum()), "condition_number": float(s[0] / s[-1])}
    return out


def write_report(out_dir: str | Path, model: Model | None = None, *, cohort_n: int = 1000, seed: int = 0, workers: int = 2,
                 second_seed: int | None = None) -> dict:
    """Evaluate every target and write the report; ``second_seed`` recomputes the cohort targets on a second cohort."""
    from .. import load_model
    from ..simulation import simulate

    model = model or load_model()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = evaluate(model, cohort_n=cohort_n, seed=seed, workers=workers, second_seed=second_seed)
    bolus = bolus_metrics(model)
    cort = cortisol_metrics(model)
    ref = simulate(model, "healthy-baseline", days=1, output_every=1.0)
    ref_state = {n: float(ref[n].sel(time=8 / 24, method="nearest")) for n in model.state_names}
    ident = identifiability(model, ref_state)
    plots = _plots(model, out, bolus, cort)
    fitted = []
    for k, why in FITTED.items():
        p = model.parameters[k]
        on_bound = min(p.value - p.lower, p.upper - p.value) <= 1e-3 * max(abs(p.value), 1e-12)
        fitted.append({"name": k, "value": p.value, "unit": p.unit, "lower": p.lower, "upper": p.upper, "grade": p.grade,
                       "on_bound": bool(on_bound), "fitted_to": why})
    outside = [k for k, p in model.parameters.items() if not p.lower <= p.value <= p.upper]
    n_pass = sum(r.passed for r in results)
    summary = {"gutbrain_version": __version__, "parameter_hash": model.param_hash, "cohort_n": cohort_n, "seed": seed,
               "targets_passed": n_pass, "targets_total": len(results), **seed_summary(results), "bolus_cytokines_passed": sum(b["passed"] for b in bolus.values()),
               "cortisol_curve": {"rmse": cort["rmse"], "r": cort["r"], "passed": bool(cort["rmse"] <= 1.5 and cort["r"] >= 0.9)},
               "parameters_outside_bounds": outside, "identifiability": ident, "elapsed_s": round(time.perf_counter() - started, 1)}
    payload = {"summary": summary, "targets": [r.to_dict() for r in results], "fitted": fitted,
               "bolus": {c: {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in b.items() if k not in ("t", "y")}
                         for c, b in bolus.items()}, "disclaimer": DISCLAIMER}
    (out / "calibration.json").write_text(json.dumps(payload, indent=2, default=float))
    md = _markdown(summary, results, bolus, fitted, plots)
    (out / "calibration.md").write_text(md)
    (out / "calibration.html").write_text(_html(md))
    return payload


def seed_summary(results) -> dict:
    """The second seed in the summary: its seed, targets passed on it, and the targets whose verdict differs."""
    second = [r for r in results if r.second_seed is not None]
    if not second:
        return {"second_seed": None, "targets_passed_second_seed": None, "verdict_differs": [], "same_verdicts_on_both_seeds": None}
    # targets without a second value (the reference-patient ones) do not depend on the seed: same verdict
    passed2 = sum(r.second_seed["passed"] if r.second_seed is not None else r.passed for r in results)
    differs = [r.id for r in second if r.second_seed["passed"] != r.passed]
    return {"second_seed": second[0].second_seed["seed"], "targets_passed_second_seed": passed2,
            "verdict_differs": differs, "same_verdicts_on_both_seeds": not differs}


def _fmt(v) -> str:
    return v if isinstance(v, str) else f"{v:.4g}"


def _ci(ci) -> str:
    if ci is None:
        return "–"
    if not all(np.isfinite(ci)):
        return "none (too many degenerate resamples)"
    return f"{ci[0]:.3g} to {ci[1]:.3g}"


def _second(r) -> str:
    s = r.second_seed
    if s is None:
        return "–"
    ci = "" if s["ci"] is None else f", CI {_ci(s['ci'])}"
    return f"{_fmt(s['value'])}, {'PASS' if s['passed'] else '**MISS**'}{ci}"


#: the scale of each cohort effect size (the targets' sources, data/calibration_targets.csv, are quoted in the table)
SCALES = (
    "Scale of the cohort effect sizes. T18 and T19 (Liu, Walsh & Sheehan 2019): Cohen's d of the week-8 PHQ-9 and GAD-7 "
    "scores (score points over the pooled SD of the two arms), with a paired bootstrap, as every virtual patient is in both "
    "arms. T20 (Stetler & Miller 2011): Cohen's d of 08:00 plasma cortisol in µg/dL. T21 (IL-6) and T22 (CRP) (Osimo et al. "
    "2020): Hedges' g on the raw concentration scale (pg/mL, mg/L). The targets' source text gives the pooled g and its 95 % CI "
    "but does not say on which scale the studies' differences were standardised; the raw scale is used because the source pools "
    "means and SDs as reported. As a sensitivity, the Hedges' g of the log concentrations is given in the \"how computed\" "
    "column of T21 and T22. T20-T22 use an unpaired bootstrap within each group (depressed, not depressed).")


def _seed_line(summary) -> list[str]:
    if summary.get("second_seed") is None:
        return []
    differs = summary["verdict_differs"]
    return [f"Second seed {summary['second_seed']} (the cohort targets recomputed on a second virtual cohort of the same size; "
            f"the reference-patient targets do not depend on the seed): **{summary['targets_passed']} of {summary['targets_total']} "
            f"targets pass on seed {summary['seed']}, {summary['targets_passed_second_seed']} of {summary['targets_total']} on seed "
            f"{summary['second_seed']}.** Same pass/miss list on both seeds: {'yes' if not differs else 'no'}"
            + ("." if not differs else f" (verdict differs: {', '.join(differs)})."), ""]


def _markdown(summary, results, bolus, fitted, plots) -> str:
    lines = ["# gutbrain calibration report", "", f"> {DISCLAIMER}", "",
             f"gutbrain {summary['gutbrain_version']}, parameter set `{summary['parameter_hash']}`, cohort targets on "
             f"{summary['cohort_n']} virtual patients (seed {summary['seed']}); generated in {summary['elapsed_s']} s.", "",
             f"**Scalar targets passed: {summary['targets_passed']} of {summary['targets_total']}.** "
             f"Endotoxin-bolus cytokines meeting all tolerances: {summary['bolus_cytokines_passed']} of 4. "
             f"24-h cortisol: RMSE {summary['cortisol_curve']['rmse']:.2f} ug/dL, r {summary['cortisol_curve']['r']:.3f} "
             f"({'pass' if summary['cortisol_curve']['passed'] else 'miss'}; tolerance RMSE <= 1.5, r >= 0.9). "
             f"Parameters outside their bounds: {len(summary['parameters_outside_bounds'])}.", "",
             *_seed_line(summary),
             "## Scalar targets", "",
             "Cohort targets pass or miss on their point estimate; the 95 % CI (percentile bootstrap, 2000 resamples) is reported "
             "with it, as the literature reports its targets, and is not used for the verdict.", "",
             "| id | quantity | target | tolerance | model | result | 95 % CI | second seed (value, result, CI) | how computed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.id} | {r.quantity} | {r.target} {r.unit} | {r.tolerance} | {_fmt(r.value)} | {'PASS' if r.passed else '**MISS**'} | "
                     f"{_ci(r.ci)} | {_second(r)} | {r.how} |")
    if any(r.id in ("T18", "T19", "T20", "T21", "T22") for r in results):
        lines += ["", SCALES]
    lines += ["", "## Endotoxin bolus (2 ng/kg)", "", "| cytokine | within 1 SD (of 8) | peak time model / data (h) | peak model / data (pg/mL) | baseline model / data | result |",
              "|---|---|---|---|---|---|"]
    for c, b in bolus.items():
        lines.append(f"| {c} | {b['within_1sd']} | {b['peak_time']:.2f} / {b['data_peak_time']:.2f} | {b['peak']:.1f} / {b['data_peak']:.1f} | "
                     f"{b['baseline']:.2f} / {b['data_baseline']:.2f} | {'PASS' if b['passed'] else '**MISS**'} |")
    lines += ["", f"![cytokines]({plots[0]})", "", f"![cortisol]({plots[1]})", "", "## Fitted parameters", "",
              "| parameter | value | unit | bounds | grade | on a bound | fitted to |", "|---|---|---|---|---|---|---|"]
    for f in fitted:
        lines.append(f"| {f['name']} | {f['value']:.4g} | {f['unit']} | [{f['lower']:.4g}, {f['upper']:.4g}] | {f['grade']} | "
                     f"{'**yes**' if f['on_bound'] else 'no'} | {f['fitted_to']} |")
    ident = summary["identifiability"]["immune"]
    lines += ["", "## Identifiability", "",
              f"Immune-module fit: {ident['parameters']} parameters, numerical rank of the log-sensitivity matrix {ident['numerical_rank']} "
              f"(singular values above 1e-3 of the largest), condition number {ident['condition_number']:.3g}. A rank below the number of "
              "parameters means some fitted parameters trade off against each other and are not separately identifiable from the "
              "bolus means alone; their values are one point of a valley, and their evidence grade stays as tabulated.", "",
              "Everything the model says beyond these targets is a prediction, not a fit.", ""]
    return "\n".join(lines)


def _html(md: str) -> str:
    body = []
    in_table = False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-"):
                continue
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<td>{html.escape(c).replace('**', '')}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("> "):
            body.append(f"<p class='disclaimer'><strong>{html.escape(line[2:])}</strong></p>")
        elif line.startswith("!["):
            src = line[line.index("(") + 1:-1]
            body.append(f"<img src='{html.escape(src)}' alt='{html.escape(src)}' style='max-width:100%'>")
        elif line.strip():
            body.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    if in_table:
        body.append("</table>")
    style = "body{font-family:sans-serif;max-width:1100px;margin:auto} td{border:1px solid #ccc;padding:3px;font-size:13px} table{border-collapse:collapse}"
    return f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>gutbrain calibration</title><style>{style}</style></head><body>{''.join(body)}</body></html>"
