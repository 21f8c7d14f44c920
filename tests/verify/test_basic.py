"""Basic-strategy verification against the sandbox: every outcome, with exact request logs."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from tests.support.sandbox import USER
from tests.support.site import Leaks, SessionSampler, Site
from tests.verify.support import (
    ENVIRON,
    LOGIN,
    LOGOUT,
    PAGE,
    basic,
    check,
    environment,
    only,
    options,
    run,
    statuses,
)

from acumatica_datasource.secrets import SecretResolver
from acumatica_datasource.verify import verify_all


def test_ok_makes_exactly_discovery_login_page_logout(site: Site, leaks: Leaks) -> None:
    report = only(run(leaks, environment(basic(site))))
    assert report.status == "ok" and report.passed
    assert statuses(report) == [
        ("secrets", "ok"),
        ("discovery", "ok"),
        ("login", "ok"),
        ("page", "ok"),
        ("next_page", "skipped"),
        ("logout", "ok"),
    ]
    assert site.log() == [
        ("GET", "/entity", "", 200),
        ("POST", LOGIN, "", 204),
        ("GET", PAGE, "$top=10000&$skip=0&$select=UnitID", 200),
        ("POST", LOGOUT, "", 204),
    ]
    assert report.requests == 4 and report.records_read == 25
    assert report.server.as_dict() == {
        "build_version": "24.210.0013",
        "endpoint": "Default",
        "version": "25.200.001",
    }
    assert report.callback_url is None
    assert "env:PW" in check(report, "secrets").detail
    assert "25 UnitsOfMeasure" in check(report, "page").detail
    assert all(c.duration_ms >= 0 for c in report.checks)


def test_a_full_first_page_reads_one_record_of_the_next(site: Site, leaks: Leaks) -> None:
    report = only(run(leaks, environment(basic(site, page_size=10))))
    assert report.status == "ok" and report.records_read == 11
    assert [entry[2] for entry in site.log() if entry[1] == PAGE] == [
        "$top=10&$skip=0&$select=UnitID",
        "$top=1&$skip=10&$select=UnitID",
    ]
    assert check(report, "next_page").status == "ok"
    assert report.requests == 5


def test_a_page_exactly_full_at_the_end_reads_an_empty_next_page(site: Site, leaks: Leaks) -> None:
    report = only(run(leaks, environment(basic(site, page_size=25))))
    assert report.status == "ok" and report.records_read == 25
    assert [entry[2] for entry in site.log() if entry[1] == PAGE] == [
        "$top=25&$skip=0&$select=UnitID",
        "$top=1&$skip=25&$select=UnitID",
    ]
    assert "0 record(s)" in check(report, "next_page").detail


def test_a_partial_page_has_no_next_read(site: Site, leaks: Leaks) -> None:
    report = only(run(leaks, environment(basic(site, page_size=26))))
    assert report.status == "ok"
    assert [entry[2] for entry in site.log() if entry[1] == PAGE] == [
        "$top=26&$skip=0&$select=UnitID"
    ]


def test_endpoint_version_and_entity_are_honoured(site: Site, leaks: Leaks) -> None:
    source = basic(
        site,
        extra_connection_properties={"EndpointVersion": "23.200.001"},
        verification={"entity": "StockItem"},
        page_size=3,
    )
    report = only(run(leaks, environment(source)))
    assert report.status == "ok" and report.server.version == "23.200.001"
    assert [entry[1:3] for entry in site.log() if entry[0] == "GET"] == [
        ("/entity", ""),
        ("/entity/Default/23.200.001/StockItem", "$top=3&$skip=0&$select=InventoryID"),
        ("/entity/Default/23.200.001/StockItem", "$top=1&$skip=3&$select=InventoryID"),
    ]


def test_a_missing_endpoint_version_fails_before_login(site: Site, leaks: Leaks) -> None:
    source = basic(site, extra_connection_properties={"EndpointVersion": "26.100.001"})
    report = only(run(leaks, environment(source)))
    assert report.status == "failed"
    detail = check(report, "discovery").detail
    assert "26.100.001" in detail and "available: 20.200.001" in detail
    assert site.paths() == [("GET", "/entity")]


def test_setup_not_entered_is_a_warning(make_site: Callable[..., Site], leaks: Leaks) -> None:
    site = make_site(tenant={"setup_complete": False})
    report = only(run(leaks, environment(basic(site))))
    assert report.status == "warning" and report.passed
    assert statuses(report) == [
        ("secrets", "ok"),
        ("discovery", "ok"),
        ("login", "ok"),
        ("page", "warning"),
        ("next_page", "skipped"),
        ("logout", "ok"),
    ]
    assert "authentication works" in check(report, "page").detail
    assert site.paths()[-1] == ("POST", LOGOUT)


def test_a_bad_password_fails_the_login_without_page_or_logout(site: Site, leaks: Leaks) -> None:
    report = only(run(leaks, environment(basic(site)), environ={"PW": "wrong-password-1"}))
    leaks.add("wrong-password-1")
    leaks.check_report(report)
    assert report.status == "failed"
    assert statuses(report) == [
        ("secrets", "ok"),
        ("discovery", "ok"),
        ("login", "failed"),
        ("page", "skipped"),
        ("next_page", "skipped"),
        ("logout", "skipped"),
    ]
    detail = check(report, "login").detail
    assert "user 'admin' of company ACME" in detail and "env:PW" in detail
    assert site.paths() == [("GET", "/entity"), ("POST", LOGIN)]


def test_a_missing_secret_fails_before_any_request(site: Site, leaks: Leaks) -> None:
    report = only(run(leaks, environment(basic(site)), environ={}))
    assert report.status == "failed"
    assert statuses(report) == [("secrets", "failed")]
    assert "PW" in check(report, "secrets").detail
    assert site.log() == [] and report.requests == 0


def test_mode_off_makes_no_request_at_all(site: Site, leaks: Leaks) -> None:
    report = only(run(leaks, environment(basic(site, verification={"mode": "off"})), environ={}))
    assert report.status == "skipped" and report.passed
    assert site.log() == [] and report.requests == 0


def test_a_forbidden_entity_fails_the_page(site: Site, leaks: Leaks) -> None:
    site.control.patch_user(USER, denied_entities=["StockItem"])
    report = only(run(leaks, environment(basic(site, verification={"entity": "StockItem"}))))
    assert report.status == "failed"
    assert check(report, "page").status == "failed"
    assert "verification.entity" in check(report, "page").detail
    assert check(report, "logout").status == "ok"


def test_an_unknown_entity_names_the_field(site: Site, leaks: Leaks) -> None:
    report = only(run(leaks, environment(basic(site, verification={"entity": "NoSuchThing"}))))
    assert report.status == "failed"
    assert "verification.entity" in check(report, "page").detail
    assert check(report, "logout").status == "ok"


def test_a_locked_user_between_two_runs(site: Site, leaks: Leaks) -> None:
    env = environment(basic(site))
    assert only(run(leaks, env)).status == "ok"
    site.control.patch_user(USER, locked=True)
    second = only(run(leaks, env))
    assert second.status == "failed"
    assert (
        "locked" in check(second, "login").detail and "Users form" in check(second, "login").detail
    )


def test_a_changed_password_between_two_runs(site: Site, leaks: Leaks) -> None:
    env = environment(basic(site))
    assert only(run(leaks, env)).status == "ok"
    site.control.patch_user(USER, password="rotated-elsewhere-9")
    leaks.add("rotated-elsewhere-9")
    second = only(run(leaks, env))
    assert check(second, "login").status == "failed"
    assert "rejected the password" in check(second, "login").detail


def test_a_session_expiring_mid_verification_logs_in_again_once(site: Site, leaks: Leaks) -> None:
    # the login answer is held back after the session was opened; meanwhile it is expired
    site.control.fault(path=LOGIN, status=None, when="after", delay_ms=400)
    expired: list[int] = []

    def expire() -> None:
        site.wait_for(lambda: site.open_sessions() == 1)
        expired.append(site.control.expire_sessions())

    thread = threading.Thread(target=expire)
    thread.start()
    report = only(run(leaks, environment(basic(site))))
    thread.join()
    assert expired == [1]
    assert report.status == "ok", statuses(report)
    assert statuses(report) == [
        ("secrets", "ok"),
        ("discovery", "ok"),
        ("login", "ok"),
        ("page", "ok"),
        ("next_page", "skipped"),
        ("logout", "ok"),
    ]
    assert "again" in check(report, "login").detail
    assert site.log() == [
        ("GET", "/entity", "", 200),
        ("POST", LOGIN, "", 204),
        ("GET", PAGE, "$top=10000&$skip=0&$select=UnitID", 401),
        ("POST", LOGOUT, "", 204),
        ("POST", LOGIN, "", 204),
        ("GET", PAGE, "$top=10000&$skip=0&$select=UnitID", 200),
        ("POST", LOGOUT, "", 204),
    ]


def test_a_session_expiring_twice_fails(site: Site, leaks: Leaks) -> None:
    site.control.fault(path=PAGE, status=401, times=2, body={"message": "Authorization denied"})
    report = only(run(leaks, environment(basic(site))))
    assert report.status == "failed"
    assert "expired" in check(report, "page").detail
    assert site.paths().count(("POST", LOGIN)) == 2
    assert site.paths().count(("POST", LOGOUT)) == 2


def test_a_timed_out_login_reports_the_possible_orphan(
    make_site: Callable[..., Site], leaks: Leaks
) -> None:
    """The one verification that leaves an orphan session: exactly one, and it expires."""
    site = make_site(session_idle_timeout_s=1.0)
    site.control.fault(path=LOGIN, status=None, when="after", delay_ms=3000)
    report = only(run(leaks, environment(basic(site, operation_timeout=0.3))))
    assert report.status == "failed"
    detail = check(report, "login").detail
    assert "operation_timeout" in detail and "may still have opened a session" in detail
    assert detail.count("may still have opened") == 1
    assert site.paths() == [("GET", "/entity"), ("POST", LOGIN)]
    assert site.open_sessions() == 1
    time.sleep(1.1)
    assert site.open_sessions() == 0


def test_a_failed_logout_is_a_warning_naming_site_and_user(site: Site, leaks: Leaks) -> None:
    site.control.fault(path=LOGOUT, status=500, when="after", times=None, body={"message": "x"})
    report = only(run(leaks, environment(basic(site))))
    assert report.status == "warning"
    detail = check(report, "logout").detail
    assert site.url in detail and "'admin'" in detail and "license slot" in detail
    assert check(report, "page").status == "ok"


def test_transient_faults_are_absorbed(site: Site, leaks: Leaks) -> None:
    site.control.fault(path="/entity", status=503)
    site.control.fault(path=LOGIN, status=503)
    site.control.fault(path=PAGE, reset=True)
    site.control.fault(path=LOGOUT, reset=True)
    report = only(run(leaks, environment(basic(site))))
    assert report.status == "ok", report.summary()
    assert [entry[3] for entry in site.log()] == [503, 200, 503, 204, None, 200, None, 204]
    assert report.requests == 8


def test_discovery_once_per_site_per_run(site: Site, leaks: Leaks) -> None:
    env = environment(basic(site, "one"), basic(site, "two"), basic(site, "three", page_size=5))
    reports = run(leaks, env)
    assert [r.status for r in reports] == ["ok", "ok", "ok"]
    counts = Counter(site.paths())
    assert counts == Counter(
        {("GET", "/entity"): 1, ("POST", LOGIN): 3, ("GET", PAGE): 4, ("POST", LOGOUT): 3}
    )
    assert sum(r.requests for r in reports) == len(site.log()) == 11
    assert all(r.server.version == "25.200.001" for r in reports)
    # a second run discovers again
    run(leaks, env)
    assert Counter(site.paths())[("GET", "/entity")] == 2


def test_the_login_limit_with_parallel_data_sources(
    make_site: Callable[..., Site], leaks: Leaks
) -> None:
    site = make_site(license={"api_users": 1})
    site.control.fault(path="/entity/Default/*", status=None, delay_ms=40, times=None)
    env = environment(*(basic(site, f"source {n}") for n in range(6)))
    with SessionSampler(site) as sampler:
        reports = run(leaks, env, run_options=options(per_site=1))
    assert [r.status for r in reports] == ["ok"] * 6
    assert sampler.peak == 1
    assert all(entry[3] in (200, 204) for entry in site.log())


def test_two_api_users_are_used_in_parallel(make_site: Callable[..., Site], leaks: Leaks) -> None:
    site = make_site(license={"api_users": 2})
    site.control.fault(path="/entity/Default/*", status=None, delay_ms=40, times=None)
    env = environment(*(basic(site, f"source {n}") for n in range(6)))
    with SessionSampler(site) as sampler:
        reports = run(leaks, env, run_options=options(per_site=2))
    assert [r.status for r in reports] == ["ok"] * 6
    assert sampler.peak == 2


def test_an_interrupted_run_starts_nothing_new_and_leaves_no_session(
    site: Site, leaks: Leaks
) -> None:
    env = environment(*(basic(site, f"source {n}") for n in range(8)))

    def interrupt(report: object) -> None:
        raise KeyboardInterrupt

    try:
        verify_all(
            [(source, None) for source in env.data_sources],
            secrets=SecretResolver(None, environ=ENVIRON),
            options=options(per_site=1),
            on_report=interrupt,
            max_workers=2,
        )
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interrupt was swallowed")
    logins = site.paths().count(("POST", LOGIN))
    assert 1 <= logins <= 3  # the ones under way finished; the rest never started
    assert logins == site.paths().count(("POST", LOGOUT))
