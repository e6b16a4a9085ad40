"""Defects found by trying to break the command line: output paths, unreadable inputs, nonsense numbers, zarr noise.

Every refusal must exit 2 with one message that names the path (or value) and the fix, show no traceback,
delete nothing, and come before the simulation or fit (the work functions are replaced by ones that fail
the test if they are called).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gutbrain import _paths
from gutbrain.cli import app
from gutbrain.cohort import Cohort
from gutbrain.cohort import store as cstore
from gutbrain.errors import InputError

runner = CliRunner()
DIARY = Path(__file__).resolve().parents[1] / "src" / "gutbrain" / "data" / "example_diary.csv"
#: places even root cannot create a file in: a pseudo file system, sysfs, a missing directory under /proc
UNWRITABLE = ("/proc/x.nc", "/sys/x.nc", "/proc/gutbrain/x.nc")


def _flat(text: str) -> str:
    """The output without any whitespace (rich wraps long messages at the terminal width)."""
    return "".join(text.split())


@pytest.fixture
def no_work(monkeypatch):
    """Replace every simulation / fit entry point of the writing commands with one that fails the test."""
    import gutbrain.analysis.sensitivity as sa
    import gutbrain.analysis.twin as tw
    import gutbrain.simulation as sim

    def forbidden(*a, **k):
        raise AssertionError("the command started its work before refusing the input")

    monkeypatch.setattr(sim, "simulate", forbidden)
    monkeypatch.setattr(Cohort, "run", forbidden)
    monkeypatch.setattr(tw, "fit", forbidden)
    monkeypatch.setattr(sa, "run", forbidden)
    return forbidden


def _refused(args, *needles):
    res = runner.invoke(app, [str(a) for a in args])
    flat = _flat(res.output)
    assert res.exit_code == 2, (args, res.output, res.exception)
    assert "Traceback" not in res.output and "error:" in res.output, res.output
    for needle in needles:
        assert _flat(str(needle)) in flat, (needle, res.output)
    return res


@pytest.fixture
def keep_dir(tmp_path):
    d = tmp_path / "x.zarr"
    d.mkdir()
    (d / "notes.txt").write_text("keep")
    return d


# --- item 1: an existing output is never deleted or overwritten -------------------------------------
def test_run_out_refuses_an_existing_zarr_directory_and_keeps_its_files(no_work, keep_dir):
    _refused(["run", "healthy-baseline", "--days", "2", "--out", keep_dir], keep_dir, "does not exist yet", "x-2.zarr")
    assert (keep_dir / "notes.txt").read_text() == "keep" and sorted(os.listdir(keep_dir)) == ["notes.txt"]


@pytest.mark.parametrize(("option", "name", "make"), [
    ("--out", "r.nc", "file"), ("--out", "x.nc", "dir"), ("--out", "r.zarr", "file"),
    ("--plot", "p.png", "file"), ("--plot", "p.html", "dir"), ("--out", "l.nc", "link")])
def test_run_refuses_any_existing_output_path(no_work, tmp_path, option, name, make):
    p = tmp_path / name
    if make == "file":
        p.write_text("keep")
    elif make == "dir":
        p.mkdir()
        (p / "notes.txt").write_text("keep")
    else:
        (tmp_path / "target").write_text("keep")
        p.symlink_to(tmp_path / "target")
    _refused(["run", "healthy-baseline", "--days", "2", option, p], p, "does not exist yet")
    kept = p if make == "file" else (p / "notes.txt" if make == "dir" else tmp_path / "target")
    assert kept.read_text() == "keep"


def test_every_writing_command_refuses_an_existing_output(no_work, tmp_path, keep_dir):
    (tmp_path / "t.json").write_text("keep")
    (tmp_path / "s.png").write_text("keep")
    (tmp_path / "m.xml").write_text("keep")
    _refused(["twin", "fit", DIARY, "--out", tmp_path / "t"], tmp_path / "t.json", "does not exist yet")
    _refused(["sensitivity", "healthy-baseline", "--out", tmp_path / "s"], tmp_path / "s.png", "does not exist yet")
    _refused(["export-sbml", "-o", tmp_path / "m.xml"], tmp_path / "m.xml", "does not exist yet")
    _refused(["cohort", "healthy-baseline", "--n", "2", "--out", keep_dir], keep_dir, "never deletes")
    for f in ("t.json", "s.png", "m.xml"):
        assert (tmp_path / f).read_text() == "keep"
    assert (keep_dir / "notes.txt").read_text() == "keep"


def test_a_file_that_appears_during_the_work_is_left_alone(tmp_path):
    target = tmp_path / "r.nc"

    def slow_writer(tmp):
        target.write_text("theirs")  # someone else creates the path while gutbrain is writing
        tmp.write_text("ours")

    with pytest.raises(InputError, match="left alone"):
        _paths.write_new_file(target, slow_writer, "--out")
    assert target.read_text() == "theirs" and sorted(os.listdir(tmp_path)) == ["r.nc"]  # no temporary left


# --- item 6: unwritable or unreadable paths: one message, no traceback, before the work ---------------
@pytest.mark.parametrize("path", UNWRITABLE)
def test_run_out_and_plot_to_unwritable_places(no_work, path):
    _refused(["run", "healthy-baseline", "--days", "2", "--out", path], path)
    png = str(Path(path).with_suffix(".png"))
    _refused(["run", "healthy-baseline", "--days", "2", "--plot", png], png)


def test_parent_that_is_a_file_is_refused_everywhere(no_work, tmp_path):
    f = tmp_path / "file"
    f.write_text("keep")
    for args, p in ((["run", "healthy-baseline", "--out"], f / "x.zarr"), (["run", "healthy-baseline", "--plot"], f / "p.png"),
                    (["cohort", "healthy-baseline", "--n", "2", "--out"], f / "x.zarr"),
                    (["twin", "fit", DIARY, "--out"], f / "t")):
        _refused([*args, p], p, "is a file, not a directory")
    assert f.read_text() == "keep"


def test_cohort_out_unwritable_as_root(no_work):
    # root passes every permission check; creating a probe file is what tells
    for path in ("/proc/x.zarr", "/sys/x.zarr"):
        _refused(["cohort", "healthy-baseline", "--n", "2", "--days", "2", "--out", path], path, "write")


def test_twin_fit_out_unwritable_is_refused_before_the_fit(no_work):
    _refused(["twin", "fit", DIARY, "--out", "/sys/twin"], "/sys/twin.png", "write")


def test_summarize_plot_unwritable(tmp_path, model):
    store = tmp_path / "run.zarr"
    Cohort(model, n=2).run("healthy-baseline", store=store, executor="serial", days=2.0, warmup_days=1.0, output_every=6.0)
    _refused(["summarize", store, "--plot", "/sys/bands.png"], "/sys/bands.png", "write")
    _refused(["summarize", store, "--plot", tmp_path / "no" / "b.png"], "mkdir -p " + str(tmp_path / "no"))
    (tmp_path / "run-bands.png").write_text("keep")  # the default target exists: refused, not overwritten
    _refused(["summarize", store], tmp_path / "run-bands.png", "--no-plot")
    assert (tmp_path / "run-bands.png").read_text() == "keep"
    res = runner.invoke(app, ["summarize", str(store), "--no-plot"])
    assert res.exit_code == 0, res.output


def test_unreadable_inputs_are_reported_not_raised(no_work, tmp_path):
    toml = tmp_path / "latin1.toml"
    toml.write_bytes('name = "caf\xe9"\ndescription = "na\xefve"\n'.encode("latin-1"))
    _refused(["run", toml, "--days", "2"], toml, "UTF-8")
    d = tmp_path / "dir.toml"
    d.mkdir()
    _refused(["run", d, "--days", "2"], d, "directory")
    _refused(["twin", "fit", "/bin/ls", "--out", tmp_path / "t"], "/bin/ls", "UTF-8")
    _refused(["twin", "fit", tmp_path, "--out", tmp_path / "t"], tmp_path, "directory")


def test_read_only_folder_outputs(no_work, tmp_path):
    _refused(["claims", "C1", "--plots", "/sys/plots"], "/sys/plots", "write")
    (tmp_path / "f").write_text("keep")
    _refused(["claims", "C1", "--plots", tmp_path / "f"], tmp_path / "f", "directory")
    _refused(["calibrate", "--cohort", "0", "--report", tmp_path / "a" / "rep"], "mkdir -p " + str(tmp_path / "a"))


# --- item 7: a missing parent directory is refused everywhere, with mkdir -p as the fix ----------------
@pytest.mark.parametrize(("args", "rel"), [
    (["run", "healthy-baseline", "--days", "2", "--out"], "a/b/x.zarr"),
    (["run", "healthy-baseline", "--days", "2", "--out"], "a/b/x.nc"),
    (["run", "healthy-baseline", "--days", "2", "--plot"], "a/b/p.png"),
    (["cohort", "healthy-baseline", "--n", "2", "--out"], "a/b/x.zarr"),
    (["twin", "fit", str(DIARY), "--out"], "a/b/t"),
    (["export-sbml", "-o"], "a/b/m.xml")])
def test_missing_parent_is_refused_with_mkdir_hint(no_work, tmp_path, args, rel):
    p = tmp_path / rel
    _refused([*args, p], p, f"mkdir -p {p.parent}")
    assert not (tmp_path / "a").exists()  # nothing created


# --- item 8: a killed store creation leaves a temporary directory; the next run removes it -------------
def test_stale_temporary_stores_are_removed_and_nothing_else(model, tmp_path):
    store = tmp_path / "run.zarr"
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    host = cstore._host()
    dead = tmp_path / f".run.zarr.tmp-{host}-{pid_max + 1}-0123abcd"
    legacy = tmp_path / ".run.zarr.tmp-deadbeef"  # the old name, from a creation killed long ago
    live = tmp_path / f".run.zarr.tmp-{host}-{os.getpid()}-89abcdef"  # a creation still running
    other_host = tmp_path / f".run.zarr.tmp-{'f' * 8 if host != 'f' * 8 else 'e' * 8}-{pid_max + 1}-0123abcd"
    other_store = tmp_path / ".other.zarr.tmp-deadbeef"
    for d in (dead, legacy, live, other_host, other_store):
        d.mkdir()
        (d / "zarr.json").write_text("{}")
    old = time.time() - 2 * cstore.LEGACY_TMP_AGE_S
    os.utime(legacy, (old, old))
    os.utime(other_store, (old, old))
    notes = tmp_path / ".run.zarr.tmp-notes"
    notes.write_text("keep")
    fast = dict(executor="serial", days=2.0, warmup_days=1.0, output_every=6.0)
    Cohort(model, n=2).run("healthy-baseline", store=store, **fast)
    assert not dead.exists() and not legacy.exists()
    assert live.exists() and other_host.exists() and other_store.exists() and notes.read_text() == "keep"
    assert not [e for e in tmp_path.iterdir() if cstore._TMP.fullmatch(e.name) and e not in (live, other_host, other_store)]
    dead.mkdir()  # on resume too
    res = Cohort(model, n=2).run("healthy-baseline", store=store, **fast)
    assert res.chunks_skipped == res.n_chunks and not dead.exists() and live.exists()


# --- item 10: nonsense numbers exit 2 with a clear message --------------------------------------------
@pytest.mark.parametrize(("extra", "needle"), [
    (["--days", "1e-9"], "days"), (["--days", "0"], "days"), (["--days", "-1"], "days"), (["--days", "nan"], "nan"),
    (["--days", "inf"], "inf"), (["--days", "1e9"], "3650"), (["--days", "2", "--output-every", "100"], "horizon"),
    (["--days", "2", "--output-every", "0"], "output_every"), (["--days", "2", "--output-every", "nan"], "output_every")])
def test_run_nonsense_numbers(extra, needle):
    _refused(["run", "healthy-baseline", *extra], needle, "Fix:")


@pytest.mark.parametrize(("extra", "needle"), [
    (["--n", "0"], "--n"), (["--n", "2", "--workers", "0"], "workers"), (["--n", "2", "--days", "1e-9"], "days"),
    (["--n", "2", "--days", "2", "--output-every", "100"], "output_every"), (["--n", "2", "--chunk", "0"], "--chunk")])
def test_cohort_nonsense_numbers(monkeypatch, tmp_path, extra, needle):
    def forbidden(*a, **k):
        raise AssertionError("the store was created before the options were checked")

    monkeypatch.setattr(cstore, "create_store", forbidden)
    _refused(["cohort", "healthy-baseline", *extra, "--out", tmp_path / "c.zarr"], needle)
    assert not (tmp_path / "c.zarr").exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["sensitivity", "healthy-baseline", "--n", "0"], "--n"), (["sensitivity", "healthy-baseline", "--n", "48"], "powerof2"),
    (["sensitivity", "healthy-baseline", "--workers", "0"], "--workers"),
    (["sensitivity", "healthy-baseline", "--screen-r", "0"], "--screen-r"),
    (["sensitivity", "healthy-baseline", "--top", "0"], "--top"),
    (["bistability", "--workers", "0"], "--workers"), (["twin", "fit", str(DIARY), "--workers", "0"], "--workers"),
    (["calibrate", "--cohort", "0", "--workers", "0"], "--workers")])
def test_other_nonsense_numbers(no_work, tmp_path, args, needle):
    out = ["--out", tmp_path / "o"] if args[0] in ("sensitivity", "bistability", "twin") else ["--report", tmp_path / "rep"]
    _refused(args + out, needle)


@settings(max_examples=60, deadline=None)
@given(days=st.floats(allow_nan=True, allow_infinity=True), every=st.floats(allow_nan=True, allow_infinity=True))
def test_accepted_options_always_give_a_real_time_axis(days, every):
    from gutbrain.scenarios.scenario import MAX_DAYS
    from gutbrain.simulation import MAX_OUTPUT_POINTS, check_options

    try:
        check_options(days, "scipy", 1e-6, 1e-8, every, 28.0, None)
    except InputError:
        return
    assert math.isfinite(days) and math.isfinite(every) and 0 < days <= MAX_DAYS
    assert 0 < every <= 24.0 * days and 1 <= 24.0 * days / every <= MAX_OUTPUT_POINTS


# --- item 11 and the end-to-end path: zarr's notes never reach the user ---------------------------------
def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-c", "from gutbrain.cli import main; main()", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "default", "COLUMNS": "200"})


def test_zarr_outputs_without_warnings(tmp_path):
    import xarray as xr

    r = _cli("run", "healthy-baseline", "--days", "2", "--out", "r.zarr", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Warning" not in r.stderr + r.stdout, r.stderr
    ds = xr.open_zarr(tmp_path / "r.zarr")
    assert ds.attrs["scenario"] == "healthy-baseline" and str(ds["status"].values) == "ok" and float(ds.time[-1]) == 2.0
    r = _cli("cohort", "healthy-baseline", "--n", "2", "--days", "2", "--workers", "1", "--out", "c.zarr", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Warning" not in r.stderr + r.stdout, r.stderr
    r = _cli("summarize", "c.zarr", cwd=tmp_path)
    assert r.returncode == 0 and "Warning" not in r.stderr + r.stdout, r.stderr
    assert (tmp_path / "c-bands.png").stat().st_size > 1000
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporaries or probe files
