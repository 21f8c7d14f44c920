"""Benchmark `acumatica-ds validate` on a generated environment of 1,000 data sources.

Prints the time per data source and the ratio of the whole CLI run (a fresh process) to a
bare `python -c "import pydantic"` measured in the same run, so machine noise cancels out.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SOURCES = 1000
RUNS = 5


def environment(count: int) -> dict[str, object]:
    sources = []
    for index in range(count):
        oauth = index % 2 == 1
        auth: dict[str, object] = (
            {
                "strategy": "oauth2",
                "client_id": f"88358B02-A48D-A50E-F710-{index:012X}@ACME",
                "client_secret": {"vault": {"path": f"acumatica/{index}", "key": "secret"}},
            }
            if oauth
            else {
                "strategy": "basic",
                "username": f"user{index}",
                "password": {"vault": {"path": f"acumatica/{index}", "key": "password"}},
            }
        )
        sources.append(
            {
                "description": f"Acumatica data source {index}",
                "url": f"https://tenant{index % 7}.acumatica.com",
                "company": "ACME",
                "page_size": 1000 + index,
                "extra_connection_properties": "EndpointVersion=24.200.001;",
                "authentication": auth,
                "verification": {"mode": "warn", "entity": "UnitsOfMeasure"},
            }
        )
    return {
        "environment": "bench",
        "callback_base_url": "https://bi.example.com",
        "data_sources": sources,
    }


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.yaml"
        path.write_text(yaml.safe_dump(environment(SOURCES), sort_keys=False))
        size = path.stat().st_size
        cli = [sys.executable, "-m", "acumatica_datasource", "validate", str(path)]
        baseline = [sys.executable, "-c", "import pydantic"]
        timed(cli)  # warm the file cache
        runs = [(timed(baseline), timed(cli)) for _ in range(RUNS)]
    base = statistics.median(b for b, _ in runs)
    whole = statistics.median(c for _, c in runs)
    print(f"environment: {SOURCES} data sources, {size / 1024:.0f} KiB of YAML")
    print(f"python -c 'import pydantic': {base * 1000:.0f} ms (median of {RUNS})")
    print(f"acumatica-ds validate:       {whole * 1000:.0f} ms (median of {RUNS})")
    print(
        f"time per data source:        {(whole - base) / SOURCES * 1e6:.0f} us above the baseline"
    )
    print(f"ratio validate / import pydantic: {whole / base:.2f}")


if __name__ == "__main__":
    main()
