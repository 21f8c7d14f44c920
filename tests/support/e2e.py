"""Helpers for tests that run ``acumatica-ds`` through the real Pulumi engine against the
sandbox and OpenBao (tests/e2e, tests/resilience).

Import as ``from tests.support.e2e import ...``.

* :class:`World` - a sandbox, an OpenBao dev server and a state directory;
  :meth:`World.acumatica_ds` runs the command line in a subprocess (and asserts no traceback),
  :meth:`World.secret_hits` scans the raw state, ``pulumi stack export`` and every command's
  output for secret values in every echo encoding, :meth:`World.resources` reads the recorded
  data sources.
* :func:`running_world` - a started world, its servers stopped by process id on exit.
* :func:`environment` - a Basic and an OAuth data source document against a world.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tests.support.echoes import found_forms
from tests.support.openbao import OpenBaoServer, running_openbao
from tests.support.sandbox import Control, running_sandbox

from acumatica_datasource.resource import TYPE_TOKEN
from acumatica_datasource.sandbox import Sandbox
from acumatica_datasource.spec import DEFAULT_PROJECT
from acumatica_datasource.tooling import PulumiCli

PASSPHRASE = "e2e-passphrase"
SECRETS = {"password": "E2e-Passw0rd-value", "client_secret": "E2e-Client-Secret-value"}
CLIENT_ID = "88358B02-A48D-A50E-F710-39C1636C30F6@ACME"
CALLBACK_BASE_URL = "https://bi.example.com"
REPO_ROOT = Path(__file__).resolve().parents[2]


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

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class World:
    """Everything a scenario needs: servers, a state directory, and the secrets in play."""

    root: Path
    sandbox: Sandbox
    vault: OpenBaoServer
    cli: PulumiCli
    runs: list[Run] = field(default_factory=list)
    vault_token: str = "root"
    secrets: set[str] = field(default_factory=lambda: set(SECRETS.values()))
    """Secret values to look for besides those written through the OpenBao helper."""
    extra_env: dict[str, str] = field(default_factory=dict)
    """More variables for the commands, e.g. ``PULUMI_BACKEND_URL`` of a PostgreSQL backend
    and its ``PGPASSWORD`` (the state directory's file backend without one)."""

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
            VAULT_TOKEN=self.vault_token,
            ACUMATICA_DS_STATE_DIR=str(self.state_dir),
            PYTHONPATH=str(REPO_ROOT),
        )
        env.update(self.extra_env)
        return env

    def write_environment(self, name: str, document: dict[str, Any]) -> Path:
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    def command(self, *args: str) -> list[str]:
        """The argv of ``acumatica-ds ARGS`` (run with :meth:`env`)."""
        return [sys.executable, "-m", "acumatica_datasource", *args]

    def record(self, run: Run) -> Run:
        """Keep a run's output for :meth:`secret_hits` (and figures)."""
        self.runs.append(run)
        return run

    def acumatica_ds(self, *args: str, timeout: float = 300) -> Run:
        done = subprocess.run(
            self.command(*args),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        run = self.record(Run(list(args), done.returncode, done.stdout, done.stderr))
        assert "Traceback" not in run.output, run.output
        return run

    # --- state --------------------------------------------------------------------------------

    def pulumi_env(self) -> dict[str, str]:
        env = {"PULUMI_BACKEND_URL": f"file://{self.state_dir}", **self.env()}
        env["PULUMI_HOME"] = str(self.state_dir / ".pulumi-home")
        env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
        return env

    def workspace(self, stack: str, project: str = DEFAULT_PROJECT) -> Path:
        """The local workspace ``acumatica-ds`` keeps for a stack of a project."""
        return self.state_dir / ".workspaces" / project / stack

    def workspaces(self) -> list[Path]:
        """Every stack's workspace (``.workspaces/PROJECT/STACK``)."""
        return sorted(p for p in (self.state_dir / ".workspaces").glob("*/*") if p.is_dir())

    def export(self, stack: str, project: str = DEFAULT_PROJECT) -> dict[str, Any]:
        """``pulumi stack export`` of ``stack`` (the deployment's JSON)."""
        exported = subprocess.run(
            [str(self.cli.pulumi), "stack", "export", "--stack", stack],
            cwd=self.workspace(stack, project),
            env=self.pulumi_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, Any] = json.loads(exported.stdout)
        return result

    def resources(self, stack: str, project: str = DEFAULT_PROJECT) -> dict[str, dict[str, Any]]:
        """The recorded data sources of ``stack`` by id: their inputs and outputs."""
        deployment = self.export(stack, project).get("deployment") or {}
        return {
            str(r["urn"]).rsplit("::", 1)[-1]: {
                "inputs": r.get("inputs"),
                "outputs": r.get("outputs"),
            }
            for r in deployment.get("resources") or []
            if r.get("type") == TYPE_TOKEN
        }

    def state_texts(self) -> list[str]:
        """The raw checkpoint files (of a file backend) and `pulumi stack export` of every
        stack."""
        texts = [p.read_text() for p in (self.state_dir / ".pulumi").rglob("*.json")]
        for workspace in self.workspaces():
            exported = subprocess.run(
                [str(self.cli.pulumi), "stack", "export", "--stack", workspace.name],
                cwd=workspace,
                env=self.pulumi_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            texts.append(exported.stdout + exported.stderr)
        return texts

    def engine_logs(self) -> list[str]:
        """The engine's own log files (``PULUMI_HOME/logs``) as text: the per-command ones are
        gzipped, the per-update ones encrypted with the stack's passphrase (PLOG), which
        ``pulumi logs decrypt`` reads."""
        texts = []
        for path in sorted((self.state_dir / ".pulumi-home" / "logs").glob("*.log")):
            if "logs_decrypt" in path.name:  # the logs of the decryptions themselves
                continue
            data = path.read_bytes()
            if data.startswith(b"PLOG"):
                decrypted = subprocess.run(
                    [str(self.cli.pulumi), "logs", "decrypt", str(path)],
                    cwd=self.state_dir,
                    env=self.pulumi_env(),
                    capture_output=True,
                    check=False,
                )
                assert decrypted.returncode == 0, decrypted.stderr.decode(errors="replace")
                data = decrypted.stdout
            elif data.startswith(b"\x1f\x8b"):  # gzip, possibly still being written
                data = zlib.decompressobj(wbits=31).decompress(data)
            texts.append(data.decode(errors="replace"))
        return texts

    def secret_hits(self) -> list[str]:
        """Secret values found in state, exports, engine logs and every command's output, in
        any encoding a server may echo them in (:mod:`tests.support.echoes`: raw, the JSON
        dialects, URL and form encodings, base64 of ``user:password``)."""
        haystacks = self.state_texts() + self.engine_logs() + [r.output for r in self.runs]
        secrets = sorted((self.secrets | self.vault.sensitive) - {"root", ""})
        return sorted(found_forms(secrets, haystacks))


def files_under(directory: Path) -> list[str]:
    """The text of every file under ``directory`` (binary bytes replaced), for secret scans."""
    return [p.read_bytes().decode(errors="replace") for p in directory.rglob("*") if p.is_file()]


@contextlib.contextmanager
def running_world(
    root: Path,
    cli: PulumiCli,
    *,
    vault_secrets: dict[str, dict[str, str]] | None = None,
    **sandbox_overrides: Any,
) -> Iterator[World]:
    """A sandbox (the built-in config with ``sandbox_overrides``) and OpenBao holding
    ``vault_secrets`` (path -> data; default ``acumatica/e2e`` = :data:`SECRETS`)."""
    with (
        running_sandbox(**sandbox_overrides) as sandbox,
        running_openbao(root / "openbao") as vault,
    ):
        for path, data in (vault_secrets or {"acumatica/e2e": SECRETS}).items():
            vault.put(path, data)
        yield World(root, sandbox, vault, cli)


def e2e_tenant() -> dict[str, Any]:
    """Sandbox overrides: the quickstart-like user and application with :data:`SECRETS`."""
    return {
        "users": [{"name": "nectari", "password": SECRETS["password"]}],
        "connected_apps": [
            {
                "client_id": CLIENT_ID,
                "name": "Nectari",
                "flow": "authorization_code",
                "secrets": [SECRETS["client_secret"]],
                "redirect_uris": [f"{CALLBACK_BASE_URL}/oauth/callback/erp-oauth"],
            }
        ],
    }


def environment(world: World, name: str = "dev", **changes: Any) -> dict[str, Any]:
    """A Basic and an OAuth data source against the world's sandbox, secrets in Vault."""
    document: dict[str, Any] = {
        "environment": name,
        "callback_base_url": CALLBACK_BASE_URL,
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
