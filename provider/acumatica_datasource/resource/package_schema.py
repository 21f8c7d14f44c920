"""The plugin's Pulumi package schema, and the names its properties have on the wire.

Both are derived from the spec's models, so a field added there appears in the schema:

* every input of ``acumatica:index:DataSource`` is a data-source field of the spec (the
  resource's ``SPEC_PROPERTIES``) or a resource property (``callback_base_url``, ``vault``);
  nested objects are the spec's models, named as types; descriptions are the fields'
  docstrings; a ``SecretRef`` field is a Pulumi secret string or a ``{vault}``/``{env}``
  reference object;
* names follow Pulumi's convention (camelCase), except that the spec's ``id`` and
  ``verification`` keep their names as inputs (the outputs call them ``dataSourceId`` and
  ``verificationSettings``; the ``verification`` output is the verification's outcome);
* :data:`INPUT_SHAPE` and :data:`OUTPUT_SHAPE` translate property values between the wire's
  names and the lifecycle's (snake_case) names, walking the same models.

The top-level ``schema.json`` holds :func:`package_schema` (``make schema`` writes it; a test
checks it against what ``pulumi package get-schema`` returns from the plugin).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from acumatica_datasource.resource.properties import (
    RENAMED,
    RESOURCE_PROPERTIES,
    SPEC_PROPERTIES,
)
from acumatica_datasource.spec import (
    DataSource,
    EnvSecretRef,
    InlineSecretRef,
    VaultSecretRef,
    VaultSettings,
)

PACKAGE = "acumatica"
PLUGIN_VERSION = importlib.metadata.version("pulumi-acumatica-datasource")
"""The plugin's and the package schema's version: the installed distribution's."""
RESOURCE_TOKEN = f"{PACKAGE}:index:DataSource"
"""The resource type of the plugin."""

TYPE_NAMES = {"Verification": "VerificationSettings"}
"""Spec model name -> schema type name, where they differ."""
OUTPUT_NAMES = {"data_source_id": "dataSourceId", "verification_settings": "verificationSettings"}
"""Lifecycle property -> output name, where it is not the camelCase of the input's name."""

Spec = dict[str, Any]
PropertyPath = tuple[str | int, ...]
"""Names (and array indexes) from a property to a value inside it."""


@dataclass
class Shape:
    """How a property value maps between wire names and lifecycle names.

    An object has ``fields`` (wire name -> lifecycle name and shape); a map (user keys, kept
    as they are) or an array has ``items``; anything else is a scalar."""

    fields: dict[str, tuple[str, Shape]] = field(default_factory=dict)
    items: Shape | None = None
    is_map: bool = False

    def to_lifecycle(self, value: Any) -> Any:
        """A wire value (camelCase names) with the lifecycle's names (unknown keys are made
        snake_case, so validation names them)."""
        return self._convert(value, to_lifecycle=True)

    def to_wire(self, value: Any) -> Any:
        """A lifecycle value with the wire's names."""
        return self._convert(value, to_lifecycle=False)

    def wire_path(self, path: PropertyPath) -> PropertyPath:
        """A lifecycle path (``("authentication", "client_secret")``) in wire names."""
        return self._path(path, to_lifecycle=False)

    def wire_name(self, name: str) -> str:
        """A lifecycle property name (``data_source_id``) as its wire name."""
        return self._child(name, to_lifecycle=False)[0]

    def lifecycle_path(self, path: PropertyPath) -> PropertyPath:
        """A wire path in the lifecycle's names (the inverse of :meth:`wire_path`)."""
        return self._path(path, to_lifecycle=True)

    def _child(self, key: str, *, to_lifecycle: bool) -> tuple[str, Shape]:
        """A key's name on the other side, and the shape of its value."""
        if self.is_map or self.items is not None:
            return key, self.items or SCALAR
        if to_lifecycle:
            return self.fields.get(key, (snake_case(key), SCALAR))
        for wire, (name, shape) in self.fields.items():
            if name == key:
                return wire, shape
        return camel_case(key), SCALAR

    def _convert(self, value: Any, *, to_lifecycle: bool) -> Any:
        if isinstance(value, Mapping):
            result: dict[str, Any] = {}
            for key, item in value.items():
                name, shape = self._child(key, to_lifecycle=to_lifecycle)
                result[name] = shape._convert(item, to_lifecycle=to_lifecycle)
            return result
        if isinstance(value, list | tuple):
            inner = self.items or SCALAR
            return [inner._convert(item, to_lifecycle=to_lifecycle) for item in value]
        return value

    def _path(self, path: PropertyPath, *, to_lifecycle: bool) -> PropertyPath:
        if not path:
            return ()
        head = path[0]
        if isinstance(head, int):  # an index into an array
            return (head, *(self.items or SCALAR)._path(path[1:], to_lifecycle=to_lifecycle))
        name, shape = self._child(head, to_lifecycle=to_lifecycle)
        return (name, *shape._path(path[1:], to_lifecycle=to_lifecycle))


