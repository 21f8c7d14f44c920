"""SandboxConfig.from_mapping: defaults and validation messages that name each bad key."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.sandbox import sandbox_config_data

from acumatica_datasource.sandbox import (
    DEFAULT_CONFIG,
    SandboxConfig,
    SandboxConfigError,
    default_config,
    default_config_data,
)


def _problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SandboxConfigError) as caught:
        SandboxConfig.from_mapping(data)
    return {problem.path: problem.message for problem in caught.value.problems}


def test_default_config() -> None:
    config = default_config()
    assert config == DEFAULT_CONFIG
    assert config.license.api_users == 2
    assert config.license.login_limit_response == "500-json"
    assert config.endpoints["Default"][-1] == "25.200.001"
    tenant = config.tenants[0]
    assert tenant.name == "ACME"
    assert tenant.users[0].name == "admin"
    assert {app.flow for app in tenant.connected_apps} == {"authorization_code", "password"}
    assert config.instance_path == ""


def test_issue_example_config_is_valid() -> None:
    config = SandboxConfig.from_mapping(
        {
            "build_version": "24.210.0013",
            "endpoints": {"Default": ["20.200.001", "22.200.001", "23.200.001", "24.200.001"]},
            "license": {
                "api_users": 2,
                "requests_per_minute": 0,
                "login_limit_response": "500-json",
            },
            "session_idle_timeout_s": 600,
            "access_token_lifetime_s": 3600,
            "tenants": [
                {
                    "name": "ACME",
                    "setup_complete": True,
                    "branches": ["HQ"],
                    "users": [
                        {
                            "name": "admin",
                            "password": "secret1",
                            "must_change_password": False,
                            "locked": False,
                        }
                    ],
                    "connected_apps": [
                        {
                            "client_id": "88358B02-A48D-A50E-F710-39C1636C30F6@ACME",
                            "name": "Nectari",
                            "flow": "authorization_code",
                            "secrets": ["s3cr3t"],
                            "redirect_uris": ["https://bi.example.com/oauth/callback/abc"],
                        }
                    ],
                    "records": {
                        "UnitsOfMeasure": 25,
                        "FinancialYear": 5,
                        "StockItem": 2500,
                        "Customer": 1200,
                    },
                }
            ],
        }
    )
    assert config.session_idle_timeout_s == 600.0


def test_minimal_config_gets_defaults() -> None:
    config = SandboxConfig.from_mapping({"tenants": [{"name": "T"}]})
    assert config.tenants[0].branches == ("HQ",)
    assert config.tenants[0].records["StockItem"] == 2500
    assert config.session_idle_timeout_s == 600.0
    assert config.effective_database_version == config.build_version


def test_float_timeouts_are_allowed() -> None:
    config = SandboxConfig.from_mapping(sandbox_config_data(session_idle_timeout_s=0.05))
    assert config.session_idle_timeout_s == 0.05


def test_each_bad_key_is_named_by_path() -> None:
    data = sandbox_config_data(
        build_version=24,
        license={"api_users": "two", "login_limit_response": "503"},
        session_idle_timeout_s=0,
        colour="red",
    )
    data["tenants"][0]["users"].append({"name": "bob", "password": 123})
    problems = _problems(data)
    assert "must be a string" in problems["build_version"]
    assert "whole number" in problems["license.api_users"]
    assert "500-json" in problems["license.login_limit_response"]
    assert "greater than zero" in problems["session_idle_timeout_s"]
    assert "unknown key" in problems["colour"]
    assert problems["tenants[0].users[1].password"].startswith("must be a string")


def test_unknown_keys_suggest_the_right_one() -> None:
    data = sandbox_config_data()
    data["tenants"][0]["users"][0]["pasword"] = "x"
    problems = _problems(data)
    assert "did you mean 'password'" in problems["tenants[0].users[0].pasword"]


def test_error_message_lists_every_problem() -> None:
    data = sandbox_config_data(access_token_lifetime_s=-1, instance_path="no-slash")
    with pytest.raises(SandboxConfigError) as caught:
        SandboxConfig.from_mapping(data)
    text = str(caught.value)
    assert "access_token_lifetime_s: must be greater than zero" in text
    assert "instance_path:" in text


@pytest.mark.parametrize(
    ("app", "path", "fragment"),
    [
        (
            {"client_id": "not-a-guid@ACME", "flow": "password", "secrets": ["s"]},
            "client_id",
            "<GUID>@<tenant>",
        ),
        (
            {
                "client_id": "88358B02-A48D-A50E-F710-39C1636C30F6@Other",
                "flow": "password",
                "secrets": ["s"],
            },
            "client_id",
            "tenant's name",
        ),
        (
            {
                "client_id": "88358B02-A48D-A50E-F710-39C1636C30F6@ACME",
                "flow": "authorization_code",
                "secrets": ["s"],
            },
            "redirect_uris",
            "redirect URI",
        ),
        (
            {
                "client_id": "88358B02-A48D-A50E-F710-39C1636C30F6@ACME",
                "flow": "password",
                "secrets": ["s"],
                "redirect_uris": ["https://x.example.com/cb"],
            },
            "redirect_uris",
            "no redirect URIs",
        ),
        (
            {
                "client_id": "88358B02-A48D-A50E-F710-39C1636C30F6@ACME",
                "flow": "authorization_code",
                "secrets": ["s"],
                "redirect_uris": ["https://x.example.com/cb#frag"],
            },
            "redirect_uris[0]",
            "without a fragment",
        ),
        (
            {"client_id": "88358B02-A48D-A50E-F710-39C1636C30F6@ACME", "flow": "password"},
            "secrets",
            "secret",
        ),
        (
            {"client_id": "88358B02-A48D-A50E-F710-39C1636C30F6@ACME", "flow": "hybrid"},
            "flow",
            "one of",
        ),
    ],
)
def test_connected_app_rules(app: dict[str, Any], path: str, fragment: str) -> None:
    data = sandbox_config_data(tenant={"connected_apps": [app]})
    problems = _problems(data)
    assert fragment in problems[f"tenants[0].connected_apps[0].{path}"]


def test_duplicates_are_refused() -> None:
    data = default_config_data()
    tenants = data["tenants"]
    assert isinstance(tenants, list)
    tenants.append({"name": "acme"})
    tenants[0]["users"].append({"name": "ADMIN", "password": "x"})
    problems = _problems(data)
    assert "already" in problems["tenants[1].name"]
    assert "already" in problems["tenants[0].users[1].name"]


def test_records_endpoints_and_tenants_rules() -> None:
    problems = _problems(
        sandbox_config_data(
            endpoints={"Default": ["24.200.001", "24.200.001", "v25"]},
            tenant={"records": {"StockItem": -1, "Vendor": 3}},
        )
    )
    assert "listed twice" in problems["endpoints.Default[1]"]
    assert "version string" in problems["endpoints.Default[2]"]
    assert ">= 0" in problems["tenants[0].records.StockItem"]
    assert "unknown entity" in problems["tenants[0].records.Vendor"]
    assert "required" in _problems({})["tenants"]
    assert "at least one" in _problems({"tenants": []})["tenants"]
    assert (
        "Default"
        in _problems({"endpoints": {"Mine": ["1.0"]}, "tenants": [{"name": "T"}]})["endpoints"]
    )


def test_not_a_mapping() -> None:
    with pytest.raises(SandboxConfigError, match="must be a mapping"):
        SandboxConfig.from_mapping([])  # type: ignore[arg-type]
