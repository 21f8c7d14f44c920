"""Check records against Acumatica's own endpoint definitions (the reference data).

Import as ``from tests.support.definitions import check_record``. The definitions are read
from ``../shared/reference/acumatica-endpoints`` at test time (never copied); callers skip
when it is absent (:func:`tests.support.sandbox.reference_definitions`).
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime
from typing import Any

from tests.support.sandbox import REFERENCE_DEFINITIONS

SYSTEM = ("id", "rowNumber", "note", "custom", "_links", "files")


@functools.cache
def document(version: str) -> dict[str, Any]:
    """The parsed reference definition of Default ``version``."""
    path = REFERENCE_DEFINITIONS / f"Default_{version}.json"
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def schemas(version: str) -> dict[str, Any]:
    """Its schemas (Swagger 2.0 ``definitions`` or OpenAPI 3 ``components.schemas``)."""
    data = document(version)
    found: dict[str, Any] = data.get("definitions") or data["components"]["schemas"]
    return found


def top_level_entities(version: str) -> list[str]:
    """Every entity with a ``{Entity}_GetList`` operation."""
    names = {
        operation["operationId"].removesuffix("_GetList")
        for operations in document(version)["paths"].values()
        for operation in operations.values()
        if str(operation.get("operationId", "")).endswith("_GetList")
    }
    return sorted(names)


def properties(version: str, name: str) -> dict[str, Any]:
    """The properties of schema ``name`` (its ``allOf`` parts merged)."""
    schema = schemas(version)[name]
    result: dict[str, Any] = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        if "$ref" in part:
            result.update(properties(version, part["$ref"].rsplit("/", 1)[-1]))
        result.update(part.get("properties", {}))
    return result


def _check_value(where: str, wrapper: dict[str, Any], value: object) -> None:
    value_schema = wrapper["properties"]["value"]
    kind, fmt = value_schema.get("type"), value_schema.get("format")
    if value is None:
        return
    if kind == "string":
        assert isinstance(value, str), where
        if fmt == "date-time":
            datetime.fromisoformat(value)
        elif fmt == "uuid":
            uuid.UUID(value)
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), where
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif kind == "boolean":
        assert isinstance(value, bool), where
    else:  # pragma: no cover - a wrapper type the sandbox does not generate
        raise AssertionError(f"{where}: unexpected wrapper value type {kind}")


def check_record(version: str, entity: str, record: dict[str, Any]) -> int:
    """Assert ``record`` has the shape of ``entity`` in Default ``version``; count its fields.

    Fields must be properties of the entity with their value wrapper's type; linked entities
    (objects) and detail collections (arrays) are checked against their own schemas.
    """
    props = properties(version, entity)
    uuid.UUID(record["id"])
    assert isinstance(record["rowNumber"], int)
    assert isinstance(record["custom"], dict)
    checked = 0
    for name, wrapped in record.items():
        if name in SYSTEM:
            continue
        where = f"{entity}/{version}.{name}"
        assert name in props, f"{where}: not a property of {entity} in Default/{version}"
        prop = props[name]
        if prop.get("type") == "array":
            target = prop["items"]["$ref"].rsplit("/", 1)[-1]
            assert isinstance(wrapped, list), where
            for item in wrapped:
                checked += check_record(version, target, item)
            continue
        target = prop["$ref"].rsplit("/", 1)[-1]
        if not target.endswith("Value"):
            assert isinstance(wrapped, dict) and "id" in wrapped, f"{where}: a linked entity"
            checked += check_record(version, target, wrapped)
            continue
        assert isinstance(wrapped, dict), where
        assert set(wrapped) <= {"value"}, where
        _check_value(f"{where} ({target})", schemas(version)[target], wrapped.get("value"))
        checked += 1
    return checked
