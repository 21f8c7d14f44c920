"""Drive the real dynamic-provider server (``python -m pulumi.dynamic``) and the real
provider plugin (``pulumi-resource-acumatica``) through the SDK's generated gRPC stubs, as
the engine does.

:class:`ProviderServer` starts the server as a subprocess on loopback (it prints its port on
stdout), talks to it with ``ResourceProviderStub`` and stops it by process id. Every response
and every error text it receives is kept in :attr:`ProviderServer.transcript`, so tests can
search them for secret values. Properties travel as the engine sends them: numbers as floats,
unknowns as the ``UNKNOWN`` sentinel, the pickled provider under ``__provider``.

:class:`PluginProcess` does the same for the plugin, with camelCase names and secrets wrapped
(:class:`Secret`). :class:`StandInEngine` is the engine's side of the conversation the plugin
starts: a loopback gRPC server answering ``Engine.Log`` (it records the diagnostics) and the
gRPC health check (the plugin asks it whether the engine is still there); stopping it is the
engine going away.
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
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.runtime import rpc
from pulumi.runtime.proto import engine_pb2, provider_pb2, provider_pb2_grpc

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
class ServedProcess:
    """A process serving Pulumi's provider protocol: it prints its port on stdout; every
    response and error text received is kept in :attr:`transcript`; stopped by pid."""

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

    def command(self) -> list[str]:
        raise NotImplementedError

    @property
    def stderr_path(self) -> Path:
        return self.workdir / "provider-stderr.log"

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.stderr_path.open("ab") as stderr:
            self.process = subprocess.Popen(
                self.command(),
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
            raise RuntimeError(f"{self.command()[0]} did not start: {line!r}\n{self.stderr()}")
        self.port = int(line)
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self._channel).result(timeout=timeout)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def stop(self, timeout: float = 10.0) -> None:
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

    def _call(self, operation: str, method: str, request: Any) -> Any:
        try:
            response = getattr(self._stub, method)(request, timeout=60)
        except grpc.RpcError as exc:
            self.transcript.append((operation, f"{exc.code()}: {exc.details()}"))
            raise
        self.transcript.append((operation, str(response)))
        return response


@dataclass
class ProviderServer(ServedProcess):
    """One ``python -m pulumi.dynamic`` process and a channel to it."""

    _config: dict[str, Any] | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-u", "-m", "pulumi.dynamic"]

    # -- calls ---------------------------------------------------------------------------

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


# -- the provider plugin -------------------------------------------------------------------

PLUGIN = Path(sys.executable).parent / "pulumi-resource-acumatica"
PLUGIN_TOKEN = "acumatica:index:DataSource"


def plugin_urn(name: str, token: str = PLUGIN_TOKEN) -> str:
    return f"urn:pulumi:dev::plugin-tests::{token}::{name}"


@dataclass(frozen=True)
class Secret:
    """A value the engine sends as a Pulumi secret."""

    value: Any


def to_value(value: Any) -> PropertyValue:
    """Plain Python (:class:`Secret` marks secrets) as an engine property value."""
    if isinstance(value, Secret):
        return to_value(value.value).with_secret(True)
    if isinstance(value, Mapping):
        return PropertyValue({k: to_value(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return PropertyValue([to_value(v) for v in value])
    if isinstance(value, int) and not isinstance(value, bool):
        return PropertyValue(float(value))
    return PropertyValue(value)


def to_wire_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Plugin properties (:class:`Secret` marks secrets) as the engine sends them."""
    return PropertyValue.marshal_map({k: to_value(v) for k, v in props.items()})


def from_value(value: PropertyValue) -> Any:
    """An engine property value as plain Python; secrets become :class:`Secret`."""
    inner = value.value
    if isinstance(inner, Mapping):
        plain: Any = {k: from_value(v) for k, v in inner.items()}
    elif isinstance(inner, tuple | list):
        plain = [from_value(v) for v in inner]
    elif isinstance(inner, float) and inner.is_integer():
        plain = int(inner)
    else:
        plain = inner
    return Secret(plain) if value.is_secret else plain


def from_wire_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return {k: from_value(v) for k, v in PropertyValue.unmarshal_map(struct).items()}


