"""Verification cost: the client's overhead, and parallel verification within license limits.

1. Overhead: the wall time of verifying one basic data source (discovery, login, a full first
   page, one record of the next page, logout) against a plain ``httpx`` script making the same
   five requests, alternating in the same run; medians of ``--repeat`` runs and their ratio
   (aim: at most 1.2).
2. Parallelism: 20 basic data sources on one site with ``api_users: 2`` and two sessions per
   site, with ``--latency-ms`` injected on every request (a sandbox fault with ``status: null``);
   the total wall time against the ideal, ``requests x latency / 2``, and their ratio.

    uv run python bench/verify.py [--repeat 40] [--latency-ms 50] [--sources 20]
"""

from __future__ import annotations

import argparse
import ssl
import statistics
import sys
import time
from collections.abc import Callable

import httpx

from acumatica_datasource.acumatica import DiscoveryCache, SessionGate, SessionLimits
from acumatica_datasource.sandbox import Sandbox, SandboxConfig, default_config_data
from acumatica_datasource.secrets import SecretResolver
from acumatica_datasource.spec import DataSource, validate_data
from acumatica_datasource.verify import VerifyOptions, verify_all, verify_data_source

PASSWORD = "secret1"
PAGE_SIZE = 10
VERSION = "25.200.001"
PAGE = f"/entity/Default/{VERSION}/UnitsOfMeasure"


def _config(api_users: int) -> SandboxConfig:
    data = default_config_data()
    data["license"] = {"api_users": api_users}
    return SandboxConfig.from_mapping(data)


def _sources(url: str, count: int, page_size: int) -> list[DataSource]:
    result = validate_data(
        {
            "environment": "bench",
            "data_sources": [
                {
                    "description": f"source {n}",
                    "url": url,
                    "company": "ACME",
                    "page_size": page_size,
                    "authentication": {
                        "strategy": "basic",
                        "username": "admin",
                        "password": {"env": "PW"},
                    },
                }
                for n in range(count)
            ],
        }
    )
    assert result.environment is not None, result.problems
    return list(result.environment.data_sources)


SHARED_TLS = httpx.create_ssl_context()


def _plain(url: str, *, shared_tls: bool = True) -> None:
    """The same requests as a verification, with nothing but httpx.

    A new ``httpx.Client`` per run, as a verification makes; with ``shared_tls`` it reuses one
    SSL context (the fair baseline: building one loads every trusted CA, ~20 ms).
    """
    verify: ssl.SSLContext | bool = SHARED_TLS if shared_tls else True
    with httpx.Client(base_url=url, timeout=60.0, verify=verify) as client:
        assert client.get("/entity").status_code == 200
        login = {"name": "admin", "password": PASSWORD, "tenant": "ACME"}
        assert client.post("/entity/auth/login", json=login).status_code == 204
        first = client.get(PAGE, params={"$top": PAGE_SIZE, "$skip": 0, "$select": "UnitID"})
        assert len(first.json()) == PAGE_SIZE
        more = client.get(PAGE, params={"$top": 1, "$skip": PAGE_SIZE, "$select": "UnitID"})
        assert more.status_code == 200
        assert client.post("/entity/auth/logout", content=b"").status_code == 204


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def overhead(repeat: int) -> tuple[float, float, float, int]:
    """Medians (seconds) of a verification, of the plain script (shared SSL context), of the
    plain script (default TLS setup per client), and the requests per run."""
    resolver = SecretResolver(None, environ={"PW": PASSWORD})
    with Sandbox(_config(0)) as sandbox:
        (source,) = _sources(sandbox.url, 1, PAGE_SIZE)
        requests = [0]

        def verification() -> None:
            # a new run each time: its own discovery cache and gate, as one CLI invocation
            options = VerifyOptions(discovery=DiscoveryCache(), gate=SessionGate())
            report = verify_data_source(
                source, callback_url=None, secrets=resolver, options=options
            )
            assert report.status == "ok", report.summary()
            requests[0] = report.requests

        for _ in range(5):  # warm up both (imports, connection setup, the sandbox's caches)
            verification()
            _plain(sandbox.url)
        ours: list[float] = []
        plain: list[float] = []
        naive: list[float] = []
        sides: list[tuple[list[float], Callable[[], object]]] = [
            (ours, verification),
            (plain, lambda: _plain(sandbox.url)),
            (naive, lambda: _plain(sandbox.url, shared_tls=False)),
        ]
        for run in range(repeat):
            for times, action in sides[run % 3 :] + sides[: run % 3]:  # rotate the order
                # the in-process sandbox shares the GIL: let it finish closing the previous
                # run's connection so that its work is not billed to the next run
                time.sleep(0.005)
                times.append(_timed(action))
    return (
        statistics.median(ours),
        statistics.median(plain),
        statistics.median(naive),
        requests[0],
    )


def parallel(sources: int, latency_ms: float) -> tuple[float, int]:
    """Wall time (seconds) and request count of verifying ``sources`` data sources at once."""
    resolver = SecretResolver(None, environ={"PW": PASSWORD})
    with Sandbox(_config(2)) as sandbox:
        targets = [(s, None) for s in _sources(sandbox.url, sources, 10000)]
        control = httpx.Client(base_url=f"{sandbox.url}/_sandbox", timeout=30.0)
        control.post(
            "/faults",
            json={"path": "*", "status": None, "delay_ms": latency_ms, "times": None},
        ).raise_for_status()
        options = VerifyOptions(
            limits=SessionLimits(per_site=2), discovery=DiscoveryCache(), gate=SessionGate()
        )
        started = time.perf_counter()
        reports = verify_all(targets, secrets=resolver, options=options)
        elapsed = time.perf_counter() - started
        failed = [r.summary() for r in reports if r.status != "ok"]
        assert not failed, failed
        state = control.get("/state").json()
        assert state["open_sessions"] == 0
        control.close()
    return elapsed, len(state["requests"])


def main() -> int:
    """Run both measurements and print the numbers."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40, help="runs of each side (overhead)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="injected latency")
    parser.add_argument("--sources", type=int, default=20, help="data sources (parallel)")
    args = parser.parse_args()

    ours, plain, naive, requests = overhead(args.repeat)
    print(f"1. one basic verification ({requests} requests), median of {args.repeat}:")
    print(f"   acumatica-ds verification:                {ours * 1000:7.2f} ms")
    print(f"   plain httpx script, shared SSL context:   {plain * 1000:7.2f} ms")
    print(f"   plain httpx script, default TLS setup:    {naive * 1000:7.2f} ms")
    print(f"   ratio to the shared-context script: {ours / plain:.2f} (aim: at most 1.2)")

    elapsed, total = parallel(args.sources, args.latency_ms)
    ideal = total * args.latency_ms / 1000 / 2
    print(
        f"2. {args.sources} data sources, api_users 2, 2 sessions per site, "
        f"{args.latency_ms:g} ms latency per request:"
    )
    print(f"   {total} requests in {elapsed:.2f} s; ideal {ideal:.2f} s (requests x latency / 2)")
    print(f"   ratio: {elapsed / ideal:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
