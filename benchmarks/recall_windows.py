"""How closely an Erlang chain follows a questionnaire's boxcar recall window (docs/design.md, "Symptom scores").

A score that asks about the last W days is, read literally, the trailing boxcar mean of the
instantaneous state measure over [t - W, t]. gutbrain carries instead a linear chain of n
first-order stages with total mean delay W/2 (the boxcar's mean lag), so that the score is a model
state. This script measures the difference between the two, for n = 1..6:

* closed form: a unit step (max |Erlang CDF - ramp|, and its integral in days) and a daily
  oscillation (the chain's gain at a 24-hour period; an integer-day boxcar's is exactly 0);
* on the model: the state measures under ``chronic-work-stress`` (stress step on at day 14 and
  off at day 98, daily 08:00-19:00 stressor in between) and ``stress-then-recovery`` (a continuous
  8-week stressor), filtered offline through each chain and compared with the exact trailing boxcar
  (max abs difference in points over the run; max within-day swing during the stressor). The
  offline n = 3 chain is checked against the model's own states.

Usage: python benchmarks/recall_windows.py [--out benchmarks/results/recall_windows.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import signal
from scipy.stats import gamma

import gutbrain
from gutbrain.model.scores import N_STAGES

WINDOWS = {"gad7": 14.0, "phq9": 14.0, "gi_symptoms": 7.0}
NS = (1, 2, 3, 4, 5, 6)


def boxcar(t_d: np.ndarray, x: np.ndarray, w: float) -> np.ndarray:
    """Exact trailing mean over [t - w, t] of the piecewise-linear interpolant of x (x before t[0] = x[0])."""
    c = np.concatenate([[0.0], np.cumsum(np.diff(t_d) * (x[1:] + x[:-1]) / 2)])
    lo = t_d - w
    before = np.clip(t_d[0] - lo, 0, None) * x[0]
    return (c - np.interp(np.maximum(lo, t_d[0]), t_d, c) + before) / w


def chain(t_d: np.ndarray, x: np.ndarray, n: int, mean_d: float) -> np.ndarray:
    """Output of n first-order stages (time constant mean_d / n) driven by x, starting at steady state x[0]."""
    tau = mean_d / n
    sys_ = signal.lti([1.0], np.poly1d([tau, 1.0]) ** n)
    ss = signal.StateSpace(sys_)
    x0 = np.linalg.solve(-ss.A, ss.B[:, 0] * x[0])
    return signal.lsim(ss, x, t_d, X0=x0, interp=True)[1]


def closed_form() -> dict:
    t = np.linspace(0, 60, 60001)
    out = {}
    for n in NS:
        for w in (14.0, 7.0):
            tau = w / 2 / n
            err = gamma.cdf(t, n, scale=tau) - np.clip(t / w, 0, 1)
            out[f"n{n}_W{w:g}"] = {"step_max_err_fraction": float(np.max(np.abs(err))),
                                  "step_integrated_err_days": float(np.trapezoid(np.abs(err), t)),
                                  "daily_gain": float((1 + (2 * np.pi * tau) ** 2) ** (-n / 2)),
                                  "remaining_7d_after_step_down": float(gamma.sf(7.0, n, scale=tau))}
    return out


def on_model() -> dict:
    model = gutbrain.load_model()
    res = {}
    runs = {"chronic-work-stress": (112, 14, 98), "stress-then-recovery": (91, 7, 63)}
    for scen, (days, on, off) in runs.items():
        ds = gutbrain.simulate(model, scen, days=days, output_every=0.25)
        t = ds.time.values
        for score, w in WINDOWS.items():
            x = ds[f"{score}_state"].values
            box = boxcar(t, x, w)
            ok = t >= w  # a full window of simulated (not extrapolated) values
            during = (t >= on + 14) & (t < off)
            row = {"model_chain_vs_offline_n3": float(np.max(np.abs(ds[score].values - chain(t, x, N_STAGES, w / 2))))}
            for n in NS:
                y = chain(t, x, n, w / 2)
                swing = max(np.ptp(y[(t >= d) & (t < d + 1)]) for d in range(on + 14, off))
                row[f"n{n}"] = {"max_abs_err_vs_boxcar": float(np.max(np.abs(y - box)[ok])),
                                "max_abs_err_during_stressor": float(np.max(np.abs(y - box)[during])),
                                "max_within_day_swing": float(swing)}
            row["boxcar_max_within_day_swing"] = float(max(np.ptp(box[(t >= d) & (t < d + 1)]) for d in range(on + 14, off)))
            row["state_max_within_day_swing"] = float(max(np.ptp(x[(t >= d) & (t < d + 1)]) for d in range(on + 14, off)))
            row["state_range"] = [float(x.min()), float(x.max())]
            res[f"{scen}/{score}"] = row
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "recall_windows.json"))
    a = ap.parse_args(argv)
    out = {"closed_form": closed_form(), "model": on_model()}
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    for k, v in out["closed_form"].items():
        print(k, {kk: round(vv, 5) for kk, vv in v.items()})
    for k, v in out["model"].items():
        print(k, f"model-vs-offline n3 {v['model_chain_vs_offline_n3']:.2e}",
              f"state swing {v['state_max_within_day_swing']:.2f} boxcar swing {v['boxcar_max_within_day_swing']:.3f}")
        for n in NS:
            r = v[f"n{n}"]
            print(f"   n={n} max|chain-boxcar| {r['max_abs_err_vs_boxcar']:.3f} (during stressor {r['max_abs_err_during_stressor']:.3f}) "
                  f"swing {r['max_within_day_swing']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
