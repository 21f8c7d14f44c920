"""Shared state on a real PostgreSQL server (issue 15): pipelines of one team deploy through
one ``postgres://`` backend at once, and the backend going away mid-run loses nothing.

Each scenario ends with a secret scan of the database (a ``pg_dump`` of it, the stored files
decoded) besides the usual scan of state, engine logs and output, and with no Acumatica
session open (the ``scenario`` fixture checks both of those).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.resilience.conftest import Scenario, ScenarioFactory
from tests.resilience.support import (
    FLEET_SIZE,
    Watched,
    by_id,
    changes,
    fleet,
    logins,
    no_changes,
    source_id,
    start,
    verified,
)
from tests.support.e2e import Run
from tests.support.echoes import found_forms
from tests.support.postgres import PostgresServer, running_postgres, state_blobs

from acumatica_datasource.resource import TYPE_TOKEN
from acumatica_datasource.spec import DEFAULT_PROJECT as PROJECT

pytestmark = [pytest.mark.engine, pytest.mark.slow]

DATABASE = "state"
READS = "/entity/Default/*"
SLOW_SIZE = 6
STAGES = {"dev": 10, "test": 20, "prod": 30}
"""Stage -> its page size, which tells the stages' records apart in the database."""
UNSAVED_WITHIN = 60.0
"""Seconds within which an ``up`` whose backend went away ends (the engine itself retries a
checkpoint write for about 30 s)."""


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


def on_postgres(running: Scenario, postgres: PostgresServer) -> None:
    """Point the scenario's commands at a fresh database of ``postgres``."""
    running.world.extra_env.update(PULUMI_BACKEND_URL=postgres.create_database(DATABASE))


def slow_stack(running: Scenario, postgres: PostgresServer) -> str:
    """A ``dev`` file of :data:`SLOW_SIZE` data sources whose reads the sandbox slows to 1.5 s
    (so an ``up`` is under way for a while), its state in a fresh database; its path."""
    on_postgres(running, postgres)
    world = running.world
    path = world.write_environment("dev", fleet(world, size=SLOW_SIZE, oauth=1))
    world.control.fault(path=READS, method="GET", status=None, delay_ms=1500, times=None)
    return str(path)


def recorded(postgres: PostgresServer, stack: str) -> dict[str, dict[str, Any]]:
    """The data sources the database records for ``stack`` (id -> resource), checking that
    no operation is left pending and that no data source is recorded twice."""
    latest = postgres.checkpoint(DATABASE, PROJECT, stack)
    assert not latest.get("pending_operations"), latest.get("pending_operations")
    resources = [r for r in latest.get("resources") or [] if r.get("type") == TYPE_TOKEN]
    by_name = {str(r["urn"]).rsplit("::", 1)[-1]: r for r in resources}
    assert len(by_name) == len(resources), "a data source is recorded twice"
    for resource in resources:
        assert str(resource["urn"]).startswith(f"urn:pulumi:{stack}::{PROJECT}::"), resource["urn"]
    return by_name


def assert_database_clean(running: Scenario, postgres: PostgresServer) -> None:
    """No secret value, in any encoding, in the dump or in the stored files it holds."""
    dump = postgres.dump(DATABASE)
    haystacks = [dump, *state_blobs(dump).values()]
    world = running.world
    secrets = sorted((world.secrets | world.vault.sensitive) - {"root", ""})
    hits = sorted(found_forms(secrets, haystacks))
    running.figures.secret_hits += len(hits)
    assert hits == [], f"secret values in the database: {hits}"


def finish(running: Scenario, watched: Watched) -> Run:
    """Wait for a background command; check it left no process behind."""
    done = watched.finish()
    survivors = watched.survivors()
    running.figures.orphans += len(survivors)
    assert survivors == [], survivors
    return done


def test_three_pipelines_deploy_dev_test_and_prod_at_once(
    postgres: PostgresServer, scenario: ScenarioFactory
) -> None:
    running = scenario("shared state: dev, test and prod deployed at once (PostgreSQL)")
    world = running.world
    on_postgres(running, postgres)
    paths = {
        stage: str(world.write_environment(stage, fleet(world, name=stage, page_size=size)))
        for stage, size in STAGES.items()
    }
    runs = {
        stage: start(world, "up", "--env", path, "--format", "json")
        for stage, path in paths.items()
    }
    for stage, watched in runs.items():
        done = finish(running, watched)
        assert done.code == 0, done.output
        assert done.result["stack"] == stage
        assert changes(done)["create"] == FLEET_SIZE, done.stdout
        assert all(verified(source) for source in by_id(done).values()), done.stdout
    for stage, size in STAGES.items():
        sources = recorded(postgres, stage)
        assert sorted(sources) == [source_id(i) for i in range(FLEET_SIZE)], stage
        assert {r["inputs"]["page_size"] for r in sources.values()} == {size}, stage
    assert_database_clean(running, postgres)
    running.sessions_left(0)


