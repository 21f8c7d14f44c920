"""The example programs run through the real engine: examples/python-program and the root
Pulumi.yaml program (pulumi_program/), against the sandbox with secrets in OpenBao."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.support.openbao import OpenBaoServer, running_openbao
from tests.support.pulumi_engine import (
    EngineSandbox,
    collect_abandoned_programs,
    engine_sandbox,
    locate_cli,
)
from tests.support.sandbox import Control, running_sandbox

from acumatica_datasource.sandbox import Sandbox

pytestmark = pytest.mark.engine

ROOT = Path(__file__).parents[2]
SECRETS = {
    "password": "Example-Passw0rd",
    "client_secret": "Example-Client-Secret",
    "probe_client_secret": "Example-Probe-Secret",
}
BI_CLIENT = "88358B02-A48D-A50E-F710-39C1636C30F6@ACME"
PROBE_CLIENT = "5D4C3B2A-1F0E-4D9C-8B7A-6E5F4D3C2B1A@ACME"


@pytest.fixture
def site() -> Iterator[Sandbox]:
    tenant = {
        "users": [{"name": "nectari", "password": SECRETS["password"]}],
        "connected_apps": [
            {
                "client_id": BI_CLIENT,
                "name": "Nectari",
                "flow": "authorization_code",
                "secrets": [SECRETS["client_secret"]],
                "redirect_uris": ["https://bi.example.com/oauth/callback/erp-oauth"],
            },
            {
                "client_id": PROBE_CLIENT,
                "name": "Probe",
                "flow": "password",
                "secrets": [SECRETS["probe_client_secret"]],
            },
        ],
    }
    with running_sandbox(tenant=tenant) as sandbox:
        yield sandbox
        assert Control(sandbox.url).open_sessions() == 0


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[OpenBaoServer]:
    with running_openbao(tmp_path / "openbao") as server:
        server.put("acumatica/dev", SECRETS)
        yield server


@pytest.fixture
def engine(tmp_path: Path, vault: OpenBaoServer) -> Iterator[EngineSandbox]:
    sandbox = engine_sandbox(locate_cli(), tmp_path / "engine")
    sandbox.env.update(VAULT_ADDR=vault.address, VAULT_TOKEN="root")
    yield sandbox
    collect_abandoned_programs()


def test_python_program_example(
    engine: EngineSandbox, site: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACUMATICA_URL", site.url)
    monkeypatch.syspath_prepend(str(ROOT / "examples" / "python-program"))
    sys.modules.pop("program", None)
    from program import program  # the example's own module

    stack = engine.stack(program, project_name="acumatica-python-program")
    outputs = stack.up().outputs
    assert outputs["callback_url"].value == "https://bi.example.com/oauth/callback/erp-oauth"
    assert outputs["basic_verification"].value == "ok"
    assert outputs["oauth_verification"].value == "ok"
    stack.destroy()


def test_root_pulumi_program(engine: EngineSandbox, site: Sandbox, tmp_path: Path) -> None:
    environment = {
        "environment": "dev",
        "data_sources": [
            {
                "description": "ERP",
                "url": site.url,
                "company": "ACME",
                "authentication": {
                    "strategy": "basic",
                    "username": "nectari",
                    "password": {"vault": {"path": "acumatica/dev", "key": "password"}},
                },
            }
        ],
    }
    path = tmp_path / "dev.yaml"
    path.write_text(yaml.safe_dump(environment))

    def program() -> None:
        runpy.run_path(str(ROOT / "pulumi_program" / "__main__.py"))

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
    stack = engine.stack(program, project_name=project)
    stack.set_config("acumatica:environmentFile", auto_config(str(path)))
    outputs = stack.up().outputs
    assert outputs["data_sources"].value == {
        "erp": {"description": "ERP", "verification": "ok", "callback_url": None}
    }
    published = outputs["erp"]  # each data source is a stack output named by its id
    assert not published.secret
    assert published.value["data_source_id"] == "erp"
    assert published.value["verification"]["status"] == "ok"
    assert published.value["connection_string_template"].startswith(f"URL={site.url};")
    assert "connection_strings" not in outputs  # none exposes its connection string
    stack.destroy()


def auto_config(value: str) -> object:
    from pulumi import automation as auto

    return auto.ConfigValue(value=value)


def run_example(directory: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python run.py ARGS`` in ``directory``, as a user would, without their Pulumi settings."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "VAULT_"))}
    return subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=directory,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_python_program_runs_from_a_fresh_clone(tmp_path: Path, pulumi_cli: object) -> None:
    """A fresh clone has no .state directory: preview must create it, not fail with a
    traceback; missing settings and bad arguments are clear messages too."""
    example = tmp_path / "python-program"
    shutil.copytree(ROOT / "examples" / "python-program", example)
    home = str(tmp_path / "pulumi-home")
    preview = run_example(example, "preview", PULUMI_CONFIG_PASSPHRASE="x", PULUMI_HOME=home)
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "Traceback" not in preview.stdout + preview.stderr
    assert "erp-oauth" in preview.stdout
    assert (example / ".state").is_dir()

    no_passphrase = run_example(example, "preview", PULUMI_HOME=home)
    assert no_passphrase.returncode == 2
    assert "PULUMI_CONFIG_PASSPHRASE is not set" in no_passphrase.stderr
    bad = run_example(example, "deploy", PULUMI_CONFIG_PASSPHRASE="x", PULUMI_HOME=home)
    assert bad.returncode == 2
    assert "invalid choice: 'deploy'" in bad.stderr
    for result in (no_passphrase, bad):
        assert "Traceback" not in result.stdout + result.stderr
