"""SBML export: libSBML consistency, agreement of libroadrunner with the SciPy backend, readers, CLI.

Agreement measure (see gutbrain.sbml.verify): for every state and observable
max_t |x_rr - x_scipy| / max(|x_scipy|, 1e-6 * scale), scale = the state's typical magnitude
(State.typical) or, for an observable, its largest |value| over the run.
"""

from __future__ import annotations

import html
import locale

import numpy as np
import pytest
import sympy as sp

libsbml = pytest.importorskip("libsbml")
roadrunner = pytest.importorskip("roadrunner")

from gutbrain import sbml as gsbml  # noqa: E402
from gutbrain import scenarios  # noqa: E402
from gutbrain.errors import DISCLAIMER, InputError  # noqa: E402
from gutbrain.solvers.codegen import numpy_functions  # noqa: E402

SHORT = ("public-speech-stress", "endotoxin-bolus-2ngkg", "western-diet")  # all episodes start within 2 days
TOL = 1e-3


@pytest.fixture(scope="module")
def reference_sbml(model):
    return gsbml.to_sbml(model)


def _doc(xml: str):
    doc = libsbml.readSBMLFromString(xml)
    assert doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0
    return doc


# ---------------------------------------------------------------------------------------------
# (a) structure and consistency
# ---------------------------------------------------------------------------------------------
def test_reference_model_is_consistent(model, reference_sbml):
    report = gsbml.check(reference_sbml)
    assert report.errors == [], report.errors[:5]
    # what remains are unit warnings only (documented in docs/sbml.md), and only "cannot be fully checked"
    # (99505: literal numbers without units): no expression whose units libSBML can derive is inconsistent
    assert set(report.categories) <= {"SBML unit consistency"}, report.categories
    assert set(report.by_id) <= {99505}, [w for w in report.warnings if "99505" not in w[:8]][:3]
    doc = _doc(reference_sbml)
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    m = doc.getModel()
    st = model.structure
    assert m.getTimeUnits() == "hour"
    assert m.getNumRules() == len(st.states) + len(st.observables)
    assert sum(r.isRate() for r in m.getListOfRules()) == len(st.states)
    assert m.getNumParameters() == len(model.parameters) + len(st.states) + len(st.inputs) + len(st.observables)
    assert m.getNumEvents() == 0
    for name, p in model.parameters.items():
        q = m.getParameter(name)
        assert q.getConstant() and q.getValue() == pytest.approx(p.value, rel=1e-14)  # libSBML writes 15 digits
        notes = " ".join(html.unescape(q.getNotesString()).split())
        assert " ".join(p.source.split()) in notes and p.prior in notes
        ann = q.getAnnotationString()
        assert f'grade="{p.grade}"' in ann and "lower=" in ann and "prior=" in ann
    for s, v in zip(st.states, model.y0, strict=True):
        q = m.getParameter(s.name)
        assert not q.getConstant() and q.getValue() == pytest.approx(v, rel=1e-14)
        assert m.getRateRule(s.name) is not None


def test_consistency_with_units_off_is_clean(reference_sbml):
    report = gsbml.check(reference_sbml, units=False)
    assert report.errors == [] and report.warnings == []


@pytest.mark.parametrize("name", scenarios.names())
def test_every_scenario_exports_consistently(model, name):
    xml = gsbml.to_sbml(model, name, days=2)
    report = gsbml.check(xml)
    assert report.errors == [], report.errors[:5]
    m = _doc(xml).getModel()
    sched = scenarios.get(name).schedule(2)
    assert m.getNumEvents() == len(sched.times) - 1
    for k, inp in enumerate(model.inputs):  # inputs start at the schedule's first value
        assert m.getParameter(inp.name).getValue() == pytest.approx(sched.values[0][k], rel=1e-14)
    for ev in m.getListOfEvents():
        assert ev.getUseValuesFromTriggerTime() and ev.getTrigger().getPersistent()
        assert not ev.getTrigger().getInitialValue()


def test_initial_state_is_used(model):
    y = model.y0 * 1.5 + 0.125
    m = _doc(gsbml.to_sbml(model, "healthy-baseline", days=1, initial_state=y)).getModel()
    got = np.array([m.getParameter(s).getValue() for s in model.state_names])
    np.testing.assert_allclose(got, y, rtol=1e-14)
    with pytest.raises(InputError):
        gsbml.to_sbml(model, initial_state=y[:-1])


