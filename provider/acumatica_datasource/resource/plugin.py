"""The provider plugin ``pulumi-resource-acumatica``: a thin adapter from Pulumi's provider
protocol (``pulumi.provider.experimental``) onto the data source's lifecycle.

What it adds to the lifecycle is the wire: property names (camelCase, see
:mod:`.package_schema`), Pulumi secrets (accepted in secret fields, kept secret in what goes
back to the engine, refused as plain strings), unknown values, the detailed diff, and the
inputs that ``Read`` receives (so a refresh re-verifies data sources whose secret is a Pulumi
secret). ``python -m acumatica_datasource.resource.plugin`` and the console script serve it
(:mod:`.plugin_server`).
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import json
import os
import re
import traceback
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, TypeVar

from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.provider.experimental.provider import (
    CheckFailure,
    CheckRequest,
    CheckResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    GetSchemaRequest,
    GetSchemaResponse,
    PropertyDiff,
    PropertyDiffKind,
    Provider,
    ReadRequest,
    ReadResponse,
    UpdateRequest,
    UpdateResponse,
)

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.resource.lifecycle import (
    DataSourceLifecycle,
    PropertyChange,
    Warn,
    fail,
    warn_on_stderr,
)
from acumatica_datasource.resource.package_schema import (
    INPUT_SHAPE,
    OUTPUT_SHAPE,
    PACKAGE,
    RESOURCE_TOKEN,
    PropertyPath,
    Shape,
    package_schema_text,
)
from acumatica_datasource.resource.properties import (
    SECRET_PROPERTY_PATHS,
    UNKNOWN,
    failure_property,
    is_unknown,
)
from acumatica_datasource.resource.settings import (
    CONFIG_VARIABLES,
    ProviderSettings,
    SettingsError,
)
from acumatica_datasource.spec import FieldProblem
from acumatica_datasource.spec.references import REFERENCE_HINT

T = TypeVar("T")
PLUGIN = "pulumi-resource-acumatica"

PLAIN_SECRET = (
    "a secret must not be a plain string (it would be stored in clear in the program and "
    "the state): make it a Pulumi secret (fn::secret, or a config value set with "
    "`pulumi config set --secret`), or " + REFERENCE_HINT
)
ALWAYS_SECRET_OUTPUTS = (("connection_string",),)
ENGINE_CONFIG = frozenset({"version", "pluginDownloadURL"})
"""Provider inputs the engine itself sets."""


def unwrap(
    value: PropertyValue, path: PropertyPath = (), secrets: set[PropertyPath] | None = None
) -> Any:
    """A property value as plain Python (unknowns as :data:`UNKNOWN`); the paths of secret
    values are added to ``secrets``."""
    if value.is_secret and secrets is not None:
        secrets.add(path)
    inner = value.value
    if isinstance(inner, Computed):
        return UNKNOWN
    if isinstance(inner, Mapping):
        return {key: unwrap(item, (*path, key), secrets) for key, item in inner.items()}
    if isinstance(inner, tuple | list):
        return [unwrap(item, (*path, index), secrets) for index, item in enumerate(inner)]
    return inner


def unwrap_map(values: Mapping[str, PropertyValue], secrets: set[PropertyPath]) -> dict[str, Any]:
    """A property map as plain Python; ``secrets`` learns the secret paths."""
    return {key: unwrap(value, (key,), secrets) for key, value in values.items()}


def wrap(value: Any, secrets: set[PropertyPath], path: PropertyPath = ()) -> PropertyValue:
    """Plain Python as a property value, secret at ``secrets`` (and below)."""
    if is_unknown(value):
        result = PropertyValue(UNKNOWN)  # the wire's unknown (the SDK cannot marshal Computed)
    elif isinstance(value, Mapping):
        result = PropertyValue({k: wrap(v, secrets, (*path, k)) for k, v in value.items()})
    elif isinstance(value, list | tuple):
        result = PropertyValue([wrap(v, secrets, (*path, i)) for i, v in enumerate(value)])
    elif isinstance(value, int) and not isinstance(value, bool):
        result = PropertyValue(float(value))
    else:
        result = PropertyValue(value)
    return result.with_secret(True) if path in secrets else result


def wrap_map(values: Mapping[str, Any], secrets: set[PropertyPath]) -> dict[str, PropertyValue]:
    """Plain Python properties as a property map, secret at ``secrets``."""
    return {key: wrap(value, secrets, (key,)) for key, value in values.items()}


def property_path_text(path: PropertyPath) -> str:
    """A property path in Pulumi's syntax: ``a.b``, ``a["key with: specials"]``, ``a[0]``."""
    text = ""
    for element in path:
        if isinstance(element, int):
            text += f"[{element}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", element):
            text += ("." if text else "") + element
        else:
            text += "[" + json.dumps(element) + "]"
    return text


