"""Rules against crafted environment files (issue 12, points 3, 5, 6 and 8): invisible and
control characters in names, plain-http Vault addresses, references that reach the pipeline's
own credentials or Vault's non-KV paths, and connection properties that smuggle settings,
credentials or switched-off certificate checks."""

from __future__ import annotations

from typing import Any

import pytest
from tests.spec.support import basic_source, check, check_yaml, environment, only_problem

from acumatica_datasource.spec import render_connection_string

P = "data_sources[0]"
INVISIBLE = "must be non-empty text without control characters (tabs, newlines) or invisible"


# --- point 3: no format or control characters in names ----------------------------------------


@pytest.mark.parametrize(
    "char",
    [
        "\u202e",  # right-to-left override
        "\u202a",
        "\u2066",  # left-to-right isolate
        "\u2069",
        "\u200b",  # zero-width space
        "\u200d",
        "\u0085",  # next line
        "\u2028",  # line separator
        "\u2029",
        "\u009b",  # C1: a one-character CSI
        "\x1b",
        "\ufeff",
    ],
)
@pytest.mark.parametrize("field", ["description", "company"])
def test_names_refuse_format_and_control_characters(field: str, char: str) -> None:
    path, message = only_problem(check(environment(basic_source(**{field: f"ERP{char}txt"}))))
    assert path == f"{P}.{field}"
    assert message.startswith(INVISIBLE), message


def test_ids_refuse_them_too() -> None:
    path, message = only_problem(check(environment(basic_source(id="erp\u202e"))))
    assert path == f"{P}.id" and message.startswith("must be 1-63 lower-case letters")


def test_names_keep_ordinary_unicode() -> None:
    result = check(environment(basic_source(description="Société Générale — 日本 😀")))
    assert result.valid, result.problems


# --- point 5: https for Vault off loopback ------------------------------------------------


@pytest.mark.parametrize(
    "address", ["http://vault.example.com:8200", "http://10.0.0.5:8200", "HTTP://vault"]
)
def test_a_plain_http_vault_off_loopback_is_refused(address: str) -> None:
    path, message = only_problem(check(environment(vault={"address": address})))
    assert path == "vault.address"
    assert "https" in message and "allow_insecure_http: true" in message


@pytest.mark.parametrize(
    "address", ["http://127.0.0.1:8200", "http://localhost:8200", "http://[::1]:8200"]
)
def test_plain_http_on_loopback_is_fine(address: str) -> None:
    assert check(environment(vault={"address": address})).valid


def test_the_opt_in_allows_plain_http() -> None:
    document = environment(
        vault={"address": "http://vault.example.com:8200", "allow_insecure_http": True}
    )
    assert check(document).valid


# --- point 6: references cannot reach the pipeline's own credentials -----------------------


@pytest.mark.parametrize(
    "name",
    [
        "VAULT_TOKEN",
        "BAO_TOKEN",
        "VAULT_ADDR",
        "bao_token",
        "CI_APPROLE_SECRET_ID",
        "PULUMI_CONFIG_PASSPHRASE",
        "PULUMI_CONFIG_PASSPHRASE_FILE",
        "PULUMI_ACCESS_TOKEN",
        "ACUMATICA_DS_CA_BUNDLE",
    ],
)
def test_env_references_refuse_the_pipelines_credentials(name: str) -> None:
    auth = {"strategy": "basic", "username": "u", "password": {"env": name}}
    path, message = only_problem(check(environment(basic_source(authentication=auth))))
    assert path == f"{P}.authentication.password.env"
    assert name in message and "credentials" in message


def test_env_references_refuse_the_variables_vault_auth_reads() -> None:
    auth = {"strategy": "basic", "username": "u", "password": {"env": "CI_ID_TOKEN"}}
    document = environment(
        basic_source(authentication=auth),
        vault={
            "address": "https://vault.example.com",
            "auth": {"method": "jwt", "role": "ci", "token": {"env": "CI_ID_TOKEN"}},
        },
    )
    path, message = only_problem(check(document))
    assert path == f"{P}.authentication.password.env"
    assert "vault.auth" in message


def test_ordinary_env_references_are_fine() -> None:
    auth = {"strategy": "basic", "username": "u", "password": {"env": "ACUMATICA_PASSWORD"}}
    assert check(environment(basic_source(authentication=auth))).valid