def test_subnormal_values_are_flushed(model):
    """A warm state can hold subnormal numbers (e.g. -7.5e-320 for a decayed state); libroadrunner
    cannot parse them, so they are written as 0."""
    y = model.y0.copy()
    y[0] = -7.482e-320
    xml = gsbml.to_sbml(model, initial_state=y)
    rr = roadrunner.RoadRunner(xml)
    assert rr[model.state_names[0]] == 0.0


# ---------------------------------------------------------------------------------------------
# the SymPy -> MathML printer
# ---------------------------------------------------------------------------------------------
def test_printer_translations():
    x, y, n = sp.symbols("x y n", real=True)
    t = sp.Symbol("t", real=True)
    f = gsbml.sympy_to_formula
    assert f(sp.log(x)) == "ln(x)"
    assert f(sp.Max(x, 1e-12)) in ("max(x, 1e-12)", "max(1e-12, x)")
    assert f(sp.sqrt(x)) == "sqrt(x)"
    assert f(x ** n) == "x^n"
    assert f(1 / x) == "1 / x"
    assert f(sp.pi * t, t) in ("pi * time", "time * pi")
    assert f(sp.tanh(x) + sp.exp(y)) in ("tanh(x) + exp(y)", "exp(y) + tanh(x)")
    assert f(sp.Rational(1, 3) * x) in ("1 / 3 * x", "x / 3", "1 * x / 3")
    with pytest.raises(gsbml.SBMLExportError):
        gsbml.sympy_to_ast(sp.besselj(0, x))


def test_right_hand_side_matches_numpy(model):
    """Rates and observables evaluated by libroadrunner equal gutbrain's compiled functions at the same (t, y, u).

    The point is taken from a libroadrunner run to t = 10.5 h of public-speech-stress (stressor on,
    circadian terms away from their t = 0 values), so no state, input or clock term is trivial.
    """
    t = 10.5
    sched = scenarios.get("public-speech-stress").schedule(1)
    u = sched.at(t)
    assert np.any(u != sched.values[0])
    rr = roadrunner.RoadRunner(gsbml.to_sbml(model, "public-speech-stress", days=1))
    rr.simulate(0.0, t, 2)
    y = np.array([rr[s] for s in model.state_names])
    inputs = np.array([rr[i.name] for i in model.inputs])
    np.testing.assert_array_equal(inputs, u)
    named = rr.getRatesOfChangeNamedArray()
    ids = [c.rstrip("'") for c in named.colnames]
    rates = np.asarray(named).reshape(-1)
    fns = numpy_functions(model.structure)
    ref = np.asarray(fns.rhs(t, y, model.param_vector, u), float)
    got = np.array([rates[ids.index(s)] for s in model.state_names])
    scale = np.maximum(np.abs(ref), 1e-9 * model.state_scales)
    assert np.max(np.abs(got - ref) / scale) < 1e-9
    obs = fns.observables(t, y, model.param_vector, u)
    for name, v in zip(model.observable_names, obs, strict=True):
        assert rr[name] == pytest.approx(float(v), rel=1e-9, abs=1e-12), name


# ---------------------------------------------------------------------------------------------
# (b) libroadrunner vs SciPy, short horizon
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SHORT)
def test_roadrunner_agrees_with_scipy(model, name):
    res = gsbml.verify(model, name, days=2, warmup_days=1)
    assert res["n_events"] > 0
    assert set(res["max_rel_dev"]) == set(model.state_names) | set(model.observable_names)
    assert all(np.isfinite(v) for v in res["max_rel_dev"].values())
    assert res["worst"][1] < TOL, sorted(res["max_rel_dev"].items(), key=lambda kv: -kv[1])[:5]
    assert res["export_s"] > 0 and res["roadrunner_simulate_s"] > 0


def test_verify_detects_a_wrong_model(model):
    """The comparison is not vacuous: an SBML of a different parameter set disagrees."""
    name = "public-speech-stress"
    from gutbrain import simulate

    ref = simulate(model, name, days=1, warmup_days=0, rtol=1e-8, atol=1e-10)
    p = next(k for k, v in model.parameters.items() if v.upper > v.value * 1.2 and k in {str(s) for s in model.structure.rhs[0].free_symbols})
    other = model.with_params({p: model.parameters[p].value * 1.2})
    _t, vals, _ = gsbml.roadrunner_simulate(gsbml.to_sbml(other, name, days=1), model, 1, rtol=1e-8, atol=1e-10)
    s0 = model.state_names[0]
    assert np.max(np.abs(vals[s0] - ref[s0].values)) > 1e-4 * max(abs(ref[s0].values).max(), 1e-9)


