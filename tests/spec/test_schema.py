"""environment.schema.json: up to date, valid JSON Schema, and in agreement with the models."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from tests.spec.support import basic_source, check, environment, oauth_source

from acumatica_datasource.spec.schema import json_schema

ROOT = Path(__file__).parents[2]


def test_schema_json_is_up_to_date() -> None:
    committed = json.loads((ROOT / "environment.schema.json").read_text())
    assert committed == json_schema(), "environment.schema.json is stale: run `make schema`"


def test_schema_is_valid_draft_2020_12() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def _with(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(document)
    node: Any = document
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return document


_DELETE = object()
_PROPS = "data_sources.0.extra_connection_properties"
LOGIN = {"username": "svc", "password": {"env": "P"}}
VALID_BASE = environment(basic_source(), oauth_source())
DEFAULTS_BASE = {
    "environment": "dev",
    "defaults": {"url": "https://acme.acumatica.com", "company": "ACME"},
    "data_sources": [
        {
            "description": "x",
            "authentication": {"strategy": "basic", "username": "u", "password": {"env": "P"}},
        }
    ],
}

CORPUS: list[tuple[str, dict[str, Any]]] = [
    ("valid", VALID_BASE),
    ("valid", DEFAULTS_BASE),
    ("valid", _with(VALID_BASE, "data_sources.0.page_size", 1)),
    ("valid", _with(VALID_BASE, "data_sources.0.operation_timeout", 0.25)),
    ("valid", _with(VALID_BASE, "data_sources.0.extra_connection_properties", {"A": 1})),
    ("valid", _with(VALID_BASE, "data_sources.0.extra_connection_properties", "A=1;")),
    ("valid", _with(VALID_BASE, "data_sources.1.authentication.scope", "api openid")),
    ("valid", _with(VALID_BASE, "data_sources.1.authentication.scope", " openid  api ")),
    ("invalid", _with(VALID_BASE, "data_sources.1.authentication.scope", "api:concurrent_access")),
    ("invalid", _with(VALID_BASE, "data_sources.1.authentication.scope", "api bogus")),
    ("invalid", _with(VALID_BASE, "data_sources.1.authentication.scope", ["openid"])),
    ("valid", _with(VALID_BASE, "data_sources.1.verification", {"login": LOGIN})),
    ("valid", _with(VALID_BASE, "data_sources.0.verification", {"mode": "off"})),
    (
        "valid",
        _with(VALID_BASE, "vault", {"address": "https://v:8200", "auth": {"method": "token"}}),
    ),
    (
        "valid",
        _with(
            VALID_BASE,
            "vault",
            {"auth": {"method": "approle", "role_id": "r", "secret_id": {"file": "/run/s"}}},
        ),
    ),
    (
        "valid",
        _with(
            VALID_BASE, "vault", {"auth": {"method": "jwt", "role": "ci", "token": {"env": "T"}}}
        ),
    ),
    ("valid", _with(VALID_BASE, "vault", {"auth": {"method": "kubernetes", "role": "bi"}})),
    ("valid", _with(VALID_BASE, "data_sources.0.id", "erp-1")),
    ("valid", _with(VALID_BASE, "data_sources", [])),
    ("invalid", _with(VALID_BASE, "environment", "Dev")),
    ("invalid", _with(VALID_BASE, "environment", _DELETE)),
    ("invalid", _with(VALID_BASE, "data_sources.0.page_size", 0)),
    ("invalid", _with(VALID_BASE, "data_sources.0.page_size", "10")),
    ("invalid", _with(VALID_BASE, "data_sources.0.page_size", True)),
    ("invalid", _with(VALID_BASE, "data_sources.0.page_size", 1_000_001)),
    ("invalid", _with(VALID_BASE, "data_sources.0.operation_timeout", 0)),
    ("invalid", _with(VALID_BASE, "data_sources.0.operation_timeout", 3601)),
    ("invalid", _with(VALID_BASE, "data_sources.0.type", "Other")),
    ("invalid", _with(VALID_BASE, "data_sources.0.url", "ftp://x")),
    ("invalid", _with(VALID_BASE, "data_sources.0.url", "http://acme.acumatica.com")),
    ("invalid", _with(VALID_BASE, "data_sources.0.url", _DELETE)),
    ("invalid", _with(VALID_BASE, "data_sources.0.company", "")),
    ("invalid", _with(VALID_BASE, "data_sources.0.company", "a\tb")),
    ("invalid", _with(VALID_BASE, "data_sources.0.description", " ")),
    ("invalid", _with(VALID_BASE, "data_sources.0.id", "Bad")),
    ("invalid", _with(VALID_BASE, "data_sources.0.extra", 1)),
    ("invalid", _with(VALID_BASE, "data_sources.0.extra_connection_properties", {"URL": "x"})),
    ("invalid", _with(VALID_BASE, "data_sources.0.extra_connection_properties", {"A": True})),
    ("invalid", _with(VALID_BASE, "data_sources.0.authentication.strategy", "ntlm")),
    ("invalid", _with(VALID_BASE, "data_sources.0.authentication.password", "literal")),
    ("invalid", _with(VALID_BASE, "data_sources.0.authentication.password", {"env": "1X"})),
    ("invalid", _with(VALID_BASE, "data_sources.0.authentication.password", {"vault": {}})),
    (
        "invalid",
        _with(VALID_BASE, "data_sources.0.authentication.password", {"env": "A", "vault": {}}),
    ),
    ("invalid", _with(VALID_BASE, "data_sources.0.authentication.username", _DELETE)),
    ("invalid", _with(VALID_BASE, "data_sources.1.authentication.client_id", "x@ACME")),
    ("invalid", _with(VALID_BASE, "data_sources.1.authentication.scope", ["api", "bogus"])),
    ("invalid", _with(VALID_BASE, "data_sources.1.authentication.scope", [])),
    ("invalid", _with(VALID_BASE, "data_sources.1.verification", {"mode": "maybe"})),
    ("invalid", _with(VALID_BASE, "data_sources.1.verification", {"login": {"username": "x"}})),
    ("invalid", _with(VALID_BASE, "vault", {"auth": {"method": "ldap"}})),
    ("invalid", _with(VALID_BASE, "vault", {"auth": {"method": "jwt", "role": "r"}})),
    ("invalid", _with(VALID_BASE, "vault", {"address": "vault:8200"})),
    ("invalid", _with(VALID_BASE, "callback_base_url", "http://bi.example.com")),
    ("invalid", _with(DEFAULTS_BASE, "defaults", {"url": "https://acme.acumatica.com"})),
    ("invalid", _with(DEFAULTS_BASE, "defaults.page_size", 0)),
    ("invalid", _with(DEFAULTS_BASE, "defaults.description", "x")),
    ("invalid", _with(DEFAULTS_BASE, "data_sources", {"a": 1})),
    # issue 12: names, Vault over http, references, connection properties
    ("invalid", _with(VALID_BASE, "data_sources.0.description", "ERP\u202etxt")),
    ("invalid", _with(VALID_BASE, "data_sources.0.company", "AC\u200bME")),
    ("valid", _with(VALID_BASE, "data_sources.0.company", "Société 日本")),
    ("invalid", _with(VALID_BASE, "vault", {"address": "http://vault.example.com"})),
    ("valid", _with(VALID_BASE, "vault", {"address": "http://127.0.0.1:8200"})),
    (
        "valid",
        _with(VALID_BASE, "vault", {"address": "http://vault:8200", "allow_insecure_http": True}),
    ),
    ("invalid", _with(VALID_BASE, f"{_PROPS}", {" Password ": "x"})),
    ("invalid", _with(VALID_BASE, f"{_PROPS}", {"X=1;URL": "x"})),
    ("invalid", _with(VALID_BASE, f"{_PROPS}", {"ProxyPassword": "literal"})),
    ("invalid", _with(VALID_BASE, f"{_PROPS}", {"ApiKey": 12345})),
    ("valid", _with(VALID_BASE, f"{_PROPS}", {"ProxyPassword": {"env": "PROXY_PW"}})),
    ("valid", _with(VALID_BASE, f"{_PROPS}", {"Db_Api-Key": {"vault": {"path": "p", "key": "k"}}})),
]


@pytest.mark.parametrize(("expected", "document"), CORPUS)
def test_jsonschema_and_models_agree(expected: str, document: dict[str, Any]) -> None:
    by_schema = jsonschema.Draft202012Validator(json_schema()).is_valid(document)
    by_models = check(document).valid
    assert by_models == (expected == "valid"), [str(p) for p in check(document).problems]
    assert by_schema == by_models


def test_rules_json_schema_cannot_express_are_only_in_the_models() -> None:
    """Case-insensitive uniqueness and the client id's tenant need the models."""
    duplicate = environment(basic_source(), basic_source(description="ACUMATICA DATA SOURCE"))
    wrong_tenant = _with(VALID_BASE, "data_sources.1.company", "OTHER")
    for document in (duplicate, wrong_tenant):
        assert jsonschema.Draft202012Validator(json_schema()).is_valid(document)
        assert not check(document).valid