class DataSourcePlugin(Provider):
    """The ``acumatica`` provider: one resource, ``acumatica:index:DataSource``."""

    def __init__(self, engine_log: Callable[[str, str], None] | None = None) -> None:
        self._lifecycle = DataSourceLifecycle()
        self._engine_log = engine_log

    def close(self) -> None:
        """Forget every secret and Vault token."""
        self._lifecycle.close()

    # --- provider ---------------------------------------------------------------------------

    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        """The package schema (the top-level ``schema.json``)."""
        return GetSchemaResponse(schema=package_schema_text())

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        """Validate the provider's configuration (``acumatica:*``): unknown keys (a typo would
        silently fall back to the environment) and invalid values."""
        failures = [
            _unknown_setting(key)
            for key in request.new_inputs
            if key not in CONFIG_VARIABLES and key not in ENGINE_CONFIG and not key.startswith("_")
        ]
        try:
            ProviderSettings.load(_config(request.new_inputs), os.environ)
        except SettingsError as exc:
            failures.append(CheckFailure(exc.key, str(exc)))
        return CheckResponse(request.new_inputs, failures)

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        """Provider-wide settings from the configuration and the environment."""
        config = _config(request.args) or {
            key.replace(":config:", ":", 1): value for key, value in request.variables.items()
        }
        try:
            settings = ProviderSettings.load(config, os.environ)
        except AcumaticaDataSourceError as exc:
            fail(str(exc))
        self._lifecycle.close()
        self._lifecycle = DataSourceLifecycle(settings)
        return ConfigureResponse(accept_secrets=True, supports_preview=True)

    # --- check and diff ---------------------------------------------------------------------

    async def check(self, request: CheckRequest) -> CheckResponse:
        """Validate offline with the spec's rules; the inputs come back normalised, with the
        callback URL, and secret where they were given as secrets."""
        _resource_type(request.urn)
        secrets: set[PropertyPath] = set()
        wire = unwrap_map(request.new_inputs, secrets)
        failures = [_unknown_input(key) for key in wire if key not in INPUT_SHAPE.fields]
        failures += [
            CheckFailure("", f"{property_path_text(path)}: {PLAIN_SECRET}")
            for path in _plain_secrets(wire, secrets)
        ]
        outcome = self._lifecycle.check(INPUT_SHAPE.to_lifecycle(wire))
        failures += [_check_failure(problem) for problem in outcome.problems]
        if failures:
            return CheckResponse(request.new_inputs, failures)
        inputs = INPUT_SHAPE.to_wire(outcome.inputs)
        return CheckResponse(wrap_map(inputs, _carried(secrets, INPUT_SHAPE, INPUT_SHAPE)), [])

    async def diff(self, request: DiffRequest) -> DiffResponse:
        """Which properties changed, each with its kind (update or replace), and whether a
        Vault secret was rotated."""
        _resource_type(request.urn)
        secrets: set[PropertyPath] = set()
        olds = OUTPUT_SHAPE.to_lifecycle(unwrap_map(request.old_state, set()))
        wire = unwrap_map(request.new_inputs, secrets)
        news = INPUT_SHAPE.to_lifecycle(wire)
        outcome = await self._run(
            lambda warn: self._lifecycle.diff(request.resource_id, olds, news, warn=warn),
            request.urn,
            _secret_values(wire, secrets),
        )
        detailed = {property_path_text(_wire_path(c)): _property_diff(c) for c in outcome.changes}
        return DiffResponse(
            changes=outcome.changed,
            replaces=[INPUT_SHAPE.wire_name(name) for name in outcome.replaces],
            delete_before_replace=False,
            diffs=[INPUT_SHAPE.wire_name(name) for name in outcome.properties],
            detailed_diff=detailed,
        )

    # --- create, read, update, delete -------------------------------------------------------

    async def create(self, request: CreateRequest) -> CreateResponse:
        """Verify according to the mode and record the outputs (a preview verifies nothing)."""
        _resource_type(request.urn)
        outputs, properties = await self._apply(
            request.urn,
            request.properties,
            preview=request.preview,
            step=lambda props, warn: self._lifecycle.create(props, warn=warn),
        )
        return CreateResponse(str(outputs.get("data_source_id") or ""), properties)

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        """As create, for new inputs."""
        _resource_type(request.urn)
        olds = OUTPUT_SHAPE.to_lifecycle(unwrap_map(request.olds, set()))
        _, properties = await self._apply(
            request.urn,
            request.news,
            preview=request.preview,
            step=lambda news, warn: self._lifecycle.update(
                request.resource_id, olds, news, warn=warn
            ),
        )
        return UpdateResponse(properties)

    async def read(self, request: ReadRequest) -> ReadResponse:
        """Refresh: verify again with the recorded inputs (Pulumi secrets included) and
        record what changed in the world. Import is not supported."""
        _resource_type(request.urn)
        if not request.properties:
            fail(
                f"{RESOURCE_TOKEN} cannot be imported: the data source's definition lives in "
                "your program or environment file, not in a system it could be read from. "
                "Declare it instead (an alias keeps an existing one under a new name)."
            )
        output_secrets: set[PropertyPath] = set()
        input_secrets: set[PropertyPath] = set()
        olds = OUTPUT_SHAPE.to_lifecycle(unwrap_map(request.properties, output_secrets))
        inputs = unwrap_map(request.inputs, input_secrets)
        refreshed = await self._run(
            lambda warn: self._lifecycle.read(
                request.resource_id,
                olds,
                INPUT_SHAPE.to_lifecycle(inputs) if inputs else None,
                warn=warn,
            ),
            request.urn,
            _secret_values(inputs, input_secrets),
        )
        secrets = output_secrets | _carried(input_secrets, INPUT_SHAPE, OUTPUT_SHAPE)
        return ReadResponse(
            resource_id=request.resource_id,
            properties=_outputs(refreshed, secrets),
            inputs=request.inputs,
        )

    async def delete(self, request: DeleteRequest) -> None:
        """Nothing to remove remotely: the data source lives in the BI server's config."""
        _resource_type(request.urn)
        self._lifecycle.delete(request.resource_id, {})

    # --- helpers ----------------------------------------------------------------------------

    async def _apply(
        self,
        urn: str,
        inputs: Mapping[str, PropertyValue],
        *,
        preview: bool,
        step: Callable[[dict[str, Any], Warn], dict[str, Any]],
    ) -> tuple[dict[str, Any], dict[str, PropertyValue]]:
        """A create or update step (its preview, offline): the lifecycle's outputs, and them
        on the wire, secret where the inputs were."""
        secrets: set[PropertyPath] = set()
        wire = unwrap_map(inputs, secrets)
        props = INPUT_SHAPE.to_lifecycle(wire)
        if preview:
            outputs = self._lifecycle.preview(props)
        else:
            outputs = await self._run(
                lambda warn: step(props, warn), urn, _secret_values(wire, secrets)
            )
        return outputs, _outputs(outputs, _carried(secrets, INPUT_SHAPE, OUTPUT_SHAPE))

    async def _run(
        self, operation: Callable[[Warn], T], urn: str, secret_values: Collection[str] = ()
    ) -> T:
        """Run a blocking lifecycle step in a worker thread (the engine runs several at once);
        its warnings go to the engine, attached to the resource. A failure's message never
        holds a secret value of the request; an unexpected one names no Python stack."""
        warn = functools.partial(self._warn, urn) if self._engine_log else warn_on_stderr
        try:
            return await asyncio.to_thread(operation, warn)
        except AcumaticaDataSourceError as exc:
            fail(_redacted(str(exc), secret_values))
        except Exception as exc:  # noqa: BLE001 - a bug too reaches the user as a message
            if os.environ.get(variables.DEBUG):
                traceback.print_exc()
            fail(
                f"{PLUGIN} failed unexpectedly ({type(exc).__name__}: "
                f"{_redacted(str(exc), secret_values)}); run again with {variables.DEBUG}=1 and "
                "report the output"
            )

    def _warn(self, urn: str, message: str) -> None:
        assert self._engine_log is not None
        self._engine_log(urn, message)