# ---------------------------------------------------------------------------------------------
# (c) every built-in scenario over 180 days
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", scenarios.names())
def test_roadrunner_agrees_180_days(model, name):
    res = gsbml.verify(model, name, days=180)
    assert res["worst"][1] < TOL, sorted(res["max_rel_dev"].items(), key=lambda kv: -kv[1])[:5]


# ---------------------------------------------------------------------------------------------
# (d) second readers
# ---------------------------------------------------------------------------------------------
def test_libsbml_round_trip_and_roadrunner(model):
    xml = gsbml.to_sbml(model, "endotoxin-bolus-2ngkg", days=1)
    doc = _doc(xml)
    again = libsbml.writeSBMLToString(doc)
    doc2 = _doc(again)
    m1, m2 = doc.getModel(), doc2.getModel()
    assert (m2.getNumParameters(), m2.getNumRules(), m2.getNumEvents(), m2.getNumUnitDefinitions()) == \
        (m1.getNumParameters(), m1.getNumRules(), m1.getNumEvents(), m1.getNumUnitDefinitions())
    for r1, r2 in zip(m1.getListOfRules(), m2.getListOfRules(), strict=True):
        assert libsbml.formulaToL3String(r1.getMath()) == libsbml.formulaToL3String(r2.getMath())
    assert gsbml.check(again).errors == []
    a = roadrunner.RoadRunner(xml)
    b = roadrunner.RoadRunner(again)
    cols = ["time", *list(model.state_names[:10]), "plasma_endotoxin"] if "plasma_endotoxin" in model.observable_names \
        else ["time", *list(model.state_names[:10])]
    a.timeCourseSelections = cols
    b.timeCourseSelections = cols
    ra, rb = np.asarray(a.simulate(0, 24, 25)), np.asarray(b.simulate(0, 24, 25))
    np.testing.assert_array_equal(ra, rb)
    assert np.all(np.isfinite(ra))


def test_copasi_reads_and_agrees(model):
    """COPASI (via basico, optional) loads the document and its LSODA run agrees with libroadrunner."""
    saved = locale.setlocale(locale.LC_ALL)
    try:
        basico = pytest.importorskip("basico")
    finally:
        locale.setlocale(locale.LC_ALL, saved)  # COPASI switches the process locale to "C"
    name, days = "public-speech-stress", 1
    xml = gsbml.to_sbml(model, name, days=days)
    try:
        dm = basico.load_model_from_string(xml)
        assert dm is not None
        tc = basico.run_time_course(0, 24 * days, 24 * days, model=dm, a_tol=1e-12, r_tol=1e-9, max_steps=1_000_000,
                                    use_numbers=True, method="deterministic")
        ids = basico.get_parameters(model=dm)
        column = dict(zip(ids["sbml_id"], ids["display_name"], strict=True))
    finally:
        locale.setlocale(locale.LC_ALL, saved)
    _, vals, _ = gsbml.roadrunner_simulate(xml, model, days, rtol=1e-9, atol=1e-12)
    assert len(tc) == 24 * days + 1
    worst = 0.0
    for s, scale in zip(model.state_names, model.state_scales, strict=True):
        c = tc[column[s]].to_numpy()
        worst = max(worst, float(np.max(np.abs(c - vals[s]) / np.maximum(np.abs(vals[s]), 1e-6 * scale))))
    assert worst < TOL


# ---------------------------------------------------------------------------------------------
# units
# ---------------------------------------------------------------------------------------------
def test_floor_literals_take_the_unit_of_their_neighbour():
    x, k = sp.symbols("x k")
    ast = gsbml.sympy_to_ast(sp.Max(x, 1e-12) / k, units={"x": "u_pg_per_mL"})
    xml = libsbml.writeMathMLToString(ast)
    assert 'sbml:units="u_pg_per_mL"' in xml and xml.count("sbml:units") == 1
    # without a known neighbour (or without a unit map) the literal stays unitless
    assert "sbml:units" not in libsbml.writeMathMLToString(gsbml.sympy_to_ast(sp.Max(x, 1e-12), units={"k": "hour"}))
    assert "sbml:units" not in libsbml.writeMathMLToString(gsbml.sympy_to_ast(sp.Max(x, -1e-12)))
    assert 'sbml:units="hour"' in libsbml.writeMathMLToString(gsbml.sympy_to_ast(sp.Min(x, -2.0), units={"x": "hour"}))