def reveal(value: Any) -> Any:
    """The value with every :class:`Secret` unwrapped."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, Mapping):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


class StandInEngine:
    """The engine's endpoint the plugin talks back to: ``Engine.Log`` and the health check."""

    def __init__(self) -> None:
        self.logs: list[engine_pb2.LogRequest] = []
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))

        def log(request: engine_pb2.LogRequest, _context: Any) -> empty_pb2.Empty:
            self.logs.append(request)
            return empty_pb2.Empty()

        def health(_request: bytes, _context: Any) -> bytes:
            return b"\x08\x01"  # HealthCheckResponse{status: SERVING}

        handlers = [
            grpc.method_handlers_generic_handler(
                "pulumirpc.Engine",
                {
                    "Log": grpc.unary_unary_rpc_method_handler(
                        log,
                        request_deserializer=engine_pb2.LogRequest.FromString,
                        response_serializer=empty_pb2.Empty.SerializeToString,
                    )
                },
            ),
            grpc.method_handlers_generic_handler(
                "grpc.health.v1.Health",
                {
                    "Check": grpc.unary_unary_rpc_method_handler(
                        health, request_deserializer=bytes, response_serializer=bytes
                    )
                },
            ),
        ]
        self._server.add_generic_rpc_handlers(handlers)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def warnings(self) -> list[str]:
        return [log.message for log in self.logs if log.severity == engine_pb2.WARNING]

    def stop(self) -> None:
        """The engine goes away."""
        self._server.stop(grace=None).wait()


@dataclass
class PluginProcess(ServedProcess):
    """One ``pulumi-resource-acumatica`` process, started with the stand-in engine's address,
    and a channel to it."""

    engine: StandInEngine = field(default_factory=StandInEngine)

    def command(self) -> list[str]:
        return [str(PLUGIN), self.engine.address]

    # -- calls ---------------------------------------------------------------------------

    def get_schema(self) -> str:
        response = self._call("schema", "GetSchema", provider_pb2.GetSchemaRequest(version=0))
        return str(response.schema)

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        request = provider_pb2.CheckRequest(
            urn=plugin_urn("default", "pulumi:providers:acumatica"), news=to_wire_struct(config)
        )
        response = self._call("check_config", "CheckConfig", request)
        return [(f.property, f.reason) for f in response.failures]

    def configure(self, config: Mapping[str, Any]) -> provider_pb2.ConfigureResponse:
        request = provider_pb2.ConfigureRequest(
            args=to_wire_struct(config), acceptSecrets=True, acceptResources=True
        )
        return self._call("configure", "Configure", request)

    def check(
        self, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None, name: str = "ds"
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        request = provider_pb2.CheckRequest(
            urn=plugin_urn(name), olds=to_wire_struct(olds or {}), news=to_wire_struct(news)
        )
        response = self._call("check", "Check", request)
        return from_wire_struct(response.inputs), [
            (f.property, f.reason) for f in response.failures
        ]

    def checked(self, news: Mapping[str, Any], name: str = "ds") -> dict[str, Any]:
        inputs, failures = self.check(news, name=name)
        assert not failures, failures
        return inputs

    def diff(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], name: str = "ds"
    ) -> provider_pb2.DiffResponse:
        request = provider_pb2.DiffRequest(
            id=id_, urn=plugin_urn(name), olds=to_wire_struct(olds), news=to_wire_struct(news)
        )
        return self._call("diff", "Diff", request)

    def create(
        self, inputs: Mapping[str, Any], name: str = "ds", *, preview: bool = False
    ) -> tuple[str, dict[str, Any]]:
        request = provider_pb2.CreateRequest(
            urn=plugin_urn(name), properties=to_wire_struct(inputs), timeout=60, preview=preview
        )
        response = self._call("create", "Create", request)
        return response.id, from_wire_struct(response.properties)

    def read(
        self,
        id_: str,
        outputs: Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
        name: str = "ds",
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        request = provider_pb2.ReadRequest(
            id=id_,
            urn=plugin_urn(name),
            properties=to_wire_struct(outputs),
            inputs=to_wire_struct(inputs or {}),
        )
        response = self._call("read", "Read", request)
        return response.id, from_wire_struct(response.properties), from_wire_struct(response.inputs)

    def update(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], name: str = "ds"
    ) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=id_,
            urn=plugin_urn(name),
            olds=to_wire_struct(olds),
            news=to_wire_struct(news),
            timeout=60,
        )
        return from_wire_struct(self._call("update", "Update", request).properties)

    def delete(self, id_: str, outputs: Mapping[str, Any], name: str = "ds") -> None:
        request = provider_pb2.DeleteRequest(
            id=id_, urn=plugin_urn(name), properties=to_wire_struct(outputs), timeout=60
        )
        self._call("delete", "Delete", request)

    def up(self, props: Mapping[str, Any], name: str = "ds") -> tuple[str, dict[str, Any]]:
        """Check then Create, as a first ``pulumi up`` does; (id, inputs, outputs)."""
        return self.create(self.checked(props, name=name), name=name)


@contextlib.contextmanager
def running_plugin(env: dict[str, str], workdir: Path) -> Iterator[PluginProcess]:
    engine = StandInEngine()
    plugin = PluginProcess(env=env, workdir=workdir, engine=engine)
    try:
        plugin.start()
        yield plugin
    finally:
        plugin.stop()
        engine.stop()
