"""`substore serve` as a process on a free port, queried over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from tests.support import free_port, wait_until_healthy


def serve(port: int, env: dict[str, str], **streams: int) -> subprocess.Popen:
    """`substore serve` on `port`; its output piped as text unless `streams` say otherwise."""
    return subprocess.Popen(
        [sys.executable, "-m", "substore.cli", "serve", "--port", str(port)],
        env=env,
        text=True,
        **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **streams},
    )


@pytest.fixture
def server(fresh_database: str) -> Iterator[tuple[str, str]]:
    port = free_port()
    env = {**os.environ, "SUBSTORE_DATABASE_URL": fresh_database, "SUBSTORE_DEFAULT_REGION": "GB"}
    proc = serve(port, env, stderr=subprocess.DEVNULL)
    try:
        banner = [proc.stdout.readline() for _ in range(4)]
        key = json.loads(banner[3])["Authorization"].removeprefix("Bearer ")
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(f"{url}/healthz")
        yield url, key
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.close()


def test_serve_creates_an_account_and_answers_over_http(server):
    url, key = server
    headers = {"Authorization": f"Bearer {key}"}
    create = 'mutation { createSubscriber(input: {number: "07400 123456"}) { created subscriber { e164Number } } }'
    response = httpx.post(f"{url}/graphql", json={"query": create}, headers=headers)
    assert response.json()["data"]["createSubscriber"] == {
        "created": True,
        "subscriber": {"e164Number": "+447400123456"},
    }
    again = httpx.post(
        f"{url}/graphql",
        json={
            "query": '{ subscriber(number: "+44 7400 123456") { e164Number } account { defaultRegion } }'
        },
        headers=headers,
    )
    assert again.json()["data"] == {
        "subscriber": {"e164Number": "+447400123456"},
        "account": {"defaultRegion": "GB"},
    }
    assert httpx.post(f"{url}/graphql", json={"query": "{ account { id } }"}).status_code == 401
    page = httpx.get(f"{url}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_stopping_serve_stops_its_embedded_postgres(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SUBSTORE_DATABASE_URL"}
    env["SUBSTORE_DATA_DIR"] = str(tmp_path)
    proc = serve(port, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/healthz", seconds=60)
        assert _postgres_serving(tmp_path)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not _postgres_serving(tmp_path)


def _postgres_serving(data_dir) -> bool:
    import psutil

    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(data_dir) in " ".join(
            process.info["cmdline"] or []
        ):
            return True
    return False


def test_json_access_log_and_metrics(fresh_database):
    port = free_port()
    env = {**os.environ, "SUBSTORE_DATABASE_URL": fresh_database, "SUBSTORE_LOG_FORMAT": "json"}
    proc = serve(port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        key = json.loads([proc.stdout.readline() for _ in range(4)][3])["Authorization"][7:]
        wait_until_healthy(f"{url}/healthz")
        headers = {"Authorization": f"Bearer {key}"}
        rows = [{"number": "(201) 555-0123"}, {"number": "12"}]
        imported = httpx.post(
            f"{url}/graphql",
            json={
                "query": "mutation Load($r: [SubscriberInput!]!) "
                "{ importSubscribers(input: $r) { createdCount } }",
                "variables": {"r": rows},
            },
            headers=headers,
        )
        assert imported.status_code == 200
        refused = httpx.post(f"{url}/graphql", json={"query": "{ account { id } }"})
        assert refused.status_code == 401
        scraped = httpx.get(f"{url}/metrics").text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    lines = [json.loads(line) for line in proc.stdout.read().splitlines() if line.startswith("{")]
    stderr = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    load = next(line for line in lines if line.get("operation") == "Load")
    assert (load["status"], load["key"], load["account"]) == (200, key[:12], 1)
    assert load["ms"] > 0 and load["requestId"]
    assert any(line["status"] == 401 and line["code"] == "UNAUTHENTICATED" for line in lines)
    # An expected refusal is one line in the server log, with its code: no traceback.
    assert "401 UNAUTHENTICATED" in stderr and "Traceback" not in stderr
    # Labels from a closed set: the operation type, never the client's name for it.
    assert 'substore_requests_total{operation="mutation",status="200"} 1.0' in scraped
    assert "Load" not in scraped
    assert 'substore_import_rows_total{status="CREATED"} 1.0' in scraped
    assert 'substore_import_rows_total{status="FAILED"} 1.0' in scraped
    assert "substore_request_seconds_bucket" in scraped
    assert "substore_db_connections_in_use" in scraped


def test_text_access_log_has_a_line_per_request_with_its_id(fresh_database):
    port = free_port()
    env = {**os.environ, "SUBSTORE_DATABASE_URL": fresh_database}
    proc = serve(port, env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        key = json.loads([proc.stdout.readline() for _ in range(4)][3])["Authorization"][7:]
        wait_until_healthy(f"{url}/healthz")
        headers = {"Authorization": f"Bearer {key}"}
        query = {"query": "query Who { account { id } }"}
        answers = [httpx.post(f"{url}/graphql", json=query, headers=headers) for _ in range(3)]
        refused = httpx.post(f"{url}/graphql", json=query)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    lines = proc.stdout.read().splitlines()
    proc.stdout.close()
    for answer in answers:
        [line] = [x for x in lines if f"request={answer.headers['x-request-id']}" in x]
        assert " - Who 200 " in line and f"key={key[:12]}" in line
    [line] = [x for x in lines if f"request={refused.headers['x-request-id']}" in x]
    # Refused before its body was read: an anonymous client's names reach no log field.
    assert " - - 401 UNAUTHENTICATED " in line


def test_metrics_add_up_across_server_processes(fresh_database, tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR, /metrics of one process counts every process's
    requests (as behind several workers)."""
    env = {
        **os.environ,
        "SUBSTORE_DATABASE_URL": fresh_database,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    ports, procs = [free_port(), free_port()], []
    try:
        for port in ports:
            procs.append(serve(port, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_until_healthy(f"http://127.0.0.1:{port}/healthz")
        for port, count in zip(ports, (2, 3), strict=True):
            for _ in range(count):
                httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ account { id } }"})
        scraped = httpx.get(f"http://127.0.0.1:{ports[0]}/metrics").text
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
    assert 'substore_requests_total{operation="-",status="401"} 5.0' in scraped


@pytest.mark.parametrize("workers", [1, 3])
def test_serve_runs_the_workers_it_is_told_and_stops_them(tmp_path, workers):
    """Each worker answers on the one port (each writes its own metrics file, named by its
    pid); stopping serve stops them all and the embedded PostgreSQL they shared."""
    import psutil

    port, metrics = free_port(), tmp_path / "metrics"
    metrics.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "SUBSTORE_DATABASE_URL"}
    env |= {
        "SUBSTORE_DATA_DIR": str(tmp_path / "data"),
        "SUBSTORE_WORKERS": str(workers),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }
    proc = serve(port, env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        key = json.loads([proc.stdout.readline() for _ in range(4)][3])["Authorization"]
        wait_until_healthy(f"http://127.0.0.1:{port}/healthz", seconds=60)
        served: set[str] = set()
        for _ in range(300):  # a new connection each time: whichever worker accepts it
            response = httpx.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": "{ account { id } }"},
                headers={"Authorization": key},
            )
            assert response.status_code == 200
            served = {f.stem.rsplit("_", 1)[1] for f in metrics.glob("counter_*.db")}
            if len(served) == workers:
                break
        assert len(served) == workers
        spawned = [
            p for p in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(p.cmdline())
        ]
        assert len(spawned) == (0 if workers == 1 else workers)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert not _postgres_serving(tmp_path)
