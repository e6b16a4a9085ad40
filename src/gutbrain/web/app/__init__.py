"""REST API and explorer page for gutbrain (FastAPI).

``create_app()`` returns the ASGI application that ``gutbrain serve`` runs with uvicorn.
Simulations run in a small process pool (two workers by default) because the SciPy/numba
path holds the GIL for most of a run; cohort and claims runs are background jobs (one at a
time, a bounded queue) whose progress is polled. A cancelled job stops within seconds (a
cohort between simulations; a claims check, which runs in a process of its own, at once), and
a pool whose worker died is replaced. Every response carries the disclaimer: in the JSON body
(``"disclaimer"``), as a comment line in CSV, and in the ``X-Gutbrain-Disclaimer`` header.
Every user error is a 4xx JSON body ``{"error": ..., "fix": ..., "disclaimer": ...}``, declared
in the OpenAPI schema; only the Host names of this machine (and those passed to ``create_app``)
are answered. ``/docs`` serves a vendored Swagger UI, so it works offline.
"""

from __future__ import annotations

from .responses import content_disposition
from .routes import STATIC, create_app
from .schemas import DEFAULT_VARIABLES, ApiError, ErrorBody, Limits

__all__ = ["DEFAULT_VARIABLES", "STATIC", "ApiError", "ErrorBody", "Limits", "content_disposition", "create_app"]
