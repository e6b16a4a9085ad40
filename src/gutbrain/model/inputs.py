"""Scenario input channels: what a scenario may set, in which unit, inside which range.

Every channel is a piecewise-constant schedule of time (left-continuous: a value set for
``[start, end)`` in the scenario acts on ``(start, end]`` in the solver, so a step that ends
exactly on a switch uses the old value). Diet values are daily rates; meals set
``carb_rate`` and ``meal_gi`` for the eating window.
"""

from __future__ import annotations

from .core import Input

INPUTS: tuple[Input, ...] = (
    Input("fibre", "g/day", 20.0, 0.0, 150.0, "dietary fibre intake"),
    Input("sugar", "g/day", 50.0, 0.0, 500.0, "added/refined sugar intake"),
    Input("processed", "dimensionless", 0.3, 0.0, 1.0, "share of ultra-processed food (emulsifiers, additives)"),
    Input("fermented", "serving/day", 0.2, 0.0, 10.0, "fermented food with live cultures"),
    Input("prebiotic", "g/day", 0.0, 0.0, 50.0, "prebiotic supplement (inulin/GOS)"),
    Input("probiotic", "dimensionless", 0.0, 0.0, 1000.0, "probiotic dose in billion CFU per day"),
    Input("antibiotic", "dimensionless", 0.0, 0.0, 1.0, "antibiotic kill strength (1 = broad-spectrum cocktail)"),
    Input("stress", "dimensionless", 0.0, 0.0, 1.0, "external stressor intensity (1 = severe)"),
    Input("therapy", "dimensionless", 0.0, 0.0, 1.0, "psychological therapy engagement (lowers stress appraisal)"),
    Input("carb_rate", "g/h", 0.0, 0.0, 2000.0, "carbohydrate ingestion rate while eating"),
    Input("meal_gi", "dimensionless", 55.0, 0.0, 100.0, "glycaemic index of the current meal"),
    Input("meal_carbs", "g", 50.0, 0.0, 500.0, "carbohydrate of the current meal (sets gastric emptying)"),
    Input("lps_iv", "ng/kg/h", 0.0, 0.0, 3000.0, "intravenous endotoxin (LPS) infusion rate"),
    Input("wake_time", "h", 7.0, 3.0, 12.0, "clock time of waking"),
    Input("sleep_hours", "h", 8.0, 3.0, 12.0, "sleep duration before waking"),
)

INPUT_NAMES = tuple(i.name for i in INPUTS)
