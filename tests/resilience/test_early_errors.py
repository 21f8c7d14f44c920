"""Early errors (issue 11, points 4 and 5): with ``--format json`` every command's last stdout
line is one JSON object, also when it fails before the engine runs, and environmental problems
exit 2 with a plain message (never "internal error ... this is a bug").

These fail before any server is contacted, so no sandbox, Vault or engine is started: each case
runs ``acumatica-ds`` in a subprocess and checks the exit code, the JSON and stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.resilience.conftest import Collector
from tests.resilience.support import Figures
from tests.support.e2e import REPO_ROOT, Run

pytestmark = pytest.mark.slow

STACK_COMMANDS = ("preview", "up", "refresh", "destroy")
ENGINE_COMMANDS = (*STACK_COMMANDS, "promote")
DOCUMENT = {
    "environment": "dev",
    "defaults": {"url": "https://acme.acumatica.com", "company": "ACME"},
    "data_sources": [
        {
            "description": "ERP",
            "authentication": {
                "strategy": "basic",
                "username": "nectari",
                "password": {"env": "ERP_PASSWORD"},
            },
        }
    ],
}


@pytest.fixture(scope="module")
def figures(request: pytest.FixtureRequest, collector: Collector) -> Iterator[Figures]:
    found = collector.scenario("early errors: JSON and exit codes before the engine")
    failed_before, started = request.session.testsfailed, time.monotonic()
    yield found
    found.verdict_correct = request.session.testsfailed == failed_before
    found.seconds = round(time.monotonic() - started, 1)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    valid = tmp_path / "dev.yaml"
    valid.write_text(yaml.safe_dump(DOCUMENT, sort_keys=False))
    invalid = tmp_path / "broken.yaml"
    broken = {**DOCUMENT, "defaults": {"url": "https://acme.acumatica.com"}}  # no company
    invalid.write_text(yaml.safe_dump(broken, sort_keys=False))
    return {"valid": str(valid), "invalid": str(invalid), "missing": str(tmp_path / "nope.yaml")}


def run(
    figures: Figures, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[Run, dict[str, Any]]:
    """Run ``acumatica-ds ARGS --format json``; return the run and its last stdout line."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "ACUMATICA_DS_"))}
    base.update(
        PULUMI_CONFIG_PASSPHRASE="early-errors",
        ACUMATICA_DS_STATE_DIR=str(tmp_path / "state"),
        PYTHONPATH=str(REPO_ROOT),
    )
    base.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "acumatica_datasource", *args, "--format", "json"],
        env={k: v for k, v in base.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    figures.runs += 1
    figures.failed_runs += done.returncode != 0
    result = Run(list(args), done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in result.output, result.output
    assert "internal error" not in result.output, result.output
    lines = done.stdout.strip().splitlines()
    assert lines, f"no JSON on stdout: {result.output}"
    return result, json.loads(lines[-1])


def assert_error(document: dict[str, Any], command: str | None, kind: str) -> None:
    assert document["version"] == 1, document
    assert document["status"] == "failed" and document["succeeded"] is False, document
    assert document["command"] == command, document
    assert document["error"]["kind"] == kind, document
    assert document["error"]["message"], document


def args_for(command: str, file: str) -> list[str]:
    return [command, file] if command in ("verify", "promote") else [command, "--env", file]


@pytest.mark.parametrize("command", ["verify", "up", "promote"])
def test_bad_option(figures: Figures, tmp_path: Path, files: dict[str, str], command: str) -> None:
    done, document = run(figures, tmp_path, *args_for(command, files["valid"]), "--bogus")
    assert done.code == 2, done.output
    assert_error(document, None, "usage")
    assert "--bogus" in document["error"]["message"]
    assert "usage:" in done.stderr


@pytest.mark.parametrize("command", ["verify", *ENGINE_COMMANDS])
def test_invalid_and_missing_files(
    figures: Figures, tmp_path: Path, files: dict[str, str], command: str
) -> None:
    done, document = run(figures, tmp_path, *args_for(command, files["invalid"]))
    assert done.code == 1, done.output
    assert_error(document, command, "invalid")
    problems = document["error"]["problems"]
    assert any(p["path"].endswith("company") and p["line"] for p in problems), problems
    if command not in ("verify", "up", "promote"):
        return  # the same path as for up
    done, document = run(figures, tmp_path, *args_for(command, files["missing"]))
    assert done.code == 2, done.output
    assert_error(document, command, "usage")
    assert "nope.yaml" in document["error"]["message"]


@pytest.mark.parametrize("command", ["verify", *ENGINE_COMMANDS])
def test_malformed_sessions_per_site(
    figures: Figures, tmp_path: Path, files: dict[str, str], command: str
) -> None:
    done, document = run(
        figures,
        tmp_path,
        *args_for(command, files["valid"]),
        env={"ACUMATICA_DS_SESSIONS_PER_SITE": "two"},
    )
    assert done.code == 2, done.output
    assert_error(document, command, "environment")
    assert "ACUMATICA_DS_SESSIONS_PER_SITE" in document["error"]["message"], document


@pytest.mark.parametrize("command", ["up", "promote"])
def test_missing_passphrase(
    figures: Figures, tmp_path: Path, files: dict[str, str], command: str
) -> None:
    arguments = args_for(command, files["valid"])
    done, document = run(figures, tmp_path, *arguments, env={"PULUMI_CONFIG_PASSPHRASE": None})
    assert done.code == 2, done.output
    assert_error(document, command, "environment")
    assert "PULUMI_CONFIG_PASSPHRASE" in document["error"]["message"]
    if command == "promote":
        (entry,) = document["environments"]
        assert entry["status"] == "failed" and entry["error"]["kind"] == "environment", entry


def fresh_runner(tmp_path: Path) -> dict[str, str]:
    """A CI runner with neither ``pulumi`` nor ``go``, and an empty cache."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    return {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "HOME": str(tmp_path / "home"),
    }


@pytest.mark.parametrize("command", ["preview", "up"])
def test_no_pulumi_cli_and_no_go(
    figures: Figures, tmp_path: Path, files: dict[str, str], command: str
) -> None:
    done, document = run(
        figures, tmp_path, *args_for(command, files["valid"]), env=fresh_runner(tmp_path)
    )
    assert done.code == 2, done.output
    assert_error(document, command, "environment")
    assert "Install the Pulumi CLI" in document["error"]["message"], document
    assert "Install the Pulumi CLI" in done.stderr


@pytest.mark.usefixtures("pulumi_cli")  # the CLI is located before the state is prepared
def test_unwritable_state_directory(
    figures: Figures, tmp_path: Path, files: dict[str, str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done, document = run(
        figures, tmp_path, "up", "--env", files["valid"], "--state", str(blocker / "state")
    )
    assert done.code == 2, done.output
    assert_error(document, "up", "environment")
    assert "state directory" in document["error"]["message"], document
