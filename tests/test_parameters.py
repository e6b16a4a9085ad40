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
    m2 = model.with_params(kE=1.2)
    assert model.parameters["kE"].value == pytest.approx(1.01)
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