def test_unit_translation():
    u = gsbml.unit_definition("pg/mL")
    assert dict(u.bases) == {"UNIT_KIND_KILOGRAM": 1, "UNIT_KIND_METRE": -3}
    assert u.factor == pytest.approx(1e-9, rel=1e-12) and not u.caveat
    assert gsbml.unit_definition("1/h").factor == pytest.approx(1 / 3600, rel=1e-12)
    assert gsbml.unit_definition("dimensionless").sid == "dimensionless"
    assert gsbml.unit_definition("umol/mmol").factor == pytest.approx(1e-3)
    assert gsbml.unit_definition("cell/uL").bases == (("UNIT_KIND_ITEM", 1), ("UNIT_KIND_METRE", -3)) or \
        dict(gsbml.unit_definition("cell/uL").bases) == {"UNIT_KIND_ITEM": 1, "UNIT_KIND_METRE": -3}
    score = gsbml.unit_definition("score")
    assert score.sid == "dimensionless" and "score" in score.caveat
    serving = gsbml.unit_definition("serving/day")
    assert dict(serving.bases) == {"UNIT_KIND_SECOND": -1} and "food_serving" in serving.caveat


def test_unit_definitions_evaluate_to_the_factor(model, reference_sbml):
    """Each parameter's UnitDefinition, (multiplier * 10^scale * kind)^exponent multiplied out, equals pint's factor."""
    m = _doc(reference_sbml).getModel()
    checked = set()
    for name, p in model.parameters.items():
        u = gsbml.unit_definition(p.unit)
        uid = m.getParameter(name).getUnits()
        if u.sid == "dimensionless":
            assert uid == "dimensionless"
            continue
        ud = m.getUnitDefinition(uid)
        f = 1.0
        kinds = {}
        for unit in ud.getListOfUnits():
            f *= (unit.getMultiplier() * 10.0 ** unit.getScale()) ** unit.getExponentAsDouble()
            kinds[libsbml.UnitKind_toString(unit.getKind())] = unit.getExponentAsDouble()
        assert f == pytest.approx(u.factor, rel=1e-12), p.unit
        assert kinds == {k.replace("UNIT_KIND_", "").lower(): e for k, e in u.bases} or not u.bases, p.unit
        checked.add(p.unit)
    assert len(checked) >= 5


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli():
    typer = pytest.importorskip("typer")
    from typer.testing import CliRunner

    app = typer.Typer()
    gsbml.register(app)

    @app.command("noop")
    def _noop():  # a second command so that Typer keeps sub-command names
        pass

    return app, CliRunner()


def test_cli_export(cli, tmp_path):
    app, runner = cli
    out = tmp_path / "model.xml"
    r = runner.invoke(app, ["export-sbml", "public-speech-stress", "-o", str(out), "--days", "1"])
    assert r.exit_code == 0, r.output
    assert out.exists() and gsbml.check(out.read_text()).errors == []
    flat = " ".join(r.output.split())
    assert DISCLAIMER in flat and "consistency errors" in flat


def test_cli_errors_are_messages(cli, tmp_path):
    app, runner = cli
    r = runner.invoke(app, ["export-sbml", "no-such-scenario", "-o", str(tmp_path / "x.xml")])
    assert r.exit_code == 2 and "Traceback" not in r.output and "error" in r.output
    r = runner.invoke(app, ["verify-sbml", "no-such-scenario"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = runner.invoke(app, ["export-sbml", "healthy-baseline", "-o", str(tmp_path / "x.txt")])
    assert r.exit_code == 2


def test_cli_verify(cli):
    app, runner = cli
    r = runner.invoke(app, ["verify-sbml", "public-speech-stress", "--days", "1", "--warmup-days", "0", "--show", "3"])
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())
    assert "PASS" in flat and DISCLAIMER in flat
