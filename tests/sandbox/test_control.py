"""The /_sandbox control API: state, reset, session expiry, PATCH of users and apps."""

from __future__ import annotations

import socket

import httpx
import pytest
from tests.support.sandbox import (
    CODE_CLIENT_ID,
    PASSWORD_CLIENT_ID,
    PASSWORD_CLIENT_SECRET,
    REDIRECT_URI,
    Control,
    login,
    logout,
    password_token,
    running_sandbox,
)

from acumatica_datasource.sandbox import Sandbox

STOCK = "/entity/Default/24.200.001/StockItem"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_state_logs_every_request_with_its_query(client: httpx.Client, control: Control) -> None:
    assert login(client).status_code == 204
    client.get(STOCK, params={"$top": 3, "$filter": "ItemStatus eq 'Active'"})
    client.get("/entity/Default/24.200.001/StockItem?$top=1")
    assert logout(client).status_code == 204
    state = control.state()
    assert state["open_sessions"] == 0
    assert state["sessions"] == []
    requests = state["requests"]
    assert [(r["method"], r["path"], r["status"]) for r in requests] == [
        ("POST", "/entity/auth/login", 204),
        ("GET", STOCK, 200),
        ("GET", STOCK, 200),
        ("POST", "/entity/auth/logout", 204),
    ]
    assert requests[1]["query"].startswith("%24top=3")  # raw, as httpx sent it
    assert requests[1]["params"] == [["$top", "3"], ["$filter", "ItemStatus eq 'Active'"]]
    assert requests[1]["params"] == [["$top", "3"], ["$filter", "ItemStatus eq 'Active'"]]
    assert requests[2]["query"] == "$top=1"


def test_reset_clears_sessions_tokens_faults_and_log(
    client: httpx.Client, control: Control
) -> None:
    assert login(client).status_code == 204
    token = password_token(client).json()["access_token"]
    control.fault(path="*", status=500, times=None)
    control.patch_user("admin", password="changed")
    control.reset()
    state = control.state()
    assert (state["open_sessions"], state["grants"], state["requests"]) == (0, 0, [])
    assert control.faults() == []
    assert client.get(STOCK, headers=_bearer(token)).status_code == 401
    # the password is the configured one again
    assert login(client).status_code == 204
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0


def test_expire_sessions_mid_way(client: httpx.Client, control: Control) -> None:
    assert login(client).status_code == 204
    assert client.get(STOCK, params={"$top": 1}).status_code == 200
    assert control.expire_sessions() == 1
    assert client.get(STOCK, params={"$top": 1}).status_code == 401
    assert control.open_sessions() == 0


def test_patch_user_password_and_must_change(client: httpx.Client, control: Control) -> None:
    changed = control.patch_user("admin", password="new-pass", must_change_password=False)
    assert changed["name"] == "admin"
    assert "password" not in changed
    assert login(client).status_code == 500
    assert login(client, password="new-pass").status_code == 204
    assert logout(client).status_code == 204
    control.patch_user("admin", must_change_password=True)
    response = login(client, password="new-pass")
    assert "change your password" in response.json()["message"]
    assert control.open_sessions() == 0