def _secret_values(wire: Any, secrets: set[PropertyPath], path: PropertyPath = ()) -> set[str]:
    """The text values at (and below) the secret paths of a wire value."""
    found: set[str] = set()
    if isinstance(wire, Mapping):
        for key, item in wire.items():
            found |= _secret_values(item, secrets, (*path, key))
    elif isinstance(wire, list):
        for index, item in enumerate(wire):
            found |= _secret_values(item, secrets, (*path, index))
    elif isinstance(wire, str) and any(path[:depth] in secrets for depth in range(len(path) + 1)):
        found.add(wire)
    return found


def _redacted(text: str, values: Collection[str]) -> str:
    for value in sorted(values, key=len, reverse=True):
        if value:
            text = text.replace(value, "[secret]")
    return text


def _config(values: Mapping[str, PropertyValue]) -> dict[str, Any]:
    """Configuration arguments (``vaultAddress``) as ``acumatica:vaultAddress`` values."""
    return {f"{PACKAGE}:{key}": unwrap(value) for key, value in values.items()}


def _resource_type(urn: str) -> None:
    parts = urn.split("::")
    kind = parts[-2].rsplit("$", 1)[-1] if len(parts) > 2 else ""
    if kind != RESOURCE_TOKEN:
        fail(f"unknown resource type {kind!r}: this provider manages {RESOURCE_TOKEN}")


