"""Every data-source and environment rule, valid and invalid, with its message."""

from __future__ import annotations

from typing import Any

import pytest
from tests.spec.support import (
    CLIENT_ID,
    basic_source,
    check,
    environment,
    messages,
    oauth_source,
    only_problem,
)

from acumatica_datasource.spec.base import TEXT_MESSAGE

P = "data_sources[0]"


def test_minimal_basic_source_gets_defaults() -> None:
    result = check(environment(basic_source()))
    assert result.valid, result.problems
    assert result.environment is not None
    source = result.environment.data_sources[0]
    assert source.id == "acumatica-data-source"
    assert source.type == "Acumatica"
    assert source.page_size == 10000
    assert source.operation_timeout == 60
    assert source.extra_connection_properties == {}
    assert source.verification.mode == "strict"
    assert source.verification.entity == "UnitsOfMeasure"
    assert source.expose_connection_string is False


def test_oauth_source_defaults_scope_and_callback() -> None:
    result = check(environment(oauth_source()))
    assert result.environment is not None
    source = result.environment.data_sources[0]
    assert source.authentication.scope == ["api", "offline_access"]  # type: ignore[union-attr]
    assert (
        result.environment.callback_url(source)
        == "https://bi.example.com/oauth/callback/acumatica-oauth"
    )


# --- description and id ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", TEXT_MESSAGE),
        ("   ", TEXT_MESSAGE),
        ("a\nb", TEXT_MESSAGE),
        ("a\x00b", TEXT_MESSAGE),
        (12, "must be text: quote the value to make it text"),
        (None, "must be text"),
    ],
)
def test_description_rules(value: Any, message: str) -> None:
    assert only_problem(check(environment(basic_source(description=value)))) == (
        f"{P}.description",
        message,
    )


def test_description_is_trimmed() -> None:
    result = check(environment(basic_source(description="  Prod ERP  ")))
    assert result.environment is not None
    assert result.environment.data_sources[0].description == "Prod ERP"


def test_descriptions_are_unique_ignoring_case() -> None:
    result = check(environment(basic_source(), basic_source(description="ACUMATICA data source ")))
    assert only_problem(result) == (
        "data_sources[1].description",
        "duplicates data_sources[0].description (descriptions are unique ignoring case)",
    )


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Acumatica Data Source", "acumatica-data-source"),
        ("  ERP -- Prod (EU)  ", "erp-prod-eu"),
        ("Données Société", "donnees-societe"),
        ("x" * 100, "x" * 63),
    ],
)
def test_id_defaults_to_a_slug(description: str, expected: str) -> None:
    result = check(environment(basic_source(description=description)))
    assert result.environment is not None
    assert result.environment.data_sources[0].id == expected


def test_id_of_a_description_without_ascii_is_a_stable_hash() -> None:
    first = check(environment(basic_source(description="日本")))
    again = check(environment(basic_source(description="日本")))
    assert first.environment is not None and again.environment is not None
    source_id = first.environment.data_sources[0].id
    assert source_id is not None and source_id.startswith("ds-")
    assert source_id == again.environment.data_sources[0].id


@pytest.mark.parametrize("value", ["Prod", "-prod", "a" * 64, "prod_1", ""])
def test_invalid_ids(value: str) -> None:
    path, message = only_problem(check(environment(basic_source(id=value))))
    assert path == f"{P}.id"
    assert message.startswith("must be 1-63 lower-case letters")


def test_ids_are_unique_including_derived_ones() -> None:
    result = check(
        environment(
            basic_source(id="erp"),
            basic_source(description="Other", id="erp"),
            basic_source(description="Acumatica-Data-Source!"),
            basic_source(description="Acumatica Data, Source"),
        )
    )
    assert messages(result) == {
        "data_sources[1].id": "id 'erp' is already used by data_sources[0]",
        "data_sources[3].description": "id 'acumatica-data-source' is already used by "
        "data_sources[2] (derived from the description): set a distinct id",
    }


