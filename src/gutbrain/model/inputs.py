"""Scenario input channels: what a scenario may set, in which unit, inside which range.

Every channel is a piecewise-constant schedule of time (left-continuous: a value set for
``[start, end)`` in the scenario acts on ``(start, end]`` in the solver, so a step that ends
exactly on a switch uses the old value). Diet values are daily rates; meals set
``carb_rate`` and ``meal_gi`` for the eating window.

The optional :class:`~gutbrain.model.core.Control` says how the web explorer's scenario builder
offers a channel (a diet slider or a treatment episode); the explorer builds its controls from this
list, so a new input with a control appears there without editing HTML or JavaScript.
"""

from __future__ import annotations

from .core import Control, Input

INPUTS: tuple[Input, ...] = (
    Input("fibre", "g/day", 20.0, 0.0, 150.0, "dietary fibre intake",
          Control("diet", "Fibre", "fibre", 1, "g/day", upper=60.0)),
    Input("sugar", "g/day", 50.0, 0.0, 500.0, "added/refined sugar intake",
          Control("diet", "Added sugar", "sugar", 5, "g/day", upper=200.0)),
    Input("processed", "dimensionless", 0.3, 0.0, 1.0, "share of ultra-processed food (emulsifiers, additives)",
          Control("diet", "Ultra-processed share", "processed", 0.05)),
    Input("fermented", "serving/day", 0.2, 0.0, 10.0, "fermented food with live cultures",
          Control("diet", "Fermented food", "fermented", 0.1, "servings/day", upper=3.0)),
    Input("prebiotic", "g/day", 0.0, 0.0, 50.0, "prebiotic supplement (inulin/GOS)"),
    Input("probiotic", "dimensionless", 0.0, 0.0, 1000.0, "probiotic dose in billion CFU per day",
          Control("treatment", "Probiotic", "pro", 1, "Dose (bn CFU/day)", lower=1.0, level=10.0, colour="#1b7837")),
    Input("antibiotic", "dimensionless", 0.0, 0.0, 1.0, "antibiotic kill strength (1 = broad-spectrum cocktail)",
          Control("treatment", "Antibiotic course", "abx", 0.1, "Strength", lower=0.1, level=1.0, start_day=10, days=5,
                  max_days=60, colour="#7b3294")),
    Input("stress", "dimensionless", 0.0, 0.0, 1.0, "external stressor intensity (1 = severe)"),
    Input("therapy", "dimensionless", 0.0, 0.0, 1.0, "psychological therapy engagement (lowers stress appraisal)",
          Control("treatment", "Psychological therapy", "ther", 0.1, "Engagement", lower=0.1, level=1.0, colour="#2166ac")),
    Input("carb_rate", "g/h", 0.0, 0.0, 2000.0, "carbohydrate ingestion rate while eating"),
    Input("meal_gi", "dimensionless", 55.0, 0.0, 100.0, "glycaemic index of the current meal"),
    Input("meal_carbs", "g", 50.0, 0.0, 500.0, "carbohydrate of the current meal (sets gastric emptying)"),
    Input("lps_iv", "ng/kg/h", 0.0, 0.0, 3000.0, "intravenous endotoxin (LPS) infusion rate"),
    Input("wake_time", "h", 7.0, 3.0, 12.0, "clock time of waking"),
    Input("sleep_hours", "h", 8.0, 3.0, 12.0, "sleep duration before waking"),
    Input("ssri", "dimensionless", 0.0, 0.0, 1.0, "SSRI-like serotonin-reuptake inhibition (1 = a standard "
          "therapeutic dose, about 80 % transporter occupancy)",
          Control("treatment", "SSRI-like medicine", "ssri", 0.1, "Dose (1 = standard)", lower=0.1, level=1.0,
                  colour="#b35806")),
)

INPUT_NAMES = tuple(i.name for i in INPUTS)
