"""``python -m tests.support.spike_up ROOT STORE``: run one slow ``up`` of the spike stack.

Used by the engine spike to interrupt an update from outside: the test kills this process's
``pulumi`` child mid-create. It runs in its own process because a killed engine leaves the
inline program's language-server thread blocked forever in the process that ran it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi
from tests.support.pulumi_engine import engine_sandbox, locate_cli
from tests.support.spike_provider import SpikeResource


def main(root: Path, store: Path, delay: float) -> None:
    sandbox = engine_sandbox(locate_cli(), root)

    def program() -> None:
        thing = SpikeResource("thing", store=str(store), name="slow", size=1, delay=delay)
        pulumi.export("name", thing.name)

    sandbox.stack(program).up()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]))
