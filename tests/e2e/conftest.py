"""End-to-end fixtures: the real Pulumi engine driven by ``acumatica-ds``, the sandbox and
OpenBao, each started on free loopback ports and stopped by process id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.openbao import OpenBaoServer, running_openbao
from tests.support.pulumi_engine import collect_abandoned_programs, locate_cli
from tests.support.sandbox import Control, running_sandbox

from acumatica_datasource.cli.pulumi_cli import PulumiCli
from acumatica_datasource.sandbox import Sandbox

PASSPHRASE = "e2e-passphrase"
SECRETS = {"password": "E2e-Passw0rd-value", "client_secret": "E2e-Client-Secret-value"}
CLIENT_ID = "88358B02-A48D-A50E-F710-39C1636C30F6@ACME"


@dataclass
class Run:
    """The outcome of one ``acumatica-ds`` command."""

    args: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        """The JSON object on the last stdout line (``--format json``)."""
        return dict(json.loads(self.stdout.strip().splitlines()[-1]))


@dataclass
class World:
    """Everything a scenario needs: servers, a state directory, and the secrets in play."""

    root: Path
    sandbox: Sandbox
    vault: OpenBaoServer
    cli: PulumiCli
    runs: list[Run] = field(default_factory=list)

    @property
    def control(self) -> Control:
        return Control(self.sandbox.url)

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def env(self) -> dict[str, str]:
        private = ("PULUMI_", "VAULT_", "BAO_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(private)}
        env.update(
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            VAULT_ADDR=self.vault.address,
            VAULT_TOKEN="root",
            ACUMATICA_DS_STATE_DIR=str(self.state_dir),
            PYTHONPATH=str(Path(__file__).parents[2]),
        )
        return env

    def write_environment(self, name: str, document: dict[str, Any]) -> Path:
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    def acumatica_ds(self, *args: str) -> Run:
        done = subprocess.run(
            [sys.executable, "-m", "acumatica_datasource", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        run = Run(list(args), done.returncode, done.stdout, done.stderr)
        self.runs.append(run)
        assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
        return run

    def state_texts(self) -> list[str]:
        """The raw checkpoint files and `pulumi stack export` of every stack."""
        texts = [p.read_text() for p in (self.state_dir / ".pulumi").rglob("*.json")]
        workspaces = self.state_dir / ".workspaces"
        for workspace in workspaces.iterdir() if workspaces.exists() else []:
            env = {**self.env(), "PULUMI_BACKEND_URL": f"file://{self.state_dir}"}
            env["PULUMI_HOME"] = str(self.state_dir / ".pulumi-home")
            exported = subprocess.run(
                [str(self.cli.pulumi), "stack", "export", "--stack", workspace.name],
                cwd=workspace,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            texts.append(exported.stdout + exported.stderr)
        return texts

    def secret_hits(self) -> list[str]:
        """Secret values found in state, exports and every command's output."""
        haystacks = self.state_texts() + [r.stdout + r.stderr for r in self.runs]
        secrets = set(SECRETS.values()) | self.vault.sensitive - {"root"}
        return sorted({s for s in secrets for text in haystacks if s in text})


@pytest.fixture(scope="session")
def pulumi_cli() -> PulumiCli:
    return locate_cli()


@pytest.fixture
def world(tmp_path: Path, pulumi_cli: PulumiCli) -> Iterator[World]:
    """Sandbox + OpenBao with the quickstart-like secrets; checks no session is left open."""
    overrides = {
        "tenant": {
            "users": [{"name": "nectari", "password": SECRETS["password"]}],
            "connected_apps": [
                {
                    "client_id": CLIENT_ID,
                    "name": "Nectari",
                    "flow": "authorization_code",
                    "secrets": [SECRETS["client_secret"]],
                    "redirect_uris": [
                        "https://bi.example.com/oauth/callback/erp-oauth",
                    ],
                }
            ],
        }
    }
    with running_sandbox(**overrides) as sandbox, running_openbao(tmp_path / "openbao") as vault:
        vault.put("acumatica/e2e", SECRETS)
        world = World(tmp_path, sandbox, vault, pulumi_cli)
        yield world
        assert world.control.open_sessions() == 0, "a scenario left an Acumatica session open"
    collect_abandoned_programs()


def environment(world: World, name: str = "dev", **changes: Any) -> dict[str, Any]:
    """A Basic and an OAuth data source against the world's sandbox, secrets in Vault."""
    document: dict[str, Any] = {
        "environment": name,
        "callback_base_url": "https://bi.example.com",
        "defaults": {"url": world.sandbox.url, "company": "ACME", "page_size": 10},
        "data_sources": [
            {
                "description": "ERP (Basic)",
                "id": "erp-basic",
                "authentication": {
                    "strategy": "basic",
                    "username": "nectari",
                    "password": {"vault": {"path": "acumatica/e2e", "key": "password"}},
                },
            },
            {
                "description": "ERP (OAuth)",
                "id": "erp-oauth",
                "authentication": {
                    "strategy": "oauth2",
                    "client_id": CLIENT_ID,
                    "client_secret": {"vault": {"path": "acumatica/e2e", "key": "client_secret"}},
                },
            },
        ],
    }
    document.update(changes)
    return document
