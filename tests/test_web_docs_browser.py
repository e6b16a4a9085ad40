"""/docs in a real browser with every request off this machine blocked: Swagger UI renders the API.

Serves the app with uvicorn in a thread on 127.0.0.1 (simulations in one thread); needs Playwright
and Chromium (as tests/test_browser.py), skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import urllib.request
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("GUTBRAIN_CHROMIUM") or next(
    (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", shutil.which("chromium") or "") if p and os.path.exists(p)), None)

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

if sync_playwright is None:
    pytest.skip("browser tests need Playwright: pip install playwright", allow_module_level=True)
if CHROMIUM is None:
    pytest.skip("browser tests need Chromium at /usr/bin/chromium (apt-get install chromium) or $GUTBRAIN_CHROMIUM",
                allow_module_level=True)
uvicorn = pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")


@pytest.fixture(scope="module")
def base():
    from gutbrain.web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(workers=0), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/api/health", timeout=2).close()
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    yield url
    server.should_exit = True
    thread.join(30)


def test_docs_render_offline(base):
    foreign: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()

        def route(r):
            if urlsplit(r.request.url).hostname in ("127.0.0.1", None) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                foreign.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.goto(base + "/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        title = page.inner_text(".info .title")
        operations = page.locator(".opblock").count()
        browser.close()
    assert "gutbrain API" in title
    assert operations >= 15, operations
    assert not foreign, foreign
