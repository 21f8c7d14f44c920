"""Every generated record checked against the real endpoint definitions.

The definitions (Default 22.200.001, 23.200.001, 24.200.001) are reference data in
``../shared/reference/acumatica-endpoints/`` beside the repository; they are read here at test
time and never copied into the project.
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.sandbox import Control, SandboxFactory, login, logout

REFERENCE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "acumatica-endpoints"
)
ENTITIES = ("UnitsOfMeasure", "FinancialYear", "StockItem", "Customer")
# served version -> the reference definition its records must satisfy
VERSIONS = {
    "22.200.001": "22.200.001",
    "23.200.001": "23.200.001",
    "24.200.001": "24.200.001",
    "20.200.001": "22.200.001",
    "25.200.001": "24.200.001",
}

pytestmark = pytest.mark.skipif(
    not REFERENCE.is_dir(),
    reason=f"the reference endpoint definitions are absent ({REFERENCE})",
)


@functools.cache
def _schemas(version: str) -> dict[str, Any]:
    document = json.loads((REFERENCE / f"Default_{version}.json").read_text(encoding="utf-8"))
    schemas: dict[str, Any] = document.get("definitions") or document["components"]["schemas"]
    return schemas


def _resolve(version: str, ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = _schemas(version)[ref.rsplit("/", 1)[-1]]
    return schema


def _properties(version: str, name: str) -> dict[str, Any]:
    schema = _schemas(version)[name]
    properties: dict[str, Any] = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        if "$ref" in part:
            properties.update(_properties(version, part["$ref"].rsplit("/", 1)[-1]))
        properties.update(part.get("properties", {}))
    return properties


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
        pytest.fail(f"{where}: unexpected wrapper value type {kind}")


def _check_record(version: str, entity: str, record: dict[str, Any]) -> None:
    properties = _properties(version, entity)
    uuid.UUID(record["id"])
    assert isinstance(record["rowNumber"], int)
    assert isinstance(record["custom"], dict)
    assert isinstance(record["_links"], dict)
    for name, wrapped in record.items():
        if name in ("id", "rowNumber", "custom", "_links"):
            continue
        where = f"{entity}/{version}.{name}"
        assert name in properties, f"{where}: not a field of {entity} in Default/{version}"
        prop = properties[name]
        assert "$ref" in prop, f"{where}: the sandbox only generates simple value fields"
        wrapper_name = prop["$ref"].rsplit("/", 1)[-1]
        assert wrapper_name.endswith("Value"), where
        assert isinstance(wrapped, dict), where
        assert set(wrapped) == {"value"}, where
        _check_value(f"{where} ({wrapper_name})", _resolve(version, prop["$ref"]), wrapped["value"])


@pytest.mark.parametrize("served", list(VERSIONS))
def test_every_record_matches_the_endpoint_definition(
    make_sandbox: SandboxFactory, served: str
) -> None:
    reference = VERSIONS[served]
    site = make_sandbox()
    with httpx.Client(base_url=site.url, timeout=30.0) as client, Control(site.url) as control:
        assert login(client).status_code == 204
        for entity in ENTITIES:
            records = client.get(f"/entity/Default/{served}/{entity}").json()
            assert records, entity
            for record in records:
                _check_record(reference, entity, record)
        assert logout(client).status_code == 204
        assert control.open_sessions() == 0


def test_units_of_measure_fields_follow_the_version() -> None:
    # the reference itself has the UnitsOfMeasure change DESIGN.md describes
    assert "UnitID" in _properties("24.200.001", "UnitsOfMeasure")
    assert "UnitID" not in _properties("23.200.001", "UnitsOfMeasure")
    assert "FromUOM" in _properties("22.200.001", "UnitsOfMeasure")
