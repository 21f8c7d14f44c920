"""``--target ID`` on the stack commands, ``destroy``'s confirmation and ``--version``
(issue 15). ``destroy`` asks on a terminal (a pseudo-terminal here) unless ``--yes``, and
refuses without ``--yes`` when its input is no terminal."""

from __future__ import annotations

import os
import subprocess

from tests.e2e.conftest import Run, World, environment


def on_terminal(world: World, answer: str, *args: str) -> Run:
    """``acumatica-ds ARGS`` with a pseudo-terminal as its input, which types ``answer``."""
    controller, terminal = os.openpty()
    try:
        process = subprocess.Popen(
            world.command(*args),
            env=world.env(),
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(controller, answer.encode())
        stdout, stderr = process.communicate(timeout=300)
    finally:
        os.close(terminal)
        os.close(controller)
    run = world.record(Run(list(args), process.returncode, stdout, stderr))
    assert "Traceback" not in run.output, run.output
    return run


def statuses(run: Run) -> dict[str, str]:
    return {s["data_source_id"]: s["status"] for s in run.result["data_sources"]}


def test_targets_and_the_confirmation_of_destroy(world: World) -> None:
    path = str(world.write_environment("dev", environment(world)))
    up = world.acumatica_ds("up", "--env", path, "--target", "erp-basic", "--format", "json")
    assert up.code == 0, up.output
    assert statuses(up) == {"erp-basic": "created", "erp-oauth": "skipped"}
    assert set(world.resources("dev")) == {"erp-basic"}
    assert {
        "severity": "info",
        "text": "targeted erp-basic: the other data sources were left as they are",
    } in up.result["messages"]

    preview = world.acumatica_ds(
        "preview", "--env", path, "--target", "erp-oauth", "--format", "json"
    )
    assert preview.code == 0, preview.output
    assert statuses(preview) == {"erp-basic": "skipped", "erp-oauth": "planned"}
    assert preview.result["changes"]["create"] == 1

    requests = len(world.control.requests())
    refresh = world.acumatica_ds(
        "refresh", "--env", path, "--target", "erp-basic", "--format", "json"
    )
    assert refresh.code == 0, refresh.output
    assert statuses(refresh) == {"erp-basic": "unchanged", "erp-oauth": "skipped"}
    verified = {s["data_source_id"]: s["verification"] for s in refresh.result["data_sources"]}
    assert verified == {"erp-basic": "ok", "erp-oauth": "not_run"}
    assert len(world.control.requests()) > requests

    unknown = world.acumatica_ds("refresh", "--env", path, "--target", "erp-nope")
    assert unknown.code == 2, unknown.output
    assert (
        "--target erp-nope: no data source has this id in the environment file or in "
        "stack dev; give one of: erp-basic, erp-oauth" in unknown.stderr
    )

    refused = world.acumatica_ds("destroy", "--env", path, "--format", "json")
    assert refused.code == 2, refused.output
    assert "this run is not interactive" in refused.stderr and "--yes" in refused.stderr
    assert refused.result["error"]["kind"] == "usage"

    declined = on_terminal(world, "no\n", "destroy", "--env", path)
    assert declined.code == 1, declined.output
    assert "destroy dev removes from the stack 1 data source(s): erp-basic" in declined.stderr
    assert "destroy dev was not confirmed: nothing was removed" in declined.stderr
    assert set(world.resources("dev")) == {"erp-basic"}

    confirmed = on_terminal(world, "yes\n", "destroy", "--env", path, "--format", "json")
    assert confirmed.code == 0, confirmed.output
    assert statuses(confirmed)["erp-basic"] == "deleted"
    assert world.resources("dev") == {}
    assert world.secret_hits() == []


def test_version(world: World) -> None:
    shown = world.acumatica_ds("--version")
    assert shown.code == 0, shown.output
    assert shown.stdout.startswith("acumatica-ds 0.") and "pulumi-acumatica-datasource" in (
        shown.stdout
    )
