"""Progress (issue 11, point 11): a verification taking longer than 5 s says what it waits for
(the login, a free session slot, a page read, Vault) in the text output; the JSON output is
unchanged but for its final object."""

from __future__ import annotations

import pytest
from tests.resilience.conftest import ScenarioFactory
from tests.resilience.support import fleet

pytestmark = pytest.mark.slow

LOGIN = "/entity/auth/login"


def test_slow_verifications_say_what_they_wait_for(scenario: ScenarioFactory) -> None:
    running = scenario("progress: verify, slow login and a queue")
    world, control = running.world, running.world.control
    path = str(world.write_environment("dev", fleet(world, size=2, oauth=0)))

    control.fault(path=LOGIN, status=None, delay_ms=6500, times=1)
    text = world.acumatica_ds("verify", path, "--sessions-per-site", "1")
    assert text.code == 0, text.output
    lines = [line for line in text.stderr.splitlines() if "still verifying" in line]
    assert any("waiting for the login" in line for line in lines), text.stderr
    assert any("waiting for a free session slot" in line for line in lines), text.stderr

    control.fault(path=LOGIN, status=None, delay_ms=6500, times=1)
    machine = world.acumatica_ds("verify", path, "--sessions-per-site", "1", "--format", "json")
    assert machine.code == 0, machine.output
    assert len(machine.stdout.strip().splitlines()) == 1, machine.stdout
    assert machine.result["status"] == "succeeded"
    assert "still verifying" not in machine.output
    running.sessions_left(0)


@pytest.mark.engine
def test_slow_verification_in_up(scenario: ScenarioFactory) -> None:
    running = scenario("progress: up, slow login")
    world, control = running.world, running.world.control
    path = str(world.write_environment("dev", fleet(world, size=1, oauth=0)))
    control.fault(path=LOGIN, status=None, delay_ms=6500, times=1)
    up = world.acumatica_ds("up", "--env", path)
    assert up.code == 0, up.output
    assert "still verifying Data source 00 [ds-00] after" in up.stderr, up.stderr
    assert "waiting for the login" in up.stderr, up.stderr
    running.sessions_left(0)
