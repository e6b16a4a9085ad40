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
