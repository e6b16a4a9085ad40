"""Wall time and peak memory of cohort runs of increasing size (streamed to a Zarr store).

Each size runs in a fresh Python process (``Cohort.run`` with the local process pool); this
script samples the resident memory (RSS) of that process and of all its worker processes
every 0.1 s and records the peak of the client process and of the whole process tree.

Usage::

    python benchmarks/bench_scaling.py --sizes 1000,10000,100000 --days 180 --workers 16
    python benchmarks/bench_scaling.py --sizes 100,1000,3000 --days 2 --warmup-days 0.5   # ~2 min on 2 cores

A run too long for one sitting can go in segments: with ``--store PATH`` the store is kept, a re-run of
the same command resumes it (``Cohort.run`` skips complete chunks), and each segment is appended to
the JSON's ``segments`` (its wall time, chunks simulated and skipped, peak memory)::

    python benchmarks/bench_scaling.py --sizes 100000 --days 180 --warmup-days 28 --output-every 24 \
        --rtol 1e-4 --store /data/s100k.zarr --name scaling_180d_100k

Memory is expected to be flat in ``n`` apart from the parameter matrix sampled once when the
store is created (``n x n_params x 8`` bytes, ~2 kB per patient) and the coordinates.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from _common import RESULTS, write

CHILD = r"""
import json, sys, time
import gutbrain
from gutbrain.cohort import Cohort
a = json.loads(sys.argv[1])
t0 = time.perf_counter()
r = Cohort(gutbrain.load_model(), n=a["n"], seed=0).run(a["scenario"], days=a["days"], warmup_days=a["warmup_days"],
        store=a["store"], chunk=a["chunk"], workers=a["workers"], reduce=a["reduce"], output_every=a["output_every"],
        rtol=a["rtol"], atol=a["rtol"] * 1e-2)
wall = time.perf_counter() - t0
status = r.open()["status"].values.astype(str)  # the whole store, earlier segments included
print(json.dumps({"wall_s": wall, "n_ok": r.n_ok, "n_failed": r.n_failed, "chunk": r.chunk,
                  "n_chunks": r.n_chunks, "chunks_run": r.chunks_run, "chunks_skipped": r.chunks_skipped,
                  "store_ok": int((status == "ok").sum()), "store_failed": int((status == "failed").sum())}))
