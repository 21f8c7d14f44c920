"""Locks and concurrency (issue 11, points 6 and 7): a live run is never mistaken for a dead
one, and runs on different stacks of one backend do not get in each other's way.

The engine's own records decide: the DIY backend's lock files (``.pulumi/locks/...``, holding
the engine's pid, host and start time) and the pending operations in the checkpoint.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.resilience.conftest import ScenarioFactory
from tests.resilience.support import by_id, changes, fleet, logins, no_changes, start
from tests.support.e2e import World
from tests.support.postgres import PostgresServer, running_postgres

pytestmark = [pytest.mark.engine, pytest.mark.slow]

READS = "/entity/Default/*"


def lock_files(world: World) -> list[Path]:
    return sorted((world.state_dir / ".pulumi" / "locks").rglob("*.json"))


def test_a_live_run_is_never_mistaken_for_a_dead_one(scenario: ScenarioFactory) -> None:
    running = scenario("locks: a second run while the first is live")
    world, control = running.world, running.world.control
    path = str(world.write_environment("dev", fleet(world, size=4, oauth=1)))
    control.fault(path=READS, method="GET", status=None, delay_ms=1500, times=None)

    first = start(world, "up", "--env", path, "--format", "json")
    first.wait_until(lambda: logins(world) >= 1 and bool(lock_files(world)))
    (lock,) = lock_files(world)
    holder = json.loads(lock.read_text())

    second = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert second.code == 1, second.output
    error = second.result["error"]
    assert error["kind"] == "locked", error
    assert "is being updated by another run" in error["message"], error
    assert f"PID {holder['pid']} on this host" in error["message"], error
    assert "started " in error["message"] and "--wait-lock" in error["message"], error
    assert "interrupted" not in second.output and "--clear-pending" not in error["message"]

    clear = world.acumatica_ds("up", "--env", path, "--format", "json", "--clear-pending")
    assert clear.code == 1, clear.output
    assert "refusing to clear" in clear.result["error"]["message"], clear.output
    assert lock.exists(), "--clear-pending removed a live run's lock"

    waiting = start(world, "up", "--env", path, "--format", "json", "--wait-lock", "300")
    done = first.finish()
    assert done.code == 0, done.output
    assert changes(done)["create"] == 4, done.stdout
    waited = waiting.finish()
    assert waited.code == 0, waited.output
    assert "waiting for the lock of stack dev" in waited.stderr, waited.stderr
    assert changes(waited) == no_changes(4), waited.stdout
    control.clear_faults()
    resources = world.resources("dev")
    assert sorted(resources) == [f"ds-{i:02d}" for i in range(4)]
    assert not (world.export("dev")["deployment"].get("pending_operations") or [])
    for watched in (first, waiting):
        survivors = watched.survivors()
        running.figures.orphans += len(survivors)
        assert survivors == [], survivors
    running.sessions_left(0)


def test_a_lock_held_on_another_host_needs_force(scenario: ScenarioFactory) -> None:
    running = scenario("locks: a lock held on another host")
    world = running.world
    path = str(world.write_environment("dev", fleet(world, size=2, oauth=1)))
    up = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert up.code == 0, up.output
    lock_dir = world.state_dir / ".pulumi" / "locks" / "organization" / "acumatica-datasources"
    lock = lock_dir / "dev" / "4d2c3b1a-0000-4000-8000-000000000001.json"
    lock.parent.mkdir(parents=True, exist_ok=True)
    other = "ci-runner-7" if socket.gethostname() != "ci-runner-7" else "ci-runner-8"
    record = {"pid": 4242, "username": "runner", "hostname": other}
    lock.write_text(json.dumps({**record, "timestamp": "2030-01-02T03:04:05Z"}))

    refused = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert refused.code == 1, refused.output
    message = refused.result["error"]["message"]
    assert f"PID 4242 on host {other}" in message and "--force" in message, message
    assert "cannot be told whether that run is still alive" in message, message

    unforced = world.acumatica_ds("up", "--env", path, "--format", "json", "--clear-pending")
    assert unforced.code == 1 and lock.exists(), unforced.output
    assert "--force" in unforced.result["error"]["message"]

    forced = world.acumatica_ds(
        "up", "--env", path, "--format", "json", "--clear-pending", "--force"
    )
    assert forced.code == 0, forced.output
    assert not lock.exists()
    assert {s["status"] for s in by_id(forced).values()} == {"unchanged"}
    running.sessions_left(0)


def test_two_stacks_of_one_backend_at_once(scenario: ScenarioFactory) -> None:
    running = scenario("locks: up on two stacks of one backend at once")
    world = running.world
    paths = {
        name: str(world.write_environment(name, fleet(world, name=name, size=2, oauth=1)))
        for name in ("dev", "test")
    }
    runs = {
        name: start(world, "up", "--env", path, "--format", "json") for name, path in paths.items()
    }
    for name, watched in runs.items():
        done = watched.finish()
        assert done.code == 0, done.output
        assert done.result["stack"] == name
        assert changes(done)["create"] == 2, done.stdout
        assert {s["verification"] for s in by_id(done).values()} == {"ok"}
        survivors = watched.survivors()
        running.figures.orphans += len(survivors)
        assert survivors == [], survivors
    for name in paths:
        assert len(world.resources(name)) == 2
    running.sessions_left(0)


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


def test_a_live_run_on_a_postgres_backend(
    postgres: PostgresServer, scenario: ScenarioFactory
) -> None:
    """A backend whose locks are not files (PostgreSQL): the engine itself tells who holds
    the stack, and the answer is the same."""
    running = scenario("locks: a second run while the first is live (PostgreSQL state)")
    world, control = running.world, running.world.control
    world.extra_env.update(PULUMI_BACKEND_URL=postgres.create_database("state"))
    path = str(world.write_environment("dev", fleet(world, size=4, oauth=1)))
    control.fault(path=READS, method="GET", status=None, delay_ms=4000, times=None)
    first = start(world, "up", "--env", path, "--format", "json")
    first.wait_until(lambda: logins(world) >= 1)
    second = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert second.code == 1, second.output
    message = second.result["error"]["message"]
    assert "another run is updating it now, or the last run was killed" in message, message
    assert "interrupted" not in message
    # following the advice is safe: the backend says who holds the stack, and it is alive
    cleared = world.acumatica_ds("up", "--env", path, "--format", "json", "--clear-pending")
    assert cleared.code == 1, cleared.output
    assert cleared.result["error"]["kind"] == "locked", cleared.output
    message = cleared.result["error"]["message"]
    assert "refusing to clear" in message and "on this host" in message, message
    done = first.finish()
    assert done.code == 0, done.output
    assert changes(done)["create"] == 4, done.stdout
    control.clear_faults()
    assert sorted(world.resources("dev")) == ["ds-00", "ds-01", "ds-02", "ds-03"]
    survivors = first.survivors()
    running.figures.orphans += len(survivors)
    assert survivors == [], survivors
    running.sessions_left(0)
