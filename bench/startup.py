"""Start-up time of the processes users and the Pulumi engine start, against bare Python
baselines measured in the same run.

Each ratio is the median of paired runs: a subject and its baseline run back to back (their
order alternating), the pairs of all subjects interleaved, every process fresh. Measured twice:
with ``PYTHONDONTWRITEBYTECODE=1`` (as many CI images and containers set it: only the bytecode
that ``make setup`` left is used) and without it (bytecode written at run time is used too;
one untimed run of each subject first). Aims (issue 18):

* ``acumatica-ds validate`` of the two-source quickstart file / ``python -c "import pydantic"``:
  at most 2.5;
* ``acumatica-ds validate`` of 1,000 data sources / the same baseline: at most 3.5;
* the provider process, from its start until it has answered the engine's opening calls
  (``GetPluginInfo``, ``CheckConfig``, ``Configure``) and the first resource call (``Check`` of
  a data source: the first call that runs the provider's code) / ``python -c "import pulumi"``:
  at most 1.6, read against the dynamic-provider server (``python -m pulumi.dynamic``, the
  process the engine starts for every ``acumatica-ds preview``/``up``/``refresh``/``destroy``);
  the plugin ``pulumi-resource-acumatica`` (YAML and other languages) is measured beside it;
* ``acumatica-ds --help`` / ``python -c pass``: at most 3.

    uv run python bench/startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Third-party and project modules are imported inside the functions, after main() has told
# this process not to write bytecode: its own imports must not add the bytecode measured.

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TWO_SOURCES = ROOT / "examples" / "quickstart" / "environment.yaml"
MANY_SOURCES = 1000
Env = Mapping[str, str]
Timer = Callable[[Env], float]

SETTINGS: tuple[tuple[str, dict[str, str]], ...] = (
    # first: a run without the variable writes bytecode that the other setting would then use
    ("PYTHONDONTWRITEBYTECODE=1", {"PYTHONDONTWRITEBYTECODE": "1"}),
    ("bytecode written at run time", {}),
)

PLUGIN_URN = "urn:pulumi:dev::bench::acumatica:index:DataSource::erp"
DYNAMIC_URN = "urn:pulumi:dev::bench::pulumi-python:dynamic/acumatica:DataSource::erp"


def run(argv: list[str], env: Env) -> float:
    """Wall time of one process, from start to exit."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, check=False, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"{argv} exited with {done.returncode}: {done.stderr.decode()}")
    return time.perf_counter() - start


def command(*argv: str) -> Timer:
    return lambda env: run(list(argv), env)


@contextmanager
def fake_engine() -> Iterator[str]:
    """A gRPC server that answers every call UNIMPLEMENTED: the engine address a provider
    process is given (the plugin asks it for health; a server without one counts as alive)."""
    import grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


def struct(values: Mapping[str, Any]) -> Any:
    from google.protobuf import struct_pb2

    result = struct_pb2.Struct()
    result.update(dict(values))
    return result