def test_locking_a_user_ends_their_sessions_and_grants(
    client: httpx.Client, control: Control
) -> None:
    assert login(client).status_code == 204
    tokens = password_token(client).json()
    assert (
        client.get(STOCK, params={"$top": 1}, headers=_bearer(tokens["access_token"])).status_code
        == 200
    )
    assert control.open_sessions() == 2
    control.patch_user("admin", locked=True)
    assert control.open_sessions() == 0
    assert client.get(STOCK, params={"$top": 1}).status_code == 401
    assert client.get(STOCK, headers=_bearer(tokens["access_token"])).status_code == 401
    refreshed = client.post(
        "/identity/connect/token",
        data={
            "grant_type": "refresh_token",
            "client_id": PASSWORD_CLIENT_ID,
            "client_secret": PASSWORD_CLIENT_SECRET,
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refreshed.json()["error"] == "invalid_grant"
    assert "locked out" in login(client).json()["message"]
    control.patch_user("admin", locked=False)
    assert login(client).status_code == 204
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0


def test_patch_denied_entities(client: httpx.Client, control: Control) -> None:
    assert login(client).status_code == 204
    control.patch_user("admin", denied_entities=["StockItem"])
    assert client.get(STOCK).status_code == 403
    control.patch_user("admin", denied_entities=[])
    assert client.get(STOCK, params={"$top": 1}).status_code == 200
    assert logout(client).status_code == 204
    assert control.open_sessions() == 0


def test_changing_an_app_secret_ends_its_grants(client: httpx.Client, control: Control) -> None:
    token = password_token(client).json()["access_token"]
    assert client.get(STOCK, params={"$top": 1}, headers=_bearer(token)).status_code == 200
    assert control.open_sessions() == 1
    app = control.patch_app(PASSWORD_CLIENT_ID, secrets=["rotated"])
    assert app["secrets"] == ["rotated"]
    assert control.open_sessions() == 0
    assert client.get(STOCK, headers=_bearer(token)).status_code == 401
    assert password_token(client).json()["error"] == "invalid_client"
    assert password_token(client, client_secret="rotated").status_code == 200
    assert control.open_sessions() == 0


def test_patch_app_redirect_uris_and_flow(client: httpx.Client, control: Control) -> None:
    params = {"client_id": CODE_CLIENT_ID, "response_type": "code", "state": "s"}
    new_uri = "https://bi.example.com/oauth/callback/new"
    assert (
        client.get(
            "/identity/connect/authorize", params={**params, "redirect_uri": new_uri}
        ).status_code
        == 400
    )
    control.patch_app(CODE_CLIENT_ID, redirect_uris=[new_uri])
    assert (
        client.get(
            "/identity/connect/authorize", params={**params, "redirect_uri": new_uri}
        ).status_code
        == 200
    )
    assert (
        client.get(
            "/identity/connect/authorize", params={**params, "redirect_uri": REDIRECT_URI}
        ).status_code
        == 400
    )
    control.patch_app(CODE_CLIENT_ID, flow="password")
    response = password_token(client, client_id=CODE_CLIENT_ID, client_secret="s3cr3t")
    assert response.status_code == 200
    assert control.open_sessions() == 0


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/tenants/ACME/users/nobody", {"locked": True}, 404),
        ("/tenants/Nope/users/admin", {"locked": True}, 404),
        ("/tenants/ACME/users/admin", {"locked": "yes"}, 400),
        ("/tenants/ACME/users/admin", {"colour": "red"}, 400),
        (f"/tenants/ACME/apps/{CODE_CLIENT_ID}", {"flow": "magic"}, 400),
        ("/tenants/ACME/apps/unknown", {"secrets": ["x"]}, 404),
    ],
)
def test_bad_patches(control: Control, path: str, body: dict[str, object], status: int) -> None:
    with httpx.Client(base_url=f"{control.base_url}/_sandbox") as raw:
        response = raw.patch(path, json=body)
    assert response.status_code == status
    assert "error" in response.json()


def test_unknown_control_route_is_404(control: Control) -> None:
    assert httpx.get(f"{control.base_url}/_sandbox/nope").status_code == 404


def _non_loopback_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 9))
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else str(address)


def test_control_api_refuses_non_loopback_peers() -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    site = Sandbox(host="0.0.0.0")
    try:
        site.start()
        port = site.url.rsplit(":", 1)[1]
        remote = f"http://{address}:{port}"
        assert httpx.get(f"{remote}/_sandbox/state").status_code == 403
        assert httpx.get(f"{remote}/entity").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/_sandbox/state").status_code == 200
    finally:
        site.stop()


def test_sandbox_start_stop_and_restart() -> None:
    with running_sandbox() as first:
        url = first.url
        assert httpx.get(f"{url}/entity").status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/entity", timeout=1.0)
    with pytest.raises(RuntimeError):
        _ = first.url
