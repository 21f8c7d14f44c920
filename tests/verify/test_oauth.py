"""OAuth 2.0 verification against the sandbox: the secret check, the callback registration and
the data probe through the password grant."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from tests.support.sandbox import CODE_CLIENT_ID, PASSWORD_CLIENT_ID
from tests.support.site import Leaks, SessionSampler, Site
from tests.verify.support import (
    AUTHORIZE,
    CALLBACK_BASE,
    LOGOUT,
    OPENID,
    PAGE,
    PROBE_LOGIN,
    TOKEN,
    check,
    environment,
    oauth,
    only,
    options,
    run,
    statuses,
)


def test_ok_without_a_data_probe(site: Site, leaks: Leaks) -> None:
    report = only(run(leaks, environment(oauth(site))))
    assert report.status == "ok", report.summary()
    assert statuses(report) == [
        ("secrets", "ok"),
        ("discovery", "ok"),
        ("openid_configuration", "ok"),
        ("client_secret", "ok"),
        ("callback_url", "ok"),
        ("data_probe", "skipped"),
    ]
    assert report.callback_url == f"{CALLBACK_BASE}/oauth/callback/abc"
    assert report.callback_registered is True
    assert "invalid_grant" in check(report, "client_secret").detail
    assert "verification.login" in check(report, "data_probe").detail
    assert site.paths() == [
        ("GET", "/entity"),
        ("GET", OPENID),
        ("POST", TOKEN),
        ("GET", AUTHORIZE),
    ]
    assert site.control.state()["grants"] == 0


def test_a_wrong_secret_is_invalid_client(site: Site, leaks: Leaks) -> None:
    leaks.add("not-the-secret")
    report = only(run(leaks, environment(oauth(site)), environ={"CS": "not-the-secret"}))
    assert report.status == "failed"
    detail = check(report, "client_secret").detail
    assert "invalid_client" in detail and CODE_CLIENT_ID in detail and "env:CS" in detail
    assert check(report, "callback_url").status == "ok"  # the other checks still ran


def test_a_password_flow_application_is_unauthorized_client(site: Site, leaks: Leaks) -> None:
    source = oauth(site, client_id=PASSWORD_CLIENT_ID, secret="PCS")
    report = only(run(leaks, environment(source)))
    assert report.status == "failed"
    detail = check(report, "client_secret").detail
    assert "unauthorized_client" in detail and "Authorization Code" in detail


def test_an_unregistered_callback_names_the_connected_applications_form(
    site: Site, leaks: Leaks
) -> None:
    report = only(run(leaks, environment(oauth(site, "other"))))
    assert report.status == "failed" and report.callback_registered is False
    detail = check(report, "callback_url").detail
    assert f"{CALLBACK_BASE}/oauth/callback/other" in detail
    assert "Connected Applications" in detail and CODE_CLIENT_ID in detail
    assert check(report, "client_secret").status == "ok"
    # registering it fixes the next run
    site.control.patch_app(
        CODE_CLIENT_ID,
        redirect_uris=[
            f"{CALLBACK_BASE}/oauth/callback/abc",
            f"{CALLBACK_BASE}/oauth/callback/other",
        ],
    )
    assert only(run(leaks, environment(oauth(site, "other")))).status == "ok"


def test_the_data_probe_through_the_password_grant(site: Site, leaks: Leaks) -> None:
    report = only(run(leaks, environment(oauth(site, verification=PROBE_LOGIN, page_size=10))))
    assert report.status == "ok", report.summary()
    assert statuses(report) == [
        ("secrets", "ok"),
        ("discovery", "ok"),
        ("openid_configuration", "ok"),
        ("client_secret", "ok"),
        ("callback_url", "ok"),
        ("token", "ok"),
        ("page", "ok"),
        ("next_page", "ok"),
        ("logout", "ok"),
    ]
    assert PASSWORD_CLIENT_ID in check(report, "token").detail
    assert report.records_read == 11
    assert site.paths()[-4:] == [("POST", TOKEN), ("GET", PAGE), ("GET", PAGE), ("POST", LOGOUT)]
    assert report.requests == len(site.log()) == 8


def test_a_wrong_user_password_fails_the_token(site: Site, leaks: Leaks) -> None:
    leaks.add("wrong-user-password")
    environ = {"CS": "s3cr3t", "PCS": "v3rify", "PW": "wrong-user-password"}
    report = only(run(leaks, environment(oauth(site, verification=PROBE_LOGIN)), environ=environ))
    assert report.status == "failed"
    assert check(report, "token").status == "failed"
    assert "invalid_grant" in check(report, "token").detail
    assert [c.status for c in report.checks[-3:]] == ["skipped"] * 3
    assert ("POST", LOGOUT) not in site.paths()


def test_a_changed_secret_between_two_runs(site: Site, leaks: Leaks) -> None:
    env = environment(oauth(site))
    assert only(run(leaks, env)).status == "ok"
    site.control.patch_app(CODE_CLIENT_ID, secrets=["a-brand-new-secret"])
    leaks.add("a-brand-new-secret")
    second = only(run(leaks, env))
    assert second.status == "failed"
    assert "invalid_client" in check(second, "client_secret").detail


def test_a_token_session_on_a_site_that_opens_it_with_the_token(
    make_site: Callable[..., Site], leaks: Leaks
) -> None:
    site = make_site(license={"api_users": 1, "bearer_slot": "token"})
    site.control.fault(path="/entity/Default/*", status=None, delay_ms=40, times=None)
    env = environment(*(oauth(site, f"probe {n}", verification=PROBE_LOGIN) for n in range(4)))
    with SessionSampler(site) as sampler:
        reports = run(leaks, env, run_options=options(per_site=1))
    assert [r.status for r in reports] == ["failed"] * 4  # callbacks are not registered
    assert {check(r, "token").status for r in reports} == {"ok"}
    assert {check(r, "page").status for r in reports} == {"ok"}
    assert sampler.peak == 1
    counts = Counter(entry[3] for entry in site.log() if entry[1] == TOKEN)
    assert counts == Counter({400: 4, 200: 4})  # 4 bogus codes, 4 tokens, no login limit


def test_an_unreachable_site_is_not_probed_check_by_check(leaks: Leaks) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = {
        "description": "abc",
        "url": f"http://127.0.0.1:{port}",
        "company": "ACME",
        "operation_timeout": 0.5,
        "authentication": {
            "strategy": "oauth2",
            "client_id": CODE_CLIENT_ID,
            "client_secret": {"env": "CS"},
        },
    }
    report = only(run(leaks, environment(source)))
    assert report.status == "failed"
    assert statuses(report) == [
        ("secrets", "ok"),
        ("discovery", "failed"),
        ("openid_configuration", "skipped"),
        ("client_secret", "skipped"),
        ("callback_url", "skipped"),
        ("data_probe", "skipped"),
    ]
    assert report.duration_ms < 1500
