"""examples/gitops: a base plus three stage files, and CI pipelines that work on a fresh runner.

The GitHub Actions workflow is checked by ``actionlint`` (built from the Go module proxy into
the same cache as the Pulumi CLI; it also runs shellcheck on the scripts when shellcheck is on
PATH), both pipelines by the JSON Schemas of their CI systems (vendored in the PyPI package
``check-jsonschema``), and every ``acumatica-ds`` command they run against the command line's
own ``--help``.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from acumatica_datasource.spec import environment_name_mismatch, validate_file
from acumatica_datasource.tooling import GoTool, ToolError, locate_or_build

ROOT = Path(__file__).parents[2]
GITOPS = ROOT / "examples" / "gitops"
GITHUB = GITOPS / ".github" / "workflows" / "acumatica-datasources.yml"
GITLAB = GITOPS / ".gitlab-ci.yml"
STAGES = ("dev", "test", "prod")

ACTIONLINT = GoTool(
    binary="actionlint",
    package="github.com/rhysd/actionlint/cmd/actionlint",
    version="1.7.12",
)
"""actionlint from the Go module proxy (the newest version it serves here)."""


def test_each_stage_extends_the_base() -> None:
    environments = {}
    for stage in STAGES:
        path = GITOPS / "environments" / f"{stage}.yaml"
        result = validate_file(path)
        assert result.environment is not None, [str(p) for p in result.problems]
        assert result.files == [str(path), str(GITOPS / "base.yaml")]
        assert result.environment.environment == stage
        assert environment_name_mismatch(path, stage) is None
        environments[stage] = result.environment
    assert {env.project for env in environments.values()} == {"acme-bi"}
    ids = {
        stage: [s.data_source_id for s in env.data_sources] for stage, env in environments.items()
    }
    assert ids == {
        "dev": ["erp-basic", "erp-oauth", "erp-sandbox"],
        "test": ["erp-basic", "erp-oauth"],
        "prod": ["erp-basic", "erp-oauth"],
    }
    dev, test, prod = (environments[stage] for stage in STAGES)
    assert {s.verification.mode for s in dev.data_sources} == {"warn"}
    assert {s.verification.mode for s in prod.data_sources} == {"strict"}
    assert [s.page_size for s in test.data_sources] == [1000, 10000]
    assert [s.operation_timeout for s in prod.data_sources] == [120, 300]
    assert [s.url for s in prod.data_sources] == ["https://acme.acumatica.com"] * 2
    for env in environments.values():
        assert env.vault is not None and env.vault.address == "https://vault.example.com:8200"
        assert env.vault.namespace == f"team-bi/{env.environment}"


def test_github_workflow_passes_actionlint() -> None:
    if shutil.which("go") is None:
        try:
            program = locate_or_build(ACTIONLINT, build=False, log=lambda _: None)
        except ToolError:
            pytest.skip(
                "Go is not installed, so actionlint cannot be built (the schema check runs)"
            )
    else:
        program = locate_or_build(ACTIONLINT, build=True, log=print)
    result = subprocess.run(
        [str(program), "-no-color", str(GITHUB.relative_to(GITOPS))],
        cwd=GITOPS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("pipeline", "schema"),
    [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")],
    ids=["github", "gitlab"],
)
def test_pipelines_match_their_ci_schemas(pipeline: Path, schema: str) -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", schema, str(pipeline)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def scripts(pipeline: Path) -> list[str]:
    """Every shell script of a pipeline: GitHub ``run`` steps, GitLab (before_)script lines."""
    document = yaml.safe_load(pipeline.read_text())
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "run" and isinstance(value, str):
                    found.append(value)
                elif key in ("script", "before_script", "after_script") and isinstance(value, list):
                    found.extend(str(line) for line in value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    return found


SHELL_OPERATORS = frozenset({">", ">>", "<", "|", "||", "&&", ";", "&", "2>", "2>&1"})


def commands(pipeline: Path, program: str) -> list[list[str]]:
    """The argument lists of every call of ``program`` in a pipeline's scripts (up to a
    redirection, a pipe or the next command)."""
    calls = []
    for script in scripts(pipeline):
        for line in script.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            for start, word in enumerate(words):
                if word == program:
                    arguments = words[start + 1 :]
                    end = next(
                        (i for i, a in enumerate(arguments) if a in SHELL_OPERATORS),
                        len(arguments),
                    )
                    calls.append(arguments[:end])
    return calls


def help_text(*args: str) -> str:
    program = Path(sys.executable).parent / "acumatica-ds"
    result = subprocess.run(
        [str(program), *args, "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


@pytest.mark.parametrize("pipeline", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_every_acumatica_ds_command_of_the_pipelines_exists(pipeline: Path) -> None:
    calls = commands(pipeline, "acumatica-ds")
    assert {call[0] for call in calls} >= {"validate", "preview", "promote"}
    subcommands = set(re.findall(r"^ {4}([a-z][a-z-]*)\s", help_text(), re.MULTILINE))
    assert {"validate", "schema"} <= subcommands
    for call in calls:
        command, arguments = call[0], call[1:]
        assert command in subcommands, f"acumatica-ds {command} does not exist: {call}"
        usage = help_text(command)
        for argument in arguments:
            option = argument.split("=", 1)[0]
            if option.startswith("-"):
                assert re.search(rf"(^|\s){re.escape(option)}\b", usage), (command, option)
            else:
                assert list(GITOPS.glob(argument)), f"{argument} matches no file in {GITOPS}"


@pytest.mark.parametrize("pipeline", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_pipelines_install_acumatica_ds_from_its_repository(pipeline: Path) -> None:
    """No unpublished package name: pip installs a repository URL (through a variable)."""
    installs = commands(pipeline, "pip")
    assert installs, "the pipeline installs nothing with pip"
    variables = yaml.safe_load(pipeline.read_text()).get(
        "env" if pipeline == GITHUB else "variables"
    )
    for arguments in installs:
        assert arguments[0] == "install"
        for requirement in arguments[1:]:
            value = variables.get(requirement.strip("${}"), requirement)
            assert value.startswith("git+https://"), requirement


def test_pipelines_publish_the_ci_reports() -> None:
    """Issue 17: annotations on pull requests, the JUnit report uploaded, the preview's
    Markdown summary posted on the pull (merge) request."""
    github, gitlab = commands(GITHUB, "acumatica-ds"), commands(GITLAB, "acumatica-ds")
    assert ["validate", "--format=github", "environments/*.yaml"] in github
    junit = "--junit=reports/verify-dev.xml"
    assert ["verify", junit, "environments/dev.yaml"] in github
    assert ["verify", junit, "environments/dev.yaml"] in gitlab
    preview = ["preview", "--env", "environments/dev.yaml", "--format=markdown"]
    assert preview in github and preview in gitlab

    workflow = yaml.safe_load(GITHUB.read_text())
    steps = workflow["jobs"]["validate"]["steps"]
    uploads = [step for step in steps if str(step.get("uses", "")).startswith("actions/upload-")]
    assert [step["with"]["path"] for step in uploads] == ["reports/verify-dev.xml"]
    assert workflow["jobs"]["validate"]["permissions"]["pull-requests"] == "write"
    assert any("gh pr comment" in s and "reports/preview.md" in s for s in scripts(GITHUB))

    pipeline = yaml.safe_load(GITLAB.read_text())
    assert pipeline["verify"]["artifacts"]["reports"]["junit"] == "reports/verify-dev.xml"
    assert pipeline["verify"]["artifacts"]["when"] == "always"
    assert any("merge_requests/$CI_MERGE_REQUEST_IID/notes" in s for s in scripts(GITLAB))
