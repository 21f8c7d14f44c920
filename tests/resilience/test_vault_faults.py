"""Vault faults while ``up`` applies a change to 20 data sources whose secrets live in two
Vault paths (team A: ds-00..09, team B: ds-10..19, each with one OAuth data source).

``up`` must fail with a clear error naming the reference, apply nothing that depends on it
(its recorded state is unchanged), and converge once Vault is back.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable

import pytest
from tests.resilience.conftest import Scenario, ScenarioFactory
from tests.resilience.support import (
    FLEET_SIZE,
    Team,
    assert_converged,
    by_id,
    changes,
    fleet,
    team_ids,
    vault_secrets,
)
from tests.support.openbao import OpenBaoServer

pytestmark = pytest.mark.engine

TEAMS = (
    Team("acumatica/team-a", "team-a", "TeamA-Passw0rd-value"),
    Team("acumatica/team-b", "team-b", "TeamB-Passw0rd-value"),
)
TEAM_A, TEAM_B = TEAMS
EVERYONE = {f"ds-{i:02d}" for i in range(FLEET_SIZE)}
POLICY = "acumatica-ds"
READ_ALL = """
path "secret/data/acumatica/*" { capabilities = ["read"] }
path "secret/metadata/acumatica/*" { capabilities = ["read"] }
"""
DENY_TEAM_B = (
    READ_ALL
    + """
