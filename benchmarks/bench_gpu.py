"""JAX backend: a batch of patients on the GPU (vmap), if one is visible; else a JSON saying so.

Usage: python benchmarks/bench_gpu.py [--batches 1,64,512] [--days 180]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batches", default="1,64,512")
    ap.add_argument("--days", type=float, default=180.0)
    ap.add_argument("--scenario", default="healthy-baseline")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-8)
    a = ap.parse_args(argv)
    try:
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
    except Exception as exc:
        write("gpu", {"gpu_available": False, "reason": f"jax unavailable: {exc}"})
        return
    if not gpus:
        write("gpu", {"gpu_available": False, "reason": "no GPU visible to JAX on this machine; nothing was run",
                      "jax_devices": [str(d) for d in jax.devices()]})
        return
    import gutbrain
    from gutbrain.cohort import sample_patients
    from gutbrain.scenarios import get
    from gutbrain.solvers.jax_backend import integrate_batch

    model = gutbrain.load_model()
    scen = get(a.scenario)
    schedule = scen.schedule(a.days)
    ts = np.linspace(0.0, a.days * 24.0, int(round(a.days)) + 1)
    rows = []
    for b in [int(x) for x in a.batches.split(",")]:
        pats = sample_patients(model, b, seed=0)
        y0 = np.stack([m.y0 for m in pats])  # from the nominal state: the timing is of the batched integration
        ps = np.stack([m.param_vector for m in pats])
        t0 = time.perf_counter()
        _ys, ok, _ = integrate_batch(model.structure, y0, ps, schedule, ts, rtol=a.rtol, atol=a.atol * model.state_scales)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        _ys, ok, _ = integrate_batch(model.structure, y0, ps, schedule, ts, rtol=a.rtol, atol=a.atol * model.state_scales)
        second = time.perf_counter() - t0
        rows.append({"batch": b, "first_call_s_incl_compile": round(first, 2), "second_call_s": round(second, 2),
                     "patients_per_s": round(b / second, 2), "ok": int(np.sum(ok))})
        print(rows[-1], flush=True)
    write("gpu", {"gpu_available": True, "devices": [str(d) for d in gpus], "days": a.days, "scenario": a.scenario,
                  "rtol": a.rtol, "atol": a.atol, "results": rows})


if __name__ == "__main__":
    main()
