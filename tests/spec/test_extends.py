"""Base files: ``extends``, the merge rules, and problems reported in the file that holds the
value (the base's FILE:LINE for a value written in the base)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from acumatica_datasource.cli import main
from acumatica_datasource.spec import (
    BasicAuthentication,
    OAuth2Authentication,
    ValidationResult,
    validate_file,
)
from acumatica_datasource.spec.overlay import MAX_DEPTH
from acumatica_datasource.spec.schema import json_schema

BASE = """\
project: bi-acme
callback_base_url: https://bi.example.com
vault:
  address: https://vault.example.com:8200
  namespace: team-bi
  auth: {method: token}
defaults:
  url: https://acme.acumatica.com
  company: ACME
  page_size: 500
  extra_connection_properties: "EndpointVersion=24.200.001;Branch=HQ;"
  verification: {mode: strict, entity: StockItem}
  authentication:
    strategy: basic
    username: nectari
    password: {vault: {path: acumatica/shared, key: password}}
data_sources:
  - description: Sales
    id: erp-sales
  - description: Finance
    page_size: 50
  - description: Stock
"""

DEV = """\
extends: base.yaml
environment: dev
callback_base_url: https://bi-dev.example.com
vault:
  auth: {method: jwt, role: bi-dev, token: {env: VAULT_ID_TOKEN}}
defaults:
  url: https://acme-dev.acumatica.com
  extra_connection_properties: {Branch: DEV}
  verification: {mode: warn}
data_sources:
  - id: erp-sales
    page_size: 20
  - description: FINANCE
    authentication:
      strategy: oauth2
      client_id: 88358B02-A48D-A50E-F710-39C1636C30F6@ACME
      client_secret: {vault: {path: acumatica/dev, key: client_secret}}
  - description: Dev only
    company: SANDBOX
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def lines(result: ValidationResult) -> list[str]:
    return [str(problem) for problem in result.problems]