SCALAR = Shape()


def camel_case(name: str) -> str:
    """``client_secret`` -> ``clientSecret``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake_case(name: str) -> str:
    """``clientSecret`` -> ``client_secret`` (the inverse of :func:`camel_case`)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _ref(name: str) -> Spec:
    return {"$ref": f"#/types/{PACKAGE}:index:{name}"}


def _leaves(annotation: Any) -> list[Any]:
    """The alternatives of an annotation (through ``Annotated``, unions and ``Optional``),
    without ``None``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaves(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [leaf for arg in typing.get_args(annotation) for leaf in _leaves(arg)]
    return [] if annotation is type(None) else [annotation]


_REFERENCES = (VaultSecretRef, EnvSecretRef, InlineSecretRef)
_OVERRIDES: dict[tuple[str, str], tuple[Spec, Shape]] = {
    ("DataSource", "extra_connection_properties"): (
        {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "additionalProperties": {
                        "oneOf": [{"type": "string"}, _ref("SecretReference")]
                    },
                },
            ],
            "description": "Extra connection-string properties: 'Key=value;...' or a map. Keys "
            "owned by data-source fields (URL, Company, User, ...) are refused; EndpointVersion "
            "picks the endpoint version; Branch and Locale are sent with the session login. "
            "Keys that carry credentials (Password, Secret, Token, ApiKey or PrivateKey in the "
            "name) take only a {vault}/{env} reference, in the map form.",
        },
        Shape(is_map=True, items=SCALAR),
    ),
    ("OAuth2Authentication", "scope"): (
        {
            "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
            "description": "Scopes as a list or a space-separated string; must include `api`; "
            "default `[api, offline_access]`; the order does not matter.",
        },
        Shape(items=SCALAR),
    ),
}
"""Fields whose JSON form is not their Python type (they accept text or a structure)."""


class _Builder:
    """Walks the spec's models into schema types and shapes."""

    def __init__(self) -> None:
        self.types: dict[str, Spec] = {}
        self.shapes: dict[str, Shape] = {}

    def model(self, model: type[BaseModel]) -> tuple[Spec, Shape]:
        name = TYPE_NAMES.get(model.__name__, model.__name__)
        if name not in self.shapes:
            shape = self.shapes[name] = Shape()
            properties: dict[str, Spec] = {}
            required: list[str] = []
            for field_name, info in model.model_fields.items():
                wire = camel_case(field_name)
                spec, inner = self.field(model, field_name, info)
                properties[wire] = spec
                shape.fields[wire] = (field_name, inner)
                if info.is_required():
                    required.append(wire)
            self.types[f"{PACKAGE}:index:{name}"] = _object(
                _doc(model), properties, required, nested=True
            )
        return _ref(name), self.shapes[name]

    def field(self, model: type[BaseModel], name: str, info: FieldInfo) -> tuple[Spec, Shape]:
        override = _OVERRIDES.get((model.__name__, name))
        spec, shape = override or self.annotation(info.annotation, info)
        spec = dict(spec)
        description = info.description or _described(info.annotation)
        if description and "description" not in spec:
            spec["description"] = description.replace("``", "`")
        default = info.default
        if isinstance(default, str | int | float | bool):
            spec["default"] = default
        return spec, shape

    def annotation(self, annotation: Any, info: FieldInfo | None = None) -> tuple[Spec, Shape]:
        leaves = _leaves(annotation)
        if any(leaf in _REFERENCES for leaf in leaves):
            return self.secret_reference()
        if len(leaves) > 1:
            return self.union(leaves, info)
        (leaf,) = leaves
        origin = typing.get_origin(leaf)
        if origin is typing.Literal:
            values = typing.get_args(leaf)
            spec: Spec = {"type": "string"}
            if len(values) == 1:
                spec["const"] = values[0]
            else:
                spec["description"] = "One of: " + ", ".join(map(str, values)) + "."
            return spec, SCALAR
        if origin is list:
            item_spec, item_shape = self.annotation(typing.get_args(leaf)[0])
            return {"type": "array", "items": item_spec}, Shape(items=item_shape)
        if origin is dict:
            item_spec, item_shape = self.annotation(typing.get_args(leaf)[1])
            return {"type": "object", "additionalProperties": item_spec}, Shape(
                is_map=True, items=item_shape
            )
        if isinstance(leaf, type) and issubclass(leaf, BaseModel):
            return self.model(leaf)
        primitive = {bool: "boolean", int: "integer", float: "number", str: "string"}
        return {"type": primitive[leaf]}, SCALAR

    def union(self, leaves: list[Any], info: FieldInfo | None) -> tuple[Spec, Shape]:
        alternatives = [self.annotation(leaf) for leaf in leaves]
        spec: Spec = {"oneOf": [a for a, _ in alternatives]}
        discriminator = info.discriminator if info is not None else None
        if isinstance(discriminator, str):
            mapping = {}
            for leaf, (ref, _) in zip(leaves, alternatives, strict=True):
                value = typing.get_args(leaf.model_fields[discriminator].annotation)[0]
                mapping[value] = ref["$ref"]
            spec["discriminator"] = {"propertyName": discriminator, "mapping": mapping}
        merged = Shape()
        for _, shape in alternatives:
            merged.fields.update(shape.fields)
        return spec, merged

    def secret_reference(self) -> tuple[Spec, Shape]:
        """A secret field: a Pulumi secret string, or a reference object."""
        name = "SecretReference"
        if name not in self.shapes:
            vault_spec, vault_shape = self.model(VaultSecretRef.model_fields["vault"].annotation)  # type: ignore[arg-type]
            self.types[f"{PACKAGE}:index:SecretFingerprint"] = _object(
                "Recorded in place of a Pulumi secret: a salted scrypt fingerprint, to notice "
                "when the secret changes (never the value).",
                {"salt": {"type": "string"}, "scrypt": {"type": "string"}},
                ["salt", "scrypt"],
                nested=True,
            )
            self.types[f"{PACKAGE}:index:{name}"] = _object(
                "Where a secret lives: in Vault's KV engine ({vault: {path, key}}) or in an "
                "environment variable of the deployment ({env: NAME}). The value is never "
                "written here.",
                {
                    "vault": {**vault_spec, "description": "A key of a secret in Vault."},
                    "env": {
                        "type": "string",
                        "description": "The name of an environment variable.",
                    },
                    "pulumiSecret": {
                        **_ref("SecretFingerprint"),
                        "description": "Only in outputs, in place of a Pulumi secret.",
                    },
                },
                [],
                nested=True,
            )
            self.shapes[name] = Shape(
                fields={
                    "vault": ("vault", vault_shape),
                    "env": ("env", SCALAR),
                    "pulumiSecret": ("pulumi_secret", SCALAR),
                }
            )
        spec = {
            "oneOf": [{"type": "string"}, _ref(name)],
            "description": "A Pulumi secret (a secret config value, fn::secret), or a "
            "reference to the secret: {vault: {path, key}} or {env: NAME}. A plain string "
            "is refused.",
        }
        return spec, self.shapes[name]


