"""Benchmark `preview` and `up` of N Acumatica data sources, through the dynamic provider and
through the provider plugin, against N do-nothing dynamic resources run by the same engine,
in the same run (each operation three times, interleaved; the medians are printed).

For N in 1, 10, 50, 200 (or the Ns given as arguments): Basic data sources on the sandbox
with their passwords in OpenBao, declared by the same kind of program (an Automation API
inline Python program; the plugin's as ``pulumi.CustomResource("acumatica:index:DataSource")``
resources), and once more by a Pulumi YAML program run with the plain CLI (the plugin's own
home; no do-nothing baseline exists there). Prints per N the time of each operation and the
ratio to the baseline (aims at N = 50: dynamic at most 1.5, plugin at most 1.3), the state
bytes per data source (aims: dynamic at most 4 KB, plugin under 2 KB; the part the provider
itself records, inputs and outputs, is shown apart from what the engine adds), the pickled
provider's size and the dynamic-provider process's peak memory.

    uv run python bench/stack.py [N ...]
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pulumi  # noqa: E402
import yaml  # noqa: E402
from bench.baseline_provider import Nothing  # noqa: E402
from pulumi import dynamic  # noqa: E402
from tests.support.openbao import running_openbao  # noqa: E402
from tests.support.pulumi_engine import EngineSandbox, engine_sandbox, locate_cli  # noqa: E402
from tests.support.sandbox import running_sandbox  # noqa: E402

from acumatica_datasource import environment_variables as variables  # noqa: E402
from acumatica_datasource.resource import DataSourceProvider, declare  # noqa: E402
from acumatica_datasource.spec import validate_data  # noqa: E402
from acumatica_datasource.tooling import PulumiCli, ensure_yaml_language_host  # noqa: E402

DEFAULT_NS = (1, 10, 50, 200)
REPEATS = 3
"""Runs of each operation per program and N; the median is printed."""
SECRET_PATHS = 5
RSS_PROBE = Path(__file__).with_name("rss_probe.py")
PLUGIN_TYPE = "acumatica:index:DataSource"
PROVIDER_OWNED = ("inputs", "outputs")


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


def plugin_properties(index: int, url: str) -> dict[str, Any]:
    """The same data source as :func:`environment`'s, as the plugin's (camelCase) inputs."""
    return {
        "description": f"Data source {index}",
        "url": url,
        "company": "ACME",
        "pageSize": 100,
        "authentication": {
            "strategy": "basic",
            "username": "admin",
            "password": {"vault": {"path": f"acumatica/bench{index % SECRET_PATHS}", "key": "pw"}},
        },
    }


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def peak_rss_kib(path: Path) -> int:
    try:
        return max(int(line) for line in path.read_text().split() if line.strip())
    except (OSError, ValueError):
        return 0


def state_sizes(checkpoint: Path, resource_type: str) -> tuple[int, float]:
    """The checkpoint's bytes, and the mean bytes of the resources' inputs and outputs."""
    data = json.loads(checkpoint.read_text())
    resources = [
        r for r in data["checkpoint"]["latest"]["resources"] if r["type"].startswith(resource_type)
    ]
    owned = [sum(len(json.dumps(r.get(key))) for key in PROVIDER_OWNED) for r in resources]
    return checkpoint.stat().st_size, sum(owned) / max(len(owned), 1)


class YamlRun:
    """N data sources in a Pulumi YAML program, run with the plain CLI."""

    def __init__(self, root: Path, cli: PulumiCli, yaml_host: Path, env: dict[str, str]) -> None:
        self.directory = root / "yaml"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.cli = cli
        path = [str(cli.bin_dir), str(yaml_host.parent), str(Path(sys.executable).parent)]
        self.env = {**env, "PATH": os.pathsep.join([*path, env.get("PATH", "")])}

    def write(self, count: int, url: str) -> None:
        program = {
            "name": "bench-yaml",
            "runtime": "yaml",
            "resources": {
                f"ds-{index}": {"type": PLUGIN_TYPE, "properties": plugin_properties(index, url)}
                for index in range(count)
            },
        }
        (self.directory / "Pulumi.yaml").write_text(yaml.safe_dump(program, sort_keys=False))

    def pulumi(self, *args: str) -> None:
        subprocess.run(
            [str(self.cli.pulumi), *args, "--non-interactive"],
            cwd=self.directory,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def checkpoint(self, state_dir: Path) -> Path:
        return state_dir / ".pulumi" / "stacks" / "bench-yaml" / "yaml.json"


def print_row(count: int, label: str, op: str, base: float | None, mine: float) -> None:
    ratio = f"{mine / base:>6.2f}" if base else f"{'-':>6}"
    baseline = f"{base:>10.2f}" if base else f"{'-':>10}"
    print(f"{count:>5} {label:<8} {op:<8} {baseline} {mine:>10.2f} {ratio}")


def run(count: int, root: Path, *, cli: PulumiCli, yaml_host: Path, url: str, vault: Any) -> None:
    engine: EngineSandbox = engine_sandbox(cli, root)
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
    env_spec = environment(count, url)

    def baseline_program() -> None:
        for index in range(count):
            Nothing(f"nothing-{index}", index)

    def dynamic_program() -> None:
        declare(env_spec)

    def plugin_program() -> None:
        for index in range(count):
            pulumi.CustomResource(PLUGIN_TYPE, f"ds-{index}", plugin_properties(index, url))

    stacks = {
        name: engine.stack(program, stack_name=name, project_name="bench")
        for name, program in (
            ("baseline", baseline_program),
            ("dynamic", dynamic_program),
            ("plugin", plugin_program),
        )
    }
    yaml_run = YamlRun(root, cli, yaml_host, engine.env)
    yaml_run.write(count, url)
    yaml_run.pulumi("stack", "init", "yaml")
    operations: dict[str, dict[str, Callable[[], Any]]] = {
        name: {"preview": stack.preview, "up": stack.up, "destroy": stack.destroy}
        for name, stack in stacks.items()
    }
    operations["yaml"] = {
        "preview": lambda: yaml_run.pulumi("preview"),
        "up": lambda: yaml_run.pulumi("up", "--yes", "--skip-preview"),  # as the Automation API's
        "destroy": lambda: yaml_run.pulumi("destroy", "--yes", "--skip-preview"),
    }
    samples: dict[tuple[str, str], list[float]] = {}
    names = list(operations)
    for repeat in range(REPEATS):  # interleaved, each program in turn first: the machine is shared
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            if repeat:
                operations[name]["destroy"]()
            if name == "dynamic":
                rss_file.unlink(missing_ok=True)
            for op in ("preview", "up"):
                samples.setdefault((name, op), []).append(timed(operations[name][op]))
    times = {key: statistics.median(values) for key, values in samples.items()}
    peak = peak_rss_kib(rss_file) / 1024

    for op in ("preview", "up"):
        base = times[("baseline", op)]
        print_row(count, "baseline", op, None, base)
        for name in ("dynamic", "plugin"):
            print_row(count, name, op, base, times[(name, op)])
        print_row(count, "yaml", op, None, times[("yaml", op)])
    base_state, _ = state_sizes(engine.state_file("bench", "baseline"), "pulumi-python:dynamic")
    print("      state per data source (provider-owned inputs + outputs in brackets):")
    for name, checkpoint, kind in (
        ("dynamic", engine.state_file("bench", "dynamic"), "pulumi-python:dynamic/acumatica"),
        ("plugin", engine.state_file("bench", "plugin"), PLUGIN_TYPE),
        ("yaml", yaml_run.checkpoint(engine.state_dir), PLUGIN_TYPE),
    ):
        total, owned = state_sizes(checkpoint, kind)
        print(f"        {name:<8} {total / count:>7.0f} B  [{owned:.0f} B]")
    print(f"        baseline {base_state / count:>7.0f} B (do-nothing resources)")
    print(f"      dynamic-provider process peak RSS: {peak:.1f} MiB")
    for program in operations.values():
        program["destroy"]()


def main() -> None:
    counts = [int(arg) for arg in sys.argv[1:]] or list(DEFAULT_NS)
    cli = locate_cli()
    yaml_host = ensure_yaml_language_host(cli)
    provider_bytes = len(base64.b64decode(dynamic.dynamic.serialize_provider(DataSourceProvider())))
    print(f"pickled provider: {provider_bytes} bytes (aim: at most 1024)")
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_sandbox() as site,
        running_openbao(Path(scratch) / "openbao") as vault,
    ):
        for index in range(SECRET_PATHS):
            vault.put(f"acumatica/bench{index}", {"pw": "secret1"})
        print(f"{'N':>5} {'program':<8} {'op':<8} {'baseline s':>10} {'time s':>10} {'ratio':>6}")
        for count in counts:
            run(
                count,
                Path(scratch) / f"n{count}",
                cli=cli,
                yaml_host=yaml_host,
                url=site.url,
                vault=vault,
            )


if __name__ == "__main__":
    main()
