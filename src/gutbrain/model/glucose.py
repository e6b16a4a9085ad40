"""Glucose-insulin system with counter-regulation.

Dalla Man, Rizza & Cobelli (2007, doi:10.1109/TBME.2007.893506) healthy-subject model
(BioModels BIOMD0000000379): two glucose compartments, liver/plasma insulin, insulin action,
delayed insulin signal on endogenous glucose production, pancreatic secretion with a
proportional-derivative glucose sensor, and a three-compartment gut. Simplifications, each
documented: gastric emptying keeps the published meal-size-dependent nonlinearity and is
scaled by the meal's glycaemic index relative to a reference mixed meal, hepatic extraction
is held at its basal value, and renal excretion is omitted (healthy meals stay below its
threshold). Counter-regulatory adrenaline/glucagon switch on below 3.8 mmol/L and autonomic
symptoms below 3.2 mmol/L (Mitrakou et al. 1991, doi:10.1152/ajpendo.1991.260.1.E67).
The basal steady state (Gt, insulin, secretion, kp1) follows from Gb and Ib as in the paper.
"""

from __future__ import annotations

import sympy as sp

from .core import Quantity, State, hill_down, smooth_pos

NAME = "glucose"
TITLE = "Glucose, insulin and counter-regulation"

STATES = (
    State("Qsto1", "mg", 0.0, "solid carbohydrate in the stomach", scale=10000),
    State("Qsto2", "mg", 0.0, "liquid carbohydrate in the stomach", scale=10000),
    State("Qgut", "mg", 0.0, "carbohydrate in the gut lumen", scale=10000),
    State("Gp", "mg/kg", 172.5, "glucose in plasma and rapidly equilibrating tissues"),
    State("Gt", "mg/kg", 140.0, "glucose in slowly equilibrating tissues"),
    State("Il", "pmol/kg", 3.1, "insulin in the liver"),
    State("Ip", "pmol/kg", 1.27, "insulin in plasma"),
    State("Ipo", "pmol/kg", 2.0, "insulin in the portal vein"),
    State("Yins", "pmol/kg/h", 0.0, "provision of new insulin (glucose-sensor integral)", scale=100),
    State("Xins", "pmol/L", 0.0, "insulin action on glucose utilisation", scale=10),
    State("I1", "pmol/L", 25.49, "delayed insulin signal (first stage)"),
    State("Id", "pmol/L", 25.49, "delayed insulin signal on glucose production"),
    State("CR", "dimensionless", 0.0, "counter-regulatory adrenaline/glucagon activity"),
)


def _gtb(ns):
    gpb = ns.Gb * ns.VG
    b = ns.Vm0 + ns.k2 * ns.Km0 - ns.k1 * gpb
    return (-b + sp.sqrt(b**2 + 4 * ns.k2 * ns.k1 * gpb * ns.Km0)) / (2 * ns.k2)


def _m3(ns):
    return ns.HEb * ns.m1 / (1 - ns.HEb)


def _sb(ns):
    ipb = ns.Ib * ns.VI
    ilb = (ns.m2 + ns.m4) * ipb / ns.m1
    return (ns.m1 + ns.m3) * ilb - ns.m2 * ipb


def _kp1(ns):
    gpb = ns.Gb * ns.VG
    egpb = ns.Fcns + ns.k1 * gpb - ns.k2 * ns.Gtb
    crb = hill_down(ns.Gb / 18.016, ns.glc_cr_threshold, ns.n_glc_threshold)
    return egpb + ns.kp2 * gpb + ns.kp3 * ns.Ib + ns.kp4 * ns.Sb / ns.gamma_ins - ns.k_cr_egp * crb


def _emptying(ns):
    """kempt(Qsto) of Dalla Man et al. 2007: fast when the stomach is full or nearly empty, slow in between.

    D is the current meal's carbohydrate (mg); the meal's glycaemic index scales both rates
    relative to a reference mixed meal (GI ``gi_ref``).
    """
    d = 1000 * ns.meal_carbs + 1.0
    qsto = ns.Qsto1 + ns.Qsto2
    a = 5 / (2 * d * (1 - ns.b_empt))
    c = 5 / (2 * d * ns.c_empt)
    k = ns.kmin + (ns.kmax - ns.kmin) / 2 * (sp.tanh(a * (qsto - ns.b_empt * d)) - sp.tanh(c * (qsto - ns.c_empt * d)) + 2)
    return k * (ns.meal_gi / ns.gi_ref) ** ns.gi_exponent