def _described(annotation: Any) -> str:
    """A field's description from its model(s), for fields without their own docstring."""
    models = [leaf for leaf in _leaves(annotation) if isinstance(leaf, type)]
    return " Or: ".join(_doc(m) for m in models if issubclass(m, BaseModel))


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split()).replace("``", "`")


def _object(description: str, properties: Spec, required: list[str], *, nested: bool) -> Spec:
    spec: Spec = {"description": description, "properties": properties}
    if nested:
        spec["type"] = "object"
    if required:
        spec["required"] = required
    return spec


VERIFICATION_REPORT: Spec = {
    "type": "object",
    "description": "The outcome of the last verification.",
    "properties": {
        "status": {"type": "string", "description": "ok, warning, failed, skipped or off."},
        "mode": {"type": "string", "description": "The verification mode it ran under."},
        "checkedAt": {"type": "string", "description": "When it ran (ISO 8601, UTC)."},
        "summary": {"type": "string"},
        "checks": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Each check's status, by name.",
        },
        "problems": {
            "type": "array",
            "items": {"type": "string"},
            "description": "What the checks that did not pass reported.",
        },
        "server": {"$ref": f"#/types/{PACKAGE}:index:ServerFacts"},
        "callbackRegistered": {
            "type": "boolean",
            "description": "Whether the callback URL is registered for the application.",
        },
        "recordsRead": {"type": "integer"},
    },
}
SERVER_FACTS: Spec = {
    "type": "object",
    "description": "What the Acumatica site said about itself, and the endpoint used.",
    "properties": {
        "buildVersion": {"type": "string"},
        "endpoint": {"type": "string"},
        "version": {"type": "string"},
    },
}
_REPORT_SHAPE = Shape(
    fields={
        "status": ("status", SCALAR),
        "mode": ("mode", SCALAR),
        "checkedAt": ("checked_at", SCALAR),
        "summary": ("summary", SCALAR),
        "checks": ("checks", Shape(is_map=True, items=SCALAR)),
        "problems": ("problems", Shape(items=SCALAR)),
        "server": (
            "server",
            Shape(
                fields={
                    "buildVersion": ("build_version", SCALAR),
                    "endpoint": ("endpoint", SCALAR),
                    "version": ("version", SCALAR),
                }
            ),
        ),
        "callbackRegistered": ("callback_registered", SCALAR),
        "recordsRead": ("records_read", SCALAR),
    }
)

