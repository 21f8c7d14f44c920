"""Truthful verdicts (issue 11, points 1, 2 and 9): a recorded failure never turns green, the
summary and the JSON describe this run, and a login retried after an answer that may have
opened a session says so and is counted.

Two data sources, secrets in OpenBao: ``erp-basic`` in ``warn`` mode, ``erp-oauth`` in
``strict`` mode (the default). Each step checks the exact exit code, the JSON, the state and
the sandbox's open sessions.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.resilience.conftest import ScenarioFactory
from tests.resilience.support import by_id
from tests.support.e2e import SECRETS, e2e_tenant, environment

pytestmark = [pytest.mark.engine, pytest.mark.slow]

LOGIN = "/entity/auth/login"
WRONG = {"password": "Wrong-Passw0rd-value", "client_secret": "Wrong-Client-Secret-value"}


def document(world: Any, **defaults: Any) -> dict[str, Any]:
    result = environment(world)
    result["defaults"].update(defaults)
    result["data_sources"][0]["verification"] = {"mode": "warn"}
    return result


def recorded(world: Any) -> dict[str, str]:
    """The verification status each data source has in the state."""
    return {
        name: resource["outputs"]["verification"]["status"]
        for name, resource in world.resources("dev").items()
    }


def test_a_recorded_failure_never_turns_green(scenario: ScenarioFactory) -> None:
    running = scenario("verdicts: recorded failures, this run's summary", tenant=e2e_tenant())
    world, control = running.world, running.world.control
    world.secrets |= set(WRONG.values())
    path = str(world.write_environment("dev", document(world)))

    # point 9: the first login answers 503 (it may have opened a session) and is retried
    control.fault(path=LOGIN, status=503, times=1)
    up = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert up.code == 0, up.output
    assert up.result["version"] == 1 and up.result["status"] == "succeeded"
    sources = by_id(up)
    assert {s["status"] for s in sources.values()} == {"created"}
    assert {s["verification"] for s in sources.values()} == {"ok"}
    assert sources["erp-basic"]["possibly_open_sessions"] == 1, sources["erp-basic"]
    assert up.result["possibly_open_sessions"] == 1
    assert "session may have been left open" in up.output
    assert up.result["changes"] == {
        "create": 2,
        "update": 0,
        "delete": 0,
        "same": 0,
        "failed": 0,
        "interrupted": 0,
    }
    running.sessions_left(0)

    # point 1: a refresh without a valid Vault token records both as failed, and says so
    world.vault_token = "not-a-valid-token"
    refresh = world.acumatica_ds("refresh", "--env", path, "--format", "json")
    assert refresh.code == 1, refresh.output
    assert refresh.result["status"] == "failed" and refresh.result["succeeded"] is False
    for source in by_id(refresh).values():
        assert source["status"] == "failed", source
        assert source["verification"] == "failed", source
        assert source["recorded_verification"] == "failed", source
        assert any("vault:secret/acumatica/e2e" in m["text"] for m in source["messages"])
    assert recorded(world) == {"erp-basic": "failed", "erp-oauth": "failed"}

    # with the token back but a wrong secret, up verifies both again and records the new
    # result either way: the strict one fails (exit 1) and its record now names the secret
    world.vault_token = "root"
    world.vault.put("acumatica/e2e", WRONG)
    up = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert up.code == 1, up.output
    strict = by_id(up)["erp-oauth"]
    assert strict["status"] == "failed" and strict["verification"] == "failed", strict
    assert strict["recorded_verification"] == "failed", strict
    assert recorded(world) == {"erp-basic": "failed", "erp-oauth": "failed"}
    problems = " ".join(world.resources("dev")["erp-oauth"]["outputs"]["verification"]["problems"])
    assert "invalid_client" in problems and "rejected a token" not in problems, problems
    running.sessions_left(0)
    world.vault.put("acumatica/e2e", dict(SECRETS))

    # ... and the next up, with the right secret back, verifies both again (inputs unchanged)
    requests = len(control.requests())
    up = world.acumatica_ds("up", "--env", path)
    assert up.code == 0, up.output
    assert "up dev: succeeded" in up.stdout, up.stdout
    assert "[erp-basic]: updated, verification ok" in up.stdout, up.stdout
    assert "[erp-oauth]: updated, verification ok" in up.stdout, up.stdout
    assert len(control.requests()) > requests, "nothing was verified"
    assert recorded(world) == {"erp-basic": "ok", "erp-oauth": "ok"}

    # point 2: a strict failure is "failed, verification failed" (this run's verdict), the
    # warn-mode one is recorded as failed; changes count only what was applied
    world.vault.put("acumatica/e2e", WRONG)
    world.write_environment("dev", document(world, page_size=20))
    up = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert up.code == 1, up.output
    sources = by_id(up)
    strict, warned = sources["erp-oauth"], sources["erp-basic"]
    assert strict["status"] == "failed" and strict["verification"] == "failed", strict
    assert strict["recorded_verification"] == "ok", strict  # strict: nothing was recorded
    assert warned["status"] == "updated" and warned["verification"] == "failed", warned
    assert warned["recorded_verification"] == "failed", warned
    assert any(m["severity"] == "warning" for m in warned["messages"]), warned
    assert {"path": "page_size", "old": 10, "new": 20, "kind": "update"} in strict["diff"]
    assert up.result["changes"]["update"] == 1 and up.result["changes"]["failed"] == 1
    assert recorded(world) == {"erp-basic": "failed", "erp-oauth": "ok"}
    running.sessions_left(0)

    # point 1: a refresh that records a failure prints "failed", never "succeeded"
    refresh = world.acumatica_ds("refresh", "--env", path)
    assert refresh.code == 1, refresh.output
    assert "refresh dev: FAILED" in refresh.stdout, refresh.stdout
    assert "succeeded" not in refresh.stdout, refresh.stdout
    assert recorded(world) == {"erp-basic": "failed", "erp-oauth": "failed"}

    # promote gates on the fresh result: both are verified again, and both fail
    promote = world.acumatica_ds("promote", path, "--format", "json")
    assert promote.code == 1, promote.output
    assert promote.result["status"] == "failed"
    (entry,) = promote.result["environments"]
    assert entry["status"] == "failed", entry
    gated = {s["data_source_id"]: s for s in entry["data_sources"]}
    assert gated["erp-basic"]["verification"] == "failed", gated
    assert gated["erp-oauth"]["verification"] == "failed", gated
    assert "ERP (Basic)" in entry["reason"] and "ERP (OAuth)" in entry["reason"], entry

    # fixed in Vault: the next up verifies both again and records the fresh result
    world.vault.put("acumatica/e2e", dict(SECRETS))
    up = world.acumatica_ds("up", "--env", path, "--format", "json")
    assert up.code == 0, up.output
    assert {s["verification"] for s in by_id(up).values()} == {"ok"}
    assert recorded(world) == {"erp-basic": "ok", "erp-oauth": "ok"}
    preview = world.acumatica_ds("preview", "--env", path, "--format", "json")
    assert preview.code == 0, preview.output
    assert {s["status"] for s in by_id(preview).values()} == {"unchanged"}
    running.sessions_left(0)


def test_verify_reports_a_session_a_retried_login_may_have_left_open(
    scenario: ScenarioFactory,
) -> None:
    running = scenario("verdicts: verify, login retried after 503", tenant=e2e_tenant())
    world, control = running.world, running.world.control
    only_basic = copy.deepcopy(environment(world))
    only_basic["data_sources"] = only_basic["data_sources"][:1]
    path = str(world.write_environment("dev", only_basic))
    control.fault(path=LOGIN, status=503, times=1)
    verify = world.acumatica_ds("verify", path, "--format", "json")
    assert verify.code == 0, verify.output
    assert verify.result["version"] == 1 and verify.result["status"] == "succeeded"
    assert verify.result["possibly_open_sessions"] == 1
    (report,) = verify.result["data_sources"]
    assert report["possibly_open_sessions"] == 1
    login = next(c for c in report["checks"] if c["name"] == "login")
    assert "a session may have been left open" in login["detail"], login
    assert "HTTP 503" in login["detail"], login
    running.sessions_left(0)
