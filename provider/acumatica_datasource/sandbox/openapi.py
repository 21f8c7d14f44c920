"""``GET /entity/{Endpoint}/{Version}/swagger.json``: the OpenAPI 3.0 document of a contract.

Generated from the same :class:`~.model.Contract` the entity routes serve, in Acumatica's
shape: one tag per top-level entity (its screen as the description), paths with
Acumatica's operation ids (``{Entity}_GetList``, ``_PutEntity``, ``_GetById``,
``_DeleteById``, ``_GetByKeys``, ``_DeleteByKeys``, ``_GetAdHocSchema``, ``_PutFile``,
``_InvokeAction_{Action}`` and ``_InvokeAction_CustomAction``), the query parameters
``$select $filter $expand $custom $skip $top``, and ``components.schemas`` with the value
wrappers (``StringValue``, ...), ``Entity`` (``id``, ``rowNumber``, ``note``, ``custom``,
``error``, ``files``), ``FileLink``, the custom field types, ``HttpError``, every entity
schema and every action's body. Documents are built once per contract and cached.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any, Final

from acumatica_datasource.sandbox.model import (
    WRAPPERS,
    Contract,
    Entity,
    EntityType,
    ScalarType,
    custom_type,
)

_VALUE_SCHEMAS: Final[Mapping[ScalarType, dict[str, str]]] = {
    "string": {"type": "string"},
    "decimal": {"type": "number", "format": "double"},
    "double": {"type": "number", "format": "double"},
    "int": {"type": "integer", "format": "int32"},
    "short": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "byte": {"type": "integer", "format": "int32"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "guid": {"type": "string", "format": "uuid"},
}
_ERROR: Final = {"$ref": "#/components/schemas/HttpError"}
_QUERY: Final = ("select", "filter", "expand", "custom")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _content(schema: Mapping[str, object]) -> dict[str, object]:
    return {"application/json": {"schema": schema}, "text/json": {"schema": schema}}


def _response(description: str, schema: Mapping[str, object] | None = None) -> dict[str, object]:
    result: dict[str, object] = {"description": description}
    if schema is not None:
        result["content"] = _content(schema)
    return result


def _with_location(description: str) -> dict[str, object]:
    location = {"description": "Where to GET the result.", "schema": {"type": "string"}}
    return {"description": description, "headers": {"Location": location}}


def _parameters() -> dict[str, object]:
    def query(name: str, description: str, kind: str = "string") -> dict[str, object]:
        schema: dict[str, str] = {"type": kind}
        if kind == "integer":
            schema["format"] = "int32"
        return {"name": name, "in": "query", "description": description, "schema": schema}

    def path(name: str, description: str, fmt: str | None = None) -> dict[str, object]:
        schema = {"type": "string", **({"format": fmt} if fmt else {})}
        return {
            "name": name,
            "in": "path",
            "description": description,
            "required": True,
            "schema": schema,
        }

    return {
        "select": query("$select", "Fields to return."),
        "filter": query("$filter", "Conditions the returned records satisfy."),
        "expand": query("$expand", "Linked and detail entities to return."),
        "custom": query("$custom", "Fields outside the contract to return (View.Field)."),
        "skip": query("$skip", "Records to skip.", "integer"),
        "top": query("$top", "Records to return.", "integer"),
        "id": path("id", "The record's id.", "uuid"),
        "ids": path("ids", "The record's key values, slash-separated."),
        "filename": path("filename", "The file's name with its extension."),
        "actionName": path("actionName", "The action's name."),
    }


def _responses() -> dict[str, object]:
    return {
        "ContractBasedControllerBase_401": _response("Not signed in.", _ERROR),
        "ContractBasedControllerBase_500": _response("Internal server error.", _ERROR),
        "PutEntity_400": _response("The request is invalid.", _ERROR),
        "PutEntity_412": _response("The record exists (or does not), unlike asked.", _ERROR),
        "InvokeAction_202": _with_location("The action is in progress."),
        "InvokeAction_204": _with_location("The action completed."),
        "InvokeAction_400": _response("The request is invalid.", _ERROR),
        "InvokeAction_412": _response("The record exists (or does not), unlike asked.", _ERROR),
        "DeleteById_204": _response("The record was deleted."),
        "DeleteByKeys_204": _response("The record was deleted."),
        "PutFile_204": _response("The file was attached."),
    }


def _base_schemas() -> dict[str, object]:
    schemas: dict[str, object] = {}
    for kind, name in WRAPPERS.items():
        schemas[name] = {
            "type": "object",
            "properties": {"value": dict(_VALUE_SCHEMAS[kind]), "error": {"type": "string"}},
        }
    schemas["CustomField"] = {
        "required": ["type"],
        "type": "object",
        "properties": {"type": {"type": "string"}},
        "discriminator": {"propertyName": "type"},
    }
    for kind in WRAPPERS:
        schemas[custom_type(kind)] = {
            "allOf": [
                _ref("CustomField"),
                {
                    "type": "object",
                    "properties": {
                        "value": dict(_VALUE_SCHEMAS[kind]),
                        "error": {"type": "string"},
                    },
                },
            ]
        }
    schemas["FileLink"] = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "filename": {"type": "string"},
            "href": {"type": "string", "format": "uri"},
            "comment": {"type": "string", "nullable": True},
        },
    }
    schemas["Entity"] = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "rowNumber": {"type": "integer", "format": "int64"},
            "note": _ref("StringValue"),
            "custom": _custom_map(),
            "error": {"type": "string"},
            "files": {"type": "array", "items": _ref("FileLink")},
        },
    }
    schemas["HttpError"] = {
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "exceptionMessage": {"type": "string", "nullable": True},
            "exceptionType": {"type": "string", "nullable": True},
            "stackTrace": {"type": "string", "nullable": True},
        },
    }
    return schemas


def _custom_map() -> dict[str, object]:
    return {
        "type": "object",
        "additionalProperties": {"type": "object", "additionalProperties": _ref("CustomField")},
    }


def _entity_schema(entity_type: EntityType) -> dict[str, object]:
    properties: dict[str, object] = {}
    for name, kind in entity_type.fields.items():
        properties[name] = _ref(WRAPPERS[kind])
    for name, target in entity_type.links.items():
        properties[name] = _ref(target)
    for name, target in entity_type.details.items():
        properties[name] = {"type": "array", "items": _ref(target)}
    return {"allOf": [_ref("Entity"), {"type": "object", "properties": properties}]}


def _action_schema(entity: str, parameters: Mapping[str, ScalarType]) -> dict[str, object]:
    properties: dict[str, object] = {
        name: _ref(WRAPPERS[kind]) for name, kind in parameters.items()
    }
    properties["custom"] = _custom_map()
    return {
        "required": ["entity"],
        "type": "object",
        "properties": {
            "entity": _ref(entity),
            "parameters": {
                "type": "object",
                "description": "The action's parameters.",
                "properties": properties,
            },
        },
    }


def _operation(
    entity: str, suffix: str, summary: str, parameters: tuple[str, ...], **extra: Any
) -> dict[str, object]:
    responses: dict[str, object] = {
        "401": {"$ref": "#/components/responses/ContractBasedControllerBase_401"},
        "500": {"$ref": "#/components/responses/ContractBasedControllerBase_500"},
    }
    responses.update(extra.pop("responses", {}))
    operation: dict[str, object] = {
        "tags": [entity],
        "summary": summary,
        "operationId": f"{entity}_{suffix}",
    }
    if parameters:
        operation["parameters"] = [
            {"$ref": f"#/components/parameters/{name}"} for name in parameters
        ]
    operation.update(extra)
    operation["responses"] = responses
    return operation


def _body(schema: str, description: str, name: str) -> dict[str, object]:
    return {
        "description": description,
        "content": _content(_ref(schema)),
        "required": True,
        "x-bodyName": name,
    }


def _paths(entity: Entity, action_schemas: dict[str, object]) -> dict[str, object]:
    name = entity.name
    record = _content(_ref(name))
    invalid = {"description": "The data is invalid.", "content": record}
    ref = "#/components/responses/"
    paths: dict[str, object] = {
        f"/{name}": {
            "get": _operation(
                name,
                "GetList",
                "Reads the records that satisfy the conditions.",
                (*_QUERY, "skip", "top"),
                responses={
                    "200": _response("The records.", {"type": "array", "items": _ref(name)})
                },
            ),
            "put": _operation(
                name,
                "PutEntity",
                "Creates a record or updates it (found by id or key fields).",
                _QUERY,
                requestBody=_body(name, "The record.", "entity"),
                responses={
                    "200": {"description": "The record as saved.", "content": record},
                    "400": {"$ref": f"{ref}PutEntity_400"},
                    "412": {"$ref": f"{ref}PutEntity_412"},
                    "422": invalid,
                },
            ),
        },
        f"/{name}/$adHocSchema": {
            "get": _operation(
                name,
                "GetAdHocSchema",
                "Reads the custom fields (outside the contract) of the entity.",
                (),
                responses={"200": {"description": "The custom fields.", "content": record}},
            )
        },
        f"/{name}/{{id}}": {
            "get": _operation(
                name,
                "GetById",
                "Reads a record by its id.",
                ("id", *_QUERY),
                responses={"200": {"description": "The record.", "content": record}},
            ),
            "delete": _operation(
                name,
                "DeleteById",
                "Deletes a record by its id.",
                ("id",),
                responses={"204": {"$ref": f"{ref}DeleteById_204"}},
            ),
        },
        f"/{name}/{{ids}}": {
            "get": _operation(
                name,
                "GetByKeys",
                "Reads a record by its key values.",
                ("ids", *_QUERY),
                responses={"200": {"description": "The record.", "content": record}},
            ),
            "delete": _operation(
                name,
                "DeleteByKeys",
                "Deletes a record by its key values.",
                ("ids",),
                responses={"204": {"$ref": f"{ref}DeleteByKeys_204"}},
            ),
        },
        f"/{name}/{{ids}}/files/{{filename}}": {
            "put": _operation(
                name,
                "PutFile",
                "Attaches a file to a record.",
                ("ids", "filename"),
                responses={"204": {"$ref": f"{ref}PutFile_204"}},
            )
        },
    }
    action_responses = {
        "204": {"$ref": f"{ref}InvokeAction_204"},
        "202": {"$ref": f"{ref}InvokeAction_202"},
        "400": {"$ref": f"{ref}InvokeAction_400"},
        "412": {"$ref": f"{ref}InvokeAction_412"},
        "422": invalid,
    }
    custom = f"{name}CustomAction"
    action_schemas[custom] = _action_schema(name, {})
    paths[f"/{name}/{{actionName}}"] = {
        "post": _operation(
            name,
            "InvokeAction_CustomAction",
            "Runs an action on a record.",
            ("actionName",),
            requestBody=_body(custom, "The record and the action's parameters.", "invocation"),
            responses=action_responses,
        )
    }
    for action in entity.actions:
        schema = action.name if action.name not in action_schemas else f"{name}{action.name}"
        action_schemas[schema] = _action_schema(name, action.parameters)
        paths[f"/{name}/{action.name}"] = {
            "post": _operation(
                name,
                f"InvokeAction_{action.name}",
                f"Runs the {action.name} action on a record.",
                (),
                requestBody=_body(schema, "The record and the action's parameters.", "invocation"),
                responses=action_responses,
            )
        }
    return paths


def document(contract: Contract, endpoint: str, version: str, base: str) -> dict[str, object]:
    """The OpenAPI document of ``contract`` served as ``endpoint``/``version`` under ``base``."""
    schemas = _base_schemas()
    for name in sorted(contract.types):
        schemas[name] = _entity_schema(contract.types[name])
    actions: dict[str, object] = {}
    paths: dict[str, object] = {}
    tags = []
    for name in sorted(contract.entities):
        entity = contract.entities[name]
        tags.append({"name": name, "description": entity.screen})
        paths.update(_paths(entity, actions))
    schemas.update(actions)
    return {
        "openapi": "3.0.1",
        "info": {"title": f"{endpoint}/{version}", "version": "4"},
        "servers": [{"url": f"{base}/entity/{endpoint}/{version}"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": _responses(),
            "parameters": _parameters(),
        },
        "tags": tags,
    }


@functools.lru_cache(maxsize=8)
def _cached(contract: Contract, endpoint: str, version: str, base: str) -> bytes:
    return json.dumps(document(contract, endpoint, version, base)).encode()


def document_bytes(contract: Contract, endpoint: str, version: str, base: str) -> bytes:
    """:func:`document` serialised, cached per contract, endpoint, version and base."""
    return _cached(contract, endpoint, version, base)
