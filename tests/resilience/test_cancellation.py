"""Cancellation (issue 11, points 3 and 8): SIGINT and SIGTERM are handled the same way by
every command. After the signal no verification starts, those under way stop at their next
step and log out, the engine is cancelled (recording what it left pending), the summary says
``interrupted`` for every data source whose operation did not complete, the command exits 130
(SIGINT) or 143 (SIGTERM), and no process it started outlives it by more than 10 seconds.

Reads are slowed down (1.5 s each) and the site allows one session at a time, so when the
signal arrives one verification is under way and the others are queued.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from typing import Any

import pytest
from tests.resilience.conftest import Scenario, ScenarioFactory
from tests.resilience.support import (
    Watched,
    by_id,
    changes,
    fleet,
    logins,
    no_changes,
    start,
    wait_for_sessions,
)
from tests.support.e2e import Run, World

pytestmark = [pytest.mark.engine, pytest.mark.slow]

READS = "/entity/Default/*"
SIZE = 6
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
MAX_EXIT_SECONDS = 20.0
"""Well below operation_timeout (60 s): the queued verifications were dropped."""


@dataclass(frozen=True)
class Case:
    name: str
    signum: signal.Signals
    times: int = 1
    group: bool = False
    """Send to the command's process group, as a terminal's Ctrl-C does."""


CASES = [
    Case("Ctrl-C once", signal.SIGINT, group=True),
    Case("Ctrl-C twice", signal.SIGINT, times=2, group=True),
    Case("SIGTERM", signal.SIGTERM),
]


def slow_reads(world: World) -> None:
    world.control.fault(path=READS, method="GET", status=None, delay_ms=1500, times=None)


def interrupt(running: Scenario, watched: Watched, case: Case, *, after_logins: int) -> Run:
    """Signal ``watched`` once ``after_logins`` logins were answered; check what every
    interrupted command must do; return its run."""
    world = running.world
    watched.wait_until(lambda: logins(world) >= after_logins)
    for index in range(case.times):
        if index:
            time.sleep(0.3)
        watched.signal(case.signum, group=case.group)
    at_signal = logins(world)
    done = watched.finish()
    running.figures.exit_seconds.append(watched.exit_seconds)
    assert done.code == EXIT_CODES[case.signum], done.output
    result = done.result
    assert result["version"] == 1 and result["status"] == "interrupted", result
    assert result["signal"] == case.signum.name, result
    assert watched.exit_seconds < MAX_EXIT_SECONDS, watched.exit_seconds
    assert logins(world) - at_signal <= 1, "verifications started after the signal"
    survivors = watched.survivors()
    running.figures.orphans += len(survivors)
    assert survivors == [], survivors
    left = wait_for_sessions(world, 0, timeout=5)
    reported = int(result.get("possibly_open_sessions") or 0)
    running.figures.leaked_sessions += max(0, left - reported)
    assert left <= reported, f"{left} session(s) left open, {reported} reported"
    return done


def assert_truthful(world: World, run: Run) -> dict[str, Any]:
    """No data source claims an operation that the state shows pending, or that is not in
    the state; returns the pending operations by data source."""
    deployment = world.export("dev")["deployment"]
    pending = {
        str(op["resource"]["urn"]).rsplit("::", 1)[-1]: op["type"]
        for op in deployment.get("pending_operations") or []
    }
    recorded = world.resources("dev")
    sources = by_id(run)
    for source_id, source in sources.items():
        if source_id in pending:
            assert source["status"] == "interrupted", source
        if source["status"] == "created":
            assert source_id in recorded and source["verification"] == "ok", source
        assert source["status"] in ("created", "interrupted"), source
    assert "interrupted" in {s["status"] for s in sources.values()}
    return pending


@pytest.mark.parametrize("case", CASES, ids=[c.name.replace(" ", "-") for c in CASES])
def test_interrupted_up(scenario: ScenarioFactory, case: Case) -> None:
    running = scenario(f"cancel: up, {case.name}")
    world = running.world
    path = str(world.write_environment("dev", fleet(world, size=SIZE, oauth=1)))
    slow_reads(world)
    watched = start(world, "up", "--env", path, "--format", "json")
    done = interrupt(running, watched, case, after_logins=2)
    pending = assert_truthful(world, done)
    if case.times == 1:
        assert not pending, f"a cancelled (not terminated) run left {pending}"
    running.figures.notes.append(
        f"{changes(done)}; pending after the run: {pending or 'none'}; children gone "
        f"{watched.children_gone} s after the command"
    )
    running.sessions_left(0)
    if not pending:
        return
    # a terminated engine leaves its operations pending: explained, then cleared
    world.control.clear_faults()
    again = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert again.code == 1 and "--clear-pending" in again.output, again.output
    again = world.acumatica_ds("up", "--env", path, "--format", "json", "--clear-pending")
    assert again.code == 0, again.output
    assert {s["verification"] for s in by_id(again).values() if s["status"] != "unchanged"} <= {
        "ok"
    }
    preview = world.acumatica_ds("preview", "--env", path, "--format", "json")
    assert changes(preview) == no_changes(SIZE), preview.stdout


def test_sigterm_everywhere(scenario: ScenarioFactory) -> None:
    """verify, refresh, promote, preview and destroy under SIGTERM."""
    running = scenario("cancel: SIGTERM in verify, refresh, promote, preview, destroy")
    world, vault = running.world, running.world.vault
    term = Case("SIGTERM", signal.SIGTERM)
    path = str(world.write_environment("dev", fleet(world, size=4, oauth=1)))
    staged = str(world.write_environment("test", fleet(world, name="test", size=4, oauth=1)))
    production = str(world.write_environment("prod", fleet(world, name="prod", size=4, oauth=1)))
    up = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert up.code == 0, up.output
    slow_reads(world)

    verify = interrupt(
        running,
        start(world, "verify", path, "--format", "json"),
        term,
        after_logins=logins(world) + 2,
    )
    statuses = [report["status"] for report in verify.result["data_sources"]]
    assert "interrupted" in statuses, statuses

    refresh = interrupt(
        running,
        start(world, "refresh", "--env", path, "--format", "json"),
        term,
        after_logins=logins(world) + 2,
    )
    refreshed = {s["status"] for s in by_id(refresh).values()}
    assert "interrupted" in refreshed and refreshed <= {"unchanged", "updated", "interrupted"}

    # dev is applied as it is (nothing to verify); the signal comes while test is applied
    promote = interrupt(
        running,
        start(world, "promote", path, staged, production, "--format", "json"),
        term,
        after_logins=logins(world) + 2,
    )
    statuses = [entry["status"] for entry in promote.result["environments"]]
    assert statuses == ["applied", "interrupted", "not_applied"], promote.stdout
    world.control.clear_faults()

    # preview asks Vault for secret versions: with Vault hung, the signal cuts the wait
    vault.process.send_signal(signal.SIGSTOP)
    try:
        preview = start(
            world, "preview", "--env", path, "--format", "json", env={"VAULT_CLIENT_TIMEOUT": "4s"}
        )
        preview.wait_until(lambda: any("pulumi.dynamic" in name for name in preview.names()))
        time.sleep(2)  # the diffs now wait for Vault
        previewed = interrupt(running, preview, term, after_logins=0)
    finally:
        vault.process.send_signal(signal.SIGCONT)
    assert previewed.result["command"] == "preview"

    # a signal before the engine starts: nothing is run, and the summary says so
    destroy = start(world, "destroy", "--env", path, "--yes", "--format", "json")
    destroy.wait_until(lambda: "destroy dev:" in destroy.err.read_text())
    destroyed = interrupt(running, destroy, term, after_logins=0)
    assert {s["status"] for s in by_id(destroyed).values()} == {"skipped"}, destroyed.stdout
    assert len(world.resources("dev")) == 4

    again = world.acumatica_ds("up", "--env", path, "--format", "json", "--clear-pending")
    assert again.code == 0, again.output
    running.sessions_left(0)
