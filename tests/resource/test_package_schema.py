"""The top-level schema.json is the plugin's Pulumi package schema: up to date, what
``pulumi package get-schema`` returns from the plugin, accepted unchanged by the Pulumi CLI's
own schema binding, and in agreement with the spec's models and the recorded outputs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.resource.support import PLUGIN

from acumatica_datasource.resource.outputs import OUTPUT_PROPERTIES
from acumatica_datasource.resource.package_schema import (
    INPUT_SHAPE,
    OUTPUT_SHAPE,
    RESOURCE_TOKEN,
    camel_case,
    package_schema,
    snake_case,
)
from acumatica_datasource.resource.properties import INPUT_PROPERTIES
from acumatica_datasource.spec import SECRET_PATHS, DataSource
from acumatica_datasource.tooling import PulumiCli

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = package_schema()
RESOURCE = SCHEMA["resources"][RESOURCE_TOKEN]


def test_schema_json_is_up_to_date() -> None:
    committed = json.loads((ROOT / "schema.json").read_text())
    assert committed == SCHEMA, "schema.json is stale: run `make schema`"


@pytest.mark.engine
def test_the_pulumi_cli_returns_and_accepts_it(pulumi_cli: PulumiCli, tmp_path: Path) -> None:
    """``pulumi package get-schema`` asks the plugin and binds the schema: anything the CLI
    found invalid would be missing from what it prints (or it would fail)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PULUMI_HOME": str(tmp_path / "ph")}
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    for command in ("get-schema", "info"):
        result = subprocess.run(
            [str(pulumi_cli.pulumi), "package", command, str(PLUGIN)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "warning" not in result.stderr.lower(), result.stderr
        if command == "get-schema":
            assert json.loads(result.stdout) == SCHEMA
        else:
            assert f"Resource: {RESOURCE_TOKEN}" in result.stdout


def test_every_spec_field_is_an_input() -> None:
    inputs = RESOURCE["inputProperties"]
    for name in INPUT_PROPERTIES:
        wire = INPUT_SHAPE.wire_path((name,))[0]
        assert wire in inputs, name
    assert inputs.keys() == {w for w in INPUT_SHAPE.fields if w != "callbackUrl"}
    assert set(RESOURCE["requiredInputs"]) == {"description", "url", "company", "authentication"}
    assert "id" in inputs and "verification" in inputs


def test_every_output_is_declared() -> None:
    properties = RESOURCE["properties"]
    for name in (*INPUT_PROPERTIES, *OUTPUT_PROPERTIES, "data_source_id"):
        assert OUTPUT_SHAPE.wire_path((name,))[0] in properties, name
    assert "id" not in properties, "id is the engine's; the output is dataSourceId"
    assert properties["connectionString"]["secret"] is True


def _resolve(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The object types a property may hold."""
    if "$ref" in spec:
        return [SCHEMA["types"][spec["$ref"].removeprefix("#/types/")]]
    return [t for alternative in spec.get("oneOf", []) for t in _resolve(alternative)]


def test_every_secret_field_takes_a_pulumi_secret_or_a_reference() -> None:
    for path in SECRET_PATHS:
        spec: dict[str, Any] = RESOURCE["inputProperties"][camel_case(path[0])]
        for part in path[1:]:
            spec = next(
                t["properties"][camel_case(part)]
                for t in _resolve(spec)
                if camel_case(part) in t["properties"]
            )
        assert spec["oneOf"][0] == {"type": "string"}, path
        assert spec["oneOf"][1]["$ref"].endswith(":SecretReference"), path


def test_names_round_trip() -> None:
    for name in DataSource.model_fields:
        assert snake_case(camel_case(name)) == name
    assert camel_case("client_secret") == "clientSecret"
    assert INPUT_SHAPE.wire_path(("verification_settings", "login", "client_secret")) == (
        "verification",
        "login",
        "clientSecret",
    )
    assert OUTPUT_SHAPE.wire_path(("verification_settings",)) == ("verificationSettings",)
    assert OUTPUT_SHAPE.wire_path(("verification", "checked_at")) == ("verification", "checkedAt")


def test_user_keys_keep_their_names() -> None:
    wire = {"extraConnectionProperties": {"EndpointVersion": "24.200.001", "Branch": "HQ"}}
    assert INPUT_SHAPE.to_lifecycle(wire) == {
        "extra_connection_properties": {"EndpointVersion": "24.200.001", "Branch": "HQ"}
    }
    outputs = {"secret_versions": {"vault:secret/a#b": 1}, "verification": {"checks": {"a_b": 1}}}
    assert OUTPUT_SHAPE.to_wire(outputs) == {
        "secretVersions": {"vault:secret/a#b": 1},
        "verification": {"checks": {"a_b": 1}},
    }
