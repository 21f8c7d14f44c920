"""Drive the real dynamic-provider server (``python -m pulumi.dynamic``) through the SDK's
generated gRPC stubs, as the engine does.

:class:`ProviderServer` starts the server as a subprocess on loopback (it prints its port on
stdout), talks to it with ``ResourceProviderStub`` and stops it by process id. Every response
and every error text it receives is kept in :attr:`ProviderServer.transcript`, so tests can
search them for secret values. Properties travel as the engine sends them: numbers as floats,
unknowns as the ``UNKNOWN`` sentinel, the pickled provider under ``__provider``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from acumatica_datasource.resource import TYPE_TOKEN, DataSourceProvider

REPO_ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = rpc.UNKNOWN
PROVIDER_KEY = "__provider"
PROVIDER = serialize_provider(DataSourceProvider())
"""The pickled provider, as the resource class puts it in ``__provider``."""


def urn(name: str) -> str:
    return f"urn:pulumi:dev::resource-tests::{TYPE_TOKEN}::{name}"


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Serialize properties as the engine's wire format (``None`` values are dropped)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Deserialize properties, keeping the ``__provider`` key and unknowns (as ``UNKNOWN``)."""
    result: dict[str, Any] = _sentinels(rpc.deserialize_properties(struct, keep_unknowns=True))
    return result


def _sentinels(value: Any) -> Any:
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {key: _sentinels(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_sentinels(item) for item in value]
    return value


def with_provider(props: Mapping[str, Any]) -> dict[str, Any]:
    return {**props, PROVIDER_KEY: PROVIDER}


@dataclass
class Failure:
    """A ``CheckFailure`` as received."""

    property: str
    reason: str


@dataclass
class Checked:
    inputs: dict[str, Any]
    failures: list[Failure]


@dataclass
class Diffed:
    changes: int
    replaces: list[str]
    delete_before_replace: bool

    @property
    def none(self) -> bool:
        return self.changes == provider_pb2.DiffResponse.DIFF_NONE

    @property
    def some(self) -> bool:
        return self.changes == provider_pb2.DiffResponse.DIFF_SOME


@dataclass
class ProviderServer:
    """One ``python -m pulumi.dynamic`` process and a channel to it."""

    env: dict[str, str]
    workdir: Path
    stdin_pipe: bool = False
    """Give the process a pipe on stdin, as the engine does (closing it = the engine is gone)."""
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    transcript: list[tuple[str, str]] = field(default_factory=list)
    """(operation, text) of every response and error received."""
    _channel: grpc.Channel | None = None
    _stub: Any = None
    _config: dict[str, Any] | None = None

    @property
    def stderr_path(self) -> Path:
        return self.workdir / "provider-stderr.log"

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.stderr_path.open("ab") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-u", "-m", "pulumi.dynamic"],
                stdout=subprocess.PIPE,
                stderr=stderr,
                stdin=subprocess.PIPE if self.stdin_pipe else subprocess.DEVNULL,
                env=self.env,
                cwd=self.workdir,
            )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"the provider server did not start: {line!r}\n{self.stderr()}")
        self.port = int(line)
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self._channel).result(timeout=timeout)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def stop(self, timeout: float = 5.0) -> None:
        """Close the channel and stop the process by its pid (SIGTERM, then SIGKILL)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        if process.stdout is not None:
            process.stdout.close()

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- calls ---------------------------------------------------------------------------

    def _call(self, operation: str, method: str, request: Any) -> Any:
        try:
            response = getattr(self._stub, method)(request, timeout=60)
        except grpc.RpcError as exc:
            self.transcript.append((operation, f"{exc.code()}: {exc.details()}"))
            raise
        self.transcript.append((operation, str(response)))
        return response

    def configure(self, config: Mapping[str, Any]) -> None:
        self._config = dict(config)
        request = provider_pb2.ConfigureRequest(
            args=to_struct(config), acceptSecrets=True, acceptResources=True
        )
        self._call("configure", "Configure", request)

    def restart(self) -> None:
        """A new provider process, as the engine starts for every command (a refresh after
        an up, say), configured as before."""
        self.stop()
        self.start()
        if self._config is not None:
            self.configure(self._config)

    def check(
        self, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None, name: str = "ds"
    ) -> Checked:
        request = provider_pb2.CheckRequest(
            urn=urn(name),
            olds=to_struct(olds or {}),
            news=to_struct(with_provider(news)),
        )
        response = self._call("check", "Check", request)
        return Checked(
            inputs=from_struct(response.inputs),
            failures=[Failure(f.property, f.reason) for f in response.failures],
        )

    def diff(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], name: str = "ds"
    ) -> Diffed:
        request = provider_pb2.DiffRequest(
            id=id_, urn=urn(name), olds=to_struct(olds), news=to_struct(with_provider(news))
        )
        response = self._call("diff", "Diff", request)
        return Diffed(
            changes=response.changes,
            replaces=list(response.replaces),
            delete_before_replace=response.deleteBeforeReplace,
        )

    def create(self, inputs: Mapping[str, Any], name: str = "ds") -> tuple[str, dict[str, Any]]:
        request = provider_pb2.CreateRequest(
            urn=urn(name), properties=to_struct(with_provider(inputs)), timeout=60
        )
        response = self._call("create", "Create", request)
        return response.id, from_struct(response.properties)

    def read(
        self, id_: str, outputs: Mapping[str, Any], name: str = "ds"
    ) -> tuple[str, dict[str, Any]]:
        request = provider_pb2.ReadRequest(
            id=id_, urn=urn(name), properties=to_struct(with_provider(outputs))
        )
        response = self._call("read", "Read", request)
        return response.id, from_struct(response.properties)

    def update(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], name: str = "ds"
    ) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=id_,
            urn=urn(name),
            olds=to_struct(with_provider(olds)),
            news=to_struct(with_provider(news)),
            timeout=60,
        )
        response = self._call("update", "Update", request)
        return from_struct(response.properties)

    def delete(self, id_: str, outputs: Mapping[str, Any], name: str = "ds") -> None:
        request = provider_pb2.DeleteRequest(
            id=id_, urn=urn(name), properties=to_struct(with_provider(outputs)), timeout=60
        )
        self._call("delete", "Delete", request)

    # -- lifecycles ------------------------------------------------------------------------

    def checked(self, props: Mapping[str, Any], name: str = "ds") -> dict[str, Any]:
        """Check that must pass; the normalised inputs."""
        result = self.check(props, name=name)
        assert not result.failures, result.failures
        return result.inputs

    def up(self, props: Mapping[str, Any], name: str = "ds") -> tuple[str, dict[str, Any]]:
        """Check then Create, as a first ``pulumi up`` does."""
        return self.create(self.checked(props, name=name), name=name)

    @contextlib.contextmanager
    def stderr_since(self) -> Iterator[list[str]]:
        """Collect what the provider writes to stderr during the block (after it)."""
        start = self.stderr_path.stat().st_size if self.stderr_path.exists() else 0
        lines: list[str] = []
        yield lines
        time.sleep(0.05)
        with self.stderr_path.open("rb") as handle:
            handle.seek(start)
            lines.extend(handle.read().decode(errors="replace").splitlines())


def provider_env(base: Mapping[str, str], home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for the provider process: no user Vault or Pulumi settings."""
    env = {
        "PATH": base.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "PULUMI_PROJECT": "resource-tests",
    }
    env.update(extra)
    return env


@contextlib.contextmanager
def running_provider(env: dict[str, str], workdir: Path) -> Iterator[ProviderServer]:
    server = ProviderServer(env=env, workdir=workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
