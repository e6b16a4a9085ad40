import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gutbrain
from gutbrain.errors import ParameterError
from gutbrain.parameters import GRADES, load_table


def test_every_parameter_has_unit_bounds_prior_source_grade(model):
    assert len(model.parameters) > 200
    for p in model.parameters.values():
        assert p.unit, p.name
        assert p.lower <= p.value <= p.upper, p.name
        assert p.grade in GRADES, p.name
        assert p.prior_kind in ("lognormal", "normal", "uniform", "fixed"), p.name
        assert len(p.source) > 10, p.name
        # a citation (author + year, DOI, BioModels id) or an explicit assumption with its reason
        assert p.source.startswith("assumption: ") or re.search(r"(19|20)\d\d|doi:|BIOMD", p.source), p.name
        if p.source.startswith("assumption: "):
            assert p.grade == "L" or "normalising" in p.note or p.prior == "fixed", p.name


def test_every_parameter_is_used_by_the_equations(model):
    assert model.structure.unused_params == ()


def test_published_units_are_converted_once(model):
    k1 = model.parameters["k1"]
    assert k1.published_unit == "1/min" and k1.unit == "1/h"
    assert k1.value == pytest.approx(0.065 * 60)
    assert model.parameters["Fcns"].value == pytest.approx(60.0)


def test_override_outside_bounds_is_refused(model):
    with pytest.raises(ParameterError, match=r"kE.*evidence bounds"):
        model.with_params(kE=50.0)


def test_unknown_parameter_gets_a_suggestion(model):
    with pytest.raises(ParameterError, match="did you mean 'kE'"):
        model.with_params(kEE=1.0)


def test_models_are_immutable(model):
    before = model.parameters["kE"].value
    m2 = model.with_params(kE=1.2)
    assert model.parameters["kE"].value == before
    assert m2.parameters["kE"].value == pytest.approx(1.2)
    assert m2.param_hash != model.param_hash
    from dataclasses import FrozenInstanceError

    with pytest.raises(FrozenInstanceError):
        model.name = "x"


def _write(tmp_path, text):
    p = tmp_path / "table.toml"
    p.write_text(text)
    return p


ENTRY = 'value = 1.0\nunit = "{unit}"\nlower = 0.5\nupper = 2.0\nprior = "lognormal:0.2"\nsource = "assumption: test"\ngrade = "L"\n'


def test_malformed_toml_is_reported(tmp_path):
    with pytest.raises(ParameterError, match="malformed TOML"):
        load_table(_write(tmp_path, "[a\nvalue = 1"))


def test_unknown_unit_is_an_error_at_load_time(tmp_path):
    with pytest.raises(ParameterError, match="unit pint understands"):
        load_table(_write(tmp_path, "[a]\n" + ENTRY.format(unit="pg/mLL")))


def test_missing_field_is_named(tmp_path):
    with pytest.raises(ParameterError, match="add the missing field"):
        load_table(_write(tmp_path, '[a]\nvalue = 1.0\nunit = "1/h"\n'))


def test_value_outside_its_own_bounds_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="inside"):
        load_table(_write(tmp_path, "[a]\n" + ENTRY.format(unit="1/h").replace("value = 1.0", "value = 9.0")))


def test_load_model_from_a_directory_requires_all_parameters(tmp_path):
    _write(tmp_path, "[a]\n" + ENTRY.format(unit="1/h"))
    with pytest.raises(ParameterError, match="missing parameters"):
        gutbrain.load_model(tmp_path)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(["kE", "w6", "appraisal", "r_fib", "Gb", "hpa_reactivity"]), frac=st.floats(-1.0, 2.0, allow_nan=False))
def test_with_params_accepts_inside_and_refuses_outside(model, name, frac):
    p = model.parameters[name]
    v = p.lower + frac * (p.upper - p.lower)
    if p.lower <= v <= p.upper:
        assert model.with_params({name: v}).parameters[name].value == pytest.approx(v)
    else:
        with pytest.raises(ParameterError):
            model.with_params({name: v})