@dataclass
class ProviderProcess:
    """How to start one kind of provider process and what its first ``Check`` carries."""

    argv: list[str]
    urn: str
    inputs: dict[str, Any]
    stages: dict[str, list[float]] = field(default_factory=dict)

    def first_call(self, env: Env) -> float:
        """Seconds from the process's start until it answered the first ``Check``; the time to
        its port line and to the first answered call are recorded in ``stages``."""
        import grpc
        from google.protobuf import empty_pb2
        from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

        start = time.perf_counter()
        process = subprocess.Popen(
            self.argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        try:
            assert process.stdout is not None
            port = int(process.stdout.readline())
            listening = time.perf_counter()
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = provider_pb2_grpc.ResourceProviderStub(channel)
                stub.GetPluginInfo(empty_pb2.Empty(), timeout=30)
                answered = time.perf_counter()
                provider_urn = "urn:pulumi:dev::bench::pulumi:providers:acumatica::default"
                empty = struct({})
                try:
                    stub.CheckConfig(
                        provider_pb2.CheckRequest(urn=provider_urn, olds=empty, news=empty),
                        timeout=30,
                    )
                except grpc.RpcError as exc:  # the dynamic provider has none; the engine goes on
                    if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                        raise
                stub.Configure(
                    provider_pb2.ConfigureRequest(args=empty, acceptSecrets=True), timeout=30
                )
                response = stub.Check(
                    provider_pb2.CheckRequest(urn=self.urn, olds=empty, news=struct(self.inputs)),
                    timeout=60,
                )
                checked = time.perf_counter()
            if response.failures:
                raise RuntimeError(f"Check failed: {response.failures}")
        finally:
            process.terminate()
            process.wait(timeout=30)
        self.stages.setdefault("port line", []).append(listening - start)
        self.stages.setdefault("first call answered", []).append(answered - start)
        self.stages.setdefault("first Check answered", []).append(checked - start)
        return checked - start


@dataclass
class Pair:
    """A subject and its baseline; each run adds one time of each."""

    name: str
    subject: Timer
    baseline_name: str
    baseline: Timer
    aim: float
    process: ProviderProcess | None = None
    subject_times: list[float] = field(default_factory=list)
    baseline_times: list[float] = field(default_factory=list)

    def measure(self, env: Env, baseline_first: bool) -> None:
        if baseline_first:
            self.baseline_times.append(self.baseline(env))
            self.subject_times.append(self.subject(env))
        else:
            self.subject_times.append(self.subject(env))
            self.baseline_times.append(self.baseline(env))

    def ratio(self) -> float:
        return statistics.median(
            s / b for s, b in zip(self.subject_times, self.baseline_times, strict=True)
        )


def bytecode_coverage(env: Env) -> tuple[int, int]:
    """(modules with bytecode on disk, modules from source files) among those the measured
    processes load (the CLI's validate path and the provider processes)."""
    probe = (
        "import importlib.util, os, sys\n"
        "import pulumi.dynamic, pulumi.provider.experimental.server\n"
        "import acumatica_datasource.cli, acumatica_datasource.spec\n"
        "import acumatica_datasource.resource.provider, acumatica_datasource.resource.plugin\n"
        "files = [m.__file__ for m in list(sys.modules.values())\n"
        "         if (getattr(m, '__file__', None) or '').endswith('.py')]\n"
        "print(sum(os.path.exists(importlib.util.cache_from_source(f)) for f in files),"
        " len(files))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


def pairs(many: Path, engine: str) -> list[Pair]:
    from pulumi.dynamic.dynamic import serialize_provider
    from tests.spec.support import basic_source

    from acumatica_datasource.resource.provider import DataSourceProvider

    data_source = basic_source()

    python = sys.executable
    cli = str(BIN / "acumatica-ds")
    import_pydantic = command(python, "-c", "import pydantic")
    import_pulumi = command(python, "-c", "import pulumi")
    dynamic = ProviderProcess(
        [python, "-u", "-m", "pulumi.dynamic", engine],
        DYNAMIC_URN,
        {"__provider": serialize_provider(DataSourceProvider()), **data_source},
    )
    plugin = ProviderProcess(
        [str(BIN / "pulumi-resource-acumatica"), engine],
        PLUGIN_URN,
        data_source,
    )
    return [
        Pair(
            "validate, two data sources",
            command(cli, "validate", str(TWO_SOURCES)),
            "import pydantic",
            import_pydantic,
            2.5,
        ),
        Pair(
            f"validate, {MANY_SOURCES:,} data sources",
            command(cli, "validate", str(many)),
            "import pydantic",
            import_pydantic,
            3.5,
        ),
        Pair(
            "dynamic provider, first Check",
            dynamic.first_call,
            "import pulumi",
            import_pulumi,
            1.6,
            dynamic,
        ),
        Pair("plugin, first Check", plugin.first_call, "import pulumi", import_pulumi, 1.6, plugin),
        Pair(
            "acumatica-ds --help",
            command(cli, "--help"),
            "python -c pass",
            command(python, "-c", "pass"),
            3.0,
        ),
    ]


def measure(label: str, extra: Env, runs: int, many: Path, engine: str) -> list[Pair]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | dict(extra)
    present, total = bytecode_coverage(env)
    print(f"\n## {label}: bytecode on disk for {present} of {total} modules loaded", flush=True)
    measured = pairs(many, engine)
    for pair in measured:  # untimed: file cache, and bytecode where it may be written
        pair.subject(env)
        pair.baseline(env)
        if pair.process is not None:
            pair.process.stages.clear()
    for index in range(runs):
        order = measured[index % len(measured) :] + measured[: index % len(measured)]
        for pair in order:
            pair.measure(env, baseline_first=index % 2 == 0)
    width = max(len(p.name) for p in measured)
    print(f"{'subject':{width}}  subject ms  baseline           ms  ratio  aim")
    for pair in measured:
        subject = statistics.median(pair.subject_times) * 1000
        base = statistics.median(pair.baseline_times) * 1000
        ratio = pair.ratio()
        verdict = "met" if ratio <= pair.aim else "MISSED"
        print(
            f"{pair.name:{width}}  {subject:10.0f}  {pair.baseline_name:16} {base:4.0f}  "
            f"{ratio:5.2f}  <= {pair.aim} {verdict}"
        )
    for pair in measured:
        if pair.process is not None:
            stages = pair.process.stages.items()
            text = ", ".join(f"{k} {statistics.median(v) * 1000:.0f} ms" for k, v in stages)
            print(f"  {pair.name}: {text}")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="paired runs per subject")
    args = parser.parse_args()
    sys.dont_write_bytecode = True
    import yaml

    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    from validate import environment  # the 1,000-source file of bench/validate.py

    print(f"medians of {args.runs} paired, interleaved runs; every process fresh")
    with tempfile.TemporaryDirectory() as directory, fake_engine() as engine:
        many = Path(directory) / "many.yaml"
        many.write_text(yaml.safe_dump(environment(MANY_SOURCES), sort_keys=False))
        for label, extra in SETTINGS:
            measure(label, extra, args.runs, many, engine)


if __name__ == "__main__":
    main()