@pytest.mark.parametrize(
    ("location", "where"),
    [
        ({"mount": "auth/token", "path": "lookup-self", "key": "id"}, "mount"),
        ({"mount": "auth", "path": "token/lookup-self", "key": "id"}, "mount"),
        ({"mount": "sys", "path": "config/state", "key": "x"}, "mount"),
        ({"mount": "identity", "path": "entity/name/x", "key": "x"}, "mount"),
        ({"mount": "cubbyhole", "path": "x", "key": "x"}, "mount"),
        ({"mount": "team/auth", "path": "token/lookup-self", "key": "id"}, "mount"),
        ({"mount": "secret", "path": "../auth/token/lookup-self", "key": "id"}, "path"),
        ({"mount": "secret", "path": "app/./x", "key": "id"}, "path"),
        ({"mount": "secret", "path": "app//x", "key": "id"}, "path"),
        ({"mount": "secret", "path": "app/%2e%2e/x", "key": "id"}, "path"),
        ({"mount": "se..cret/..", "path": "x", "key": "id"}, "mount"),
    ],
)
def test_vault_references_reach_only_kv_paths(location: dict[str, str], where: str) -> None:
    auth = {"strategy": "basic", "username": "u", "password": {"vault": location}}
    path, message = only_problem(check(environment(basic_source(authentication=auth))))
    assert path == f"{P}.authentication.password.vault.{where}", (path, message)
    assert "KV" in message


# --- point 8: extra_connection_properties, one set of rules for both forms --------------------


def problems(value: Any, **extra: Any) -> list[tuple[str, str]]:
    result = check(environment(basic_source(extra_connection_properties=value, **extra)))
    return [(p.path, p.message) for p in result.problems]


def test_mapping_keys_are_trimmed_and_checked_like_the_string_form() -> None:
    value = {"X=1;URL": "http://evil", " Password ": "plaintext", "SSLServerCert": "*"}
    found = problems(value)
    assert len(found) == 3, found
    by_key = dict(found)
    assert by_key[f"{P}.extra_connection_properties.X=1;URL"].startswith("the key 'X=1;URL'")
    assert "managed by the data source" in by_key[f"{P}.extra_connection_properties. Password "]
    assert "allow_insecure_tls" in by_key[f"{P}.extra_connection_properties.SSLServerCert"]
    assert not [m for _, m in found if "plaintext" in m or "evil" in m]


def test_every_problem_of_the_string_form_is_reported() -> None:
    found = problems("Pagesize=5;Timeout=9;ProxyPassword=x;SSLServerCert=*")
    assert [m.split(" ")[0] for _, m in found] == [
        "Pagesize",
        "Timeout",
        "ProxyPassword",
        "SSLServerCert",
    ], found


@pytest.mark.parametrize(
    "key", ["ProxyPassword", "proxypassword", "DbPassword", "ClientSecret", "AuthToken", "ApiKey"]
)
def test_credential_keys_refuse_literals(key: str) -> None:
    [(path, message)] = problems({key: "hunter22"})
    assert path == f"{P}.extra_connection_properties.{key}"
    assert "secret reference" in message and "hunter22" not in message


def test_credential_keys_take_references_rendered_as_placeholders() -> None:
    value = {
        "ProxyPassword": {"vault": {"path": "acumatica/dev", "key": "proxy"}},
        "PrivateKey": {"env": "ACUMATICA_PRIVATE_KEY"},
        "ProxyUser": "svc",
    }
    result = check(environment(basic_source(extra_connection_properties=value)))
    assert result.environment is not None, result.problems
    source = result.environment.data_sources[0]
    template = render_connection_string(source, callback_url=None)
    assert "ProxyPassword={{vault:secret/acumatica/dev#proxy}};" in template
    assert "PrivateKey={{env:ACUMATICA_PRIVATE_KEY}};" in template
    assert "ProxyUser=svc;" in template


def test_references_are_only_for_credential_keys() -> None:
    [(path, message)] = problems({"ProxyUser": {"env": "USER_NAME"}})
    assert path == f"{P}.extra_connection_properties.ProxyUser"
    assert "text or a number" in message


@pytest.mark.parametrize(
    "value",
    [
        "SSLServerCert=*",
        {"sslservercert": " * "},
        "TrustServerCertificate=true",
        "IgnoreCertificateErrors=yes",
        "VerifyServerCertificate=false",
    ],
)
def test_switching_certificate_checks_off_needs_the_opt_in(value: Any) -> None:
    [(path, message)] = problems(value)
    assert path.startswith(f"{P}.extra_connection_properties")
    assert "allow_insecure_tls: true" in message
    assert problems(value, allow_insecure_tls=True) == []


def test_a_certificate_pinned_by_thumbprint_needs_no_opt_in() -> None:
    assert problems("SSLServerCert=0123456789ABCDEF0123456789ABCDEF01234567") == []


def test_the_line_of_a_mapping_key_is_reported() -> None:
    result = check_yaml(
        """
        environment: dev
        data_sources:
          - description: ERP
            url: https://acme.acumatica.com
            company: ACME
            authentication:
              strategy: basic
              username: u
              password: {env: PW}
            extra_connection_properties:
              CacheTolerance: 5
              " Password ": plaintext
        """
    )
    [problem] = result.problems
    assert problem.line == 12, str(problem)
