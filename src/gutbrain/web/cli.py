"""``gutbrain serve``: run the web explorer and REST API with uvicorn (registered by gutbrain.cli)."""

from __future__ import annotations

import typer

from ..errors import DISCLAIMER


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(host: str = typer.Option("127.0.0.1", help="interface to bind (default: this machine only)"),
              port: int = typer.Option(8000, min=1, max=65535, help="TCP port"),
              workers: int = typer.Option(2, min=0, max=16, help="simulation worker processes (0: one thread)"),
              log_level: str = typer.Option("info", help="uvicorn log level"),
              allow_host: list[str] = typer.Option([], help="a further Host name the server answers to (repeatable; "
                                                   "'*' for any). Always answered: localhost, 127.0.0.1, [::1] and --host")):
        """Serve the explorer page (/) and the REST API (/api, docs at /docs)."""
        try:
            import uvicorn

            from .app import create_app
        except ImportError as exc:  # pragma: no cover - depends on the environment
            typer.echo(f"error: the web extra is not installed ({exc}). Fix: pip install 'gutbrain[web]'", err=True)
            raise typer.Exit(code=2) from None
        if host not in ("127.0.0.1", "localhost", "::1"):
            typer.echo(f"warning: binding {host} exposes the server beyond this machine; it has no authentication.", err=True)
        typer.echo(f"gutbrain explorer on http://{'[' + host + ']' if ':' in host else host}:{port}/  (API docs at /docs)")
        typer.echo(DISCLAIMER)
        uvicorn.run(create_app(workers=workers, allowed_hosts=[host, *allow_host]), host=host, port=port, log_level=log_level)
