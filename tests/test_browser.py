"""The explorer page in a real browser (Debian's Chromium driven by Playwright).

Starts ``gutbrain serve`` on 127.0.0.1 on a free port, loads the page, runs scenarios, moves
a slider with the keyboard, checks that the plots update, takes screenshots at desktop
(1280x800) and phone (390x844) widths, and checks that no request left localhost.

Screenshots go to ``$GUTBRAIN_TEST_ARTIFACTS`` (default: ``test-artifacts/browser/`` at the
repository root). Needs ``pip install playwright`` and a Chromium binary (``apt-get install
chromium``; or set ``GUTBRAIN_CHROMIUM``); skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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
pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")

ARTIFACTS = Path(os.environ.get("GUTBRAIN_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"gutbrain-serve-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "gutbrain.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "2", "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 240
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                    if json.load(r)["workers_warm"] >= 2:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"server did not get ready in 240 s; see {log.name}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def chromium_browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield b
        b.close()


def _runs(page) -> int:
    return int(page.evaluate("document.body.dataset.runs"))


def _wait_run(page, after: int, timeout=120_000):
    page.wait_for_function(f"Number(document.body.dataset.runs) > {after} && document.querySelector('#status').dataset.state === 'done'",
                           timeout=timeout)


def _trace(page, var: str) -> list:
    # the last trace is the daily mean of the current run
    return page.evaluate(f"(() => {{ const d = document.getElementById('plot-{var}').data; return Array.from(d[d.length - 1].y); }})()")


def test_explorer_end_to_end(server, chromium_browser):
    browser = chromium_browser
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(server + "/")
    _wait_run(page, 0)
    assert "not a diagnostic device" in page.inner_text("#disclaimer")
    assert page.locator("#plots .plot").count() == 10
    assert page.locator("#axis path.edge").count() >= 12
    assert page.locator("#why-bars .bar").count() == 7

    # run another built-in scenario over 30 days
    n = _runs(page)
    page.select_option("#scenario", "western-diet-chronic-stress")
    _wait_run(page, n)
    n = _runs(page)
    page.fill("#days", "30")
    page.press("#days", "Enter")
    _wait_run(page, n)
    assert "western-diet-chronic-stress, 30 days" in page.inner_text("#status")
    before = _trace(page, "gad7")
    end_before = page.get_attribute("#plot-gad7", "data-end")

    # move a patient-trait slider with the keyboard: the plots must update
    n = _runs(page)
    slider = page.locator("#trait-appraisal")
    slider.focus()
    for _ in range(25):
        page.keyboard.press("ArrowRight")
    _wait_run(page, n)
    after = _trace(page, "gad7")
    assert after != before
    assert page.get_attribute("#plot-gad7", "data-end") != end_before
    assert float(page.get_attribute("#plot-gad7", "data-end")) > float(end_before)  # more threat appraisal, more anxiety
    assert page.evaluate("document.getElementById('plot-gad7').data.length") >= 2  # previous run shown for comparison

    # the time cursor drives the diagram and the 'why' panel
    page.fill("#cursor", "20")
    page.dispatch_event("#cursor", "change")
    assert page.inner_text("#cursor-out") == "20"
    assert "day 20" in page.inner_text("#why-summary")
    page.check("input[name=why-target][value=depression]")
    assert page.locator("#why-bars .bar").count() == 7  # six drivers plus the neuroplasticity deficit (v2 slow memory)

    # the custom builder: stress plus a probiotic on the timeline
    n = _runs(page)
    page.select_option("#scenario", "__custom__")
    _wait_run(page, n)
    assert page.locator("#builder-box").get_attribute("open") is not None
    n = _runs(page)
    page.fill("#days", "30")
    page.locator("#stress").fill("0.7")
    page.check("#pro-on")
    page.fill("#pro-start", "5")
    page.dispatch_event("#pro-start", "change")
    _wait_run(page, n)
    assert page.locator("#timeline rect[opacity]").count() >= 2
    assert "custom, 30 days" in page.inner_text("#status")
    # treatments come from the model's input list: the SSRI-like input (docs/contributing.md) is offered
    # although neither index.html nor app.js names it
    n = _runs(page)
    page.check("#ssri-on")
    page.fill("#ssri-start", "3")
    page.dispatch_event("#ssri-start", "change")
    _wait_run(page, n)
    assert page.locator("#timeline rect[opacity]").count() >= 3
    assert "SSRI" in page.inner_text("#timeline-cap")
    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "explorer-desktop-1280.png"), full_page=False)
    page.locator("#axis").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "explorer-desktop-1280-axis-why.png"), full_page=False)
    page.screenshot(path=str(ARTIFACTS / "explorer-desktop-1280-full.png"), full_page=True)

    # phone width: readable, no horizontal scrolling
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(800)
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "explorer-phone-390.png"))
    page.locator("#card-gad7").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "explorer-phone-390-plots.png"))
    page.screenshot(path=str(ARTIFACTS / "explorer-phone-390-full.png"), full_page=True)

    assert not errors, errors
    outside = [u for u in requests if not (u.startswith(server + "/") or u.startswith("data:"))]
    assert not outside, f"requests left localhost: {outside}"
    # a bad request from the page shows the server's error and how to fix it
    page.evaluate("""fetch('/api/simulate', {method: 'POST', headers: {'Content-Type': 'application/json'},
                     body: '{"scenario": "nope"}'}).then(r => r.json()).then(b => { window.__err = b; })""")
    page.wait_for_function("window.__err !== undefined")
    err = page.evaluate("window.__err")
    assert err["error"] and err["fix"] and "not a diagnostic device" in err["disclaimer"]

    context.close()


def test_keyboard_only_run(server, chromium_browser):
    browser = chromium_browser
    """Tab to the Run button and press Enter: the page is usable without a mouse."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(server + "/")
    _wait_run(page, 0)
    page.uncheck("#auto")
    n = _runs(page)
    page.locator("#scenario").focus()
    page.keyboard.press("Tab")  # days
    assert page.evaluate("document.activeElement.id") == "days"
    page.keyboard.press("Control+a")
    page.keyboard.type("20")
    page.keyboard.press("Tab")  # run button
    assert page.evaluate("document.activeElement.id") == "run"
    page.keyboard.press("Enter")
    _wait_run(page, n)
    assert ", 20 days" in page.inner_text("#status")
    labels = page.evaluate("""Array.from(document.querySelectorAll('#controls input, #controls select'))
        .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id)""")
    assert labels == [], f"controls without a label: {labels}"
    context.close()