def line_of(path: Path, text: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line of ``path`` that contains ``text``."""
    found = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return found[occurrence - 1]


def test_a_stage_file_overrides_and_adds_to_its_base(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    result = validate_file(write(tmp_path, "dev.yaml", DEV))
    assert result.environment is not None, lines(result)
    env = result.environment
    assert result.files == [str(tmp_path / "dev.yaml"), str(tmp_path / "base.yaml")]
    assert (env.environment, env.project, env.extends) == ("dev", "bi-acme", "base.yaml")
    assert env.callback_base_url == "https://bi-dev.example.com"
    assert env.vault is not None
    assert (env.vault.address, env.vault.namespace) == ("https://vault.example.com:8200", "team-bi")
    assert env.vault.auth is not None and env.vault.auth.method == "jwt"  # auth taken whole
    sales, finance, stock, dev_only = env.data_sources
    # the base's order, then the stage's own data sources
    assert [s.description for s in env.data_sources] == ["Sales", "FINANCE", "Stock", "Dev only"]
    assert [s.data_source_id for s in env.data_sources] == [
        "erp-sales",
        "finance",
        "stock",
        "dev-only",
    ]
    # matched by id: the stage's page_size over the base's data source and defaults
    assert (sales.page_size, sales.url) == (20, "https://acme-dev.acumatica.com")
    # matched by description (ignoring case): the base's own page_size stays, auth replaced
    assert finance.page_size == 50
    assert isinstance(finance.authentication, OAuth2Authentication)
    # defaults: combined key by key, the stage's win; verification and properties key by key
    assert stock.page_size == 500 and stock.company == "ACME"
    assert (stock.verification.mode, stock.verification.entity) == ("warn", "StockItem")
    assert stock.extra_connection_properties == {"EndpointVersion": "24.200.001", "Branch": "DEV"}
    assert isinstance(stock.authentication, BasicAuthentication)
    assert dev_only.company == "SANDBOX" and dev_only.url == "https://acme-dev.acumatica.com"


def test_a_data_source_value_from_any_file_wins_over_defaults_from_any_file(
    tmp_path: Path,
) -> None:
    write(tmp_path, "base.yaml", BASE)
    dev = write(
        tmp_path,
        "dev.yaml",
        DEV.replace("  url: https://acme-dev", "  page_size: 7\n  url: https://acme-dev"),
    )
    env = validate_file(dev).environment
    assert env is not None
    # stage defaults over base defaults (7 over 500); a base data source's own value (50)
    # and a stage data source's own value (20) over both
    assert [s.page_size for s in env.data_sources] == [20, 50, 7, 7]


def test_a_base_problem_is_reported_at_the_base_line_with_the_base_path(tmp_path: Path) -> None:
    base = write(
        tmp_path,
        "base.yaml",
        BASE.replace("  - description: Stock\n", "  - description: Stock\n    page_size: 0\n"),
    )
    dev = write(tmp_path, "dev.yaml", DEV)
    result = validate_file(dev)
    assert lines(result) == [
        f"{base}:{line_of(base, 'page_size: 0')}: data_sources[2].page_size: must be at least 1"
    ]


def test_a_bad_base_value_that_the_stage_overrides_is_no_problem(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE.replace("id: erp-sales", "id: erp-sales\n    page_size: 0"))
    assert validate_file(write(tmp_path, "dev.yaml", DEV)).valid


def test_problems_in_the_stage_file_use_its_own_lines_and_paths(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    dev = write(
        tmp_path,
        "dev.yaml",
        DEV.replace("    page_size: 20", "    page_size: -1").replace(
            "    company: SANDBOX", "    company: SANDBOX\n    colour: red"
        ),
    )
    result = validate_file(dev)
    assert lines(result) == [
        f"{dev}:{line_of(dev, 'page_size: -1')}: data_sources[0].page_size: must be at least 1",
        f"{dev}:{line_of(dev, 'colour')}: data_sources[2].colour: unknown key 'colour': "
        "allowed keys are " + result.problems[1].message.split("allowed keys are ")[1],
    ]


def test_a_default_in_the_base_that_breaks_a_stage_data_source(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE)
    dev = write(
        tmp_path,
        "dev.yaml",
        DEV.replace(
            "  - description: Dev only\n    company: SANDBOX\n",
            "  - description: Dev only\n    company: SANDBOX\n    authentication:\n"
            "      strategy: oauth2\n      client_secret: {env: S}\n",
        ),
    )
    result = validate_file(dev)
    # the stage's own entry misses client_id: reported at the entry in dev.yaml
    assert lines(result) == [
        f"{dev}:{line_of(dev, 'authentication:', 2)}: data_sources[2].authentication.client_id: "
        "required field is missing"
    ]
    # a tenant clash between a base default and a stage value: at the default, in the base
    dev.write_text(DEV.replace("    company: SANDBOX\n", "    company: OTHER\n"))
    base.write_text(
        BASE.replace(
            "    strategy: basic\n    username: nectari\n"
            "    password: {vault: {path: acumatica/shared, key: password}}",
            "    strategy: oauth2\n    client_id: 88358B02-A48D-A50E-F710-39C1636C30F6@ACME\n"
            "    client_secret: {env: S}",
        )
    )
    result = validate_file(dev)
    assert lines(result) == [
        f"{base}:{line_of(base, 'client_id')}: defaults.authentication.client_id: the tenant "
        "after '@' (ACME) must be the company (OTHER) (inherited by data_sources[2] of "
        f"{dev})"
    ]


def test_messages_name_data_sources_in_the_file_that_holds_them(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE)
    dev = write(
        tmp_path,
        "dev.yaml",
        DEV.replace("description: Dev only", "description: STOCK\n    id: stock-2"),
    )
    result = validate_file(dev)
    assert lines(result) == [
        f"{dev}:{line_of(dev, 'STOCK')}: data_sources[2].description: duplicates "
        f"data_sources[2].description of {base} (descriptions are unique ignoring case)"
    ]


def test_a_base_may_extend_another_base(tmp_path: Path) -> None:
    write(
        tmp_path, "common/org.yaml", "project: acme-bi\ndefaults: {company: ACME, page_size: 3}\n"
    )
    write(
        tmp_path,
        "common/base.yaml",
        BASE.replace("project: bi-acme\n", "extends: org.yaml\n")
        .replace("  company: ACME\n", "")
        .replace("  page_size: 500\n", ""),
    )
    dev = write(
        tmp_path,
        "stages/dev.yaml",
        DEV.replace("extends: base.yaml", "extends: ../common/base.yaml"),
    )
    result = validate_file(dev)
    assert result.environment is not None, lines(result)
    assert result.files == [
        str(dev),
        str(tmp_path / "common/base.yaml"),
        str(tmp_path / "common/org.yaml"),
    ]
    assert result.environment.project == "acme-bi"
    assert result.environment.extends == "../common/base.yaml"
    assert [s.page_size for s in result.environment.data_sources] == [20, 50, 3, 3]
    assert {s.company for s in result.environment.data_sources} == {"ACME", "SANDBOX"}


def test_the_environment_is_never_inherited(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "environment: prod\n" + BASE)
    dev = write(tmp_path, "dev.yaml", DEV.replace("environment: dev\n", ""))
    assert lines(validate_file(dev)) == [
        f"{dev}:1: environment: required: the environment of {tmp_path / 'base.yaml'} (prod) "
        "is not inherited, each stage file names its own"
    ]
    named = write(tmp_path, "dev.yaml", DEV)
    env = validate_file(named).environment
    assert env is not None and env.environment == "dev"


def test_two_entries_overriding_one_base_data_source_are_refused(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE)
    dev = write(tmp_path, "dev.yaml", DEV + "  - description: sales\n    page_size: 9\n")
    result = validate_file(dev)
    assert lines(result) == [
        f"{dev}:{line_of(dev, 'description: sales')}: data_sources[3]: overrides the same data "
        f"source of {base} as data_sources[0]: merge the two entries"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("missing.yaml", "cannot read the base file {dir}/missing.yaml: No such file or directory"),
        ("sub", "cannot read the base file {dir}/sub: Is a directory"),
        ("/etc/base.yaml", "'/etc/base.yaml' must be a path relative to this file"),
        (
            "https://example.com/base.yaml",
            "'https://example.com/base.yaml' must be a path relative",
        ),
        ("~/base.yaml", "'~/base.yaml' must be a path relative to this file"),
        ("''", "must be the path of a base environment file, relative to this file"),
        ("[base.yaml]", "must be the path of a base environment file, relative to this file"),
        ("dev.yaml", "extends a file that extends it back (dev.yaml -> dev.yaml): remove one"),
    ],
)
def test_a_base_that_cannot_be_used_is_refused_at_the_extends_line(
    tmp_path: Path, value: str, message: str
) -> None:
    (tmp_path / "sub").mkdir()
    dev = write(
        tmp_path,
        "dev.yaml",
        "environment: dev\n"
        + DEV.replace("extends: base.yaml", f"extends: {value}").replace(
            "environment: dev\n", "", 1
        ),
    )
    result = validate_file(dev)
    assert len(result.problems) == 1, lines(result)
    problem = result.problems[0]
    assert (problem.file, problem.line, problem.path) == (str(dev), 2, "extends")
    assert problem.message.startswith(message.format(dir=tmp_path))
    assert not result.unreadable  # the file itself was read: invalid (exit 1), not usage


def test_a_cycle_through_several_files_is_named(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: c.yaml\n")
    c = write(tmp_path, "c.yaml", "data_sources: []\nextends: a.yaml\n")
    dev = write(tmp_path, "dev.yaml", "environment: dev\nextends: a.yaml\n")
    assert lines(validate_file(dev)) == [
        f"{c}:2: extends: extends a file that extends it back (a.yaml -> b.yaml -> c.yaml -> "
        "a.yaml): remove one of the extends"
    ]


def test_chains_are_limited(tmp_path: Path) -> None:
    for index in range(MAX_DEPTH + 1):
        write(tmp_path, f"l{index}.yaml", f"extends: l{index + 1}.yaml\n")
    write(tmp_path, f"l{MAX_DEPTH + 1}.yaml", "defaults: {}\n")
    result = validate_file(tmp_path / "l0.yaml")
    assert [p.message for p in result.problems] == [
        f"more than {MAX_DEPTH} files extend one another: flatten the chain"
    ]
    assert result.problems[0].file == str(tmp_path / f"l{MAX_DEPTH - 1}.yaml")


def test_a_broken_base_is_reported_in_the_base(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", "defaults:\n  url: [unclosed\n")
    dev = write(tmp_path, "dev.yaml", DEV)
    (problem,) = validate_file(dev).problems
    assert (problem.file, problem.path) == (str(base), "(document)")
    assert problem.message.startswith("not valid YAML")
    base.write_text("- a list\n")
    assert lines(validate_file(dev)) == [
        f"{base}:1: (document): the base file holds a list; it must be a mapping like an "
        "environment file"
    ]


def test_validate_command_reports_base_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write(
        tmp_path, "base.yaml", BASE.replace("    page_size: 50\n", "    page_size: fifty\n")
    )
    dev = write(tmp_path, "dev.yaml", DEV)
    test = write(tmp_path, "test.yaml", DEV.replace("environment: dev", "environment: test"))
    assert main(["validate", str(dev), str(test)]) == 1
    out, err = capsys.readouterr()
    expected = f"{base}:{line_of(base, 'fifty')}: data_sources[1].page_size: must be a whole number"
    # the base's problem is found through both stage files and reported once
    assert out.splitlines() == [expected]
    assert "2 of 2 files invalid, 1 problem" in err


def test_the_schema_accepts_partial_entries_only_in_files_that_extend(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    stage = yaml.safe_load(DEV)
    validator = jsonschema.Draft202012Validator(json_schema())
    assert validator.is_valid(stage)
    dev = write(tmp_path, "dev.yaml", yaml.safe_dump(stage))
    assert validate_file(dev).valid
    alone = {key: value for key, value in stage.items() if key != "extends"}
    assert not validator.is_valid(alone)
    assert not validate_file(write(tmp_path, "alone.yaml", yaml.safe_dump(alone))).valid
    nameless = {**stage, "data_sources": [{"page_size": 5}]}
    assert not validator.is_valid(nameless)
    assert not validate_file(write(tmp_path, "nameless.yaml", yaml.safe_dump(nameless))).valid


def test_a_stage_without_data_sources_takes_the_base_ones(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    prod = write(
        tmp_path,
        "prod.yaml",
        "extends: base.yaml\nenvironment: prod\ndefaults: {url: https://acme.acumatica.com}\n",
    )
    env = validate_file(prod).environment
    assert env is not None
    assert [s.description for s in env.data_sources] == ["Sales", "Finance", "Stock"]
    assert env.callback_base_url == "https://bi.example.com"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("data_sources", "{}", "must be a list"),
        ("defaults", "[]", "must be a mapping (key: value)"),
        ("vault", "5", "must be a mapping (key: value)"),
    ],
)
def test_a_malformed_base_section_is_reported_even_when_the_stage_has_one(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    base = write(tmp_path, "base.yaml", f"{key}: {value}\n")
    dev = write(tmp_path, "dev.yaml", DEV)
    assert f"{base}:1: {key}: {message}" in lines(validate_file(dev))