# --- type, url, company ------------------------------------------------------------------


def test_type_must_be_acumatica() -> None:
    assert only_problem(check(environment(basic_source(type="SQLServer")))) == (
        f"{P}.type",
        "must be one of: Acumatica",
    )


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("https://acme.acumatica.com", "https://acme.acumatica.com"),
        ("https://acme.acumatica.com/", "https://acme.acumatica.com"),
        ("https://ACME.acumatica.com/entity/", "https://acme.acumatica.com"),
        ("https://acme.acumatica.com/entity", "https://acme.acumatica.com"),
        ("https://erp.example.com/AcumaticaERP/", "https://erp.example.com/AcumaticaERP"),
        ("https://erp.example.com/AcumaticaERP/entity/", "https://erp.example.com/AcumaticaERP"),
        ("HTTPS://erp.example.com:8443/x", "https://erp.example.com:8443/x"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.5:1/site/", "http://127.0.0.5:1/site"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_url_normalisation(url: str, normalized: str) -> None:
    result = check(environment(basic_source(url=url)))
    assert result.environment is not None, result.problems
    assert result.environment.data_sources[0].url == normalized


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("acme.acumatica.com", "must be an absolute URL starting with https://"),
        ("ftp://acme.acumatica.com", "must be an absolute URL starting with https://"),
        ("http://acme.acumatica.com", "must be an absolute URL starting with https://"),
        ("http://10.0.0.1", "must be an absolute URL starting with https://"),
        ("https://user:pw@acme.acumatica.com", "must not contain credentials (user:password@)"),
        ("https://acme.acumatica.com/?a=1", "must not have a query (?...) or fragment (#...)"),
        ("https://acme.acumatica.com/#x", "must not have a query (?...) or fragment (#...)"),
        ("https://acme.acumatica.com:99999", "has an invalid port"),
        ("https://bad_host!/", "has an invalid host name"),
        ("https://acme.acumatica.com/entity/Default/24.200.001", "must be the site URL"),
        ("http://localhost.evil.com", "must be an absolute URL starting with https://"),
    ],
)
def test_url_rules(url: str, message: str) -> None:
    path, text = only_problem(check(environment(basic_source(url=url))))
    assert path == f"{P}.url"
    assert text.startswith(message)
    assert "pw" not in text


def test_company_is_required_and_trimmed() -> None:
    source = basic_source()
    del source["company"]
    assert only_problem(check(environment(source))) == (f"{P}.company", "required field is missing")
    result = check(environment(basic_source(company=" ACME ")))
    assert result.environment is not None
    assert result.environment.data_sources[0].company == "ACME"


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "must be at least 1"),
        (1_000_001, "must be at most 1000000"),
        ("100", "must be a whole number"),
        (10.5, "must be a whole number"),
        (True, "must be a whole number"),
    ],
)
def test_page_size_rules(value: Any, message: str) -> None:
    assert only_problem(check(environment(basic_source(page_size=value)))) == (
        f"{P}.page_size",
        message,
    )


@pytest.mark.parametrize("value", [1, 1_000_000])
def test_page_size_bounds_are_inclusive(value: int) -> None:
    assert check(environment(basic_source(page_size=value))).valid


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "must be greater than 0"),
        (-1, "must be greater than 0"),
        (3601, "must be at most 3600"),
        ("60", "must be a number"),
        (False, "must be a number"),
    ],
)
def test_operation_timeout_rules(value: Any, message: str) -> None:
    assert only_problem(check(environment(basic_source(operation_timeout=value)))) == (
        f"{P}.operation_timeout",
        message,
    )


def test_operation_timeout_accepts_fractions() -> None:
    result = check(environment(basic_source(operation_timeout=0.5)))
    assert result.environment is not None
    assert result.environment.data_sources[0].operation_timeout == 0.5


