"""Drive the real provider plugin (``pulumi-resource-acumatica``) through the SDK's generated
gRPC stubs, as the engine does.

:class:`StandInEngine` is the engine's side of the conversation the plugin starts: a loopback
gRPC server answering ``Engine.Log`` (it records the diagnostics) and the gRPC health check
(the plugin asks it to learn whether the engine is still there); stopping it is the engine
going away. :class:`PluginProcess` starts the installed console script with the stand-in's
address, reads its port from stdout, and calls it; every response and error text is kept in
:attr:`PluginProcess.transcript` for secret scans. Values travel as the engine sends them:
camelCase names, numbers as floats, secrets wrapped, unknowns as the sentinel string.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.runtime.proto import engine_pb2, provider_pb2
from tests.resource.harness import ServedProcess

PLUGIN = Path(sys.executable).parent / "pulumi-resource-acumatica"
TOKEN = "acumatica:index:DataSource"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def urn(name: str, token: str = TOKEN) -> str:
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


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
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


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
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
            urn=urn("default", "pulumi:providers:acumatica"), news=to_struct(config)
        )
        response = self._call("check_config", "CheckConfig", request)
        return [(f.property, f.reason) for f in response.failures]

    def configure(self, config: Mapping[str, Any]) -> provider_pb2.ConfigureResponse:
        request = provider_pb2.ConfigureRequest(
            args=to_struct(config), acceptSecrets=True, acceptResources=True
        )
        return self._call("configure", "Configure", request)

    def check(
        self, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None, name: str = "ds"
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        request = provider_pb2.CheckRequest(
            urn=urn(name), olds=to_struct(olds or {}), news=to_struct(news)
        )
        response = self._call("check", "Check", request)
        return from_struct(response.inputs), [(f.property, f.reason) for f in response.failures]

    def checked(self, news: Mapping[str, Any], name: str = "ds") -> dict[str, Any]:
        inputs, failures = self.check(news, name=name)
        assert not failures, failures
        return inputs

    def diff(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], name: str = "ds"
    ) -> provider_pb2.DiffResponse:
        request = provider_pb2.DiffRequest(
            id=id_, urn=urn(name), olds=to_struct(olds), news=to_struct(news)
        )
        return self._call("diff", "Diff", request)

    def create(
        self, inputs: Mapping[str, Any], name: str = "ds", *, preview: bool = False
    ) -> tuple[str, dict[str, Any]]:
        request = provider_pb2.CreateRequest(
            urn=urn(name), properties=to_struct(inputs), timeout=60, preview=preview
        )
        response = self._call("create", "Create", request)
        return response.id, from_struct(response.properties)

    def read(
        self,
        id_: str,
        outputs: Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
        name: str = "ds",
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        request = provider_pb2.ReadRequest(
            id=id_, urn=urn(name), properties=to_struct(outputs), inputs=to_struct(inputs or {})
        )
        response = self._call("read", "Read", request)
        return response.id, from_struct(response.properties), from_struct(response.inputs)

    def update(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], name: str = "ds"
    ) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=id_, urn=urn(name), olds=to_struct(olds), news=to_struct(news), timeout=60
        )
        return from_struct(self._call("update", "Update", request).properties)

    def delete(self, id_: str, outputs: Mapping[str, Any], name: str = "ds") -> None:
        request = provider_pb2.DeleteRequest(
            id=id_, urn=urn(name), properties=to_struct(outputs), timeout=60
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
