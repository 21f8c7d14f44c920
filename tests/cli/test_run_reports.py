"""CI reports of real runs (issue 17): ``verify`` as JUnit XML and Markdown; ``up``,
``preview``, ``promote``, ``refresh`` and ``destroy`` as Markdown summaries; the summary
appended to ``$GITHUB_STEP_SUMMARY``; against the sandbox, OpenBao and the real Pulumi engine.

Two environments: ``dev`` verifies and deploys; ``test`` reads a wrong password from Vault
and uses a callback base URL that the connected application does not list, so both its data
sources fail verification with what to fix. Every output and file is scanned for the secret
values (right and wrong), and no Acumatica session stays open. Golden files:
``tests/cli/golden/`` (``UPDATE_GOLDEN=1`` rewrites them).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped
from tests.cli.goldens import assert_golden, normalized
from tests.support.e2e import SECRETS, Run, World, e2e_tenant, environment, running_world

from acumatica_datasource.tooling import PulumiCli

WRONG_PASSWORD = "Wrong-Passw0rd-value"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, pulumi_cli: PulumiCli) -> Iterator[World]:
    root = tmp_path_factory.mktemp("reports")
    secrets = {
        "acumatica/e2e": SECRETS,
        "acumatica/e2e-test": {**SECRETS, "password": WRONG_PASSWORD},
    }
    with running_world(root, pulumi_cli, vault_secrets=secrets, tenant=e2e_tenant()) as world:
        world.secrets.add(WRONG_PASSWORD)
        world.extra_env.update(GITHUB_WORKSPACE=str(root), GITHUB_STEP_SUMMARY="")
        world.write_environment("dev", environment(world))
        test = environment(world, "test", callback_base_url="https://bi-test.example.com")
        test["data_sources"][0]["authentication"]["password"]["vault"]["path"] = (
            "acumatica/e2e-test"
        )
        world.write_environment("test", test)
        yield world
        assert world.control.open_sessions() == 0, "a run left an Acumatica session open"


def summary_file(world: World, name: str) -> Path:
    """A fresh ``$GITHUB_STEP_SUMMARY`` for the next commands."""
    path = world.root / f"{name}.summary.md"
    world.extra_env["GITHUB_STEP_SUMMARY"] = str(path)
    return path


def keep(world: World, path: Path) -> str:
    """A file a command wrote, kept for the secret scan."""
    text = path.read_text(encoding="utf-8")
    world.record(Run([str(path)], 0, text, ""))
    return text


def test_verify_writes_junit_per_file_and_the_step_summary(world: World) -> None:
    summary = summary_file(world, "verify")
    junit = world.root / "reports" / "verify.xml"
    dev, test = world.root / "dev.yaml", world.root / "test.yaml"
    run = world.acumatica_ds(
        "verify", str(dev), str(test), "--format", "junit", "--junit", str(junit)
    )
    assert run.code == 1, run.output
    assert "2 of 4 data sources passed" not in run.stdout  # the notes stay on stderr
    written = keep(world, junit)
    assert written == run.stdout, "--junit FILE holds the same report as --format junit"

    xml = JUnitXml.fromstring(written)
    suites = list(xml)
    assert [suite.name for suite in suites] == ["dev.yaml", "test.yaml"]
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (4, 2, 0, 0)
    for suite, environment_name in zip(suites, ("dev", "test"), strict=True):
        assert suite.tests == 2 and suite.time > 0
        cases = list(suite)
        assert [case.classname for case in cases] == [environment_name] * 2
        assert [case.name for case in cases] == ["ERP (Basic)", "ERP (OAuth)"]
        assert all(case.time > 0 for case in cases)
        assert all(re.search(r"^ok +discovery ", case.system_out, re.M) for case in cases)
    passed, _ = suites[0]
    assert passed.is_passed and "callback URL: " not in passed.system_out
    basic, oauth = suites[1]
    (failure,) = basic.result
    assert isinstance(failure, Failure) and failure.message.startswith("login: ")
    assert "Invalid credentials" in failure.message
    (failure,) = oauth.result
    assert isinstance(failure, Failure) and failure.type == "callback_url"
    assert "https://bi-test.example.com/oauth/callback/erp-oauth is not a Redirect URI" in (
        failure.text
    )
    assert "add it in Acumatica" in failure.text  # the fix
    assert not any(isinstance(r, Error | Skipped) for case in (basic, oauth) for r in case.result)
    assert_golden("verify.junit.xml", written)

    markdown = keep(world, summary)
    assert markdown.startswith("### ❌ acumatica-ds verify: 2 of 4 data sources failed\n")

    # --format markdown prints the same summary; --no-summary leaves the file alone
    again = world.acumatica_ds(
        "verify", str(dev), str(test), "--format", "markdown", "--no-summary"
    )
    assert again.code == 1, again.output
    assert keep(world, summary) == markdown
    assert normalized(again.stdout) == normalized(markdown)
    assert_golden("verify.md", again.stdout)
    assert world.secret_hits() == []


@pytest.mark.engine
def test_stack_commands_write_markdown_summaries(world: World) -> None:
    dev, test = world.root / "dev.yaml", world.root / "test.yaml"
    summary = summary_file(world, "up")
    up = world.acumatica_ds("up", "--env", str(dev), "--format", "json")
    assert up.code == 0, up.output
    assert up.result["changes"]["create"] == 2  # JSON on stdout, the summary in the file
    appended = keep(world, summary)
    assert appended.startswith("### ✅ acumatica-ds up dev: succeeded\n")
    assert "- ERP (OAuth): `https://bi.example.com/oauth/callback/erp-oauth`" in appended

    document = environment(world)
    document["data_sources"][0]["page_size"] = 25
    world.write_environment("dev", document)
    summary = summary_file(world, "preview")
    preview = world.acumatica_ds("preview", "--env", str(dev), "--format", "markdown")
    assert preview.code == 0, preview.output
    assert "`page_size`: `10` → `25`" in preview.stdout
    assert keep(world, summary).rstrip() == preview.stdout.rstrip()
    assert_golden("preview.md", preview.stdout)

    summary = summary_file(world, "promote")
    promote = world.acumatica_ds(
        "promote", str(dev), str(test), "--format", "markdown", "--no-summary"
    )
    assert promote.code == 1, promote.output
    assert not summary.exists()
    assert "| ✅ | dev | `dev.yaml` | applied |" in promote.stdout
    assert "| ❌ | test | `test.yaml` | failed |" in promote.stdout
    assert_golden("promote.md", promote.stdout)

    # refresh after the user was locked in Acumatica: the failure and its fix
    world.control.patch_user("nectari", locked=True)
    try:
        refresh = world.acumatica_ds("refresh", "--env", str(dev), "--format", "markdown")
    finally:
        world.control.patch_user("nectari", locked=False)
    assert refresh.code == 1, refresh.output
    assert refresh.stdout.startswith("### ❌ acumatica-ds refresh dev: failed")
    assert "| ❌ | ERP (Basic) `erp-basic` | failed | failed |" in refresh.stdout
    assert "locked" in refresh.stdout

    destroy = world.acumatica_ds("destroy", "--env", str(dev), "--yes", "--format", "markdown")
    assert destroy.code == 0, destroy.output
    assert destroy.stdout.startswith("### ✅ acumatica-ds destroy dev: succeeded\n\n2 deleted\n")
    assert "| 🗑️ | ERP (OAuth) `erp-oauth` | deleted | not run |  |" in destroy.stdout
    assert world.secret_hits() == []


def command_line(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``acumatica-ds ARGS`` with only ``env`` (no servers: the command fails early)."""
    return subprocess.run(
        [sys.executable, "-m", "acumatica_datasource", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_command_that_cannot_start_still_reports(tmp_path: Path) -> None:
    """An invalid file: the JUnit report has one test case in error with every problem, and
    the step summary says why, so a pipeline's reports are never silently empty."""
    bad = tmp_path / "dev.yaml"
    bad.write_text("environment: dev\ndata_sources:\n  - description: ERP\n    page_size: 0\n")
    summary, junit = tmp_path / "summary.md", tmp_path / "verify.xml"
    env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_WORKSPACE": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    run = command_line(env, "verify", str(bad), "--junit", str(junit))
    assert run.returncode == 1, run.stderr
    assert "dev.yaml:4: data_sources[0].page_size: must be at least 1" in run.stderr
    xml = JUnitXml.fromfile(str(junit))
    assert (xml.tests, xml.errors) == (1, 1)
    ((case,),) = (list(suite) for suite in xml)
    (error,) = case.result
    assert isinstance(error, Error) and error.type == "invalid"
    assert "dev.yaml:4: data_sources[0].page_size: must be at least 1" in error.text
    assert summary.read_text().startswith("### ❌ acumatica-ds verify: failed (invalid)\n")
    assert "- `dev.yaml:4`: `data_sources[0].page_size`: must be at least 1" in summary.read_text()

    # no passphrase: the JSON error on stdout, the summary in the file
    summary.unlink()
    env["PULUMI_CONFIG_PASSPHRASE"] = ""
    bad.write_text(
        "environment: dev\ndata_sources:\n  - description: ERP\n"
        "    url: https://acme.acumatica.com\n    company: ACME\n"
        "    authentication: {strategy: basic, username: u, password: {env: ERP_PASSWORD}}\n"
    )
    up = command_line(env, "up", "--env", str(bad), "--format", "json")
    assert up.returncode == 2, up.stderr
    assert '"kind": "environment"' in up.stdout.splitlines()[-1]
    assert summary.read_text().startswith("### ❌ acumatica-ds up: failed (environment)\n")
    assert "PULUMI_CONFIG_PASSPHRASE is empty" in summary.read_text()


def test_verify_of_several_files_reads_them_all_first(tmp_path: Path) -> None:
    """The problems of every invalid file together, before anything is verified; a
    ``--data-source`` that none of the files has is a usage error naming the known ones."""
    source = (
        "data_sources:\n  - description: ERP {n}\n    url: https://acme.acumatica.com\n"
        "    company: ACME\n    page_size: {size}\n"
        "    authentication: {{strategy: basic, username: u, password: {{env: ERP_PASSWORD}}}}\n"
    )
    dev, test = tmp_path / "dev.yaml", tmp_path / "test.yaml"
    dev.write_text("environment: dev\n" + source.format(n=1, size=0))
    test.write_text("environment: test\n" + source.format(n=2, size=-1))
    env = {"PATH": "/usr/bin:/bin"}
    run = command_line(env, "verify", str(dev), str(test), "--format", "json")
    assert run.returncode == 1, run.stderr
    problems = [(p["file"], p["path"]) for p in json.loads(run.stdout)["error"]["problems"]]
    assert problems == [
        (str(dev), "data_sources[0].page_size"),
        (str(test), "data_sources[0].page_size"),
    ]
    dev.write_text("environment: dev\n" + source.format(n=1, size=10))
    test.write_text("environment: test\n" + source.format(n=2, size=10))
    run = command_line(env, "verify", str(dev), str(test), "--data-source", "ERP 3")
    assert run.returncode == 2, run.stderr
    assert "no data source erp 3; known: ERP 1, ERP 2" in run.stderr
