"""The whole path through the real engine: acumatica-ds preview/up/refresh/destroy/promote
against the sandbox, with secrets in OpenBao."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
from tests.e2e.conftest import SECRETS, World, environment

pytestmark = pytest.mark.engine

NONE = {"create": 0, "update": 0, "delete": 0, "same": 0, "failed": 0, "interrupted": 0}


def by_id(run_result: dict[str, object]) -> dict[str, dict[str, object]]:
    sources = run_result["data_sources"]
    assert isinstance(sources, list)
    return {str(s["data_source_id"]): s for s in sources}


def test_lifecycle(world: World) -> None:
    document = environment(world)
    path = world.write_environment("dev", document)

    preview = world.acumatica_ds("preview", "--env", str(path), "--format", "json")
    assert preview.code == 0, preview.stderr
    assert preview.result["stack"] == "dev"
    assert preview.result["changes"] == {**NONE, "create": 2}
    planned = by_id(preview.result)
    assert planned["erp-oauth"]["callback_url"] == "https://bi.example.com/oauth/callback/erp-oauth"
    assert world.control.requests() == [], "preview must not contact Acumatica"

    up = world.acumatica_ds("up", "--env", str(path), "--format", "json")
    assert up.code == 0, up.stderr
    assert up.result["changes"] == {**NONE, "create": 2}
    applied = by_id(up.result)
    assert applied["erp-basic"]["verification"] == "ok"
    assert applied["erp-oauth"]["verification"] == "ok"
    assert applied["erp-oauth"]["callback_url"] == "https://bi.example.com/oauth/callback/erp-oauth"

    again = world.acumatica_ds("up", "--env", str(path), "--format", "json")
    assert again.code == 0, again.stderr
    assert again.result["changes"] == {**NONE, "same": 2}

    changed = copy.deepcopy(document)
    changed["data_sources"][0]["page_size"] = 20
    world.write_environment("dev", changed)
    update = world.acumatica_ds("up", "--env", str(path), "--format", "json")
    assert update.code == 0, update.stderr
    assert update.result["changes"] == {**NONE, "update": 1, "same": 1}
    assert "page_size" in update.stderr
    assert by_id(update.result)["erp-basic"]["diff"] == [
        {"path": "page_size", "old": 10, "new": 20, "kind": "update"}
    ]

    world.vault.put("acumatica/e2e", {**SECRETS, "password": "E2e-Rotated-Passw0rd"})
    world.control.patch_user("nectari", password="E2e-Rotated-Passw0rd")
    rotated = world.acumatica_ds("preview", "--env", str(path), "--format", "json")
    assert rotated.code == 0, rotated.stderr
    assert rotated.result["changes"]["update"] == 1, rotated.stdout
    assert by_id(rotated.result)["erp-basic"]["status"] == "planned"
    assert by_id(rotated.result)["erp-basic"]["action"] == "update"
    # the same path's client_secret did not change: the OAuth data source is not marked
    assert by_id(rotated.result)["erp-oauth"]["status"] == "unchanged"
    applied_rotation = world.acumatica_ds("up", "--env", str(path), "--format", "json")
    assert applied_rotation.code == 0, applied_rotation.stderr

    world.control.patch_user("nectari", locked=True)
    refresh = world.acumatica_ds("refresh", "--env", str(path), "--format", "json")
    assert refresh.code == 1, "a strict data source failing after refresh exits 1"
    refreshed = by_id(refresh.result)
    assert refreshed["erp-basic"]["verification"] == "failed"
    assert refreshed["erp-basic"]["status"] == "failed", refreshed
    assert any("locked" in m["text"] for m in refreshed["erp-basic"]["messages"]), refreshed

    destroy = world.acumatica_ds("destroy", "--env", str(path), "--yes", "--format", "json")
    assert destroy.code == 0, destroy.stderr
    assert destroy.result["changes"]["delete"] == 2

    assert world.secret_hits() == []


def test_strict_failure_records_nothing_and_says_why(world: World) -> None:
    document = environment(world)
    document["data_sources"][0]["authentication"]["password"]["vault"]["key"] = "missing"
    path = world.write_environment("dev", document)
    up = world.acumatica_ds("up", "--env", str(path))
    assert up.code == 1
    assert "ERP (Basic) [erp-basic]: failed" in up.stdout
    assert "vault:secret/acumatica/e2e#missing" in up.stdout
    assert "has no key 'missing'" in up.stdout
    assert world.secret_hits() == []


def test_invalid_file_and_missing_passphrase(world: World) -> None:
    bad = world.write_environment("bad", {"environment": "Dev", "data_sources": []})
    run = world.acumatica_ds("up", "--env", str(bad))
    assert run.code == 1
    assert f"{bad}:1: environment:" in run.stderr
    good = world.write_environment("dev", environment(world))
    missing = world.acumatica_ds("up", "--env", str(world.root / "nope.yaml"))
    assert missing.code == 2
    env_less = world.env()
    env_less.pop("PULUMI_CONFIG_PASSPHRASE")
    done = subprocess.run(
        [sys.executable, "-m", "acumatica_datasource", "preview", "--env", str(good)],
        env=env_less,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "PULUMI_CONFIG_PASSPHRASE is not set" in done.stderr


def test_promotion_stops_at_the_failing_environment(world: World) -> None:
    files = []
    for name in ("dev", "test", "prod"):
        document = environment(world, name)
        if name == "test":
            document["data_sources"][0]["authentication"]["username"] = "nobody"
        files.append(str(world.write_environment(name, document)))
    run = world.acumatica_ds("promote", *files, "--format", "json")
    assert run.code == 1
    summary = {e["stack"]: e for e in run.result["environments"]}
    assert summary["dev"]["status"] == "applied"
    assert summary["test"]["status"] == "failed"
    assert summary["prod"]["status"] == "not_applied"
    assert run.result["succeeded"] is False
    assert world.secret_hits() == []