def _plain_secrets(wire: Mapping[str, Any], secrets: set[PropertyPath]) -> Iterator[PropertyPath]:
    """Wire paths of secret fields holding a plain (non-secret) string."""
    for path in SECRET_PROPERTY_PATHS:
        wire_path = INPUT_SHAPE.wire_path(path)
        value: Any = wire
        for part in wire_path:
            value = value.get(part) if isinstance(value, Mapping) else None
        protected = any(wire_path[:depth] in secrets for depth in range(len(wire_path) + 1))
        if isinstance(value, str) and not is_unknown(value) and not protected:
            yield wire_path


def _carried(secrets: set[PropertyPath], source: Shape, target: Shape) -> set[PropertyPath]:
    """Secret wire paths of ``source`` names as paths of ``target`` names."""
    carried: set[PropertyPath] = set()
    for path in secrets:
        carried.add(target.wire_path(source.lifecycle_path(path)))
    return carried


def _outputs(outputs: Mapping[str, Any], secrets: set[PropertyPath]) -> dict[str, PropertyValue]:
    """Lifecycle outputs on the wire; the opt-in connection string is always secret."""
    always = {OUTPUT_SHAPE.wire_path(path) for path in ALWAYS_SECRET_OUTPUTS}
    wire = OUTPUT_SHAPE.to_wire(outputs)
    if wire.get("connectionString") is None:
        wire.pop("connectionString", None)
    return wrap_map(wire, secrets | always)


def _unknown_setting(key: str) -> CheckFailure:
    close = difflib.get_close_matches(key, list(CONFIG_VARIABLES), n=1)
    hint = f": did you mean {PACKAGE}:{close[0]}?" if close else ""
    return CheckFailure(key, f"{PACKAGE}:{key} is not a setting of this provider{hint}")


def _unknown_input(key: str) -> CheckFailure:
    known = [name for name in INPUT_SHAPE.fields if name != "callbackUrl"]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f": did you mean {close[0]}?" if close else f" (inputs: {', '.join(known)})"
    return CheckFailure("", f"{key}: not a property of {RESOURCE_TOKEN}{hint}")


def _check_failure(problem: FieldProblem) -> CheckFailure:
    path = INPUT_SHAPE.wire_path(tuple(problem.loc))
    named = failure_property(problem.loc)
    return CheckFailure(
        INPUT_SHAPE.wire_name(named) if named else "",
        f"{property_path_text(path)}: {problem.message}",
    )


def _wire_path(change: PropertyChange) -> PropertyPath:
    shape = INPUT_SHAPE if change.input else OUTPUT_SHAPE
    return shape.wire_path(change.path)


def _property_diff(change: PropertyChange) -> PropertyDiff:
    kinds = {
        ("add", False): PropertyDiffKind.ADD,
        ("add", True): PropertyDiffKind.ADD_REPLACE,
        ("delete", False): PropertyDiffKind.DELETE,
        ("delete", True): PropertyDiffKind.DELETE_REPLACE,
        ("update", False): PropertyDiffKind.UPDATE,
        ("update", True): PropertyDiffKind.UPDATE_REPLACE,
    }
    return PropertyDiff(kinds[(change.kind, change.replace)], input_diff=change.input)


def main() -> None:
    """``pulumi-resource-acumatica ENGINE_ADDRESS``: serve until the engine goes away."""
    from acumatica_datasource.resource.plugin_server import serve_plugin

    serve_plugin()


if __name__ == "__main__":
    main()
