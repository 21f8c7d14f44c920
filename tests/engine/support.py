"""Helpers of the engine tests (tests/engine/test_pulumi_engine.py): a trivial Python dynamic
provider, and ``python -m tests.engine.support ROOT STORE SECONDS``, one slow ``up`` of it.

The provider lives in an importable module so that dill pickles it by reference (the
``__provider`` state holds ``tests.engine.support.FileThingProvider``, not its code). The
"cloud" is a JSON file per resource in a directory given as an input, so that ``read`` (refresh)
can observe out-of-band changes.

Inputs: ``store`` (directory), ``name``, ``size`` (int >= 0). Behaviour switches for the tests:
``name == "explode"`` raises in ``create``; ``size < 0`` is a ``check`` failure; ``warn`` (str)
is logged with ``pulumi.log.warn`` from ``create``/``update``; ``delay`` (seconds) makes
``create`` write ``<store>/<name>.creating`` and then sleep (to interrupt an operation).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

TOKEN_PREFIX = "tok-"


def _record_path(store: str, id_: str) -> Path:
    return Path(store) / f"{id_}.json"


def _maybe_explode(props: dict[str, Any]) -> None:
    if props["name"] == "explode":
        raise RuntimeError("the test provider was told to explode")


class FileThingProvider(ResourceProvider):
    """Stores ``{"name", "size"}`` in ``<store>/<id>.json``."""

    # Nothing secret is captured, so ``__provider`` need not be a secret in the state.
    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        size = news.get("size")  # numbers arrive as float from the engine (1 -> 1.0)
        if isinstance(size, int | float) and size < 0:
            failures.append(CheckFailure("size", f"size must be >= 0, got {size}"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = [key for key in ("name", "size", "warn") if olds.get(key) != news.get(key)]
        replaces = ["store"] if olds.get("store") != news.get("store") else []
        return DiffResult(
            changes=bool(changes or replaces),
            replaces=replaces,
            delete_before_replace=True,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        _maybe_explode(props)
        if props.get("warn"):
            pulumi.log.warn(f"thing warning: {props['warn']}")
        if props.get("delay"):
            (Path(props["store"]) / f"{props['name']}.creating").touch()
            time.sleep(float(props["delay"]))
        id_ = uuid.uuid4().hex[:12]
        record = {"name": props["name"], "size": int(props["size"])}
        _record_path(props["store"], id_).write_text(json.dumps(record), encoding="utf-8")
        return CreateResult(id_, {**props, **record, "token": TOKEN_PREFIX + id_})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = _record_path(props["store"], id_)
        if not path.exists():
            return ReadResult(None, {})  # gone: refresh deletes it from the state
        record = json.loads(path.read_text(encoding="utf-8"))
        return ReadResult(id_, {**props, **record})

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _maybe_explode(news)
        if news.get("warn"):
            pulumi.log.warn(f"thing warning: {news['warn']}")
        record = {"name": news["name"], "size": int(news["size"])}
        _record_path(news["store"], id_).write_text(json.dumps(record), encoding="utf-8")
        return UpdateResult({**news, **record, "token": TOKEN_PREFIX + id_})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _record_path(props["store"], id_).unlink(missing_ok=True)


class FileThing(Resource, module="files", name="Thing"):
    """The resource class; ``token`` is marked secret with ``additional_secret_outputs``."""

    name: pulumi.Output[str]
    size: pulumi.Output[int]
    token: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        store: str,
        name: str,
        size: int,
        warn: str = "",
        delay: float = 0.0,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["token"])
        super().__init__(
            FileThingProvider(),
            resource_name,
            {
                "store": store,
                "name": name,
                "size": size,
                "warn": warn,
                "delay": delay,
                "token": None,
            },
            pulumi.ResourceOptions.merge(secret_opts, opts),
        )


def slow_up(root: Path, store: Path, delay: float) -> None:
    """One ``up`` whose create sleeps ``delay`` seconds, run in a process of its own: the
    interrupted-update test kills this process's ``pulumi`` child mid-create (a killed engine
    leaves the inline program's language-server thread blocked forever in its process)."""
    from tests.support.pulumi_engine import engine_sandbox, locate_cli

    sandbox = engine_sandbox(locate_cli(), root)

    def program() -> None:
        thing = FileThing("thing", store=str(store), name="slow", size=1, delay=delay)
        pulumi.export("name", thing.name)

    sandbox.stack(program).up()


if __name__ == "__main__":
    # through the module's own name, so that the provider pickles as tests.engine.support
    from tests.engine import support

    support.slow_up(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]))
