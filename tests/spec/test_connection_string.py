"""Connection strings: the dialect, rendering of a data source, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.spec.support import basic_source, check, environment, oauth_source

from acumatica_datasource.spec import connection_string, render_connection_string


def test_render_quotes_only_when_needed() -> None:
    assert connection_string.render([("A", "plain"), ("B", "x;y"), ("C", 'say "hi"')]) == (
        'A=plain;B="x;y";C="say ""hi""";'
    )
    assert connection_string.render([("E", ""), ("S", " padded ")]) == 'E="";S=" padded ";'


def test_basic_data_source_renders_with_placeholders_and_with_secrets() -> None:
    result = check(
        environment(basic_source(extra_connection_properties="EndpointVersion=24.200.001"))
    )
    assert result.environment is not None
    source = result.environment.data_sources[0]
    assert render_connection_string(source, callback_url=None) == (
        "URL=https://acme.acumatica.com;Company=ACME;AuthScheme=Basic;User=nectari;"
        "Password={{vault:secret/acumatica/dev#password}};Pagesize=10000;Timeout=60;"
        "EndpointVersion=24.200.001;"
    )
    resolved = render_connection_string(
        source, callback_url=None, secrets={("authentication", "password"): "p;w=1"}
    )
    assert 'Password="p;w=1";' in resolved
    assert dict(connection_string.parse(resolved))["Password"] == "p;w=1"


def test_oauth_data_source_renders_scope_and_callback() -> None:
    result = check(environment(oauth_source(operation_timeout=2.5)))
    assert result.environment is not None
    source = result.environment.data_sources[0]
    text = render_connection_string(source, callback_url=result.environment.callback_url(source))
    assert dict(connection_string.parse(text)) == {
        "URL": "https://acme.acumatica.com",
        "Company": "ACME",
        "AuthScheme": "OAuth",
        "OAuthClientId": "88358B02-A48D-A50E-F710-39C1636C30F6@ACME",
        "OAuthClientSecret": "{{vault:secret/acumatica/dev#client_secret}}",
        "Scope": "api offline_access",
        "CallbackURL": "https://bi.example.com/oauth/callback/acumatica-oauth",
        "Pagesize": "10000",
        "Timeout": "2.5",
    }


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("", []),
        (";;", []),
        ("a=1", [("a", "1")]),
        (" a = 1 ; b=2;", [("a", "1"), ("b", "2")]),
        ("a='x;y'", [("a", "x;y")]),
        ('a="x""y";b=z', [("a", 'x"y'), ("b", "z")]),
        ("a=;b=", [("a", ""), ("b", "")]),
        ("Key With Space=v", [("Key With Space", "v")]),
    ],
)
def test_parse(text: str, items: list[tuple[str, str]]) -> None:
    assert connection_string.parse(text) == items


keys = (
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="=;\"'"),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(lambda k: bool(k) and all(ord(c) >= 32 for c in k))
)
values = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20)


@given(st.lists(st.tuples(keys, values), max_size=8))
def test_parsing_a_rendered_string_gives_back_the_properties(
    items: list[tuple[str, str]],
) -> None:
    assert connection_string.parse(connection_string.render(items)) == items
