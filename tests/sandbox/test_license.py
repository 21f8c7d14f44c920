"""The API-user license limit across cookie and bearer sessions, and idle expiry."""

from __future__ import annotations

import time

import httpx
import pytest
from tests.support.sandbox import (
    Control,
    SandboxFactory,
    login,
    logout,
    password_token,
)

STOCK = "/entity/Default/24.200.001/StockItem"


def _clients(url: str, count: int) -> list[httpx.Client]:
    return [httpx.Client(base_url=url, timeout=10.0) for _ in range(count)]


@pytest.mark.parametrize("variant", ["500-json", "429-json", "429-text"])
def test_two_sessions_allowed_third_refused(make_sandbox: SandboxFactory, variant: str) -> None:
    site = make_sandbox(license={"api_users": 2, "login_limit_response": variant})
    first, second, third = _clients(site.url, 3)
    with first, second, third, Control(site.url) as control:
        assert login(first).status_code == 204
        assert login(second).status_code == 204
        refused = login(third)
        if variant == "429-text":
            assert refused.status_code == 429
            assert refused.headers["content-type"].startswith("text/plain")
            assert refused.text == "API Login Limit"
        else:
            assert refused.status_code == (500 if variant == "500-json" else 429)
            body = refused.json()
            assert "API Login Limit" in body["message"]
            assert body["exceptionType"] == "PX.Data.PXException"
        assert "Retry-After" not in refused.headers
        assert control.open_sessions() == 2
        assert logout(first).status_code == 204
        assert login(third).status_code == 204
        assert logout(second).status_code == 204
        assert logout(third).status_code == 204
        assert control.open_sessions() == 0


def test_retry_after_header_on_429(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(
        license={"api_users": 1, "login_limit_response": "429-json", "retry_after_s": 7}
    )
    first, second = _clients(site.url, 2)
    with first, second, Control(site.url) as control:
        assert login(first).status_code == 204
        refused = login(second)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "7"
        assert logout(first).status_code == 204
        assert control.open_sessions() == 0


def test_zero_api_users_is_unlimited(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(license={"api_users": 0})
    clients = _clients(site.url, 5)
    with Control(site.url) as control:
        for client in clients:
            assert login(client).status_code == 204
        assert control.open_sessions() == 5
        for client in clients:
            assert logout(client).status_code == 204
            client.close()
        assert control.open_sessions() == 0


def test_idle_session_expires_and_frees_its_slot(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(session_idle_timeout_s=0.3, license={"api_users": 1})
    first, second = _clients(site.url, 2)
    with first, second, Control(site.url) as control:
        assert login(first).status_code == 204
        assert login(second).status_code == 500
        time.sleep(0.45)
        assert control.open_sessions() == 0
        assert first.get(STOCK, params={"$top": 1}).status_code == 401
        assert login(second).status_code == 204
        assert logout(second).status_code == 204
        assert control.open_sessions() == 0


def test_activity_keeps_a_session_alive(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(session_idle_timeout_s=0.4)
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        for _ in range(4):
            time.sleep(0.15)
            assert client.get(STOCK, params={"$top": 1}).status_code == 200
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def test_bearer_sessions_count_toward_the_limit(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(license={"api_users": 2})
    first, second, third = _clients(site.url, 3)
    with first, second, third, Control(site.url) as control:
        tokens = [password_token(first).json()["access_token"] for _ in range(2)]
        # default bearer_slot: first_request - a token alone holds no slot
        assert control.open_sessions() == 0
        for token in tokens:
            auth = {"Authorization": f"Bearer {token}"}
            assert first.get(STOCK, params={"$top": 1}, headers=auth).status_code == 200
        assert control.open_sessions() == 2
        assert {s["kind"] for s in control.state()["sessions"]} == {"bearer"}
        refused = login(third)
        assert refused.status_code == 500
        assert "API Login Limit" in refused.json()["message"]
        # logging out with the bearer frees the slot
        assert logout(first, headers={"Authorization": f"Bearer {tokens[0]}"}).status_code == 204
        assert control.open_sessions() == 1
        assert login(third).status_code == 204
        # a bearer's first request at the limit gets the login-limit answer
        limited = first.get(
            STOCK, params={"$top": 1}, headers={"Authorization": f"Bearer {tokens[0]}"}
        )
        assert limited.status_code == 500
        assert "API Login Limit" in limited.json()["message"]
        assert logout(third).status_code == 204
        assert logout(first, headers={"Authorization": f"Bearer {tokens[1]}"}).status_code == 204
        assert control.open_sessions() == 0


def test_bearer_slot_taken_at_token_time(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(license={"api_users": 1, "bearer_slot": "token"})
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        token = password_token(client).json()["access_token"]
        assert control.open_sessions() == 1
        refused = password_token(client)
        assert refused.status_code == 500
        assert "API Login Limit" in refused.json()["message"]
        assert logout(client, headers={"Authorization": f"Bearer {token}"}).status_code == 204
        assert control.open_sessions() == 0


def test_requests_per_minute(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(license={"requests_per_minute": 3, "retry_after_s": 60})
    with httpx.Client(base_url=site.url) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        assert client.get(STOCK, params={"$top": 1}).status_code == 200
        assert client.get("/entity").status_code == 200
        limited = client.get(STOCK, params={"$top": 1})
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "60"
        assert "exceptionMessage" in limited.json()
        # sign-out is not rate limited, so the session can always be closed
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0
        assert [r["status"] for r in control.requests()] == [204, 200, 200, 429, 204]