# --- extra connection properties -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("EndpointVersion=24.200.001;", {"EndpointVersion": "24.200.001"}),
        ("A=1; B = two ;", {"A": "1", "B": "two"}),
        ("A=\"x;y\";B='it''s'", {"A": "x;y", "B": "it's"}),
        ({"EndpointVersion": "24.200.001", "CacheTolerance": 600}, None),
        ("", {}),
    ],
)
def test_extra_connection_properties_forms(value: Any, parsed: dict[str, str] | None) -> None:
    result = check(environment(basic_source(extra_connection_properties=value)))
    assert result.environment is not None, result.problems
    props = result.environment.data_sources[0].extra_connection_properties
    expected = {"EndpointVersion": "24.200.001", "CacheTolerance": "600"}
    assert props == (expected if parsed is None else parsed)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Password=x;", "Password is managed by the data source: set authentication.password"),
        ("pagesize=5", "pagesize is managed by the data source: set page_size instead"),
        ({"TIMEOUT": "5"}, "TIMEOUT is managed by the data source: set operation_timeout instead"),
        ("CallbackURL=x", "CallbackURL is managed by the data source: set callback_base_url"),
        ("OAuthClientSecret=x", "OAuthClientSecret is managed by the data source: set "),
        ("A=1;a=2", "a is given twice (also as A)"),
        ("A", "'A' has no '='"),
        ('A="open', 'the value of A has no closing "'),
        ('A=x"y', "the value of A contains a quote"),
        ("=x", "property 1 has an empty or invalid key"),
        ("EndpointVersion=latest", "EndpointVersion must look like 24.200.001"),
        ({"A": True}, "the value of A must be text or a number"),
        (["A=1"], "must be a mapping (key: value)"),
    ],
)
def test_extra_connection_properties_rules(value: Any, message: str) -> None:
    path, text = only_problem(check(environment(basic_source(extra_connection_properties=value))))
    key = f".{next(iter(value))}" if isinstance(value, dict) else ""  # a mapping's problem: its key
    assert path == f"{P}.extra_connection_properties{key}"
    assert text.startswith(message), text
    assert "x" not in text.replace("text", "").replace("exa", "") or "'" in message


# --- authentication ----------------------------------------------------------------------------


def test_strategy_is_required_and_known() -> None:
    assert only_problem(check(environment(basic_source(authentication={})))) == (
        f"{P}.authentication.strategy",
        "required field is missing: basic or oauth2",
    )
    auth = {"strategy": "ntlm", "username": "x"}
    assert only_problem(check(environment(basic_source(authentication=auth)))) == (
        f"{P}.authentication.strategy",
        "must be basic or oauth2",
    )


def test_plain_string_secret_is_refused_without_echo() -> None:
    auth = {"strategy": "basic", "username": "u", "password": "hunter2-secret"}
    path, message = only_problem(check(environment(basic_source(authentication=auth))))
    assert path == f"{P}.authentication.password"
    assert message.startswith("a secret must not be written in the file: reference the secret")
    assert "{vault: {path: <path>, key: <key>}} or {env: <VARIABLE>}" in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("password", "path", "message"),
    [
        ({"vault": {"path": "p"}}, ".vault.key", "required field is missing"),
        ({"vault": {"key": "k"}}, ".vault.path", "required field is missing"),
        (
            {"vault": {"path": "p", "key": "k", "version": 0}},
            ".vault.version",
            "must be at least 1",
        ),
        (
            {"vault": {"path": "p", "key": "k", "version": 2, "engine": "kv1"}},
            ".vault",
            "a version can only be pinned on a KV v2 engine (engine: kv2)",
        ),
        ({"vault": {"path": "p", "key": "k", "engine": "kv3"}}, ".vault.engine", "must be one of"),
        ({"vault": {"path": "p", "key": "k", "pth": 1}}, ".vault.pth", "unknown key 'pth'"),
        ({"env": "1BAD"}, ".env", "must be an environment variable name"),
        ({"vault": {"path": "p", "key": "k"}, "env": "X"}, "", "give either vault or env"),
        ({"file": "/x"}, "", "expected a secret reference"),
        (["x"], "", "expected a secret reference"),
    ],
)
def test_secret_reference_rules(password: Any, path: str, message: str) -> None:
    auth = {"strategy": "basic", "username": "u", "password": password}
    got_path, got = only_problem(check(environment(basic_source(authentication=auth))))
    assert got_path == f"{P}.authentication.password{path}"
    assert got.startswith(message), got


