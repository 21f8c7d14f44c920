"""An interrupted deployment: ``acumatica-ds up`` is killed (SIGKILL, by pid) once a data
source was created. The engine and the provider it started end within 10 s (issue 11, point
8), the sessions under way are closed; the next ``up`` explains the interruption and changes
nothing; ``up --clear-pending`` clears it and converges."""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest
from tests.resilience.conftest import ScenarioFactory
from tests.resilience.support import (
    FLEET_SIZE,
    changes,
    fleet,
    no_changes,
    start,
    wait_for_sessions,
)
from tests.support.e2e import World
from tests.support.pulumi_engine import command_line, descendants

from acumatica_datasource.resource import TYPE_TOKEN
from acumatica_datasource.spec import DEFAULT_PROJECT as PROJECT

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


def test_killed_up_is_explained_then_cleared(scenario: ScenarioFactory) -> None:
    running = scenario("interrupted up (SIGKILL of the command)", session_idle_timeout_s=2)
    world, control = running.world, running.world.control
    path = str(world.write_environment("dev", fleet(world)))
    control.fault(path="/entity/Default/*", method="GET", status=None, delay_ms=250, times=None)

    # only the command is killed, as a CI runner does: the engine and the provider it
    # started must not outlive it by more than 10 s (the provider watches the engine)
    watched = start(world, "up", "--env", path, "--format", "json")
    watched.wait_until(lambda: created(world) >= 1, timeout=180)
    tree = [command_line(pid) for pid in descendants(watched.process.pid)]
    assert any("pulumi.dynamic" in " ".join(c) for c in tree), tree
    watched.signal(signal.SIGKILL)
    killed = watched.finish()
    assert killed.code == -signal.SIGKILL
    control.clear_faults()
    survivors = watched.survivors()
    running.figures.orphans += len(survivors)
    running.figures.exit_seconds.append(watched.exit_seconds)
    assert survivors == [], survivors

    # the provider closes the sessions under way before it exits
    left = control.open_sessions()
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
        f"killed the command after {done} data source(s); its {len(watched.tree)} processes were "
        f"gone {watched.children_gone} s after it; {len(pending)} pending operation(s), "
        f"{len(locks)} lock(s), {left} session(s) open at once"
    )

    requests = len(control.requests())
    again = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert again.code == 1, again.output
    assert "--clear-pending" in again.output, again.output
    assert "no longer alive" in again.output or "interrupted" in again.output, again.output
    assert checkpoint(world) == interrupted, "a refused run changed the state"
    assert len(control.requests()) == requests, "a refused run contacted Acumatica"
    running.figures.notes.append(again.stderr.strip().splitlines()[-1][:400])

    cleared = world.acumatica_ds("up", "--env", path, "--format", "json", "--clear-pending")
    assert cleared.code == 0, cleared.output
    assert "clearing" in cleared.output or not pending, cleared.output
    assert not (checkpoint(world).get("pending_operations") or [])
    assert all(s["verification"] in ("ok", "not_run") for s in cleared.result["data_sources"])
    assert all(s["recorded_verification"] == "ok" for s in cleared.result["data_sources"])

    # a run killed between two steps leaves only its lock: the same file, put back
    assert locks and not list((world.state_dir / ".pulumi" / "locks").rglob("*.json"))
    for lock, content in locks.items():
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_bytes(content)
    converged = checkpoint(world)
    locked = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert locked.code == 1, locked.output
    message = locked.result["error"]["message"]
    assert "no longer alive" in message and "--clear-pending" in message, message
    assert checkpoint(world) == converged, "a refused run changed the state"
    running.figures.notes.append(locked.stderr.strip().splitlines()[-1][:400])
    unlocked = world.acumatica_ds("up", "--env", path, "--format", "json", "--clear-pending")
    assert unlocked.code == 0, unlocked.output
    assert changes(unlocked) == no_changes(), unlocked.stdout

    preview = world.acumatica_ds("preview", "--env", path, "--format", "json")
    assert preview.code == 0, preview.output
    assert changes(preview) == no_changes(), preview.stdout
    running.sessions_left(0)
