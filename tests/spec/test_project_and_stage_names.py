"""The optional Pulumi ``project`` of an environment file, and the rule that tells whether a
file's name and its ``environment`` disagree (a stage file copied from another stage)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.spec.support import check, environment, only_problem

from acumatica_datasource.spec import (
    DEFAULT_PROJECT,
    environment_name_mismatch,
    project_problem,
    validate_file,
)


def test_project_defaults_to_the_historic_project_name() -> None:
    result = check(environment())
    assert result.environment is not None
    assert result.environment.project == DEFAULT_PROJECT == "acumatica-datasources"


@pytest.mark.parametrize("name", ["bi-acme", "BI_Acme.2", "a", "x" * 100, "-", "_a.b-c"])
def test_valid_project_names(name: str) -> None:
    result = check(environment(project=name))
    assert result.environment is not None, [str(p) for p in result.problems]
    assert result.environment.project == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bi acme", "must be 1-100 letters, digits, dashes, underscores or periods"),
        ("bi/acme", "must be 1-100 letters, digits, dashes, underscores or periods"),
        ("", "must be 1-100 letters, digits, dashes, underscores or periods"),
        ("x" * 101, "must be at most 100 long"),
        ("..", "must not be made of periods only"),
        (".", "must not be made of periods only"),
        (5, "must be text"),
    ],
)
def test_invalid_project_names(name: object, message: str) -> None:
    path, text = only_problem(check(environment(project=name)))
    assert path == "project"
    assert text.startswith(message)


@pytest.mark.parametrize(
    ("file", "environment"),
    [
        ("prod.yaml", "prod"),
        ("environments/PROD.yml", "prod"),
        ("production.yaml", "prod"),
        ("prod.yaml", "production"),
        ("dev.yaml", "development"),
        ("staging.yaml", "stage"),
        ("prod.env.yaml", "prod"),
        ("prod-environment.yaml", "prod"),
        ("environment.prod.yaml", "prod"),
        ("prod-eu.yaml", "prod-eu"),
        ("acme_dev.yaml", "acme-dev"),
        # names without a stage word have no opinion
        ("environment.yaml", "quickstart"),
        ("basic.yaml", "dev"),
        ("erp-acme.yaml", "prod"),
        ("base.yaml", "dev"),
    ],
)
def test_names_that_agree_or_name_no_stage(file: str, environment: str) -> None:
    assert environment_name_mismatch(file, environment) is None


@pytest.mark.parametrize(
    ("file", "environment", "stage"),
    [
        ("prod.yaml", "dev", "prod"),
        ("environments/production.yaml", "test", "prod"),
        ("test.yml", "prod", "test"),
        ("prod-eu.yaml", "prod", "prod-eu"),
        ("acme-dev.yaml", "acme-prod", "acme-dev"),
        ("uat.yaml", "qa", "uat"),
    ],
)
def test_names_that_disagree(file: str, environment: str, stage: str) -> None:
    message = environment_name_mismatch(file, environment)
    assert message is not None
    name = file.rsplit("/", 1)[-1]
    assert message.startswith(f"{name} is named for stage '{stage}' but says environment: ")
    assert message.endswith("correct environment or rename the file")


def test_project_problem_applies_the_rule_of_the_project_key() -> None:
    assert project_problem("bi-acme") is None
    for name in ("bi acme", "..", "x" * 101):
        problem = project_problem(name)
        checked = only_problem(check(environment(project=name)))
        assert problem == checked[1], name


def test_a_valid_file_tells_whether_its_name_disagrees_with_its_environment(
    tmp_path: Path,
) -> None:
    text = "# copied from dev.yaml\nenvironment: dev\ndata_sources: []\n"
    (tmp_path / "prod.yaml").write_text(text)
    (tmp_path / "dev.yaml").write_text(text)
    problem = validate_file(tmp_path / "prod.yaml").name_mismatch()
    assert problem is not None
    assert (problem.file, problem.line, problem.path) == (
        str(tmp_path / "prod.yaml"),
        2,
        "environment",
    )
    assert problem.message.startswith("prod.yaml is named for stage 'prod'")
    assert validate_file(tmp_path / "dev.yaml").name_mismatch() is None