@settings(max_examples=30, deadline=None)
@given(bad=st.sampled_from([math.nan, math.inf, -math.inf, "abc", None]))
def test_non_numbers_are_refused(model, bad):
    with pytest.raises(ParameterError):
        model.with_params(kE=bad)


# --- provenance (MODEL.md §5: a parameter that cites a published value carries it; a fitted one says so) ---

FITTED_MARK = "fitted by gutbrain to"
DIFFERS_MARK = "not the published value"
PUBLISHED_WORDING = re.compile(r"nominal parameter set|nominal value|published value|parameter set|BIOMD\d{10}", re.I)


def _published_quote(source: str):
    """The '<number> <unit>' after 'published ' in a source, or None."""
    m = re.search(r"published (-?[\d.]+(?:e-?\d+)?) ([^\s;,]+)", source)
    return (float(m.group(1)), m.group(2)) if m else None


def check_provenance(params) -> list[str]:
    """Every breach of the provenance rules in ``params`` (name: reason); empty when they all hold."""
    from gutbrain.parameters import PUBLISHED_RTOL, ureg

    bad = []
    for p in params.values():
        if not p.lower <= p.value <= p.upper:
            bad.append(f"{p.name}: value outside its bounds")
        if p.published is not None and not p.carries_published:
            if FITTED_MARK not in p.source and DIFFERS_MARK not in p.source:
                bad.append(f"{p.name}: value {p.value:g} differs from published {p.published:g} but the source does not say "
                           f"'{FITTED_MARK} ...' or '{DIFFERS_MARK}'")
            quote = _published_quote(p.source)
            if quote is None:
                bad.append(f"{p.name}: differs from its published value, which the source does not quote ('published <value unit>')")
            else:
                num, unit = quote
                got = ureg.Quantity(num, unit).to(p.unit).magnitude
                if not math.isclose(got, p.published, rel_tol=2 * PUBLISHED_RTOL):
                    bad.append(f"{p.name}: the source quotes published {num} {unit}, the field says {p.published:g} {p.unit}")
        if PUBLISHED_WORDING.search(p.source) and "not a parameter of" not in p.source:
            if p.published is None:
                bad.append(f"{p.name}: the source cites a published parameter set but the entry has no `published` field")
            elif not p.carries_published and FITTED_MARK not in p.source and DIFFERS_MARK not in p.source:
                bad.append(f"{p.name}: cites a published value {p.published:g} it does not carry (value {p.value:g})")
        if FITTED_MARK in p.source and p.on_bound and p.grade == "H":
            bad.append(f"{p.name}: a fitted value on a bound gutbrain chose is graded H (at most M)")
        if p.on_bound and not p.bounds_reason:
            bad.append(f"{p.name}: the value sits on a bound ({p.lower:g}, {p.upper:g}) and no bounds_reason says why the bound is there")
    return bad


def test_published_values_are_carried_or_the_fit_says_so(model):
    assert sum(p.published is not None for p in model.parameters.values()) >= 60
    assert check_provenance(model.parameters) == []


def test_every_fitted_parameter_says_it_was_fitted(model):
    from gutbrain.calibration.report import FITTED

    missing = [k for k in FITTED if FITTED_MARK not in model.parameters[k].source]
    assert missing == []


def test_windoloski_nominal_values_are_recorded(model):
    # bolus_model_pars.m of KristenWindoloski/InflammationModel_BolusContinuous (commit e7d2f66), hours and pg/mL
    pub = {"kMTNF": 8.6497, "kTNFM": 0.6 / 0.71, "k6M": 0.81, "k6TNF": 0.81, "k8M": 0.56 / 0.71, "k8TNF": 0.56 / 0.71,
           "k106": 0.0191 / 1.12, "xMTNF": 100 / 0.71, "kE": 1.01}
    for name, v in pub.items():
        assert model.parameters[name].published == pytest.approx(v, rel=1e-4), name
    kmtnf = model.parameters["kMTNF"]  # the joint fit ends 0.1 % above the lower bound: graded as on it
    assert kmtnf.value <= 1.01 * kmtnf.lower and kmtnf.grade == "M"
    assert model.parameters["k1"].published == pytest.approx(0.065 * 60)  # converted with the value (1/min -> 1/h)