path "secret/data/acumatica/team-b" { capabilities = ["deny"] }
path "secret/metadata/acumatica/team-b" { capabilities = ["deny"] }
"""
)


def reference_of(source_id: str, teams: tuple[Team, ...] = TEAMS) -> str:
    """The reference a data source's messages must name (its password or client secret)."""
    index = int(source_id.split("-")[1])
    size = FLEET_SIZE if teams == TEAMS else 6
    team = teams[index * len(teams) // size]
    key = "client_secret" if teams == TEAMS and index >= FLEET_SIZE - 2 else "password"
    return f"vault:secret/{team.path}#{key}"


def unseal(vault: OpenBaoServer) -> None:
    """Unseal the dev server with the key it printed at start-up."""
    found = re.search(r"Unseal Key: (\S+)", vault.log_path.read_text())
    assert found, vault.log_tail()
    vault.sensitive.add(found.group(1))
    vault.bao("operator", "unseal", found.group(1))


def run_fault(
    running: Scenario,
    *,
    break_vault: Callable[[], None],
    affected: set[str],
    cause: str,
) -> str:
    """Converge, change every data source, break Vault, and check that ``up`` fails for
    ``affected`` (naming the reference and ``cause``) and changes nothing of theirs in state;
    returns the environment file's path."""
    world = running.world
    path = str(world.write_environment("dev", fleet(world, teams=TEAMS)))
    first = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert first.code == 0, first.output
    world.write_environment("dev", fleet(world, teams=TEAMS, page_size=20))
    before = world.resources("dev")
    requests_before = len(world.control.requests())

    break_vault()
    up = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert up.code == 1, up.output
    outcomes = by_id(up)
    for source_id in sorted(EVERYONE):
        outcome = outcomes[source_id]
        if source_id in affected:
            text = "\n".join(m["text"] for m in outcome["messages"])
            assert outcome["status"] == "failed", outcome
            assert reference_of(source_id) in text, text
            assert re.search(cause, text, re.I), text
        else:
            assert outcome["status"] == "updated", outcome
            assert outcome["verification"] == "ok", outcome
    after = world.resources("dev")
    for source_id in affected:
        assert after[source_id] == before[source_id], f"{source_id} changed in state"
    for source_id in EVERYONE - affected:
        assert after[source_id]["outputs"]["page_size"] == 20
    if affected == EVERYONE:
        assert len(world.control.requests()) == requests_before, "Acumatica was contacted"
    running.figures.notes.append(
        f"{reference_of(sorted(affected)[-1])}: "
        f"{outcomes[sorted(affected)[-1]]['messages'][0]['text']}"[:400]
    )
    running.sessions_left(0)
    return path


def test_sealed(scenario: ScenarioFactory) -> None:
    running = scenario("vault: sealed", teams=TEAMS)
    vault = running.world.vault
    path = run_fault(running, break_vault=vault.seal, affected=EVERYONE, cause=r"sealed")
    unseal(vault)
    up = assert_converged(running.world, path)
    assert changes(up)["update"] == FLEET_SIZE


def test_stopped(scenario: ScenarioFactory) -> None:
    running = scenario("vault: stopped", teams=TEAMS)
    world, vault = running.world, running.world.vault
    for team_path, data in vault_secrets(TEAMS).items():
        vault.put(team_path, data)  # version 2 is what the stack records
    path = run_fault(running, break_vault=vault.stop, affected=EVERYONE, cause=r"cannot connect")
    # a dev server loses its data: start it again (same port) and write the secrets again;
    # their version is 1 now, not the recorded 2: a rotation, seen without any other change
    vault.start()
    for team_path, data in vault_secrets(TEAMS).items():
        vault.put(team_path, data)
    world.write_environment("dev", fleet(world, teams=TEAMS))
    preview = world.acumatica_ds("preview", "--env", path, "--format", "json")
    assert preview.code == 0, preview.output
    assert changes(preview)["update"] == FLEET_SIZE, preview.stdout
    up = assert_converged(world, path)
    assert changes(up)["update"] == FLEET_SIZE


def test_token_loses_its_policy(scenario: ScenarioFactory) -> None:
    running = scenario("vault: token loses its policy", teams=TEAMS)
    world, vault = running.world, running.world.vault
    vault.policy(POLICY, READ_ALL)
    world.vault_token = vault.token([POLICY])
    path = run_fault(
        running,
        break_vault=lambda: vault.policy(POLICY, DENY_TEAM_B),
        affected=team_ids(TEAMS, TEAM_B),
        cause=r"permission denied",
    )
    vault.policy(POLICY, READ_ALL)
    up = assert_converged(world, path)
    assert changes(up)["update"] == len(team_ids(TEAMS, TEAM_B))


def test_deleted_secret_version(scenario: ScenarioFactory) -> None:
    running = scenario("vault: deleted secret version", teams=TEAMS)
    world, vault = running.world, running.world.vault
    path = run_fault(
        running,
        break_vault=lambda: vault.delete_versions(TEAM_B.path, [1]),
        affected=team_ids(TEAMS, TEAM_B),
        cause=r"deleted",
    )
    vault.put(TEAM_B.path, vault_secrets(TEAMS)[TEAM_B.path])  # version 2: a rotation
    up = assert_converged(world, path)
    assert changes(up)["update"] == len(team_ids(TEAMS, TEAM_B))


THREE_TEAMS = (*TEAMS, Team("acumatica/team-c", "team-c", "TeamC-Passw0rd-value"))


def test_hung_vault_costs_one_timeout(scenario: ScenarioFactory) -> None:
    """Issue 11, point 10: with Vault hung (SIGSTOP), a preview of three references ends
    within one Vault timeout (10 s by default) plus the engine's own time, warns for each
    data source that rotation could not be checked, and the JSON carries the warnings."""
    running = scenario("vault: hung (SIGSTOP) during preview", teams=THREE_TEAMS)
    world, vault = running.world, running.world.vault
    path = str(world.write_environment("dev", fleet(world, size=6, oauth=0, teams=THREE_TEAMS)))
    up = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert up.code == 0, up.output
    started = time.monotonic()
    baseline = world.acumatica_ds("preview", "--env", path, "--format", "json")
    engine_seconds = time.monotonic() - started
    assert baseline.code == 0, baseline.output

    assert vault.process is not None
    vault.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        preview = world.acumatica_ds("preview", "--env", path, "--format", "json")
        seconds = time.monotonic() - started
    finally:
        vault.process.send_signal(signal.SIGCONT)
    assert preview.code == 0, preview.output
    assert preview.result["status"] == "succeeded"
    for source_id, source in by_id(preview).items():
        assert source["status"] == "unchanged", source
        texts = [m["text"] for m in source["messages"] if m["severity"] == "warning"]
        assert any(
            "could not check whether a secret was rotated" in text
            and reference_of(source_id, THREE_TEAMS) in text
            and "did not answer within 10 s" in text
            for text in texts
        ), (source_id, texts)
    assert seconds < engine_seconds + 10 + 8, (seconds, engine_seconds)
    running.figures.notes.append(
        f"preview took {seconds:.1f} s with Vault hung, {engine_seconds:.1f} s with Vault up "
        "(Vault timeout 10 s)"
    )
    running.sessions_left(0)