DERIVED_OUTPUTS: dict[str, tuple[Spec, Shape]] = {
    "data_source_id": (
        {
            "type": "string",
            "description": "The stable id (explicit, or a slug of the description).",
        },
        SCALAR,
    ),
    "callback_url": (
        {
            "type": "string",
            "description": "The OAuth callback URL to register as a Redirect URI of the "
            "connected application in Acumatica (OAuth 2.0 data sources); known at preview.",
        },
        SCALAR,
    ),
    "connection_string_template": (
        {"type": "string", "description": "The connection string, secrets as placeholders."},
        SCALAR,
    ),
    "verification": (_ref("VerificationReport"), _REPORT_SHAPE),
    "secret_versions": (
        {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "Secret reference -> the Vault version read (never a value).",
        },
        Shape(is_map=True, items=SCALAR),
    ),
    "provider_version": (
        {"type": "integer", "description": "The version of the recorded outputs' shape."},
        SCALAR,
    ),
    "connection_string": (
        {
            "type": "string",
            "secret": True,
            "description": "With exposeConnectionString: the connection string with the "
            "secrets resolved (a secret).",
        },
        SCALAR,
    ),
}
"""The outputs the lifecycle sets beside the inputs it echoes (``OUTPUT_PROPERTIES``)."""

_RESOURCE_INPUTS: dict[str, tuple[Spec, Any]] = {
    "callback_base_url": (
        {
            "type": "string",
            "description": "The BI server's public https URL; the callback URL is "
            "{callbackBaseUrl}/oauth/callback/{id}. Required for OAuth 2.0.",
        },
        None,
    ),
    "vault": ({}, VaultSettings),
}


