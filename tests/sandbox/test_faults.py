"""Injected faults through POST /_sandbox/faults."""

from __future__ import annotations

import time

import httpx
import pytest
from tests.support.sandbox import Control, login, logout

LOGIN = "/entity/auth/login"
STOCK = "/entity/Default/24.200.001/StockItem"


def test_fault_applies_exactly_times_times(client: httpx.Client, control: Control) -> None:
    control.fault(path=LOGIN, method="POST", status=503, times=2, retry_after=5)
    first, second = login(client), login(client)
    assert [first.status_code, second.status_code] == [503, 503]
    assert first.headers["Retry-After"] == "5"
    assert control.open_sessions() == 0
    assert control.faults()[0]["remaining"] == 0
    assert login(client).status_code == 204
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0
    statuses = [(r["path"], r["status"]) for r in control.requests()]
    assert statuses == [(LOGIN, 503), (LOGIN, 503), (LOGIN, 204), ("/entity/auth/logout", 204)]


def test_fault_matches_method_and_glob(client: httpx.Client, control: Control) -> None:
    control.fault(path="/entity/Default/*", method="GET", status=500, body={"message": "boom"})
    assert login(client).status_code == 204
    response = client.get(STOCK, params={"$top": 1})
    assert response.status_code == 500
    assert response.json() == {"message": "boom"}
    assert client.get(STOCK, params={"$top": 1}).status_code == 200
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0


def test_unlimited_fault_and_delete(client: httpx.Client, control: Control) -> None:
    control.fault(path="*", status=502, times=None, body="bad gateway")
    for _ in range(3):
        response = client.get("/entity")
        assert response.status_code == 502
        assert response.text == "bad gateway"
    control.clear_faults()
    assert control.faults() == []
    assert client.get("/entity").status_code == 200


def test_probability_faults_are_seeded(client: httpx.Client, control: Control) -> None:
    def run() -> list[int]:
        control.clear_faults()
        control.fault(path="/entity", status=503, times=None, probability=0.2, seed=42)
        return [client.get("/entity").status_code for _ in range(200)]

    first = run()
    failures = first.count(503)
    assert 20 <= failures <= 60
    assert set(first) == {200, 503}
    assert run() == first


def test_delay_only_fault_passes_through(client: httpx.Client, control: Control) -> None:
    control.fault(path="/entity", status=None, delay_ms=300)
    started = time.perf_counter()
    response = client.get("/entity")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.28
    assert "endpoints" in response.json()


def test_delay_causes_a_client_timeout(client: httpx.Client, control: Control) -> None:
    control.fault(path=LOGIN, status=None, delay_ms=500, when="after")
    with pytest.raises(httpx.ReadTimeout):
        client.post(LOGIN, json={"name": "admin", "password": "secret1"}, timeout=0.1)
    time.sleep(0.6)
    # the login that timed out still opened a session
    assert control.open_sessions() == 1
    assert control.expire_sessions() == 1
    assert control.open_sessions() == 0


def test_after_fault_runs_the_handler_then_replaces_the_answer(
    client: httpx.Client, control: Control
) -> None:
    control.fault(path=LOGIN, method="POST", status=504, when="after")
    response = login(client)
    assert response.status_code == 504
    assert "set-cookie" not in response.headers
    assert control.open_sessions() == 1
    assert control.state()["sessions"][0]["user"] == "admin"
    assert control.expire_sessions() == 1
    assert control.open_sessions() == 0


def test_before_fault_does_not_run_the_handler(client: httpx.Client, control: Control) -> None:
    control.fault(path=LOGIN, status=504)
    assert login(client).status_code == 504
    assert control.open_sessions() == 0


def test_reset_fault_drops_the_connection(client: httpx.Client, control: Control) -> None:
    control.fault(path=LOGIN, reset=True)
    with pytest.raises(httpx.TransportError):
        login(client)
    assert control.open_sessions() == 0
    assert control.requests()[-1]["status"] is None
    assert login(client).status_code == 204
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0


def test_reset_after_the_handler_leaves_the_session_open(
    client: httpx.Client, control: Control
) -> None:
    control.fault(path=LOGIN, reset=True, when="after")
    with pytest.raises(httpx.TransportError):
        login(client)
    assert control.open_sessions() == 1
    assert control.expire_sessions() == 1
    assert control.open_sessions() == 0


def test_faults_do_not_touch_the_control_api(client: httpx.Client, control: Control) -> None:
    control.fault(path="*", status=500, times=None)
    assert control.state()["requests"] == []
    assert client.get("/entity").status_code == 500
    assert len(control.requests()) == 1


@pytest.mark.parametrize(
    "spec",
    [
        {"status": 503},
        {"path": "/x", "status": 99},
        {"path": "/x", "times": 0},
        {"path": "/x", "probability": 2},
        {"path": "/x", "when": "later"},
        {"path": "/x", "bogus": 1},
    ],
)
def test_bad_fault_specs_are_rejected(control: Control, spec: dict[str, object]) -> None:
    with httpx.Client(base_url=control.base_url) as raw:
        response = raw.post("/_sandbox/faults", json=spec)
    assert response.status_code == 400
    assert "error" in response.json()
