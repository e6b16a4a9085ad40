"""Throughput per CPU core: gutbrain's fastest CPU path vs libroadrunner (CVODE) on the exported SBML.

Both engines simulate the same virtual patients from the same day-0 state (gutbrain's 28-day
warm-up) under the same scenario (three meals a day: one SBML event per input switch), with
the same tolerances (rtol; atol scaled per state by its typical magnitude) on the same daily
output grid, one patient at a time on one core. Reported:

* patients/s per core for gutbrain's fastest CPU path (the default ``BDF-split``: SciPy's BDF
  compiled end to end with numba, analytic Jacobian, run on the glucose block and then on the
  rest of the model) on the 180-day horizon, with and without its warm-up, and for ``BDF-numba``
  (the same BDF on the whole model) and LSODA (``odeint`` + numba RHS) in the same run;
  libroadrunner's simulate time and its
  load (SBML parse + LLVM JIT) time, which a cohort pays per patient unless it reuses one
  loaded model and changes parameters;
* agreement: max over patients and days of |x_rr - x_gb| / max(|x_gb|, 1e-6 * max|x_gb|) for
  each main observable;
* where gutbrain's time goes: the solver counters per simulated day (steps, RHS evaluations,
  Jacobians, LU factorisations) and a cProfile of one patient (the compiled loop is one entry).

Usage: python benchmarks/bench_throughput.py [--patients 3] [--days 180] [--scenario healthy-baseline]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write

MAIN = ("gad7", "phq9", "cortisol_nmol", "CORT", "CRP", "IL6", "lm_ratio", "plasma_endotoxin", "portal_butyrate", "glucose",
        "hrv_rmssd", "beneficial", "kyn_trp")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=3)
    ap.add_argument("--days", type=float, default=180.0)
    ap.add_argument("--warmup-days", type=float, default=28.0)
    ap.add_argument("--scenario", default="healthy-baseline")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="throughput")
    a = ap.parse_args(argv)

    import gutbrain
    from gutbrain.cohort import sample_patients
    from gutbrain.scenarios import get
    from gutbrain.simulation import observables, simulate
    from gutbrain.solvers.scipy_backend import integrate, rhs_and_jacobian

    model = gutbrain.load_model()
    scen = get(a.scenario)
    patients = sample_patients(model, a.patients, seed=a.seed)
    schedule = scen.schedule(a.days)
    ts = np.linspace(0.0, a.days * 24.0, int(round(a.days)) + 1)  # daily grid (h)
    atol_v = a.atol * model.state_scales
    settings = {"scenario": scen.name, "meals_per_day": len(scen.meals), "n_switches": int(len(schedule.times) - 1),
                "days": a.days, "warmup_days": a.warmup_days, "rtol": a.rtol, "atol": a.atol,
                "atol_per_state": "atol * state typical magnitude (both engines)", "output_grid": "daily (every 24 h)",
                "patients": a.patients, "seed": a.seed, "cores_used": 1,
                "model": {"states": len(model.state_names), "parameters": len(model.parameters),
                          "structure_digest": model.structure.digest}}

    t0 = time.perf_counter()
    rhs_and_jacobian(model.structure)
    jit_s = time.perf_counter() - t0

    # gutbrain: warm-up (same start for both engines), then the timed 180-day integration
    gb_s, gb_warm_s, y0s, gb_obs, lsoda_s, whole_s = [], [], [], [], [], []
    for m in patients:
        t0 = time.perf_counter()
        warm = simulate(m, scen.baseline(), days=a.warmup_days, warmup_days=0.0, output_every=24.0 * a.warmup_days,
                        rtol=a.rtol, atol=a.atol)  # the warm-up simulate() runs before day 0
        y0 = np.array([float(warm[s].values[-1]) for s in m.state_names])
        gb_warm_s.append(time.perf_counter() - t0)
        y0s.append(y0)
        t0 = time.perf_counter()
        ys = integrate(m.structure, y0, m.param_vector, schedule, ts, rtol=a.rtol, atol=atol_v)
        gb_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        integrate(m.structure, y0, m.param_vector, schedule, ts, rtol=a.rtol, atol=atol_v, method="LSODA")
        lsoda_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        integrate(m.structure, y0, m.param_vector, schedule, ts, rtol=a.rtol, atol=atol_v, method="BDF-numba")
        whole_s.append(time.perf_counter() - t0)
        obs = observables(m, ts, ys, schedule)
        obs.update({s: ys[:, j] for j, s in enumerate(m.state_names)})
        gb_obs.append(obs)
    from gutbrain.solvers import split

    _, counters = split.integrate(patients[0].structure, y0s[0], patients[0].param_vector, schedule, ts, rtol=a.rtol,
                                      atol=atol_v, return_stats=True)
    per_day = {k: round(v / a.days, 1) for k, v in counters.items()}
    prof = cProfile.Profile()
    prof.enable()
    integrate(patients[0].structure, y0s[0], patients[0].param_vector, schedule, ts, rtol=a.rtol, atol=atol_v)
    prof.disable()
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    st.sort_stats("tottime").print_stats(12)
    total_prof = sum(v[2] for v in st.stats.values())
    top = sorted(((v[2], v[3], v[1], k) for k, v in st.stats.items()), reverse=True)[:12]
    profile = [{"function": f"{Path(k[0]).name}:{k[1]}({k[2]})", "tottime_s": round(tt, 4), "cumtime_s": round(ct, 4),
                "calls": nc, "share_of_total": round(tt / total_prof, 3)} for tt, ct, nc, k in top]

    gb = {"engine": "gutbrain scipy backend, default method BDF-split: SciPy's BDF/NDF compiled end to end with numba "
                    "(analytic Jacobian), glucose block day by day (repeated days reused), then the rest of the model "
                    "with the glucose coupling interpolated; each block restarted at switches of its own inputs",
          "solver_counters_per_day": per_day,
          "bdf_numba_simulate_s_per_patient": [round(x, 3) for x in whole_s],
          "bdf_numba_patients_per_s_per_core": a.patients / sum(whole_s),
          "lsoda_simulate_s_per_patient": [round(x, 3) for x in lsoda_s],
          "lsoda_patients_per_s_per_core": a.patients / sum(lsoda_s),
          "jit_load_s": round(jit_s, 3), "simulate_s_per_patient": [round(x, 3) for x in gb_s],
          "warmup_s_per_patient": [round(x, 3) for x in gb_warm_s],
          "patients_per_s_per_core": a.patients / sum(gb_s),
          "patients_per_s_per_core_incl_warmup": a.patients / (sum(gb_s) + sum(gb_warm_s)),
          "profile_top_by_tottime": profile, "profile_total_s": round(total_prof, 3)}
    out = {"settings": settings, "gutbrain": gb}

    # libroadrunner on the exported SBML
    try:
        from gutbrain import sbml as gsbml

        to_sbml, rr_sim = gsbml.to_sbml, gsbml.roadrunner_simulate
    except Exception as exc:  # the exporter is optional / may be unfinished
        out["roadrunner"] = {"available": False, "reason": f"SBML exporter not available: {type(exc).__name__}: {exc}"}
        out["ratio"] = None
        write(a.name, out)
        return out
    rr_sim_s, rr_load_s, export_s, dev = [], [], [], {}
    try:
        for m, y0, ref in zip(patients, y0s, gb_obs, strict=True):
            t0 = time.perf_counter()
            xml = to_sbml(m, scen, days=a.days, initial_state=y0)
            export_s.append(time.perf_counter() - t0)
            t_rr, vals, timing = rr_sim(xml, m, a.days, output_every=24.0, rtol=a.rtol, atol=a.atol)
            rr_sim_s.append(timing["simulate_s"])
            rr_load_s.append(timing["load_s"])
            assert np.allclose(t_rr, ts), "different output grids"
            for k in MAIN:
                if k not in vals or k not in ref:
                    continue
                x, r = np.asarray(vals[k]), np.asarray(ref[k])
                err = np.abs(x - r) / np.maximum(np.abs(r), 1e-6 * (np.max(np.abs(r)) or 1.0))
                dev[k] = max(dev.get(k, 0.0), float(np.max(np.where(np.isfinite(err), err, np.inf))))
    except Exception as exc:
        out["roadrunner"] = {"available": False, "reason": f"roadrunner run failed: {type(exc).__name__}: {exc}"}
        out["ratio"] = None
        write(a.name, out)
        return out
    rr = {"engine": "libroadrunner CVODE (BDF, stiff) on gutbrain.sbml.to_sbml export; one SBML event per input switch",
          "export_s_per_patient": [round(x, 3) for x in export_s], "load_s_per_patient": [round(x, 3) for x in rr_load_s],
          "simulate_s_per_patient": [round(x, 3) for x in rr_sim_s],
          "patients_per_s_per_core": a.patients / sum(rr_sim_s),
          "patients_per_s_per_core_incl_load": a.patients / (sum(rr_sim_s) + sum(rr_load_s))}
    out["roadrunner"] = rr
    out["ratio"] = {"gutbrain_over_roadrunner_simulate_only": gb["patients_per_s_per_core"] / rr["patients_per_s_per_core"],
                    "gutbrain_over_roadrunner_incl_load": gb["patients_per_s_per_core"] / rr["patients_per_s_per_core_incl_load"],
                    "target": ">= 3 with agreement within 2 %"}
    out["agreement_max_rel_dev"] = dev
    out["agreement_worst"] = max(dev.items(), key=lambda kv: kv[1]) if dev else None
    out["agreement_within_2pct"] = bool(dev) and all(v <= 0.02 for v in dev.values())
    write(a.name, out)
    print(f"gutbrain {gb['patients_per_s_per_core']:.3f} patients/s/core; roadrunner {rr['patients_per_s_per_core']:.3f} "
          f"(incl. load {rr['patients_per_s_per_core_incl_load']:.3f}); ratio {out['ratio']}; worst dev {out['agreement_worst']}")
    return out


if __name__ == "__main__":
    main()
