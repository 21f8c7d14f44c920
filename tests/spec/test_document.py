"""Environment files end to end: lines, defaults, and file-level failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.spec.support import check_yaml

from acumatica_datasource.errors import UsageError
from acumatica_datasource.spec import (
    SpecError,
    UnreadableFileError,
    load_environment,
    validate_file,
)

BASE = """
environment: dev
callback_base_url: https://bi.example.com
defaults:
  url: https://acme.acumatica.com
  company: ACME
  page_size: 500
  extra_connection_properties: "EndpointVersion=24.200.001;"
  verification: {mode: warn, entity: StockItem}
  authentication:
    strategy: basic
    username: nectari
    password: {vault: {path: acumatica/dev, key: password}}
data_sources:
  - description: First
  - description: Second
    page_size: 20
    extra_connection_properties: {CacheTolerance: 5}
    verification: {mode: strict}
  - description: Third
    company: OTHER
    authentication:
      strategy: oauth2
      client_id: 88358B02-A48D-A50E-F710-39C1636C30F6@OTHER
      client_secret: {env: SECRET}
"""


def test_defaults_merge_under_each_data_source() -> None:
    result = check_yaml(BASE)
    assert result.environment is not None, [str(p) for p in result.problems]
    first, second, third = result.environment.data_sources
    assert (first.url, first.company, first.page_size) == (
        "https://acme.acumatica.com",
        "ACME",
        500,
    )
    assert first.verification.mode == "warn" and first.verification.entity == "StockItem"
    assert second.page_size == 20
    assert second.verification.mode == "strict"
    assert second.verification.entity == "StockItem"  # merged one level deep
    assert second.extra_connection_properties == {
        "EndpointVersion": "24.200.001",
        "CacheTolerance": "5",
    }
    assert third.authentication.strategy == "oauth2"  # replaced as a whole
    assert third.company == "OTHER"


def test_problems_carry_yaml_lines() -> None:
    result = check_yaml(
        """
        environment: dev
        data_sources:
          - description: A
            url: https://acme.acumatica.com
            company: ACME
            page_size: 0
            authentication:
              strategy: basic
              username: u
              password: plain
          - description: B
            url: https://acme.acumatica.com
            authentication: {strategy: basic, username: u, password: {env: P}}
        """
    )
    assert [(p.line, p.path) for p in result.problems] == [
        (6, "data_sources[0].page_size"),
        (10, "data_sources[0].authentication.password"),
        (11, "data_sources[1].company"),
    ]
    assert str(result.problems[0]) == "env.yaml:6: data_sources[0].page_size: must be at least 1"


def test_a_bad_default_is_reported_once_at_the_defaults() -> None:
    text = BASE.replace("page_size: 500", "page_size: 0").replace(
        "  verification: {mode: warn, entity: StockItem}", "  verification: {mode: sometimes}"
    )
    result = check_yaml(text)
    assert [(p.line, p.path, p.message) for p in result.problems] == [
        (6, "defaults.page_size", "must be at least 1"),
        (8, "defaults.verification.mode", "must be one of: strict, warn or off"),
    ]


def test_a_default_that_breaks_one_source_is_reported_at_that_source() -> None:
    text = BASE.replace("  - description: First\n", "  - description: First\n    company: ELSE\n")
    text = text.replace(
        "    strategy: basic\n    username: nectari\n",
        "    strategy: oauth2\n    client_id: 88358B02-A48D-A50E-F710-39C1636C30F6@ACME\n",
    ).replace("password: {vault", "client_secret: {vault")
    result = check_yaml(text)
    assert [(p.line, p.path) for p in result.problems] == [
        (11, "data_sources[0].authentication.client_id")
    ]
    assert result.problems[0].message.endswith("(inherited from defaults.authentication.client_id)")


def test_description_and_id_cannot_be_defaults() -> None:
    result = check_yaml(BASE.replace("  company: ACME\n", "  company: ACME\n  id: x\n"))
    assert [(p.path, p.message.split(":")[0]) for p in result.problems] == [
        ("defaults.id", "unknown key 'id'")
    ]


def test_file_level_failures(tmp_path: Path) -> None:
    missing = validate_file(tmp_path / "missing.yaml")
    assert missing.problems[0].message == "cannot read the file: No such file or directory"
    directory = validate_file(tmp_path)
    assert directory.problems[0].message.startswith("cannot read the file")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"environment: dev\n\x00\xff")
    assert validate_file(binary).problems[0].message.startswith("the file is not UTF-8 text")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert str(validate_file(empty).problems[0]) == (
        f"{empty}:1: (document): the file is empty: it must hold an environment mapping"
    )


def test_a_file_that_cannot_be_read_is_a_usage_error(tmp_path: Path) -> None:
    for unreadable in (tmp_path / "missing.yaml", tmp_path):
        result = validate_file(unreadable)
        assert isinstance(result.error(), UnreadableFileError)
        with pytest.raises(UnreadableFileError) as info:
            load_environment(unreadable)
        assert isinstance(info.value, SpecError) and isinstance(info.value, UsageError)
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("environment: Dev\n")
    error = validate_file(invalid).error()
    assert isinstance(error, SpecError) and not isinstance(error, UsageError)
    valid = Path(__file__).parents[2] / "examples" / "basic.yaml"
    assert validate_file(valid).error() is None


def test_load_environment_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_text("environment: Dev\ndata_sources: 5\n")
    with pytest.raises(SpecError) as info:
        load_environment(path)
    assert [p.path for p in info.value.problems] == ["environment", "data_sources"]
    assert str(info.value).splitlines()[0].startswith(f"{path}:1: environment:")


def test_examples_are_valid() -> None:
    examples = sorted(Path(__file__).parents[2].joinpath("examples").rglob("*.yaml"))
    environments = [p for p in examples if "environment:" in p.read_text()]
    assert environments, "no example environment files found"
    for path in environments:
        result = validate_file(path)
        assert result.valid, [str(p) for p in result.problems]
    strategies = {
        source.authentication.strategy
        for path in environments
        for source in load_environment(path).data_sources
    }
    assert strategies == {"basic", "oauth2"}
