"""ASGI middleware (body size and Host checks) and the translation of validation errors into API errors."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.routing import Match

from ...errors import DISCLAIMER

# -- middleware -----------------------------------------------------------------------------------
#: Host header names always answered (this machine); others only when create_app(allowed_hosts=...) names them
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _host_name(host: str) -> str:
    """``host[:port]`` -> the lower-case name without the port; an IPv6 address keeps its brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    elif host.count(":") > 1:  # a bare IPv6 address, as a bind host is written
        host = f"[{host}]"
    return host.rstrip(".")


class _Guard:
    """ASGI middleware: answers only to trusted Host names (no DNS rebinding), caps request bodies
    (413 before any parsing) and adds the disclaimer header."""

    def __init__(self, app, max_bytes: int, allowed_hosts: frozenset[str]):
        self.app, self.max_bytes, self.allowed_hosts = app, max_bytes, allowed_hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_header(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-gutbrain-disclaimer", DISCLAIMER.encode()))
                message = {**message, "headers": headers}
            await send(message)

        if "*" not in self.allowed_hosts:
            host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
            if _host_name(host) not in self.allowed_hosts:
                return await self._reply(send_with_header, 400, f"this server does not answer to the Host {host[:100]!r}",
                                         "open it as http://127.0.0.1:<port>/ or http://localhost:<port>/; to serve it "
                                         "under another name, start it with: gutbrain serve --allow-host <name>")
        if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            return await self.app(scope, receive, send_with_header)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                return await self._reply(send_with_header, 400, "invalid Content-Length header", "send a decimal byte count")
            if too_big:
                return await self._too_large(send_with_header)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                return await self._too_large(send_with_header)
            chunks.append(body)
            more = message.get("more_body", False)
        data, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send_with_header)

    async def _too_large(self, send):
        kib = self.max_bytes / 1024
        await self._reply(send, 413, f"request body larger than {kib:g} KiB",
                          f"send a smaller request (at most {kib:g} KiB): fewer episodes, meals or overrides")

    @staticmethod
    async def _reply(send, status, error, fix):
        body = json.dumps({"error": error, "fix": fix, "disclaimer": DISCLAIMER}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# -- the app ----------------------------------------------------------------------------------------
def _error_body(error: str, fix: str, **extra) -> dict:
    return {"error": error, "fix": fix, **extra, "disclaimer": DISCLAIMER}


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    for e in errors:
        if e.get("type") == "json_invalid":
            ctx = e.get("ctx", {}) or {}
            return 400, f"malformed JSON: {ctx.get('error', 'could not parse the body')}", \
                'send a valid JSON object with Content-Type: application/json, e.g. {"scenario": "healthy-baseline", "days": 30}'
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")]
    where = ".".join(loc) or "request body"
    msg = str(first.get("msg", "invalid value"))
    got = first.get("input", None)
    shown = json.dumps(got, default=str)[:80] if got is not None else "nothing"
    error = f"{where}: {msg} (got {shown})"
    if first.get("type") == "missing" and not loc:
        fix = "send a JSON object body; see the examples at /docs"
    elif first.get("type") == "extra_forbidden":
        fix = f"remove the unknown field {where!r}; the accepted fields are listed at /docs"
    elif first.get("type") in ("model_type", "dict_type") and not loc:
        fix = "send a JSON object (not a list or a string); see /docs"
    else:
        fix = f"change {where}: {msg[0].lower() + msg[1:]}; the schema and examples are at /docs"
    more = f" (+{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return 422, error + more, fix


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods some route answers on ``path`` (all routes, not only the first that matches the path)."""
    scope = {"type": "http", "path": path, "root_path": "", "method": "GET"}
    methods: set[str] = set()
    for route in app.router.routes:
        if route.matches(scope)[0] != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ("GET", "HEAD"))
    if methods:
        methods.add("OPTIONS")
    return sorted(methods)