def _input_name(name: str) -> str:
    return RENAMED.get(name, camel_case(name))


def _output_name(name: str) -> str:
    return OUTPUT_NAMES.get(name, camel_case(name))


def _build() -> tuple[Spec, Shape, Shape, dict[str, Any]]:
    builder = _Builder()
    inputs: dict[str, Spec] = {}
    input_shape = Shape()
    for name in SPEC_PROPERTIES:
        spec_name = RENAMED.get(name, name)
        spec, shape = builder.field(DataSource, spec_name, DataSource.model_fields[spec_name])
        inputs[_input_name(name)] = spec
        input_shape.fields[_input_name(name)] = (name, shape)
    for name in RESOURCE_PROPERTIES:
        extra, model = _RESOURCE_INPUTS[name]
        spec, shape = builder.annotation(model) if model is not None else ({}, SCALAR)
        inputs[_input_name(name)] = {**spec, **extra} if extra else spec
        input_shape.fields[_input_name(name)] = (name, shape)
    required = [
        _input_name(name)
        for name in SPEC_PROPERTIES
        if DataSource.model_fields[RENAMED.get(name, name)].is_required()
    ]
    builder.types[f"{PACKAGE}:index:VerificationReport"] = VERIFICATION_REPORT
    builder.types[f"{PACKAGE}:index:ServerFacts"] = SERVER_FACTS

    output_shape = Shape()
    outputs: dict[str, Spec] = {}
    for wire, (name, shape) in input_shape.fields.items():
        if name in DERIVED_OUTPUTS:
            continue
        outputs[_output_name(name)] = inputs[wire]
        output_shape.fields[_output_name(name)] = (name, shape)
    for name, (spec, shape) in DERIVED_OUTPUTS.items():
        outputs[_output_name(name)] = spec
        output_shape.fields[_output_name(name)] = (name, shape)
    # Check adds the callback URL to the inputs, so a preview knows it.
    input_shape.fields["callbackUrl"] = ("callback_url", SCALAR)

    from acumatica_datasource.resource.settings import CONFIG_VARIABLES

    schema: Spec = {
        "name": PACKAGE,
        "displayName": "Acumatica data sources",
        "version": PLUGIN_VERSION,
        "description": "Acumatica data sources of a BI server (Nectari and similar), verified "
        "against their Acumatica sites, with secrets in Vault.",
        "keywords": ["pulumi", "acumatica", "category/utility", "kind/native"],
        "license": "MIT",
        "meta": {"moduleFormat": "(.*)"},
        "config": {"variables": CONFIG_VARIABLES},
        "provider": {
            "description": "The Acumatica data source provider. Every setting falls back to "
            "an environment variable (ACUMATICA_DS_*, BAO_* and VAULT_*) when unset.",
            "inputProperties": CONFIG_VARIABLES,
        },
        "types": dict(sorted(builder.types.items())),
        "resources": {
            RESOURCE_TOKEN: {
                "description": "An Acumatica data source of a BI server, verified before it "
                "is recorded: a paged test request for Basic authentication, the client "
                "secret and callback registration (and an optional data probe) for OAuth 2.0.",
                "inputProperties": inputs,
                "requiredInputs": required,
                "properties": outputs,
                "required": [
                    _output_name(n)
                    for n in ("data_source_id", "connection_string_template", "provider_version")
                ]
                + [w for w in required if w in outputs],
            }
        },
    }
    return schema, input_shape, output_shape, builder.shapes


PACKAGE_SCHEMA, INPUT_SHAPE, OUTPUT_SHAPE, _SHAPES = _build()
"""The package schema, and the shapes of the resource's inputs and outputs on the wire."""


def package_schema() -> Spec:
    """The Pulumi package schema (a fresh copy)."""
    result: Spec = json.loads(json.dumps(PACKAGE_SCHEMA))
    return result


def package_schema_text() -> str:
    """The schema as the stable, indented JSON text of ``schema.json``."""
    return json.dumps(PACKAGE_SCHEMA, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(package_schema_text(), end="")
