import re

import xarray as xr
from typer.testing import CliRunner

from gutbrain.cli import app
from gutbrain.errors import DISCLAIMER

runner = CliRunner()


def test_run_writes_results_and_plot(tmp_path):
    out, png = tmp_path / "r.nc", tmp_path / "r.png"
    res = runner.invoke(app, ["run", "chronic-work-stress", "--days", "20", "--out", str(out), "--plot", str(png)])
    assert res.exit_code == 0, res.output
    for label in ("GAD-7", "PHQ-9", "cortisol", "CRP", "L/M ratio", "plasma", "butyrate", "glucose", "HRV"):
        assert label in res.output
    assert "research and education tool" in res.output
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert float(ds.time[-1]) == 20.0 and ds.attrs["scenario"] == "chronic-work-stress"
    assert png.stat().st_size > 20_000
    # the summary reports each phase: before the stressor (days 0-14) and during it (14-20)
    assert "before" in res.output and "work stress" in res.output


def test_phases_and_daily_bands():
    import numpy as np

    import gutbrain as gb
    from gutbrain.plotting import daily, phases

    sc = gb.scenarios.get("chronic-work-stress")
    ds = gb.simulate(gb.load_model(), sc, days=110, output_every=2.0)
    cuts = phases(ds, sc)
    assert [(a, b) for a, b, _ in cuts] == [(0, 14), (14, 98), (98, 110)]
    assert cuts[0][2] == "before" and cuts[-1][2] == "after" and "work stress" in cuts[1][2]
    t, m, lo, hi = daily(ds, "CORT")
    assert len(t) == 110 and np.all(lo <= m) and np.all(m <= hi)
    assert np.all(hi - lo > 5)  # the within-day cortisol cycle is the band, not the line
    assert np.ptp(m[20:90]) < 0.5 * np.mean(hi[20:90] - lo[20:90])


def test_run_html_plot(tmp_path):
    html = tmp_path / "r.html"
    res = runner.invoke(app, ["run", "healthy-baseline", "--days", "2", "--plot", str(html)])
    assert res.exit_code == 0, res.output
    assert "plotly" in html.read_text()[:5_000_000].lower()


def test_bad_inputs_give_clear_errors_without_traceback(tmp_path):
    for args, needle in ((["run", "westren-diet"], "did you mean 'western-diet'"),
                         (["run", "healthy-baseline", "--days", "-3"], "days"),
                         (["run", "healthy-baseline", "--backend", "cuda"], "backend"),
                         (["run", "healthy-baseline", "--out", str(tmp_path / "x.csv")], ".nc or .zarr"),
                         (["params", "brain"], "module"),
                         (["explain", "nope"], "scenario")):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert needle in res.output and "Traceback" not in res.output


def test_scenarios_params_explain():
    res = runner.invoke(app, ["scenarios"])
    assert res.exit_code == 0 and "stress-then-recovery" in res.output
    res = runner.invoke(app, ["params", "immune"])
    flat = re.sub(r"[\s│┃|]", "", res.output)  # rich folds long cells at narrow widths
    assert res.exit_code == 0 and "kTNFM" in flat and "Windoloski" in flat and "hpa_reactivity" not in flat
    res = runner.invoke(app, ["explain", "antibiotic-course"])
    assert res.exit_code == 0 and "antibiotic" in res.output and DISCLAIMER.split(".")[0] in res.output.replace("\n", " ")
