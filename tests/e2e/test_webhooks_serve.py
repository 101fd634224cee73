"""`substore serve` delivers webhooks itself, and a kill -9 loses none: events written
while the receiver is down arrive once serve is back and the receiver is up."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
from tests.e2e.test_serve import serve
from tests.support import eventually, free_port, serve_in_thread, wait_until_healthy
from tests.webhooks import Receiver

CREATE_ENDPOINT = """mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) {
  secret userErrors { message } } }"""
CREATE = "mutation($n: PhoneNumber!) { createSubscriber(input: {number: $n}) { created } }"
STOP = 'mutation($n: PhoneNumber!) { recordInboundMessage(input: {from: $n, text: "STOP"}) { action } }'


def _start(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = serve(port, env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(f"{url}/healthz", seconds=90)  # two workers on a loaded machine
    except AssertionError:
        proc.kill()
        proc.wait(timeout=20)
        proc.stdout.close()
        raise
    return proc, url


def _post(base: str, key: str, query: str, **variables: str) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    response = httpx.post(
        f"{base}/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_a_kill_9_while_the_receiver_is_down_loses_no_event(fresh_database):
    env = {
        **os.environ,
        "SUBSTORE_DATABASE_URL": fresh_database,
        "SUBSTORE_WEBHOOK_ALLOW_PRIVATE": "true",
        "SUBSTORE_WORKERS": "2",
    }
    receiver, receiver_port = Receiver(), free_port()  # not listening yet: attempts fail
    proc, url = _start(env)
    try:
        banner = [proc.stdout.readline() for _ in range(4)]
        key = json.loads(banner[3])["Authorization"].removeprefix("Bearer ")
        hook = f"http://127.0.0.1:{receiver_port}/hook"
        receiver.secret = _post(url, key, CREATE_ENDPOINT, url=hook)["createWebhookEndpoint"][
            "secret"
        ]
        for n in range(5):
            _post(url, key, CREATE, n=f"+1201555010{n}")
        _post(url, key, STOP, n="+12015550100")
    finally:
        proc.kill()  # SIGKILL: no clean-up of any kind
        proc.wait(timeout=20)
        proc.stdout.close()
    with serve_in_thread(receiver.app(), port=receiver_port):
        proc, url = _start(env)
        try:
            assert eventually(lambda: len(receiver.events()) >= 6, seconds=30)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            proc.stdout.close()
    events = receiver.events()
    assert [e["sequence"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1]["type"] == "subscriber.unsubscribed"
    assert all(r.verified for r in receiver.received)