def test_vault_reference_defaults_and_normalisation() -> None:
    auth = {
        "strategy": "basic",
        "username": "u",
        "password": {"vault": {"path": "/acumatica/dev/", "key": "password", "mount": "kv/"}},
    }
    result = check(environment(basic_source(authentication=auth)))
    assert result.environment is not None
    password = result.environment.data_sources[0].authentication.password  # type: ignore[union-attr]
    assert password.describe() == "vault:kv/acumatica/dev#password"


def test_basic_username_required() -> None:
    auth = {"strategy": "basic", "password": {"env": "X"}}
    assert only_problem(check(environment(basic_source(authentication=auth)))) == (
        f"{P}.authentication.username",
        "required field is missing",
    )


@pytest.mark.parametrize(
    ("client_id", "message"),
    [
        ("88358B02-A48D-A50E-F710-39C1636C30F6", "must look like 88358B02-"),
        ("not-a-guid@ACME", "must look like 88358B02-"),
        ("88358B02-A48D-A50E-F710-39C1636C30F6@Other", "the tenant after '@' (Other) must be"),
    ],
)
def test_client_id_rules(client_id: str, message: str) -> None:
    source = oauth_source()
    source["authentication"]["client_id"] = client_id
    path, text = only_problem(check(environment(source)))
    assert path == f"{P}.authentication.client_id"
    assert text.startswith(message)


def test_client_id_tenant_ignores_case() -> None:
    source = oauth_source(company="acme")
    assert check(environment(source)).valid


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("api offline_access", ["api", "offline_access"]),
        ("api", ["api"]),
        (["api", "openid", "email", "profile", "phone", "api:concurrent_access"], None),
        (["api", "api"], ["api"]),
    ],
)
def test_scope_forms(scope: Any, expected: list[str] | None) -> None:
    source = oauth_source()
    source["authentication"]["scope"] = scope
    result = check(environment(source))
    assert result.environment is not None, result.problems
    auth = result.environment.data_sources[0].authentication
    assert auth.scope == (expected or scope)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("scope", "path", "message"),
    [
        ("api bogus", "[1]", "must be one of: api, offline_access"),
        ([], "", "must not be empty"),
        ("offline_access", "", "must include 'api'"),
        (5, "", "must be a list"),
    ],
)
def test_scope_rules(scope: Any, path: str, message: str) -> None:
    source = oauth_source()
    source["authentication"]["scope"] = scope
    got_path, got = only_problem(check(environment(source)))
    assert got_path == f"{P}.authentication.scope{path}"
    assert got.startswith(message)


def test_callback_base_url_required_for_oauth() -> None:
    document = environment(basic_source(), oauth_source())
    del document["callback_base_url"]
    assert only_problem(check(document)) == (
        "callback_base_url",
        "required because data_sources[1] uses oauth2: set the BI server's public https URL",
    )
    basic_only = environment(basic_source())
    del basic_only["callback_base_url"]
    assert check(basic_only).valid


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("http://bi.example.com", "must be an absolute URL starting with https://"),
        ("https://bi.example.com?x=1", "must not have a query"),
        ("https://u:p@bi.example.com", "must not contain credentials"),
    ],
)
def test_callback_base_url_rules(base: str, message: str) -> None:
    path, text = only_problem(check(environment(oauth_source(), callback_base_url=base)))
    assert path == "callback_base_url"
    assert text.startswith(message)


