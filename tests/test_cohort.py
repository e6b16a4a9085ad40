"""Virtual cohorts at scale: chunked Zarr stores, resume after SIGKILL, Dask, reductions, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import gutbrain
from gutbrain.cohort import Cohort, open_cohort
from gutbrain.cohort.store import STATS, read_done
from gutbrain.errors import InputError

FAST = {"days": 3.0, "warmup_days": 1.0, "output_every": 6.0}
OUTS = ("gad7", "CRP", "glucose", "CORT")


def _equal_stores(a, b, outputs=OUTS):
    da, db = open_cohort(a), open_cohort(b)
    np.testing.assert_array_equal(da.patient.values, db.patient.values)
    np.testing.assert_array_equal(da.status.values, db.status.values)
    np.testing.assert_array_equal(da.params.values, db.params.values)
    assert (da.done.values == 1).all() and (db.done.values == 1).all()
    for o in outputs:
        np.testing.assert_allclose(da[o].values, db[o].values, rtol=1e-6, atol=1e-9, err_msg=o)


@pytest.fixture(scope="module")
def model():
    return gutbrain.load_model()


# --- (a) SIGKILL mid-run, then resume --------------------------------------------------------
def test_sigkill_then_resume_equals_uninterrupted(model, tmp_path):
    killed = tmp_path / "killed.zarr"
    ref = tmp_path / "ref.zarr"
    args = dict(days=15.0, warmup_days=1.0, output_every=6.0, chunk=2)
    cmd = [sys.executable, "-m", "gutbrain.cli", "cohort", "western-diet", "--n", "12", "--chunk", "2", "--days", "15",
           "--warmup-days", "1", "--output-every", "6", "--workers", "1", "--out", str(killed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    done_at_kill = None
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            if (killed / "zarr.json").exists():
                try:
                    done = read_done(killed, 6)
                except Exception:
                    done = np.zeros(6, bool)
                if done.sum() >= 1:
                    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker process, no clean-up
                    done_at_kill = int(done.sum())
                    break
            time.sleep(0.02)
    finally:
        if proc.poll() is None and done_at_kill is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert done_at_kill is not None, "the run never completed a chunk"
    assert proc.returncode == -signal.SIGKILL
    still = read_done(killed, 6)
    assert 1 <= still.sum() < 6, f"kill came too late ({still.sum()} of 6 chunks done)"
    # resume (same settings as the CLI's defaults) in this process
    res = Cohort(model, n=12, seed=0).run("western-diet", store=killed, executor="serial", **args)
    assert res.chunks_skipped == int(still.sum()) and res.chunks_run == 6 - int(still.sum())
    again = Cohort(model, n=12, seed=0).run("western-diet", store=killed, executor="serial", **args)
    assert again.chunks_run == 0  # nothing complete is recomputed
    Cohort(model, n=12, seed=0).run("western-diet", store=ref, executor="serial", **args)
    _equal_stores(killed, ref, outputs=("gad7", "phq9", "CRP", "glucose", "CORT", "IL6"))
    ds = open_cohort(killed)
    assert list(ds.patient.values) == list(range(12))  # no gaps, no duplicates
    assert set(ds.status.values) == {"ok"}


# --- (b) Dask LocalCluster == local process pool ----------------------------------------------
def test_dask_localcluster_equals_local(model, tmp_path):
    from distributed import LocalCluster

    c = Cohort(model, n=6, seed=2)
    c.run("western-diet", store=tmp_path / "local.zarr", chunk=2, executor="local", workers=2, outputs=OUTS, **FAST)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        r = c.run("western-diet", store=tmp_path / "dask.zarr", chunk=2, executor="dask", scheduler=cluster,
                  outputs=OUTS, **FAST)
    assert r.chunks_run == 3 and r.n_ok == 6
    _equal_stores(tmp_path / "local.zarr", tmp_path / "dask.zarr")


def test_matches_simulate(model, tmp_path):
    from gutbrain.cohort import sample_patients

    r = Cohort(model, n=3, seed=5).run("healthy-baseline", store=tmp_path / "s.zarr", chunk=2, executor="serial",
                                       reduce="none", outputs=OUTS, **FAST)
    ds = r.open()
    ref = gutbrain.simulate(sample_patients(model, 3, seed=5), "healthy-baseline", **FAST)
    for o in OUTS:
        np.testing.assert_allclose(ds[o].values, ref[o].values, rtol=1e-12, atol=0)
    assert ds.attrs["scenario_hash"] == ref.attrs["scenario_hash"]
    assert ds.attrs["structure_digest"] == model.structure.digest
    for k in ("gutbrain_version", "backend", "rtol", "atol", "parameter_hash"):
        assert k in ds.attrs


# --- (c) bad input: clear errors ---------------------------------------------------------------
def test_bad_inputs(model, tmp_path):
    with pytest.raises(InputError, match="n = 0"):
        Cohort(model, n=0)
    c = Cohort(model, n=3)
    with pytest.raises(InputError, match="chunk"):
        c.run("healthy-baseline", store=tmp_path / "a.zarr", chunk=4, **FAST)
    with pytest.raises(InputError, match="scenario"):
        c.run("no-such-scenario", store=tmp_path / "a.zarr", **FAST)
    with pytest.raises(InputError, match="does not exist"):
        c.run("healthy-baseline", store=tmp_path / "missing" / "a.zarr", **FAST)
    with pytest.raises(InputError, match="gad77"):
        c.run("healthy-baseline", store=tmp_path / "a.zarr", outputs=("gad77",), **FAST)
    with pytest.raises(InputError, match="reduce"):
        c.run("healthy-baseline", store=tmp_path / "a.zarr", reduce="weekly", **FAST)
    t0 = time.time()
    with pytest.raises(InputError, match="reachable Dask scheduler"):
        c.run("healthy-baseline", store=tmp_path / "a.zarr", executor="dask", scheduler="tcp://127.0.0.1:9", **FAST)
    assert time.time() - t0 < 30
    assert not (tmp_path / "a.zarr").exists()  # nothing written for refused runs
    (tmp_path / "file.zarr").write_text("x")
    with pytest.raises(InputError, match="existing file"):
        c.run("healthy-baseline", store=tmp_path / "file.zarr", **FAST)


def test_store_from_other_settings_is_refused(model, tmp_path):
    import zarr

    path = tmp_path / "r.zarr"
    Cohort(model, n=2).run("healthy-baseline", store=path, executor="serial", outputs=("gad7",), **FAST)
    for kwargs, what in (({"seed": 1}, "seed"), ({"n": 3}, "n:")):
        with pytest.raises(InputError, match=what) as ei:
            Cohort(model, **{"n": 2, **kwargs}).run("healthy-baseline", store=path, executor="serial",
                                                    outputs=("gad7",), **FAST)
        assert "new path" in str(ei.value) and "rm -r" in str(ei.value)
    with pytest.raises(InputError, match="scenario"):
        Cohort(model, n=2).run("western-diet", store=path, executor="serial", outputs=("gad7",), **FAST)
    g = zarr.open_group(str(path), mode="r+", use_consolidated=False)
    g.attrs["gutbrain_version"] = "0.0.1"
    with pytest.raises(InputError, match="gutbrain_version"):
        Cohort(model, n=2).run("healthy-baseline", store=path, executor="serial", outputs=("gad7",), **FAST)


def test_cli_bad_inputs_exit_2(tmp_path):
    from typer.testing import CliRunner

    from gutbrain.cli import app

    runner = CliRunner()
    cases = [["cohort", "healthy-baseline", "--n", "0", "--out", str(tmp_path / "x.zarr")],
             ["cohort", "healthy-baseline", "--n", "3", "--chunk", "5", "--out", str(tmp_path / "x.zarr")],
             ["cohort", "no-such", "--n", "3", "--out", str(tmp_path / "x.zarr")],
             ["cohort", "healthy-baseline", "--n", "3", "--out", str(tmp_path / "nodir" / "x.zarr")],
             ["cohort", "healthy-baseline", "--n", "3", "--resume", "--out", str(tmp_path / "x.zarr")],
             ["cohort", "healthy-baseline", "--n", "3", "--rtol", "0.5", "--out", str(tmp_path / "x.zarr")],
             ["summarize", str(tmp_path / "none.zarr")]]
    for args in cases:
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        assert "error:" in r.output and "not a diagnostic device" in " ".join(r.output.split())


# --- (d) reductions -----------------------------------------------------------------------------
def test_reduction_shapes_and_values(model, tmp_path):
    c = Cohort(model, n=3, seed=1)
    opts = dict(executor="serial", chunk=2, outputs=OUTS, days=2.0, warmup_days=1.0, output_every=6.0)
    full = c.run("western-diet", store=tmp_path / "none.zarr", reduce="none", **opts).open()
    daily = c.run("western-diet", store=tmp_path / "daily.zarr", reduce="daily", **opts).open()
    summ = c.run("western-diet", store=tmp_path / "summ.zarr", reduce="summary", **opts).open()
    assert full["gad7"].shape == (3, 9)
    assert daily["gad7"].shape == (3, 2) and list(daily.time.values) == [0.0, 1.0]
    assert summ["gad7"].shape == (3, len(STATS)) and list(summ.stat.values) == list(STATS)
    assert set(summ.data_vars) >= set(OUTS) | {"status", "params", "done"}
    for o in OUTS:
        v = full[o].values
        np.testing.assert_allclose(daily[o].values[:, 0], v[:, 0:4].mean(1), rtol=1e-12)
        np.testing.assert_allclose(daily[o].values[:, 1], v[:, 4:8].mean(1), rtol=1e-12)
        s = summ[o]
        np.testing.assert_allclose(s.sel(stat="start").values, v[:, 0], rtol=1e-12)
        np.testing.assert_allclose(s.sel(stat="end").values, v[:, -1], rtol=1e-12)
        np.testing.assert_allclose(s.sel(stat="max").values, v.max(1), rtol=1e-12)
        np.testing.assert_allclose(s.sel(stat="min").values, v.min(1), rtol=1e-12)
        np.testing.assert_allclose(s.sel(stat="mean").values, v.mean(1), rtol=1e-12)


def test_summarize_cli_and_plot(model, tmp_path):
    from typer.testing import CliRunner

    from gutbrain.cli import app
    from gutbrain.cohort.summary import summarize

    path = tmp_path / "run.zarr"
    Cohort(model, n=4).run("western-diet", store=path, executor="serial", chunk=2, **FAST)
    s = summarize(path)
    assert s["ok"] == 4 and s["pending"] == 0 and len(s["outputs"]["gad7"]["end"]) == 5
    r = CliRunner().invoke(app, ["summarize", str(path), "--plot", str(tmp_path / "bands.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "bands.png").stat().st_size > 1000
    assert "responders" in r.output and "not a diagnostic device" in " ".join(r.output.split())


@pytest.mark.slow
def test_larger_cohort_local_pool(model, tmp_path):
    r = Cohort(model, n=64, seed=4).run("western-diet", store=tmp_path / "big.zarr", days=30, chunk=8, workers=2)
    assert r.n_ok + r.n_failed == 64


def test_parameter_blocks_equal_the_matrix(model, tmp_path):
    """The store's parameters are streamed in blocks (memory flat in n) and equal the one-piece matrix, for every
    sampler, a block boundary inside the cohort and a last block that is not a power of two."""
    from gutbrain.cohort.sampling import sample_blocks, sample_matrix

    for method in ("sobol", "lhs", "random"):
        whole, _ = sample_matrix(model, 23, seed=4, method=method)
        parts = list(sample_blocks(model, 23, seed=4, method=method, block=8))
        assert [s for s, _ in parts] == [0, 8, 16]
        np.testing.assert_array_equal(np.vstack([b for _, b in parts]), whole, err_msg=method)
    c = Cohort(model, n=5, seed=2)
    c.run("healthy-baseline", store=tmp_path / "p.zarr", executor="serial", chunk=2, days=1.0, warmup_days=0.0,
          output_every=12.0, outputs=OUTS)
    np.testing.assert_array_equal(open_cohort(tmp_path / "p.zarr")["params"].values, c.matrix()[0])