"""


def _tree_rss(proc) -> tuple[int, int]:
    import psutil

    try:
        main = proc.memory_info().rss
        kids = 0
        for c in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                kids += c.memory_info().rss
        return main, main + kids
    except psutil.Error:
        return 0, 0


def _partial(args) -> Path:
    return RESULTS / f"{args.name}.partial.json"


def run_one(n, args, tmp) -> dict:
    import psutil

    store = Path(args.store) if args.store else Path(tmp) / f"n{n}.zarr"
    spec = {"n": n, "scenario": args.scenario, "days": args.days, "warmup_days": args.warmup_days, "store": str(store),
            "chunk": args.chunk and min(args.chunk, n), "workers": args.workers, "reduce": args.reduce,
            "output_every": args.output_every, "rtol": args.rtol}
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(spec)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(p.pid)
    peak_main = peak_tree = 0
    last = time.perf_counter()
    while p.poll() is None:
        m, t = _tree_rss(ps)
        peak_main, peak_tree = max(peak_main, m), max(peak_tree, t)
        time.sleep(0.1)
        if args.store and time.perf_counter() - last > 10:  # a segment killed with this process still counts
            last = time.perf_counter()
            _partial(args).write_text(json.dumps({"n": n, "interrupted": True, "run_wall_s": round(last - t0, 2),
                                                  "peak_rss_client_mib": round(peak_main / 2**20, 1),
                                                  "peak_rss_tree_mib": round(peak_tree / 2**20, 1), "n_ok": 0, "n_failed": 0}))
    out, err = p.communicate()
    if args.store:
        _partial(args).unlink(missing_ok=True)  # this segment reports itself below
    if p.returncode != 0:
        raise RuntimeError(f"n={n} failed:\n{err[-3000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
    if not args.store:
        shutil.rmtree(store, ignore_errors=True)
    done = res["n_ok"] + res["n_failed"]  # patients simulated by this process (all of them unless resumed)
    return {"n": n, "process_wall_s": round(time.perf_counter() - t0, 2), "run_wall_s": round(res["wall_s"], 2),
            "patients_per_s": round(done / res["wall_s"], 2),
            "patients_per_s_per_worker": round(done / res["wall_s"] / args.workers, 2),
            "chunks_run": res["chunks_run"], "chunks_skipped": res["chunks_skipped"], "store_ok": res["store_ok"],
            "store_failed": res["store_failed"],
            "peak_rss_client_mib": round(peak_main / 2**20, 1), "peak_rss_tree_mib": round(peak_tree / 2**20, 1),
            "store_mib": round(size / 2**20, 2), "n_ok": res["n_ok"], "n_failed": res["n_failed"],
            "chunk": res["chunk"], "n_chunks": res["n_chunks"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000,3000")
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--warmup-days", type=float, default=0.5)
    ap.add_argument("--scenario", default="western-diet")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=None)
    ap.add_argument("--reduce", default="daily")
    ap.add_argument("--output-every", type=float, default=1.0)
    ap.add_argument("--rtol", type=float, default=1e-6, help="solver rtol (atol = rtol / 100 x state scales)")
    ap.add_argument("--store", default=None, help="keep the store here and resume it on a re-run (one size only)")
    ap.add_argument("--name", default="scaling")
    a = ap.parse_args(argv)
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    if a.store and len(sizes) != 1:
        ap.error("--store takes exactly one size")
    rows = []
    # segments killed before they could report (their patients are in the store), kept on disk until the run completes
    killed = RESULTS / f"{a.name}.segments.partial.json"
    interrupted = json.loads(killed.read_text()) if a.store and killed.exists() else []
    if a.store and _partial(a).exists():
        interrupted.append(json.loads(_partial(a).read_text()))
        killed.write_text(json.dumps(interrupted))
        _partial(a).unlink()
    with tempfile.TemporaryDirectory(prefix="gutbrain-scaling-") as tmp:
        for n in sizes:
            row = run_one(n, a, tmp)
            print(row, flush=True)
            rows.append(row)
    payload = {"what_was_run": {"sizes": sizes, "scenario": a.scenario, "days": a.days, "warmup_days": a.warmup_days,
                                "workers": a.workers, "executor": "local (process pool)", "reduce": a.reduce,
                                "output_every_h": a.output_every, "outputs": "default main read-outs (12)", "rtol": a.rtol,
                                "atol": "rtol / 100 x each state's typical magnitude"},
               "results": rows}
    if a.store:  # one more segment of a resumable run: keep the earlier segments
        prev = RESULTS / f"{a.name}.json"
        segments = json.loads(prev.read_text()).get("segments", []) if prev.exists() else []
        segments += interrupted
        payload["segments"] = segments + rows
        payload["results"] = [{"n": sizes[0], "segments": len(payload["segments"]),
                               "run_wall_s": round(sum(r["run_wall_s"] for r in payload["segments"]), 2),
                               "peak_rss_client_mib": max(r["peak_rss_client_mib"] for r in payload["segments"]),
                               "peak_rss_tree_mib": max(r["peak_rss_tree_mib"] for r in payload["segments"]),
                               "n_ok": rows[-1]["store_ok"], "n_failed": rows[-1]["store_failed"],
                               "store_mib": rows[-1]["store_mib"]}]
        payload["results"][0]["complete"] = rows[-1]["store_ok"] + rows[-1]["store_failed"] == sizes[0]
        payload["results"][0]["patients_per_s"] = round(sizes[0] / payload["results"][0]["run_wall_s"], 2)
    write(a.name, payload)
    if a.store:
        killed.unlink(missing_ok=True)  # now in the JSON's segments


if __name__ == "__main__":
    main()
