"""Cookie sessions: login/logout on every path, login failures, read errors, and retries."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.support.sandbox import PASSWORD, TENANT, USER, login, logout
from tests.support.site import LOGIN, LOGOUT, Leaks, Recorder, Site, make_client

from acumatica_datasource.acumatica import (
    AcumaticaClient,
    AcumaticaError,
    ConnectionReset,
    CredentialsRejected,
    Forbidden,
    LoginLimitReached,
    LogoutFailed,
    NotFound,
    PasswordChangeRequired,
    RateLimited,
    RequestTimeout,
    ServerUnavailable,
    SessionExpired,
    TenantSetupIncomplete,
    TenantUnknown,
    UnexpectedServerError,
    UserLocked,
    connection,
)
from acumatica_datasource.sandbox import default_config_data

VERSION = "24.200.001"
PAGE = f"/entity/Default/{VERSION}/UnitsOfMeasure"


def open_session(client: AcumaticaClient, password: str = PASSWORD, tenant: str = TENANT) -> Any:
    return client.session(username=USER, password=password, tenant=tenant)


def read(session: Any, top: int = 5, skip: int = 0) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = session.read(
        "UnitsOfMeasure", version=VERSION, top=top, skip=skip, select="UnitID"
    )
    return result


# --- login / logout on every path ---------------------------------------------------------


def test_session_logs_in_reads_and_logs_out_with_an_empty_body(site: Site) -> None:
    recorder = Recorder()
    with make_client(site.url, transport=recorder) as client:
        with open_session(client) as session:
            assert site.open_sessions() == 1
            records = read(session)
        assert [r["UnitID"]["value"] for r in records] and len(records) == 5
        assert client.requests == 3
    assert site.log() == [
        ("POST", LOGIN, "", 204),
        ("GET", PAGE, "$top=5&$skip=0&$select=UnitID", 200),
        ("POST", LOGOUT, "", 204),
    ]
    method, path, headers, body = recorder.sent[-1]
    assert (method, path) == ("POST", LOGOUT)
    assert headers["content-length"] == "0" and body == b""
    assert "content-type" not in headers


def test_an_exception_inside_the_block_still_logs_out(site: Site) -> None:
    with make_client(site.url) as client:
        with pytest.raises(ZeroDivisionError), open_session(client):
            _ = 1 / 0
    assert site.paths() == [("POST", LOGIN), ("POST", LOGOUT)]
    assert site.log()[-1][3] == 204


def test_keyboard_interrupt_inside_the_block_still_logs_out(site: Site) -> None:
    with make_client(site.url) as client:
        with pytest.raises(KeyboardInterrupt), open_session(client) as session:
            read(session)
            raise KeyboardInterrupt
    assert site.paths() == [("POST", LOGIN), ("GET", PAGE), ("POST", LOGOUT)]


def test_a_timed_out_page_read_is_not_retried_and_logs_out(site: Site, leaks: Leaks) -> None:
    site.control.fault(path=PAGE, method="GET", status=None, delay_ms=1500)
    started = time.monotonic()
    with make_client(site.url, timeout=0.4) as client:
        with leaks.raises(RequestTimeout) as info, open_session(client) as session:
            read(session)
    assert time.monotonic() - started < 1.3
    message = str(info.value)
    assert (
        site.url in message and "operation_timeout" in message and "read UnitsOfMeasure" in message
    )
    assert [p for p in site.paths() if p[1] != PAGE] == [("POST", LOGIN), ("POST", LOGOUT)]
    assert site.paths().count(("GET", PAGE)) == 1


def test_a_timed_out_login_is_never_retried(make_site: Callable[..., Site], leaks: Leaks) -> None:
    """The one test that leaves an orphan session: it must be exactly one, and expire."""
    site = make_site(session_idle_timeout_s=1.0)
    site.control.fault(path=LOGIN, status=None, when="after", delay_ms=3000)
    with make_client(site.url, timeout=0.3) as client, leaks.raises(RequestTimeout) as info:
        with open_session(client):
            pytest.fail("the login cannot have succeeded")
    message = str(info.value)
    assert "log in as admin" in message
    assert "may still have opened a session" in message and "license" in message
    assert site.paths() == [("POST", LOGIN)]
    assert site.open_sessions() == 1  # the orphan: the server did open it
    time.sleep(1.1)
    assert site.open_sessions() == 0  # ...and it idles out


def test_a_connection_reset_on_login_is_not_retried(site: Site, leaks: Leaks) -> None:
    site.control.fault(path=LOGIN, reset=True)
    with make_client(site.url) as client, leaks.raises(ConnectionReset) as info:
        with open_session(client):
            pytest.fail("the login cannot have succeeded")
    assert "may still have opened a session" in str(info.value)
    assert site.paths() == [("POST", LOGIN)]


def test_connection_resets_on_page_reads_are_retried(site: Site) -> None:
    site.control.fault(path=PAGE, reset=True, times=2)
    with make_client(site.url) as client, open_session(client) as session:
        assert len(read(session)) == 5
    assert site.log() == [
        ("POST", LOGIN, "", 204),
        ("GET", PAGE, "$top=5&$skip=0&$select=UnitID", None),
        ("GET", PAGE, "$top=5&$skip=0&$select=UnitID", None),
        ("GET", PAGE, "$top=5&$skip=0&$select=UnitID", 200),
        ("POST", LOGOUT, "", 204),
    ]


def test_connection_resets_on_logout_are_retried(site: Site) -> None:
    site.control.fault(path=LOGOUT, reset=True)
    with make_client(site.url) as client, open_session(client):
        pass
    assert site.log() == [
        ("POST", LOGIN, "", 204),
        ("POST", LOGOUT, "", None),
        ("POST", LOGOUT, "", 204),
    ]


def test_a_failed_logout_names_site_and_user(site: Site, leaks: Leaks) -> None:
    # the real logout runs (no session is left behind) but every answer is a 500
    site.control.fault(path=LOGOUT, status=500, when="after", times=None, body={"message": "x"})
    with make_client(site.url) as client, leaks.raises(LogoutFailed) as info:
        with open_session(client):
            pass
    message = str(info.value)
    assert site.url in message and "user 'admin'" in message and "company ACME" in message
    assert "license slot" in message


def test_a_failed_logout_after_an_error_keeps_the_error(site: Site) -> None:
    site.control.fault(path=LOGOUT, status=500, when="after", times=None, body={"message": "x"})
    with make_client(site.url) as client:
        with pytest.raises(ZeroDivisionError) as info, open_session(client):
            _ = 1 / 0
    assert any("could not be closed" in note for note in info.value.__notes__)


# --- login failures --------------------------------------------------------------------


@pytest.mark.parametrize("style", ["detailed", "generic"])
def test_bad_password(make_site: Callable[..., Site], leaks: Leaks, style: str) -> None:
    site = make_site(error_message_style=style)
    wrong = "not-the-password-42"
    leaks.add(wrong)
    with make_client(site.url) as client, leaks.raises(CredentialsRejected) as info:
        with open_session(client, password=wrong):
            pytest.fail("logged in with a wrong password")
    message = str(info.value)
    assert site.url in message and "user 'admin' of company ACME" in message
    assert "authentication.username" in message and "password secret" in message
    assert site.paths() == [("POST", LOGIN)]  # no retry, no logout


def two_tenants() -> list[dict[str, Any]]:
    acme = default_config_data()["tenants"][0]  # type: ignore[index]
    beta = {"name": "BETA", "users": [{"name": "admin", "password": PASSWORD}]}
    return [acme, beta]


def test_unknown_tenant(make_site: Callable[..., Site], leaks: Leaks) -> None:
    site = make_site(tenants=two_tenants())
    with make_client(site.url) as client, leaks.raises(TenantUnknown) as info:
        with open_session(client, tenant="GAMMA"):
            pass
    message = str(info.value)
    assert "'GAMMA'" in message and "check company" in message
    assert info.value.exception_type == "PX.Data.PXUndefinedCompanyException"
    with make_client(site.url) as client, open_session(client, tenant="beta") as session:
        assert read(session)
    assert site.paths() == [("POST", LOGIN), ("POST", LOGIN), ("GET", PAGE), ("POST", LOGOUT)]


def test_password_change_required(site: Site, leaks: Leaks) -> None:
    site.control.patch_user(USER, must_change_password=True)
    with make_client(site.url) as client, leaks.raises(PasswordChangeRequired) as info:
        with open_session(client):
            pass
    assert "must change the password" in str(info.value)
    assert site.paths() == [("POST", LOGIN)]


def test_locked_user(site: Site, leaks: Leaks) -> None:
    site.control.patch_user(USER, locked=True)
    with make_client(site.url) as client, leaks.raises(UserLocked) as info:
        with open_session(client):
            pass
    assert "locked" in str(info.value) and "unlock" in str(info.value)
    assert site.paths() == [("POST", LOGIN)]


@pytest.mark.parametrize(
    ("variant", "status"), [("500-json", 500), ("429-json", 429), ("429-text", 429)]
)
def test_login_limit_in_each_variant(
    make_site: Callable[..., Site], leaks: Leaks, variant: str, status: int
) -> None:
    site = make_site(license={"api_users": 1, "login_limit_response": variant})
    with httpx.Client(base_url=site.url, timeout=5) as other:
        assert login(other).status_code == 204  # someone else holds the only API slot
        started = time.monotonic()
        with make_client(site.url, timeout=0.6) as client, leaks.raises(LoginLimitReached) as info:
            with open_session(client):
                pass
        elapsed = time.monotonic() - started
        assert logout(other).status_code == 204
    assert elapsed < 1.2  # retried within operation_timeout, then given up
    assert info.value.status == status
    assert "API login limit" in str(info.value) and "log out idle sessions" in str(info.value)
    logins = [entry for entry in site.log() if entry[1] == LOGIN]
    assert len(logins) >= 3  # the first by `other`, then the retried attempts
    assert {entry[3] for entry in logins[1:]} == {status}
    assert ("POST", LOGOUT) not in site.paths()[1:-1]


def test_login_limit_frees_up_within_the_budget(make_site: Callable[..., Site]) -> None:
    site = make_site(license={"api_users": 1})
    other = httpx.Client(base_url=site.url, timeout=5)
    assert login(other).status_code == 204

    def release() -> None:
        logout(other)
        other.close()

    timer = threading.Timer(0.3, release)
    timer.start()
    with make_client(site.url, timeout=5) as client, open_session(client) as session:
        assert read(session)
    timer.join()
    assert [entry[3] for entry in site.log() if entry[1] == LOGIN][-1] == 204


def test_a_503_on_login_is_retried_but_a_502_is_not(site: Site, leaks: Leaks) -> None:
    site.control.fault(path=LOGIN, status=503)
    with make_client(site.url) as client, open_session(client):
        pass
    assert site.log() == [
        ("POST", LOGIN, "", 503),
        ("POST", LOGIN, "", 204),
        ("POST", LOGOUT, "", 204),
    ]
    site.control.reset()
    site.control.fault(path=LOGIN, status=502)
    with make_client(site.url) as client, leaks.raises(ServerUnavailable):
        with open_session(client):
            pass
    assert site.paths() == [("POST", LOGIN)]


# --- read errors -------------------------------------------------------------------------


def test_read_errors_are_classified(site: Site, leaks: Leaks) -> None:
    site.control.patch_user(USER, denied_entities=["StockItem"])
    with make_client(site.url) as client, open_session(client) as session:
        with leaks.raises(Forbidden) as forbidden:
            session.read("StockItem", version=VERSION, top=1)
        assert "User Roles" in str(forbidden.value)
        with leaks.raises(NotFound) as missing:
            session.read("NoSuchThing", version=VERSION, top=1)
        assert "NoSuchThing" in str(missing.value) and missing.value.status == 404
        with leaks.raises(NotFound):
            session.read("UnitsOfMeasure", version="99.999.999", top=1)
        with leaks.raises(UnexpectedServerError) as odata:
            session.read("UnitsOfMeasure", version=VERSION, top=1, select="NoSuchField")
        assert odata.value.exception_type == "Microsoft.OData.ODataException"
        assert "Microsoft.OData.ODataException" in str(odata.value)
        site.control.expire_sessions()
        with leaks.raises(SessionExpired) as expired:
            read(session)
        assert expired.value.status == 401
    # 401 is not retried; reads that failed for good are not retried either
    assert [p for p in site.paths() if p[0] == "GET"] == [
        ("GET", f"/entity/Default/{VERSION}/StockItem"),
        ("GET", f"/entity/Default/{VERSION}/NoSuchThing"),
        ("GET", "/entity/Default/99.999.999/UnitsOfMeasure"),
        ("GET", PAGE),
        ("GET", PAGE),
    ]


def test_setup_not_entered(make_site: Callable[..., Site], leaks: Leaks) -> None:
    site = make_site(tenant={"setup_complete": False})
    with make_client(site.url) as client, open_session(client) as session:
        with leaks.raises(TenantSetupIncomplete) as info:
            read(session)
    assert info.value.exception_type == "PX.Data.PXSetupNotEnteredException"
    assert "authenticated" in str(info.value)
    assert site.paths().count(("GET", PAGE)) == 1


# --- retries -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_on_reads_are_retried(site: Site, status: int) -> None:
    site.control.fault(path=PAGE, status=status)
    with make_client(site.url) as client, open_session(client) as session:
        assert len(read(session)) == 5
    assert [entry[3] for entry in site.log() if entry[1] == PAGE] == [status, 200]


def test_429_with_retry_after_in_seconds(site: Site) -> None:
    site.control.fault(path=PAGE, status=429, retry_after=1)
    with make_client(site.url) as client, open_session(client) as session:
        started = time.monotonic()
        assert read(session)
        elapsed = time.monotonic() - started
    assert 0.95 <= elapsed < 1.6
    assert [entry[3] for entry in site.log() if entry[1] == PAGE] == [429, 200]


def test_429_with_retry_after_as_an_http_date(site: Site) -> None:
    site.control.fault(
        path=PAGE, status=429, retry_after=email.utils.formatdate(time.time() + 2, usegmt=True)
    )
    with make_client(site.url) as client, open_session(client) as session:
        started = time.monotonic()
        assert read(session)
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 2.6
    assert [entry[3] for entry in site.log() if entry[1] == PAGE] == [429, 200]


def test_retry_after_is_capped(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "MAX_RETRY_AFTER", 0.2)
    site.control.fault(path=PAGE, status=429, retry_after=3600)
    with make_client(site.url) as client, open_session(client) as session:
        started = time.monotonic()
        assert read(session)
        assert time.monotonic() - started < 0.8


def test_a_retry_after_beyond_the_timeout_gives_up_at_once(site: Site, leaks: Leaks) -> None:
    site.control.fault(path=PAGE, status=429, retry_after=3600)
    with make_client(site.url, timeout=2) as client, open_session(client) as session:
        started = time.monotonic()
        with leaks.raises(RateLimited) as info:
            read(session)
        assert time.monotonic() - started < 0.5
    assert info.value.retry_after is not None and info.value.retry_after >= 3599
    assert "3600" in str(info.value) or "Retry-After" in str(info.value)
    assert [entry[3] for entry in site.log() if entry[1] == PAGE] == [429]


def test_429_without_retry_after_backs_off(site: Site) -> None:
    site.control.fault(path=PAGE, status=429, times=2)
    with make_client(site.url) as client, open_session(client) as session:
        assert read(session)
    assert [entry[3] for entry in site.log() if entry[1] == PAGE] == [429, 429, 200]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 503}, ServerUnavailable),
        ({"status": 429}, RateLimited),
        ({"status": 429, "retry_after": "0"}, RateLimited),
        ({"reset": True}, ConnectionReset),
    ],
)
def test_every_retry_is_bounded_by_the_operation_timeout(
    site: Site, leaks: Leaks, fault: dict[str, Any], error: type[Exception]
) -> None:
    site.control.fault(path=PAGE, times=None, **fault)
    with make_client(site.url, timeout=0.8) as client, open_session(client) as session:
        started = time.monotonic()
        with leaks.raises(error):
            read(session)
        elapsed = time.monotonic() - started
    assert elapsed < 1.2
    assert 2 <= site.paths().count(("GET", PAGE)) <= connection.MAX_ATTEMPTS


def test_a_slow_server_within_retries_keeps_the_total_budget(site: Site, leaks: Leaks) -> None:
    # each attempt is slow and then refused: the retries must not add up beyond the budget
    site.control.fault(path=PAGE, status=503, delay_ms=300, times=None)
    with make_client(site.url, timeout=1.0) as client, open_session(client) as session:
        started = time.monotonic()
        with leaks.raises(AcumaticaError) as info:
            read(session)
        assert time.monotonic() - started < 1.4
    assert isinstance(info.value, ServerUnavailable | RequestTimeout)
    message = str(info.value)
    assert "503" in message and "operation_timeout (1 s)" in message


def test_a_request_rate_429_at_login_is_not_the_login_limit(
    make_site: Callable[..., Site], leaks: Leaks
) -> None:
    site = make_site(license={"requests_per_minute": 1, "retry_after_s": 30})
    with httpx.Client(base_url=site.url, timeout=5) as other:
        assert other.get("/entity").status_code == 200  # uses up the minute
    with make_client(site.url, timeout=1) as client, leaks.raises(RateLimited) as info:
        with open_session(client):
            pass
    assert "request queue is full" in str(info.value) and "log in as admin" in str(info.value)
    assert "Retry-After: 30 s" in str(info.value)
    assert site.paths() == [("GET", "/entity"), ("POST", LOGIN)]  # 30 s > the 1 s budget
