"""Errors that teach: every message names the field, the bad value, what is allowed and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["GutbrainError", "GutbrainWarning", "InputError", "ParameterError", "ScenarioError", "SolverFailure", "suggest"]

DISCLAIMER = (
    "gutbrain is a research and education tool. It is not a diagnostic device and "
    "gives no medical advice."
)


class GutbrainError(ValueError):
    """Base class for user-facing errors (a subclass of ValueError)."""


class GutbrainWarning(UserWarning):
    """Base class of gutbrain's own warnings (the test suite turns them into errors unless a test expects one)."""


class SolverFallbackWarning(GutbrainWarning, RuntimeWarning):
    """A requested solver is not available here and another one runs instead."""


class InputError(GutbrainError):
    """Bad user input: a field, its value, what is allowed, and how to fix it."""

    def __init__(self, field: str, value: object, allowed: str, fix: str | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.fix = fix
        msg = f"{field} = {value!r} is not allowed: expected {allowed}."
        if fix:
            msg += f" Fix: {fix}"
        super().__init__(msg)

    def __reduce__(self):  # survive pickling (errors raised in worker processes reach the caller intact)
        return (type(self), (self.field, self.value, self.allowed, self.fix))


class ParameterError(InputError):
    """A parameter table or override is invalid."""


class ScenarioError(InputError):
    """A scenario definition is invalid."""


class SolverFailure(RuntimeError):
    """An integration failed (step size underflow, non-finite state); the message says where and how to retry."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return a 'did you mean' hint for ``name`` among ``choices`` (empty if none is close)."""
    choices = list(choices)
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "choose one of " + ", ".join(sorted(choices)[:40]) + ("" if len(choices) <= 40 else ", ...")
