"""The engine contract: the real Pulumi engine drives a Python dynamic provider offline
(Automation API), as the data-source provider relies on.

The CLI comes from ``ensure_pulumi_cli`` (session fixture; built once into the cache). Each
test has its own file backend, ``PULUMI_HOME`` and work directory under ``tmp_path``. The
provider is ``tests.engine.support.FileThingProvider`` (see its module for its switches).
"""

from __future__ import annotations

import base64
import json
import os
import pickletools
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dill  # type: ignore[import-untyped]
import pulumi
import pytest
from pulumi import automation as auto
from tests.engine.support import TOKEN_PREFIX, FileThing, FileThingProvider
from tests.support.pulumi_engine import (
    REPO_ROOT,
    EngineSandbox,
    EventLog,
    Timings,
    command_line,
    descendants,
    kill_pids,
    pending_operations,
    wait_for,
)

# The per-test timeout covers the test body only: the session fixture may build the CLI.
pytestmark = [pytest.mark.engine, pytest.mark.timeout(300, func_only=True)]

THING_URN = "urn:pulumi:dev::engine-tests::pulumi-python:dynamic/files:Thing::thing"
PROVIDER_KEY = "__provider"


def _program(store: Path, params: dict[str, Any]) -> Any:
    def program() -> None:
        thing = FileThing("thing", store=str(store), **params)
        pulumi.export("name", thing.name)
        pulumi.export("token", thing.token)

    return program


def _thing(deployment: Mapping[str, Any] | None) -> dict[str, Any]:
    assert deployment is not None
    [resource] = [r for r in deployment["resources"] if r["urn"] == THING_URN]
    assert isinstance(resource, dict)
    return resource


