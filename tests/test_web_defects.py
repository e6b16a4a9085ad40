"""Web API defects of issue #20, each reproduced: offline /docs, job cancellation, recovery from a
killed worker, CSV filenames, the API contract (declared errors, OPTIONS, strict types, messages,
Host check) and nonsense inputs.

Most tests use an app that simulates in one thread; the worker-crash test starts one worker process.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import re
import signal
import threading
import time
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest

fastapi = pytest.importorskip("fastapi", reason="the web extra (fastapi) is not installed")
pytest.importorskip("httpx", reason="the web extra (httpx) is not installed")

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from starlette.routing import Match  # noqa: E402

from gutbrain.errors import DISCLAIMER  # noqa: E402
from gutbrain.web.app import STATIC, Limits, content_disposition, create_app  # noqa: E402

try:
    import schemathesis
except ImportError:  # pragma: no cover - optional
    schemathesis = None

TEST_HOST = ["testserver"]  # the Host header Starlette's test client sends


@pytest.fixture(scope="module")
def app():
    app = create_app(workers=0, limits=Limits(max_days=30, max_cohort=20, max_jobs=3), allowed_hosts=TEST_HOST)
    yield app
    app.state.service.close()


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


def _error(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] and len(body["fix"]) > 5 and body["disclaimer"] == DISCLAIMER, body
    assert r.headers["x-gutbrain-disclaimer"] == DISCLAIMER
    return body


def _wait(c, job_id, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = c.get(f"/api/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")


def _wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


# -- 2: /docs works offline -----------------------------------------------------------------------------
class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_docs_page_and_its_assets_are_served_from_the_package(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    html = r.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    parser = _Assets()
    parser.feed(html)
    assert any(u.endswith("swagger-ui-bundle.js") for u in parser.urls), parser.urls
    assert any(u.endswith("swagger-ui.css") for u in parser.urls), parser.urls
    inline = re.findall(r"url:\s*'([^']+)'", html)
    assert inline == ["/openapi.json"]
    for url in parser.urls + inline:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
    css = client.get("/static/vendor/swagger-ui/swagger-ui.css").text
    assert all(u.startswith("data:") for u in re.findall(r"url\(\"?([^\")]*)", css))
    assert "validatorUrl" in html and '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io
    vendor = STATIC / "vendor" / "swagger-ui"
    assert (vendor / "LICENSE").is_file() and "5.35.0" in (vendor / "README.md").read_text()


def test_redoc_is_gone_and_messages_point_to_docs(client):
    _error(client.get("/redoc"), 404)
    assert client.get("/api").json()["docs"] == "/docs"
    bodies = [client.get("/api/nowhere").json(), client.post("/api/simulate", json={"colour": 1}).json(),
              client.post("/api/simulate", json=[1]).json()]
    assert all("/docs" in b["fix"] and "redoc" not in json.dumps(b) for b in bodies), bodies


# -- 3: cancelling a job stops it and frees the runner ------------------------------------------------------
def _job_processes():
    return [p for p in mp.active_children() if p.name == "gutbrain-job"]


def test_cancelling_a_claims_job_stops_it_within_seconds_and_frees_the_runner(client):
    if not client.get("/api/claims").json()["available"]:
        pytest.skip("gutbrain.claims is not available")
    r = client.post("/api/claims", json={"cohort": 20})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    _wait_for(lambda: client.get(f"/api/jobs/{job_id}").json()["status"] == "running" and _job_processes(), 30,
              "the claims job did not start its process")
    time.sleep(2.0)  # the check is under way in its process
    cancelled_at = time.time()
    assert client.delete(f"/api/jobs/{job_id}").json()["status"] == "cancelled"
    _wait_for(lambda: client.get(f"/api/jobs/{job_id}").json()["finished"] is not None, 10,
              "the cancelled job did not stop")
    assert not _job_processes()  # its process was terminated
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["finished"] - cancelled_at < 10
    # the runner is free: a small cohort runs at once, and the cancelled job stays cancelled
    r = client.post("/api/cohort", json={"n": 5, "days": 2, "output_every": 24, "variables": ["gad7"]})
    assert _wait(client, r.json()["id"], 60)["status"] == "done"
    time.sleep(0.5)
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "cancelled" and job["result_url"] is None, job
    _error(client.get(f"/api/jobs/{job_id}/result"), 409)


def test_cancelling_a_cohort_job_frees_the_runner_before_its_patients_are_done(client, monkeypatch):
    from gutbrain.web import worker

    release = threading.Event()
    real = worker.run_cohort_chunk

    def slow(*args):  # a chunk that would take a minute unless released
        release.wait(60)
        return real(*args)

    monkeypatch.setattr(worker, "run_cohort_chunk", slow)
    try:
        r = client.post("/api/cohort", json={"n": 20, "days": 2, "output_every": 24, "variables": ["gad7"]})
        job_id = r.json()["id"]
        _wait_for(lambda: client.get(f"/api/jobs/{job_id}").json()["status"] == "running", 10, "the job did not start")
        cancelled_at = time.time()
        assert client.delete(f"/api/jobs/{job_id}").json()["status"] == "cancelled"
        _wait_for(lambda: client.get(f"/api/jobs/{job_id}").json()["finished"] is not None, 5, "the job did not stop")
        assert client.get(f"/api/jobs/{job_id}").json()["finished"] - cancelled_at < 5
        assert client.get(f"/api/jobs/{job_id}").json()["done"] == 0
    finally:
        release.set()
    monkeypatch.setattr(worker, "run_cohort_chunk", real)
    r = client.post("/api/cohort", json={"n": 5, "days": 2, "output_every": 24, "variables": ["gad7"]})
    assert _wait(client, r.json()["id"], 60)["status"] == "done"
    assert client.get(f"/api/jobs/{job_id}").json()["status"] == "cancelled"


def test_cancelling_a_queued_job_never_runs_it(client, monkeypatch):
    from gutbrain.web import worker

    release = threading.Event()
    real = worker.run_cohort_chunk
    monkeypatch.setattr(worker, "run_cohort_chunk", lambda *a: release.wait(60) and real(*a))
    body = {"n": 2, "days": 2, "output_every": 24, "variables": ["gad7"]}
    first, second = (client.post("/api/cohort", json=body).json()["id"] for _ in range(2))
    assert client.get(f"/api/jobs/{second}").json()["status"] == "queued"
    assert client.delete(f"/api/jobs/{second}").json()["status"] == "cancelled"
    release.set()
    assert _wait(client, first, 60)["status"] == "done"
    job = client.get(f"/api/jobs/{second}").json()
    assert job["status"] == "cancelled" and job["started"] is None, job


# -- 4: a killed worker fails its job clearly, and the pool recovers ------------------------------------------------
def test_a_killed_worker_fails_its_job_clearly_and_the_next_job_succeeds():
    app = create_app(workers=1, limits=Limits(max_cohort=40), allowed_hosts=TEST_HOST)
    svc = app.state.service
    with TestClient(app) as c:
        _wait_for(lambda: c.get("/api/health").json()["workers_warm"] == 1, 240, "the worker did not warm up")
        pids = list(svc.pool._processes)  # the worker processes of the pool
        assert len(pids) == 1
        r = c.post("/api/cohort", json={"n": 40, "days": 30, "output_every": 24, "variables": ["gad7"]})
        job_id = r.json()["id"]
        _wait_for(lambda: c.get(f"/api/jobs/{job_id}").json()["status"] == "running", 30, "the cohort did not start")
        time.sleep(0.5)
        os.kill(pids[0], signal.SIGKILL)
        job = _wait(c, job_id, 60)
        assert job["status"] == "failed", job
        assert "worker process died" in job["error"]["error"] and "start the job again" in job["error"]["fix"]
        assert "BrokenProcessPool" not in json.dumps(job) and "bug" not in job["error"]["fix"]
        # no /api/simulate in between: the next cohort job runs on a fresh worker
        r = c.post("/api/cohort", json={"n": 5, "days": 2, "output_every": 24, "variables": ["gad7"]})
        job = _wait(c, r.json()["id"], 240)
        assert job["status"] == "done", job
        assert pids[0] not in svc.pool._processes
        assert c.post("/api/simulate", json={"days": 1, "variables": ["gad7"]}).status_code == 200
    svc.close()


def test_a_killed_claims_process_fails_its_job_clearly(client):
    if not client.get("/api/claims").json()["available"]:
        pytest.skip("gutbrain.claims is not available")
    job_id = client.post("/api/claims", json={"cohort": 20}).json()["id"]
    _wait_for(lambda: _job_processes(), 30, "the claims job did not start its process")
    os.kill(_job_processes()[0].pid, signal.SIGKILL)
    job = _wait(client, job_id, 30)
    assert job["status"] == "failed" and "worker process died" in job["error"]["error"], job
    r = client.post("/api/cohort", json={"n": 2, "days": 2, "output_every": 24, "variables": ["gad7"]})
    assert _wait(client, r.json()["id"], 60)["status"] == "done"


def test_a_broken_pool_answers_503_once_and_is_replaced(client, app):
    svc = app.state.service

    class Broken(cf.Executor):
        def submit(self, fn, /, *args, **kwargs):
            raise cf.BrokenExecutor("a worker died")

    svc._pool = Broken()
    body = _error(client.post("/api/simulate", json={"days": 1, "variables": ["gad7"]}), 503)
    assert "retry" in body["fix"]
    assert client.post("/api/simulate", json={"days": 1, "variables": ["gad7"]}).status_code == 200


# -- 5: any scenario name gives a safe, correct Content-Disposition --------------------------------------------------
_DISPOSITION = re.compile(r"attachment; filename=\"([A-Za-z0-9._-]+)\"; filename\*=UTF-8''([A-Za-z0-9%._~-]+)")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f\ud800-\udfff/\\"]+')


def _check_disposition(header: str, name: str) -> None:
    header.encode("ascii")  # a header must be ASCII (latin-1 at most); no CR/LF can split it
    m = _DISPOSITION.fullmatch(header)
    assert m, header
    fallback, exact = m.group(1), unquote(m.group(2), errors="strict")
    assert fallback.endswith(".csv") and exact.endswith(".csv")
    expected = _UNSAFE.sub("_", name).strip(" .")[:120] or "gutbrain"
    assert exact == expected + ".csv", (name, exact)
    assert not _UNSAFE.search(exact)


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=60))
def test_content_disposition_of_any_name(name):
    _check_disposition(content_disposition(name + ".csv"), name)


@pytest.mark.parametrize(("name", "fallback", "exact"), [
    ("café", "cafe.csv", "caf%C3%A9.csv"), ("😀", "gutbrain.csv", "%F0%9F%98%80.csv"),
    ("a\r\nSet-Cookie: x=1", "a_Set-Cookie_x_1.csv", "a_Set-Cookie%3A%20x%3D1.csv"),
    ('say "hi"', "say__hi.csv", "say%20_hi_.csv"), ("my-plan", "my-plan.csv", "my-plan.csv"),
])
def test_csv_download_filename_from_the_issue(client, name, fallback, exact):
    r = client.post("/api/simulate?format=csv", json={"scenario": {"name": name, "days": 1}, "variables": ["gad7"],
                                                     "output_every": 24})
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.text(max_size=40))
def test_csv_download_of_any_scenario_name(client, name):
    r = client.post("/api/simulate?format=csv", json={"scenario": {"name": name, "days": 1}, "variables": ["gad7"],
                                                     "output_every": 24})
    assert r.status_code == 200, r.text
    _check_disposition(r.headers["content-disposition"], name)


# -- 9: the API's contract --------------------------------------------------------------------------------------------------
def _operation(app, spec, method: str, path: str) -> dict:
    scope = {"type": "http", "path": path, "root_path": "", "method": method}
    for route in app.router.routes:
        if route.matches(scope)[0] == Match.FULL and getattr(route, "include_in_schema", False):
            return spec["paths"][route.path][method.lower()]
    raise AssertionError(f"no documented operation for {method} {path}")


def test_every_status_an_endpoint_returns_is_in_its_schema(client, app, monkeypatch):
    from gutbrain.web import worker

    spec = client.get("/openapi.json").json()
    big = {"parameters": {f"p{i}": 1.0 for i in range(6000)}}
    requests = [
        ("GET", "/api", {}), ("GET", "/api/health", {}), ("GET", "/api/scenarios", {}), ("GET", "/api/variables", {}),
        ("GET", "/api/inputs", {}), ("GET", "/api/claims", {}), ("GET", "/api/jobs", {}),
        ("GET", "/api/scenarios/healthy-baseline", {}), ("GET", "/api/scenarios/nope", {}),
        ("GET", "/api/parameters", {}), ("GET", "/api/parameters?module=liver", {}), ("GET", "/api/parameters?grade=Z", {}),
        ("GET", "/api/parameters/appraisal", {}), ("GET", "/api/parameters/nope", {}),
        ("GET", "/api/health", {"headers": {"host": "evil.example"}}),
        ("POST", "/api/simulate", {"json": {"days": 1, "variables": ["gad7"]}}),
        ("POST", "/api/simulate?format=csv", {"json": {"days": 1, "variables": ["gad7"]}}),
        ("POST", "/api/simulate", {"json": {"scenario": "nope"}}), ("POST", "/api/simulate", {"json": {"days": -1}}),
        ("POST", "/api/simulate", {"content": b"{", "headers": {"content-type": "application/json"}}),
        ("POST", "/api/simulate", {"content": b"{}", "headers": {"content-type": "application/json", "content-length": "x"}}),
        ("POST", "/api/simulate", {"json": big}), ("POST", "/api/cohort", {"json": big}),
        ("POST", "/api/cohort", {"json": {"scenario": "nope"}}), ("POST", "/api/cohort", {"json": {"n": 0}}),
        ("POST", "/api/claims", {"json": {"ids": ["C999"]}}), ("POST", "/api/claims", {"json": {"cohort": -1}}),
        ("POST", "/api/claims", {"content": b"[", "headers": {"content-type": "application/json"}}),
        ("GET", "/api/jobs/nope", {}), ("DELETE", "/api/jobs/nope", {}), ("GET", "/api/jobs/nope/result", {}),
    ]
    seen: dict[tuple[str, int], int] = {}

    def call(method, url, **kw):
        r = client.request(method, url, **kw)
        path = url.split("?")[0]
        declared = _operation(app, spec, method, path)["responses"]
        assert str(r.status_code) in declared, (method, url, r.status_code, sorted(declared))
        if r.status_code >= 400:
            assert declared[str(r.status_code)]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"}
            _error(r, r.status_code)
        seen[method, r.status_code] = seen.get((method, r.status_code), 0) + 1
        return r

    for method, url, kw in requests:
        call(method, url, **kw)
    # a job's result before it is done (409), a full job queue (429), a finished job and its result (200)
    release = threading.Event()
    real = worker.run_cohort_chunk
    monkeypatch.setattr(worker, "run_cohort_chunk", lambda *a: release.wait(60) and real(*a))
    body = {"n": 2, "days": 2, "output_every": 24, "variables": ["gad7"]}
    ids = [call("POST", "/api/cohort", json=body).json()["id"] for _ in range(3)]
    call("GET", f"/api/jobs/{ids[0]}/result")
    assert call("POST", "/api/cohort", json=body).headers["retry-after"]
    call("DELETE", f"/api/jobs/{ids[2]}")
    release.set()
    _wait(client, ids[1], 60)
    call("GET", f"/api/jobs/{ids[1]}"), call("GET", f"/api/jobs/{ids[1]}/result?format=csv")
    call("GET", f"/api/jobs/{ids[1]}/result?format=xml")
    # a worker that died (503)
    monkeypatch.setattr(worker, "run_simulation", lambda *a: (_ for _ in ()).throw(cf.BrokenExecutor("died")))
    call("POST", "/api/simulate", json={"days": 1, "variables": ["gad7"]})
    statuses = {s for _, s in seen}
    assert {200, 202, 400, 404, 409, 413, 422, 429, 503} <= statuses, seen


@pytest.mark.skipif(schemathesis is None, reason="schemathesis is not installed (pip install schemathesis)")
def test_schemathesis_status_codes_and_error_bodies_conform_to_the_schema(app):
    """Generated requests (valid and invalid) to every operation: each status, body and header is as documented."""
    from hypothesis import Phase
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path="/api/claims", method="POST")
    count = 0

    def check(case):
        nonlocal count
        response = case.call(timeout=120)
        count += 1
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance,
                                                 content_type_conformance, response_headers_conformance])

    for op in (result.ok() for result in schema.get_all_operations()):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            test = settings(max_examples=4, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
                            suppress_health_check=list(HealthCheck))(lambda case: check(case))
            try:
                given(case=op.as_strategy(generation_mode=mode))(test)()
            except Unsatisfiable:
                continue
    assert count >= 40


def test_options_answers_with_the_methods_of_every_route_on_the_path(client):
    for path, methods in (("/api/simulate", {"POST"}), ("/api/jobs/abc", {"GET", "DELETE"}), ("/api/health", {"GET"}),
                          ("/api/claims", {"GET", "POST"})):
        r = client.options(path)
        assert r.status_code == 204, (path, r.status_code)
        assert set(r.headers["allow"].split(", ")) == methods | {"OPTIONS"}, (path, r.headers["allow"])
        assert r.headers["x-gutbrain-disclaimer"] == DISCLAIMER
        for m in methods:  # every method in Allow is answered (not 405)
            assert client.request(m, path, json={"bogus": 1}).status_code != 405, (m, path)
    r = client.put("/api/jobs/abc", json={})
    _error(r, 405)
    assert set(r.headers["allow"].split(", ")) == {"GET", "DELETE", "OPTIONS"}
    assert "DELETE" in r.json()["fix"] and "GET" in r.json()["fix"]
    _error(client.options("/api/nowhere"), 404)


@pytest.mark.parametrize(("url", "body", "field"), [
    ("/api/simulate", {"explain": 0}, "explain"), ("/api/simulate", {"explain": "true"}, "explain"),
    ("/api/simulate", {"days": "2"}, "days"), ("/api/simulate", {"parameters": {"appraisal": "1.2"}}, "appraisal"),
    ("/api/simulate", {"variables": "gad7"}, "variables"),
    ("/api/claims", {"cohort": False}, "cohort"), ("/api/claims", {"cohort": 2.0}, "cohort"),
    ("/api/claims", {"ids": "C1"}, "ids"),
    ("/api/cohort", {"n": True}, "n"), ("/api/cohort", {"seed": "1"}, "seed"), ("/api/cohort", {"n": 2.5}, "n"),
])
def test_json_types_must_match(client, url, body, field):
    assert field in _error(client.post(url, json=body), 422)["error"]


def test_floats_still_accept_whole_numbers(client):
    r = client.post("/api/simulate", json={"days": 2, "output_every": 24, "parameters": {"appraisal": 1}, "explain": False,
                                           "variables": ["gad7"]})
    assert r.status_code == 200, r.text
    assert r.json()["days"] == 2.0 and r.json()["parameters"] == {"appraisal": 1.0}


_INTERNALS = re.compile(r"object is not|__init__|argument|positional|keyword|gutbrain\.|Error\b|Traceback|NoneType|<class")
BAD_SCENARIO_BODIES = [
    {"meals": [1]}, {"meals": [{"bogus": 1}]}, {"meals": [{"time": 8}]}, {"diet_changes": [1]}, {"diet": 1},
    {"tags": 1}, {"endotoxin": [1]}, {"endotoxin": [{"x": 1}]}, {"endotoxin": [{"day": 1}]}, {"episodes": [{"input": 1}]},
    {"episodes": [{"input": "stress", "level": 0.5, "daily_window": 3}]}, {"name": [1]}, {"days": [1]},
    {"diet_changes": [{"start_day": "x"}]}, {"episodes": [{"input": "stress", "level": 0.5, "bogus": 1}]},
]


@pytest.mark.parametrize("scenario", BAD_SCENARIO_BODIES, ids=[json.dumps(b)[:50] for b in BAD_SCENARIO_BODIES])
def test_scenario_body_errors_speak_the_requests_terms(client, scenario):
    body = _error(client.post("/api/simulate", json={"scenario": {"days": 1, **scenario}}), 422)
    assert not _INTERNALS.search(body["error"] + body["fix"]), body
    assert "scenario." in body["error"], body


_json = st.recursive(st.none() | st.booleans() | st.integers(-5, 50) | st.floats(-1, 50) | st.text(max_size=6),
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
                     max_leaves=8)
_entry = st.dictionaries(st.sampled_from(["input", "level", "start_day", "days", "time", "carbs", "gi", "daily_window",
                                          "dose_ng_per_kg", "day", "fibre", "x"]), _json, max_size=4)
_scenario = st.dictionaries(st.sampled_from(["name", "days", "tags", "diet", "meals", "episodes", "diet_changes",
                                             "endotoxin", "description"]),
                            _json | st.lists(_entry | _json, max_size=2), max_size=4)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(scenario=_scenario)
def test_fuzzed_scenario_bodies_never_leak_python_internals(client, scenario):
    r = client.post("/api/simulate", json={"scenario": {"days": 1, **scenario}, "variables": ["gad7"], "output_every": 24})
    assert r.status_code < 500, (scenario, r.text)
    if r.status_code >= 400:
        body = r.json()
        assert not _INTERNALS.search(body["error"] + body["fix"]), (scenario, body)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example"])
def test_foreign_host_header_is_refused(client, host):
    body = _error(client.get("/", headers={"host": host}), 400)
    assert "Host" in body["error"] and "--allow-host" in body["fix"]
    _error(client.post("/api/simulate", json={"days": 1}, headers={"host": host}), 400)


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"])
def test_local_host_headers_are_answered(client, host):
    assert client.get("/api/health", headers={"host": host}).status_code == 200


def test_testserver_and_other_names_only_when_allowed():
    with TestClient(create_app(workers=0)) as c:  # the default: this machine's names only
        _error(c.get("/api/health"), 400)
        assert c.get("/api/health", headers={"host": "127.0.0.1:8000"}).status_code == 200
    with TestClient(create_app(workers=0, allowed_hosts=["gutbrain.lan", "::1"]), base_url="http://gutbrain.lan:8000") as c:
        assert c.get("/api/health").status_code == 200
        _error(c.get("/api/health", headers={"host": "evil.example"}), 400)
    with TestClient(create_app(workers=0, allowed_hosts=["*"]), base_url="http://anything.example") as c:
        assert c.get("/api/health").status_code == 200


def test_serve_answers_to_its_bind_host(monkeypatch):
    import typer
    import uvicorn
    from typer.testing import CliRunner

    from gutbrain.web.cli import register

    captured = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: captured.update(app=app, **kw))
    cli = typer.Typer()
    register(cli)
    cli.command("noop")(lambda: None)  # two commands, so that typer keeps the command names
    result = CliRunner().invoke(cli, ["serve", "--host", "10.0.0.5", "--allow-host", "gutbrain.lan", "--workers", "0"])
    assert result.exit_code == 0, result.output
    assert captured["host"] == "10.0.0.5"
    for host, status in (("10.0.0.5:8000", 200), ("gutbrain.lan", 200), ("127.0.0.1", 200), ("evil.example", 400)):
        with TestClient(captured["app"], base_url=f"http://{host}") as c:
            assert c.get("/api/health").status_code == status, host
    assert CliRunner().invoke(cli, ["serve", "--help"]).exit_code == 0


# -- 10: nonsense inputs are refused -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "body", "needle"), [
    ("/api/simulate", {"days": 1e-300}, "days"), ("/api/simulate", {"days": 0.01}, "days"),
    ("/api/simulate", {"days": 1, "output_every": 48}, "output_every"),
    ("/api/simulate", {"scenario": {"days": 1}, "output_every": 25}, "output_every"),
    ("/api/cohort", {"days": 1e-300}, "days"), ("/api/cohort", {"days": 2, "output_every": 49}, "output_every"),
    ("/api/claims", {"ids": []}, "ids"),
])
def test_nonsense_is_refused_with_a_fix(client, url, body, needle):
    jobs = len(client.get("/api/jobs").json()["jobs"])
    err = _error(client.post(url, json=body), 422)
    assert needle in err["error"], err
    assert len(client.get("/api/jobs").json()["jobs"]) == jobs  # no job was started


def test_the_shortest_sensible_requests_still_work(client):
    r = client.post("/api/simulate", json={"days": 1 / 24, "output_every": 1, "variables": ["gad7"]})
    assert r.status_code == 200, r.text
    assert len(r.json()["time"]) == 2
    assert client.post("/api/simulate", json={"days": 1, "output_every": 24, "variables": ["gad7"]}).status_code == 200
