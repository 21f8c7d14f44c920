"""The per-site, per-tenant session gate: parallel sessions never exceed the limit."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from tests.support.sandbox import PASSWORD, TENANT, USER
from tests.support.site import SessionSampler, Site, make_client

from acumatica_datasource.acumatica import SessionGate, SessionLimits


def run_parallel(site: Site, count: int, limits: SessionLimits) -> tuple[int, list[BaseException]]:
    gate = SessionGate()
    failures: list[BaseException] = []

    def one() -> None:
        try:
            with make_client(site.url, gate=gate, limits=limits) as client:
                with client.session(username=USER, password=PASSWORD, tenant=TENANT) as session:
                    session.read("UnitsOfMeasure", version="24.200.001", top=1)
        except BaseException as exc:
            failures.append(exc)

    site.control.fault(path="/entity/Default/*", status=None, delay_ms=60, times=None)
    with SessionSampler(site) as sampler:
        threads = [threading.Thread(target=one) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return sampler.peak, failures


def test_one_api_user_and_six_parallel_sessions(make_site: Callable[..., Site]) -> None:
    site = make_site(license={"api_users": 1})
    peak, failures = run_parallel(site, 6, SessionLimits(per_site=1))
    assert failures == [] and peak == 1
    statuses = Counter(entry[3] for entry in site.log())
    assert statuses == Counter({204: 12, 200: 6})  # no login was ever refused


def test_two_sessions_per_site_are_used(make_site: Callable[..., Site]) -> None:
    site = make_site(license={"api_users": 2})
    peak, failures = run_parallel(site, 6, SessionLimits(per_site=2))
    assert failures == [] and peak == 2


def test_tenant_limits_inside_a_site_limit() -> None:
    gate = SessionGate()
    limits = SessionLimits(per_site=3, per_tenant=1)
    lock = threading.Lock()
    active: Counter[str] = Counter()
    peaks: Counter[str] = Counter()

    def hold(tenant: str) -> None:
        with gate.hold("https://acme.example.com", tenant, limits):
            with lock:
                active[tenant] += 1
                active["site"] += 1
                peaks[tenant] = max(peaks[tenant], active[tenant])
                peaks["site"] = max(peaks["site"], active["site"])
            time.sleep(0.02)
            with lock:
                active[tenant] -= 1
                active["site"] -= 1

    threads = [threading.Thread(target=hold, args=(t,)) for t in "ABCD" * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peaks["A"] == peaks["B"] == 1 and peaks["site"] == 3


def test_sites_are_independent_and_case_insensitive() -> None:
    gate = SessionGate()
    limits = SessionLimits(per_site=1)
    with gate.hold("https://a.example.com", "X", limits):
        done = threading.Event()

        def other() -> None:
            with gate.hold("https://b.example.com", "X", limits):
                done.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert done.wait(1)
        thread.join()
        blocked = threading.Event()

        def same() -> None:
            with gate.hold("https://A.example.com", "x", limits):
                blocked.set()

        thread = threading.Thread(target=same)
        thread.start()
        assert not blocked.wait(0.1)
    assert blocked.wait(1)
    thread.join()


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SessionLimits(per_site=0)
    with pytest.raises(ValueError, match="at least 1"):
        SessionLimits(per_tenant=0)


def test_a_queued_session_stops_waiting_when_the_run_is_cancelled() -> None:
    """Issue 11, point 8: queued verifications are dropped at once, not after the queue."""
    from acumatica_datasource.acumatica import Cancellation
    from acumatica_datasource.errors import Interrupted

    gate, limits = SessionGate(), SessionLimits(per_site=1)
    cancellation, queued = Cancellation(), threading.Event()
    outcome: list[BaseException] = []

    def waiter() -> None:
        try:
            with gate.hold(
                "https://erp.example",
                "ACME",
                limits,
                cancellation=cancellation,
                on_queue=queued.set,
            ):
                outcome.append(AssertionError("got a slot of a cancelled run"))
        except Interrupted as exc:
            outcome.append(exc)

    with gate.hold("https://erp.example", "ACME", limits):
        thread = threading.Thread(target=waiter)
        thread.start()
        assert queued.wait(5), "the second session did not queue"
        started = time.monotonic()
        cancellation.cancel("the command received SIGTERM")
        thread.join(5)
        assert time.monotonic() - started < 1
    (error,) = outcome
    assert isinstance(error, Interrupted) and "SIGTERM" in str(error)
    with gate.hold("https://erp.example", "ACME", limits):  # the slot was given back
        pass
