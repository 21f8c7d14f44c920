"""Many concurrent clients against one sandbox."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from tests.support.sandbox import Control, SandboxFactory, login, logout


def test_many_concurrent_clients(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(license={"api_users": 0})

    def cycle(_: int) -> list[int]:
        with httpx.Client(base_url=site.url, timeout=10.0) as client:
            statuses = [login(client).status_code]
            for skip in (0, 50):
                page = client.get(
                    "/entity/Default/24.200.001/StockItem", params={"$top": 50, "$skip": skip}
                )
                statuses.append(page.status_code)
            statuses.append(logout(client).status_code)
            return statuses

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(cycle, range(48)))
    assert all(statuses == [204, 200, 200, 204] for statuses in results)
    with Control(site.url) as control:
        assert control.open_sessions() == 0
        assert len(control.requests()) == 48 * 4


def test_the_limit_holds_under_concurrent_logins(make_sandbox: SandboxFactory) -> None:
    site = make_sandbox(license={"api_users": 2, "login_limit_response": "429-text"})
    clients = [httpx.Client(base_url=site.url, timeout=10.0) for _ in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda client: login(client).status_code, clients))
    assert sorted(statuses) == [204, 204] + [429] * 10
    with Control(site.url) as control:
        assert control.open_sessions() == 2
        for client in clients:
            assert logout(client).status_code == 204
            client.close()
        assert control.open_sessions() == 0