def test_lifecycle_preview_up_up_refresh_destroy(engine: EngineSandbox, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    params: dict[str, Any] = {"name": "a", "size": 1, "warn": "careful"}
    timings = Timings()
    log = EventLog()

    with timings("create_or_select_stack"):
        stack = engine.stack(_program(store, params))

    with timings("preview"):
        preview = stack.preview(**log.callbacks())
    assert preview.change_summary == {"create": 2}
    summary = log.summary()
    assert summary is not None
    assert summary.resource_changes == {"create": 2}
    # Preview shows unknown outputs as the engine's unknown sentinel in events.
    assert not list(store.iterdir()), "preview must not create anything"

    log.clear()
    with timings("up"):
        up = stack.up(**log.callbacks())
    assert up.summary.result == "succeeded"
    assert up.summary.resource_changes == {"create": 2}
    assert up.outputs["name"].value == "a"
    assert up.outputs["token"].secret is True
    assert up.outputs["token"].value.startswith(TOKEN_PREFIX)
    assert len(list(store.glob("*.json"))) == 1
    # pulumi.log.warn inside a provider method has no engine connection there: it is printed
    # to the plugin's stderr and reaches the engine as an unattributed "info#err" diagnostic.
    [warning] = [d for d in log.diagnostics() if "thing warning" in d.message]
    assert warning.severity == "info#err"
    assert warning.message.startswith("warning: thing warning: careful")
    assert warning.urn is None
    # additional_secret_outputs: the token never appears in events or output lines.
    assert TOKEN_PREFIX not in log.text()

    log.clear()
    with timings("up (no changes)"):
        again = stack.up(**log.callbacks())
    assert again.summary.resource_changes == {"same": 2}

    # An out-of-band change is observed by refresh (read runs the provider stored in state).
    [record] = store.glob("*.json")
    record.write_text(json.dumps({"name": "a", "size": 7}), encoding="utf-8")
    log.clear()
    with timings("refresh"):
        refreshed = stack.refresh(**log.callbacks())
    assert refreshed.summary.resource_changes == {"same": 1, "update": 1}
    with timings("preview (after drift)"):
        drift = stack.preview()
    assert drift.change_summary == {"same": 1, "update": 1}

    with timings("export_stack"):
        exported = stack.export_stack()
    deployment = exported.deployment
    assert exported.version == 3
    assert pending_operations(deployment) == []
    thing = _thing(deployment)
    assert thing["outputs"]["size"] == 7
    # __provider: a pickle by reference of the class in an importable module, not its code.
    # (serialize_as_secret_always = False keeps it plaintext; the default makes it a secret.)
    raw = base64.b64decode(thing["outputs"][PROVIDER_KEY])
    assert len(raw) < 100
    assert b"tests.engine.support" in raw
    assert b"FileThingProvider" in raw
    opcodes = {op.name for op, _arg, _pos in pickletools.genops(raw)}
    assert "STACK_GLOBAL" in opcodes
    assert isinstance(dill.loads(raw), FileThingProvider)
    # The secret output: encrypted at rest, plaintext only in the --show-secrets export.
    token = thing["outputs"]["token"]
    assert json.loads(token["plaintext"]).startswith(TOKEN_PREFIX)
    assert thing["additionalSecretOutputs"] == ["token"]
    raw_state = engine.state_file().read_text(encoding="utf-8")
    assert TOKEN_PREFIX not in raw_state
    assert "ciphertext" in raw_state

    log.clear()
    with timings("destroy"):
        destroyed = stack.destroy(**log.callbacks())
    assert destroyed.summary.resource_changes == {"delete": 2}
    assert not list(store.glob("*.json"))
    assert engine.lock_files() == []

    print(f"\nengine timings: {timings.report()}")


def test_check_failures_and_exceptions(engine: EngineSandbox, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    params: dict[str, Any] = {"name": "a", "size": -1}
    stack = engine.stack(_program(store, params))
    log = EventLog()

    # A check failure fails preview: CommandError (exit 1), an "error" diagnostic on the URN.
    with pytest.raises(auto.CommandError) as preview_error:
        stack.preview(**log.callbacks())
    errors = [d for d in log.diagnostics() if d.severity == "error" and d.urn == THING_URN]
    [failure] = errors
    # Numbers reach the provider as floats (-1 arrives as -1.0).
    assert "property size value {-1} has a problem: size must be >= 0, got -1.0" in (
        failure.message
    )
    assert "has a problem: size must be >= 0" in str(preview_error.value)

    # An exception in create: the traceback is an "error" diagnostic on the URN, plus a
    # ResOpFailedEvent; the Automation API raises CommandError with the display text.
    params.update(name="explode", size=1)
    log.clear()
    with pytest.raises(auto.CommandError) as up_error:
        stack.up(**log.callbacks())
    [trace] = [d for d in log.diagnostics() if d.urn == THING_URN]
    assert trace.severity == "error"
    assert "RuntimeError: the test provider was told to explode" in trace.message
    [failed] = log.failed_ops()
    assert failed.metadata.op == auto.OpType.CREATE
    assert failed.metadata.urn == THING_URN
    assert "told to explode" in str(up_error.value)
    assert not list(store.glob("*.json"))


def test_interrupted_update_leaves_lock_and_pending_create(
    engine: EngineSandbox, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    # The slow up runs in a child process (tests.engine.support.slow_up): the test kills
    # its pulumi CLI hard mid-create, as a crash or a CI timeout would.
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.support", str(engine.root), str(store), "60"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": engine.env["PYTHONPATH"]},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for((store / "slow.creating").exists, timeout=120)
        tree = descendants(child.pid)
        [cli_pid] = [pid for pid in tree if Path(command_line(pid)[0]).name == "pulumi"]
        plugins = descendants(cli_pid)
        assert any("pulumi.dynamic" in " ".join(command_line(pid)) for pid in plugins)
        kill_pids([cli_pid])
        # A killed CLI leaves its plugins running, and the child's inline program blocked.
        kill_pids(plugins)
        _stdout, stderr = child.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        kill_pids([child.pid])
        _stdout, stderr = child.communicate()
    finally:
        kill_pids([child.pid, *descendants(child.pid)])
        child.wait()
    assert b"CommandError" in stderr

    params: dict[str, Any] = {"name": "slow", "size": 1}
    stack = engine.stack(_program(store, params))
    # The stack lock stays behind: the next update fails until `pulumi cancel` (a preview
    # does not take the lock and still runs).
    assert len(engine.lock_files()) == 1
    assert stack.preview().change_summary == {"create": 1, "same": 1}
    with pytest.raises(auto.ConcurrentUpdateError, match="currently locked"):
        stack.up()
    stack.cancel()  # file backend: deletes the lock files
    assert engine.lock_files() == []

    # The interrupted create is a pending operation in the state.
    [pending] = pending_operations(stack.export_stack().deployment)
    assert pending["type"] == "creating"
    assert pending["resource"]["urn"] == THING_URN
    # A plain (non-interactive) refresh keeps pending creates; --clear-pending-creates drops them.
    stack.refresh()
    assert len(pending_operations(stack.export_stack().deployment)) == 1
    stack.refresh(clear_pending_creates=True)
    assert pending_operations(stack.export_stack().deployment) == []

    up = stack.up()
    assert up.summary.resource_changes == {"create": 1, "same": 1}
    stack.destroy()
