"""Benchmark `up` of 50 data sources over 5 tenants of one site, 100 ms of latency per
request and a license of 2 API users: total time against the ideal, and login-limit failures.

The ideal is (requests made x latency) / 2, the parallelism the license allows; the count of
login-limit failures must be 0 (sessions queue in the provider instead).

    uv run python bench/parallel.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.pulumi_engine import engine_sandbox, locate_cli  # noqa: E402
from tests.support.sandbox import Control, running_sandbox, sandbox_config_data  # noqa: E402

from acumatica_datasource import environment_variables as variables  # noqa: E402
from acumatica_datasource.resource import declare  # noqa: E402
from acumatica_datasource.sandbox import SandboxConfig  # noqa: E402
from acumatica_datasource.spec import validate_data  # noqa: E402

SOURCES = 50
TENANTS = 5
LATENCY_S = 0.1
API_USERS = 2


def site_config() -> SandboxConfig:
    data = sandbox_config_data(license={"api_users": API_USERS})
    template = data["tenants"][0]
    data["tenants"] = [
        {**template, "name": f"TENANT{index}", "connected_apps": []} for index in range(TENANTS)
    ]
    return SandboxConfig.from_mapping(data)


def environment(url: str) -> Any:
    document = {
        "environment": "parallel",
        "defaults": {"url": url, "page_size": 100},
        "data_sources": [
            {
                "description": f"Data source {index}",
                "company": f"TENANT{index % TENANTS}",
                "authentication": {
                    "strategy": "basic",
                    "username": "admin",
                    "password": {"env": "BENCH_PASSWORD"},
                },
            }
            for index in range(SOURCES)
        ],
    }
    result = validate_data(document)
    assert result.environment is not None, result.problems
    return result.environment


def main() -> None:
    cli = locate_cli()
    with tempfile.TemporaryDirectory() as scratch, running_sandbox(site_config()) as site:
        control = Control(site.url)
        engine = engine_sandbox(cli, Path(scratch))
        engine.env.update(
            {"BENCH_PASSWORD": "secret1", variables.SESSIONS_PER_SITE: str(API_USERS)}
        )
        spec = environment(site.url)
        stack = engine.stack(lambda: declare(spec), stack_name="parallel", project_name="bench")
        stack.preview()  # start-up costs (plugin, stack) out of the measurement
        control.reset()
        control.fault(path="*", status=None, delay_ms=int(LATENCY_S * 1000), times=None)
        started = time.perf_counter()
        result = stack.up()
        elapsed = time.perf_counter() - started
        control.clear_faults()
        requests = control.requests()
        logins = [r for r in requests if r["path"].endswith("/auth/login")]
        limited = [r for r in logins if r["status"] != 204]
        ideal = len(requests) * LATENCY_S / API_USERS
        changes = dict(result.summary.resource_changes or {})
        print(
            f"{SOURCES} data sources over {TENANTS} tenants, "
            f"{LATENCY_S * 1000:.0f} ms per request, api_users {API_USERS}"
        )
        print(f"created: {changes.get('create', 0) - 1} data sources")
        print(f"requests: {len(requests)} ({len(logins)} logins)")
        print(f"up: {elapsed:.1f} s; ideal {ideal:.1f} s; ratio {elapsed / ideal:.2f}")
        print(f"login-limit failures: {len(limited)} (must be 0)")
        print(f"open sessions after: {control.open_sessions()}")
        stack.destroy()


if __name__ == "__main__":
    main()
