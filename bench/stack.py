"""Benchmark `preview` and `up` of N Acumatica data sources against N do-nothing dynamic
resources run by the same engine, in the same run.

For N in 1, 10, 50, 200 (or the Ns given as arguments): Basic data sources on the sandbox
with their passwords in OpenBao. Prints per N the time of each operation and the ratio
data sources / baseline (aim: at most 1.5 at N = 50), the state bytes per data source (aim:
at most 4 KB), the pickled provider's size (at most 1 KB) and the provider process's peak
memory.

    uv run python bench/stack.py [N ...]
"""

from __future__ import annotations

import base64
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.baseline_provider import Nothing  # noqa: E402
from pulumi import dynamic  # noqa: E402
from tests.support.openbao import running_openbao  # noqa: E402
from tests.support.pulumi_engine import engine_sandbox, locate_cli  # noqa: E402
from tests.support.sandbox import running_sandbox  # noqa: E402

from acumatica_datasource import environment_variables as variables  # noqa: E402
from acumatica_datasource.resource import DataSourceProvider, declare  # noqa: E402
from acumatica_datasource.spec import validate_data  # noqa: E402

DEFAULT_NS = (1, 10, 50, 200)
SECRET_PATHS = 5
RSS_PROBE = Path(__file__).with_name("rss_probe.py")


def environment(count: int, url: str) -> Any:
    document = {
        "environment": "bench",
        "defaults": {"url": url, "company": "ACME", "page_size": 100},
        "data_sources": [
            {
                "description": f"Data source {index}",
                "authentication": {
                    "strategy": "basic",
                    "username": "admin",
                    "password": {
                        "vault": {"path": f"acumatica/bench{index % SECRET_PATHS}", "key": "pw"}
                    },
                },
            }
            for index in range(count)
        ],
    }
    result = validate_data(document)
    assert result.environment is not None, result.problems
    return result.environment


def timed(action: Any) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def peak_rss_kib(path: Path) -> int:
    try:
        return max(int(line) for line in path.read_text().split() if line.strip())
    except (OSError, ValueError):
        return 0


def main() -> None:
    counts = [int(arg) for arg in sys.argv[1:]] or list(DEFAULT_NS)
    cli = locate_cli()
    provider_bytes = len(base64.b64decode(dynamic.dynamic.serialize_provider(DataSourceProvider())))
    print(f"pickled provider: {provider_bytes} bytes (aim: at most 1024)")
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_sandbox() as site,
        running_openbao(Path(scratch) / "openbao") as vault,
    ):
        for index in range(SECRET_PATHS):
            vault.put(f"acumatica/bench{index}", {"pw": "secret1"})
        print(
            f"{'N':>5} {'op':<8} {'baseline s':>10} {'sources s':>10} {'ratio':>6} "
            f"{'state B/ds':>10} {'peak RSS MiB':>12}"
        )
        for count in counts:
            root = Path(scratch) / f"n{count}"
            engine = engine_sandbox(cli, root)
            rss_file = root / "rss.txt"
            wrapper = root / "python-rss"
            wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} {RSS_PROBE} "$@"\n')
            wrapper.chmod(0o755)
            engine.env.update(
                VAULT_ADDR=vault.address,
                VAULT_TOKEN="root",
                PULUMI_PYTHON_CMD=str(wrapper),
                RSS_PROBE_FILE=str(rss_file),
            )
            engine.env[variables.SESSIONS_PER_SITE] = "2"
            env_spec = environment(count, site.url)

            def baseline_program(count: int = count) -> None:
                for index in range(count):
                    Nothing(f"nothing-{index}", index)

            def sources_program(env_spec: Any = env_spec) -> None:
                declare(env_spec)

            baseline = engine.stack(baseline_program, stack_name="baseline", project_name="bench")
            sources = engine.stack(sources_program, stack_name="sources", project_name="bench")
            results: dict[str, tuple[float, float]] = {}
            for op in ("preview", "up"):
                base = timed(getattr(baseline, op))
                rss_file.unlink(missing_ok=True)
                mine = timed(getattr(sources, op))
                results[op] = (base, mine)
            peak = peak_rss_kib(rss_file) / 1024
            state = engine.state_file("bench", "sources").stat().st_size
            base_state = engine.state_file("bench", "baseline").stat().st_size
            for op, (base, mine) in results.items():
                print(
                    f"{count:>5} {op:<8} {base:>10.2f} {mine:>10.2f} {mine / base:>6.2f} "
                    f"{state / count:>10.0f} {peak:>12.1f}"
                )
            print(
                f"      state: {state} bytes for {count} data sources, {base_state} for the "
                f"baseline ({(state - base_state) / count:.0f} bytes more per data source)"
            )
            for stack in (baseline, sources):
                stack.destroy()


if __name__ == "__main__":
    main()
