"""A trivial Python dynamic provider for the engine spike (tests/engine/test_pulumi_engine.py).

It lives in an importable module so that dill pickles the provider class by reference (the
``__provider`` state holds ``tests.support.spike_provider.SpikeProvider``, not its code). The
"cloud" is a JSON file per resource in a directory given as an input, so that ``read`` (refresh)
can observe out-of-band changes.

Inputs: ``store`` (directory), ``name``, ``size`` (int >= 0). Behaviour switches for the spike:
``name == "explode"`` raises in ``create``; ``size < 0`` is a ``check`` failure; ``warn`` (str)
is logged with ``pulumi.log.warn`` from ``create``/``update``; ``delay`` (seconds) makes
``create`` write ``<store>/<name>.creating`` and then sleep (to interrupt an operation).
"""

from __future__ import annotations

import json
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
        raise RuntimeError("the spike provider was told to explode")


class SpikeProvider(ResourceProvider):
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
            pulumi.log.warn(f"spike warning: {props['warn']}")
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
            pulumi.log.warn(f"spike warning: {news['warn']}")
        record = {"name": news["name"], "size": int(news["size"])}
        _record_path(news["store"], id_).write_text(json.dumps(record), encoding="utf-8")
        return UpdateResult({**news, **record, "token": TOKEN_PREFIX + id_})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _record_path(props["store"], id_).unlink(missing_ok=True)


class SpikeResource(Resource, module="spike", name="Thing"):
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
            SpikeProvider(),
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