# --- verification ------------------------------------------------------------------------------


def test_verification_rules() -> None:
    login = {"username": "svc", "password": {"env": "P"}}
    token = {"vault": {"path": "acumatica/dev", "key": "refresh_token"}}
    cases: list[tuple[dict[str, Any], dict[str, Any], tuple[str, str]]] = [
        (basic_source(), {"mode": "sometimes"}, ("verification.mode", "must be one of: strict")),
        (basic_source(), {"entity": "Units Of Measure"}, ("verification.entity", "must be an")),
        (basic_source(), {"login": login}, ("verification.login", "applies only to the oauth2")),
        (
            oauth_source(),
            {"login": login, "refresh_token": token},
            ("verification.refresh_token", "give either login or refresh_token"),
        ),
        (
            oauth_source(),
            {"refresh_token": {"env": "T"}},
            ("verification.refresh_token", "must be a Vault reference"),
        ),
        (
            oauth_source(),
            {"login": {**login, "client_id": CLIENT_ID}},
            ("verification.login.client_secret", "client_id and client_secret of the password"),
        ),
        (
            oauth_source(),
            {
                "login": {
                    **login,
                    "client_id": "6A1F0C8E-21D4-4B7A-9C3E-2F5D8A9B0C1D@Elsewhere",
                    "client_secret": {"env": "S"},
                }
            },
            ("verification.login.client_id", "the tenant after '@' (Elsewhere) must be"),
        ),
    ]
    for source, verification, (path, message) in cases:
        source["verification"] = verification
        got_path, got = only_problem(check(environment(source)))
        assert got_path == f"{P}.{path}", (verification, got)
        assert got.startswith(message), got


def test_verification_login_and_refresh_token_are_valid_alone() -> None:
    login = {"username": "svc", "password": {"env": "P"}}
    token = {"vault": {"path": "acumatica/dev", "key": "refresh_token"}}
    for verification in ({"login": login}, {"refresh_token": token}, {"mode": "off"}):
        assert check(environment(oauth_source(verification=verification))).valid


# --- unknown keys and environment-level fields ----------------------------------------------------


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        (environment(basic_source(pagesize=5)), f"{P}.pagesize", "did you mean 'page_size'?"),
        (environment(basic_source(URL="x")), f"{P}.URL", "did you mean 'url'?"),
        (environment(basic_source(zzz=1)), f"{P}.zzz", "allowed keys are description, id, type"),
        (environment(datasources=[]), "datasources", "did you mean 'data_sources'?"),
    ],
)
def test_unknown_keys(document: dict[str, Any], path: str, message: str) -> None:
    got_path, got = only_problem(check(document))
    assert got_path == path
    assert got.endswith(message) or message in got


@pytest.mark.parametrize("name", ["Dev", "-dev", "dev_1", "", "d" * 64])
def test_environment_name_rules(name: str) -> None:
    path, message = only_problem(check(environment(environment=name)))
    assert path == "environment"
    assert message.startswith(
        ("must be lower-case letters, digits and dashes", "must be at most 63")
    )


def test_root_must_be_a_mapping() -> None:
    assert only_problem(check([1, 2])) == (
        "(document)",
        "the file holds a list; it must be a mapping with environment and data_sources",
    )
    assert only_problem(check("text"))[1].startswith("the file holds a single value")


def test_many_problems_are_reported_at_once() -> None:
    document = environment(
        basic_source(page_size=0, operation_timeout=0, company=""),
        oauth_source(description="Acumatica Data Source"),
        environment="PROD",
    )
    assert set(messages(check(document))) == {
        "environment",
        f"{P}.page_size",
        f"{P}.operation_timeout",
        f"{P}.company",
        "data_sources[1].description",
    }
