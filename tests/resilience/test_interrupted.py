"""An interrupted deployment: ``acumatica-ds up`` and every process it started are killed
(SIGKILL, by pid) once a data source was created; the next ``up`` explains the interruption
and changes nothing; ``up --clear-pending`` clears it and converges."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from tests.resilience.conftest import ScenarioFactory
from tests.resilience.support import (
    FLEET_SIZE,
    changes,
    fleet,
    no_changes,
    wait_for_sessions,
)
from tests.support.e2e import Run, World
from tests.support.pulumi_engine import descendants, kill_pids

from acumatica_datasource.cli.engine import PROJECT
from acumatica_datasource.resource import TYPE_TOKEN

pytestmark = pytest.mark.engine


def checkpoint(world: World, stack: str = "dev") -> dict[str, Any]:
    """The stack's raw checkpoint file ({} while absent or being written)."""
    path = world.state_dir / ".pulumi" / "stacks" / PROJECT / f"{stack}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return dict(data.get("checkpoint", {}).get("latest") or {})


def created(world: World) -> int:
    return sum(1 for r in checkpoint(world).get("resources") or [] if r.get("type") == TYPE_TOKEN)


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its new parent to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def kill_tree(process: subprocess.Popen[bytes]) -> list[int]:
    """Stop the process and its descendants (so none can start another), then SIGKILL them
    all by pid; returns the pids."""
    tree: list[int] = []
    while True:
        found = [pid for pid in [process.pid, *descendants(process.pid)] if pid not in tree]
        if not found:
            break
        kill_pids(found, signal.SIGSTOP)
        tree += found
    kill_pids(tree, signal.SIGKILL)
    process.wait(timeout=10)
    return tree


def test_killed_up_is_explained_then_cleared(scenario: ScenarioFactory) -> None:
    running = scenario("interrupted up (SIGKILL)", session_idle_timeout_s=2)
    world, control = running.world, running.world.control
    path = str(world.write_environment("dev", fleet(world)))
    control.fault(path="/entity/Default/*", method="GET", status=None, delay_ms=250, times=None)

    out, err = world.root / "killed.out", world.root / "killed.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            world.command("up", "--env", path, "--format", "json"),
            env=world.env(),
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
    tree: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while created(world) < 1:
            assert process.poll() is None, err.read_text()
            assert time.monotonic() < deadline, "no data source was created in time"
            time.sleep(0.05)
        tree = kill_tree(process)
    finally:
        if not tree:
            kill_tree(process)
        stray = [pid for pid in tree if alive(pid)]
        kill_pids(stray)
    control.clear_faults()
    world.record(Run(["up (killed)"], process.returncode, out.read_text(), err.read_text()))
    assert process.returncode == -signal.SIGKILL
    assert len(tree) >= 3, "expected the CLI, the engine and the provider"
    wait_deadline = time.monotonic() + 10
    while any(alive(pid) for pid in tree) and time.monotonic() < wait_deadline:
        time.sleep(0.05)
    assert not [pid for pid in tree if alive(pid)], "a killed process is still running"

    # a verification killed mid-read leaves its session open: it expires (idle 2 s)
    left = control.open_sessions()
    assert left <= 1
    running.figures.leaked_sessions += left
    assert wait_for_sessions(world, 0) == 0

    interrupted = checkpoint(world)
    done = created(world)
    assert 1 <= done < FLEET_SIZE, done
    pending = interrupted.get("pending_operations") or []
    locks = {
        path: path.read_bytes() for path in (world.state_dir / ".pulumi" / "locks").rglob("*.json")
    }
    assert pending or locks, "the interruption left no trace"
    running.figures.notes.append(
        f"killed {len(tree)} processes after {done} data source(s); "
        f"{len(pending)} pending operation(s), {len(locks)} lock(s)"
    )

    requests = len(control.requests())
    again = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert again.code == 1, again.output
    assert "--clear-pending" in again.output, again.output
    assert "interrupted" in again.output or "locked" in again.output, again.output
    assert checkpoint(world) == interrupted, "a refused run changed the state"
    assert len(control.requests()) == requests, "a refused run contacted Acumatica"
    running.figures.notes.append(again.stderr.strip().splitlines()[-1][:400])

    cleared = world.acumatica_ds("up", "--env", path, "--format", "json", "--clear-pending")
    assert cleared.code == 0, cleared.output
    assert "clearing" in cleared.output or not pending, cleared.output
    assert not (checkpoint(world).get("pending_operations") or [])
    assert all(s["verification"] == "ok" for s in cleared.result["data_sources"])

    # a run killed between two steps leaves only its lock: the same file, put back
    assert locks and not list((world.state_dir / ".pulumi" / "locks").rglob("*.json"))
    for lock, content in locks.items():
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_bytes(content)
    converged = checkpoint(world)
    locked = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert locked.code == 1, locked.output
    assert "locked" in locked.output and "--clear-pending" in locked.output, locked.output
    assert checkpoint(world) == converged, "a refused run changed the state"
    running.figures.notes.append(locked.stderr.strip().splitlines()[-1][:400])
    unlocked = world.acumatica_ds("up", "--env", path, "--format", "json", "--clear-pending")
    assert unlocked.code == 0, unlocked.output
    assert changes(unlocked) == no_changes(), unlocked.stdout

    preview = world.acumatica_ds("preview", "--env", path, "--format", "json")
    assert preview.code == 0, preview.output
    assert changes(preview) == no_changes(), preview.stdout
    running.sessions_left(0)
