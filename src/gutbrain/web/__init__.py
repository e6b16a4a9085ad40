"""Web explorer and REST API (FastAPI): ``gutbrain serve`` or ``uvicorn --factory gutbrain.web.app:create_app``.

Research and education tool only: it is not a diagnostic device and gives no medical advice.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(**kwargs):
    """Build the ASGI app (see :func:`gutbrain.web.app.create_app`)."""
    from .app import create_app as _create

    return _create(**kwargs)