def test_provenance_check_fails_on_the_tables_before_provenance_was_fixed(tmp_path):
    """The check can fail: the immune table as it was (fitted values under a 'nominal parameter set'
    citation, graded H on their bounds, no bound reasons) breaks it, and so does a stale published field."""
    old = tmp_path / "immune.toml"
    old.write_text(OLD_IMMUNE_KMTNF)
    bad = check_provenance(load_table(old))
    assert any("no `published` field" in b for b in bad) and any("bounds_reason" in b for b in bad)
    assert any("graded H" in b for b in bad)
    with_pub = tmp_path / "with_pub.toml"
    with_pub.write_text(OLD_IMMUNE_KMTNF.replace('grade = "H"', 'grade = "H"\npublished = 8.6497'))
    assert any("does not quote" in b for b in check_provenance(load_table(with_pub)))
    stale = tmp_path / "stale.toml"
    stale.write_text(OLD_IMMUNE_KMTNF.replace("; value fitted by gutbrain to the bolus data set (module step, see calibration report)", "")
                     .replace('grade = "H"', 'grade = "H"\npublished = 8.6497'))
    assert any("it does not carry" in b for b in check_provenance(load_table(stale)))


def test_published_field_is_optional_and_checked(tmp_path):
    p = load_table(_write(tmp_path, "[a]\n" + ENTRY.format(unit="1/h")))["a"]
    assert p.published is None and p.carries_published is None and p.bounds_reason == ""
    with pytest.raises(ParameterError, match="finite number"):
        load_table(_write(tmp_path, "[a]\n" + ENTRY.format(unit="1/h") + 'published = "x"\n'))
    q = load_table(_write(tmp_path, "[a]\n" + ENTRY.format(unit="1/min") + 'published = 1.002\nmodel_unit = "1/h"\n'))["a"]
    assert q.published == pytest.approx(60.12) and q.carries_published


# kMTNF as immune.toml had it before the provenance fix (git show 381a13b:src/gutbrain/parameters/immune.toml)
OLD_IMMUNE_KMTNF = '''[kMTNF]
value = 2.0
unit = "1/h"
lower = 2.0
upper = 20.0
prior = "lognormal:0.3"
source = "Windoloski, Bangsgaard, Dobreva, Ottesen & Olufsen 2024, Exp Physiol (human 2 ng/kg bolus model, nominal parameter set); value fitted by gutbrain to the bolus data set (module step, see calibration report)"
grade = "H"
note = "TNF-amplified monocyte activation"
'''


def test_the_readme_states_the_parameter_count_of_the_tables(model):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    stated = [int(n) for n in re.findall(r"(\d+) parameters with sources", readme)]
    assert stated, "README no longer states the parameter count"
    assert set(stated) == {len(model.parameters)}


def test_one_prior_for_sampling_and_sensitivity(model):
    import numpy as np

    from gutbrain.analysis.sensitivity import quantiles_to_values
    from gutbrain.cohort.sampling import _marginal

    u = np.linspace(0.01, 0.99, 9)
    varied = [p for p in model.parameters.values() if p.prior_kind != "fixed"]
    assert {p.prior_kind for p in varied} >= {"lognormal", "normal"}
    for p in varied:
        d = p.prior_distribution()
        x = d.ppf(u)
        assert np.all((x >= p.lower) & (x <= p.upper)) and np.all(np.diff(x) >= 0), p.name
        np.testing.assert_allclose(d.cdf(x), u, rtol=1e-8, err_msg=p.name)
        np.testing.assert_allclose(_marginal(p, p.value, 1.0)(u), x, rtol=1e-12)
        np.testing.assert_allclose(quantiles_to_values(model, [p.name], u[:, None])[:, 0], x, rtol=1e-12)
    p = model.parameters["dep_vulnerability"]  # log-normal: the median is the value when the cut is symmetric enough
    assert abs(float(p.prior_distribution().median()) - p.value) < 0.05
    with pytest.raises(ParameterError, match="fixed"):
        model.parameters["n_phq9"].prior_distribution()