def test_two_runs_of_one_stack_at_once(postgres: PostgresServer, scenario: ScenarioFactory) -> None:
    running = scenario("shared state: two runs of one stack at once (PostgreSQL)")
    world, control = running.world, running.world.control
    path = slow_stack(running, postgres)
    size = SLOW_SIZE

    both = [start(world, "up", "--env", path, "--format", "json") for _ in range(2)]
    deployed, refused = sorted((finish(running, w) for w in both), key=lambda run: run.code)
    assert deployed.code == 0, deployed.output
    assert changes(deployed)["create"] == size, deployed.stdout
    assert refused.code == 1, refused.output
    error = refused.result["error"]
    assert error["kind"] == "locked", error
    assert "is being updated by another run" in error["message"], error
    assert "on this host" in error["message"] and "--wait-lock" in error["message"], error
    assert sorted(recorded(postgres, "dev")) == [source_id(i) for i in range(size)]

    # with --wait-lock, the second run waits for the first (which is already applying when
    # the second starts), then finds nothing left to do
    changed = str(world.write_environment("dev", fleet(world, size=size, oauth=1, page_size=50)))
    before = logins(world)
    first = start(world, "up", "--env", changed, "--format", "json")
    first.wait_until(lambda: logins(world) > before)
    waiting = start(world, "up", "--env", changed, "--format", "json", "--wait-lock", "300")
    done = finish(running, first)
    assert done.code == 0, done.output
    assert changes(done)["update"] == size, done.stdout
    waited = finish(running, waiting)
    assert waited.code == 0, waited.output
    assert "waiting for" in waited.stderr, waited.stderr
    assert changes(waited) == no_changes(size), waited.stdout
    control.clear_faults()
    sources = recorded(postgres, "dev")
    assert sorted(sources) == [source_id(i) for i in range(size)]
    assert {r["inputs"]["page_size"] for r in sources.values()} == {50}
    assert_database_clean(running, postgres)
    running.sessions_left(0)


def test_postgres_stopped_in_the_middle_of_an_up(
    postgres: PostgresServer, scenario: ScenarioFactory
) -> None:
    running = scenario("shared state: PostgreSQL stopped in the middle of an up")
    world, control = running.world, running.world.control
    path = slow_stack(running, postgres)
    size = SLOW_SIZE

    up = start(world, "up", "--env", path, "--format", "json")
    up.wait_until(lambda: logins(world) >= 1)
    postgres.stop()
    stopped = time.monotonic()
    broken = finish(running, up)
    seconds = time.monotonic() - stopped
    running.figures.notes.append(f"the up failed {seconds:.0f} s after PostgreSQL stopped")
    control.clear_faults()
    assert broken.code == 1, broken.output
    # the engine retries a checkpoint write for about 30 s; then the run stops at once
    assert seconds < UNSAVED_WITHIN, broken.output
    assert broken.result["status"] == "failed", broken.stdout
    errors = [m["text"] for m in broken.result["messages"] if m["severity"] == "error"]
    (message,) = [text for text in errors if "state backend" in text]
    assert f"the state backend ({postgres.backend_url(DATABASE)}) could not be written" in message
    assert "connect" in message and "re-run" in message, message
    assert "post-step event" not in broken.output, broken.output
    unrecorded = {s["status"] for s in by_id(broken).values()} - {"created"}
    assert unrecorded <= {"interrupted"}, broken.stdout

    postgres.restart()
    again = world.acumatica_ds("up", "--env", path, "--format", "json")
    if again.code != 0 and "--clear-pending" in again.output:
        running.figures.notes.append("the next up asked for --clear-pending")
        again = world.acumatica_ds("up", "--env", path, "--format", "json", "--clear-pending")
    assert again.code == 0, again.output
    assert all(verified(source) for source in by_id(again).values()), again.stdout
    preview = world.acumatica_ds("preview", "--env", path, "--format", "json")
    assert preview.code == 0, preview.output
    assert changes(preview) == no_changes(size), preview.stdout
    assert sorted(recorded(postgres, "dev")) == [source_id(i) for i in range(size)]
    assert_database_clean(running, postgres)
    running.sessions_left(0)


def test_a_new_database_first_used_by_two_runs_at_once(
    postgres: PostgresServer, scenario: ScenarioFactory
) -> None:
    """On first use the engine creates its table; a run that loses that race to another
    (PostgreSQL: "duplicate key value violates unique constraint", 23505) opens the stack
    again instead of failing. The race is made certain: a transaction creates the table and
    commits only once the run waits on it."""
    running = scenario("shared state: a new database first used by two runs at once")
    world = running.world
    on_postgres(running, postgres)
    path = str(world.write_environment("dev", fleet(world, size=2, oauth=1)))
    with postgres.session(DATABASE) as other:
        other.run("BEGIN")
        other.run(
            "CREATE TABLE pulumi_state (key TEXT PRIMARY KEY, data JSON NOT NULL, "
            "updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())"
        )
        up = start(world, "up", "--env", path, "--format", "json")
        up.wait_until(lambda: postgres.waiting_on_locks(DATABASE) > 0)
        other.run("COMMIT")
    done = finish(running, up)
    assert done.code == 0, done.output
    assert changes(done)["create"] == 2, done.stdout
    assert sorted(recorded(postgres, "dev")) == ["ds-00", "ds-01"]
    assert_database_clean(running, postgres)
    running.sessions_left(0)