def _egp(ns):
    return smooth_pos(ns.kp1 - ns.kp2 * ns.Gp - ns.kp3 * ns.Id - ns.kp4 * ns.Ipo + ns.k_cr_egp * ns.CR, 5.0)


def _dgp(ns):
    uid = (ns.Vm0 + ns.Vmx * ns.Xins) * ns.Gt / (ns.Km0 + ns.Gt)
    return ns.EGP + ns.Ra - ns.Fcns - ns.k1 * ns.Gp + ns.k2 * ns.Gt, uid


QUANTITIES = (
    Quantity("Gtb", "mg/kg", "basal slowly-equilibrating glucose (steady state)", _gtb),
    Quantity("m3", "1/h", "hepatic insulin clearance", _m3),
    Quantity("Sb", "pmol/kg/h", "basal insulin secretion (steady state)", _sb),
    Quantity("kp1", "mg/kg/h", "extrapolated glucose production at zero glucose and insulin (steady state)", _kp1),
    Quantity("EGP", "mg/kg/h", "endogenous glucose production", _egp),
    Quantity("gastric_emptying", "1/h", "gastric emptying rate (Dalla Man 2007 nonlinear form, scaled by glycaemic index)",
             _emptying),
    Quantity("Ra", "mg/kg/h", "rate of glucose appearance from the gut", lambda ns: ns.f_abs * ns.kabs * ns.Qgut / ns.body_weight),
    Quantity("glucose_mgdl", "mg/dL", "plasma glucose", lambda ns: ns.Gp / ns.VG),
    Quantity("glucose", "mmol/L", "plasma glucose", lambda ns: ns.Gp / ns.VG / 18.016, observable=True),
    Quantity("insulin", "pmol/L", "plasma insulin", lambda ns: ns.Ip / ns.VI, observable=True),
    Quantity("dGp", "mg/kg/h", "rate of change of plasma glucose", lambda ns: _dgp(ns)[0]),
    Quantity("hypo_symptoms", "dimensionless", "autonomic hypoglycaemia symptom signal (0-1)",
             lambda ns: hill_down(ns.glucose, ns.glc_symptom_threshold, ns.n_glc_threshold), observable=True),
)


def rates(ns):
    dgp, uid = _dgp(ns)
    dg_dt = dgp / ns.VG  # mg/dL/h
    secretion = smooth_pos(ns.Yins + ns.K_ins * smooth_pos(dg_dt, 2.0) + ns.Sb, 0.1)
    return {
        "Qsto1": 1000 * ns.carb_rate - ns.kgri * ns.Qsto1,
        "Qsto2": ns.kgri * ns.Qsto1 - ns.gastric_emptying * ns.Qsto2,
        "Qgut": ns.gastric_emptying * ns.Qsto2 - ns.kabs * ns.Qgut,
        "Gp": dgp,
        "Gt": -uid + ns.k1 * ns.Gp - ns.k2 * ns.Gt,
        "Il": -(ns.m1 + ns.m3) * ns.Il + ns.m2 * ns.Ip + ns.gamma_ins * ns.Ipo,
        "Ip": -(ns.m2 + ns.m4) * ns.Ip + ns.m1 * ns.Il,
        "Ipo": -ns.gamma_ins * ns.Ipo + secretion,
        "Yins": -ns.alpha_ins * (ns.Yins - smooth_pos(ns.beta_ins * (ns.glucose_mgdl - ns.Gb) + ns.Sb, 0.1) + ns.Sb),
        "Xins": -ns.p2U * ns.Xins + ns.p2U * (ns.insulin - ns.Ib),
        "I1": -ns.ki * (ns.I1 - ns.insulin),
        "Id": -ns.ki * (ns.Id - ns.I1),
        "CR": (hill_down(ns.glucose, ns.glc_cr_threshold, ns.n_glc_threshold) - ns.CR) / ns.tau_cr,
    }
