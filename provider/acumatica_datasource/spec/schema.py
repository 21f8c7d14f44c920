"""The JSON Schema (draft 2020-12) of environment files (``environment.schema.json``),
generated from the models."""

from __future__ import annotations

import json
from typing import Any

from acumatica_datasource.spec.models import SECRET_REFERENCE_SCHEMA, Environment

SCHEMA_ID = "https://github.com/acumatica-datasource/schema/environment.json"
_DEFAULTABLE_REQUIRED = ("url", "company", "authentication")
_IDENTITY_REQUIRED = "description"


def json_schema() -> dict[str, Any]:
    """The schema that ``environment.schema.json`` holds and ``acumatica-ds schema`` prints."""
    generated = Environment.model_json_schema(mode="validation")
    data_source = generated["$defs"]["DataSource"]
    # In a file, url, company and authentication may come from `defaults` or a base file
    # (`extends`), and an entry that overrides a base's data source may name it by id alone.
    data_source["required"] = [
        name
        for name in data_source["required"]
        if name not in (*_DEFAULTABLE_REQUIRED, _IDENTITY_REQUIRED)
    ]
    conditions: list[dict[str, Any]] = [
        {
            "if": {
                "not": {
                    "anyOf": [
                        {"required": ["extends"]},
                        {
                            "required": ["defaults"],
                            "properties": {"defaults": {"type": "object", "required": [name]}},
                        },
                    ]
                }
            },
            "then": {"properties": {"data_sources": {"items": {"required": [name]}}}},
        }
        for name in _DEFAULTABLE_REQUIRED
    ]
    conditions.append(
        {
            "if": {"required": ["extends"]},
            "then": {
                "properties": {
                    "data_sources": {
                        "items": {"anyOf": [{"required": ["description"]}, {"required": ["id"]}]}
                    }
                }
            },
            "else": {"properties": {"data_sources": {"items": {"required": ["description"]}}}},
        }
    )
    reference = dict(generated["$defs"]["BasicAuthentication"]["properties"]["password"])
    reference.pop("title", None)
    generated = _replace(generated, SECRET_REFERENCE_SCHEMA, reference)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **generated,
        "allOf": conditions,
    }


def _replace(node: Any, placeholder: dict[str, Any], schema: dict[str, Any]) -> Any:
    """``node`` with every ``placeholder`` replaced by ``schema``."""
    if node == placeholder:
        return schema
    if isinstance(node, dict):
        return {key: _replace(value, placeholder, schema) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace(value, placeholder, schema) for value in node]
    return node


def json_schema_text() -> str:
    """The schema as stable, indented JSON text (with a final newline)."""
    return json.dumps(json_schema(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
