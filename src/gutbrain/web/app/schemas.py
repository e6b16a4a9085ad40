"""Request and error bodies of the REST API, its limits and its error type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: variables returned by /api/simulate when the request names none
DEFAULT_VARIABLES = ("gad7", "phq9", "gad7_state", "phq9_state", "perceived_stress", "CORT", "CRP", "IL6", "lm_ratio", "plasma_endotoxin",
                     "portal_butyrate", "glucose", "hrv_rmssd", "heart_rate", "beneficial", "dysbiosis_index",
                     "serotonin_brain", "kyn_trp", "gaba_signal", "inflammation", "gi_symptoms", "gi_symptoms_state", "ANX", "DEP", "PS",
                     "VAG", "SNS", "TJ")


@dataclass(frozen=True)
class Limits:
    """Request limits (all enforced with a 4xx error that says how to stay inside them)."""

    max_body_bytes: int = 64 * 1024
    max_days: float = 365.0
    min_days: float = 1.0 / 24.0  # one hour
    min_output_every: float = 0.1  # hours
    max_points: int = 20_000  # output time points per simulation
    max_variables: int = 80
    max_episodes: int = 64
    max_meals: int = 12
    max_overrides: int = 200
    max_cohort: int = 200
    max_cohort_points: int = 2_000  # time points per patient in a cohort job
    max_cohort_variables: int = 12
    max_jobs: int = 4  # queued + running background jobs
    max_pending: int = 32  # simulations waiting for a worker
    keep_jobs: int = 50  # finished jobs kept for fetching
    timeout_s: float = 600.0


class ApiError(Exception):
    """A user-facing API error: HTTP status, what is wrong, and how to fix it."""

    def __init__(self, status: int, error: str, fix: str, **extra: Any):
        super().__init__(error)
        self.status, self.error, self.fix, self.extra = status, error, fix, extra


# -- request bodies ------------------------------------------------------------------------------
#: JSON types must match (``"explain": 0`` or ``"cohort": false`` are errors); a float field still takes an int
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class ErrorBody(BaseModel):
    """The body of every error response: what is wrong, how to fix it, and the disclaimer."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="what is wrong with the request")
    fix: str = Field(description="how to change the request so that it works")
    disclaimer: str = Field(description="gutbrain is a research and education tool, not a diagnostic device")
    job_status: str | None = Field(None, description="the job's status (409 from a job's result only)")


_ERROR_TEXT = {
    400: "Malformed JSON, an invalid Content-Length, or a Host header this server does not answer to",
    404: "An unknown name or id (scenario, parameter, module, claim or job)",
    409: "The job has not finished, or it failed or was cancelled",
    413: "The request body is larger than the server's limit",
    422: "A field has a wrong type or a value outside its allowed range",
    429: "Too many simulations waiting, or the job queue is full; retry after Retry-After seconds",
    503: "A simulation worker stopped unexpectedly; retry the request",
}


def _errors(*codes: int) -> dict:
    """OpenAPI ``responses`` for the error statuses ``codes`` (400 is always possible: the Host check)."""
    out: dict[int, dict] = {}
    for code in sorted({400, *codes}):
        out[code] = {"model": ErrorBody, "description": _ERROR_TEXT[code]}
        if code == 429:
            out[code]["headers"] = {"Retry-After": {"description": "seconds to wait before retrying",
                                                    "schema": {"type": "integer"}}}
    return out


_BODY_ERRORS = (413, 422)  # any request with a body: too large, or of the wrong shape


class SimulationRequest(BaseModel):
    """Simulate the reference patient (optionally with changed parameters) under one scenario."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True, json_schema_extra={"examples": [
        {"scenario": "chronic-work-stress", "days": 90, "parameters": {"appraisal": 1.4}, "variables": ["gad7", "CRP"]},
        {"scenario": {"name": "my-plan", "days": 60, "diet_changes": [{"start_day": 0, "fibre": 35}],
                      "episodes": [{"input": "stress", "level": 0.5, "start_day": 10, "days": 20, "daily_window": [9, 17]}]}},
    ]})

    scenario: str | dict[str, Any] = Field(
        "healthy-baseline", description="a built-in scenario name (GET /api/scenarios) or a scenario body with the "
        "fields of a scenario TOML file: name, description, days, diet, meals, episodes, diet_changes, endotoxin, include")
    parameters: dict[str, float] = Field(default_factory=dict, description="parameter overrides, name -> value within "
                                         "the parameter's bounds (GET /api/parameters)")
    days: float | None = Field(None, gt=0, description="horizon in days (default: the scenario's); at most the server's limit")
    output_every: float = Field(1.0, gt=0, description="output spacing in hours")
    variables: list[str] | None = Field(None, description="variables to return (GET /api/variables); default: the main read-outs")
    format: Literal["json", "csv"] = Field("json", description="json, or csv (one row per time point)")
    explain: bool = Field(False, description="also return the pathway terms of the anxiety and depression drives and "
                          "the healthy reference values (used by the explorer's 'why' panel and axis diagram)")


class CohortRequest(BaseModel):
    """A small virtual cohort drawn from the parameter priors, run as a background job."""

    model_config = _STRICT

    scenario: str | dict[str, Any] = Field("healthy-baseline", description="as in /api/simulate")
    n: int = Field(20, ge=1, description="number of virtual patients (at most the server's limit)")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="sampling seed (reproducible cohorts)")
    subtypes: list[str] = Field(default_factory=list, max_length=4, description="named prior shifts, e.g. high-stress-reactivity")
    parameters: dict[str, float] = Field(default_factory=dict, description="overrides applied to every patient")
    days: float | None = Field(None, gt=0, description="horizon in days")
    output_every: float = Field(24.0, gt=0, description="output spacing in hours")
    variables: list[str] = Field(default_factory=lambda: ["gad7", "phq9", "CRP", "lm_ratio"], min_length=1,
                                 description="variables to summarise")


class ClaimsRequest(BaseModel):
    """Check the model's claims (C1-C17) as a background job."""

    model_config = _STRICT

    ids: list[str] | None = Field(None, min_length=1, max_length=50,
                                  description="claim ids, e.g. ['C1', 'C4']; leave the field out for all")
    cohort: int = Field(0, ge=0, le=200, description="virtual-cohort size for claims checked across patients (0: reference only)")
