"""examples/yaml-program through the plain Pulumi CLI, as a user runs it: the YAML language
host and the provider plugin ``pulumi-resource-acumatica`` (found through the example's
``plugins.providers``), against the sandbox with secrets in OpenBao. After every command: no
open Acumatica session; at the end: no secret value in any command's output or in the state.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.openbao import OpenBaoServer, running_openbao
from tests.support.pulumi_engine import command_line, descendants, kill_pids
from tests.support.sandbox import (
    CODE_CLIENT_ID,
    PASSWORD_CLIENT_ID,
    Control,
    running_sandbox,
)

from acumatica_datasource.sandbox import Sandbox
from acumatica_datasource.tooling import PulumiCli, ensure_yaml_language_host

pytestmark = [pytest.mark.engine, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "yaml-program"
PASSPHRASE = "yaml-e2e-passphrase"
VAULT_TOKEN = "root"
SECRETS = {
    "password": "Yaml-Passw0rd-4e7c1a",
    "client_secret": "Yaml-Client-Secret-9b2d",
    "probe_client_secret": "Yaml-Probe-Secret-63f0",
}
VAULT_PATH = "acumatica/yaml"
ROTATED = "Yaml-Client-Secret-rotated-5a1e"
BASIC_URN = "urn:pulumi:dev::acumatica-yaml::acumatica:index:DataSource::erp-basic"
CALLBACK_URL = "https://bi.example.com/oauth/callback/erp-oauth"


@dataclass
class Project:
    """A copy of the example (with the virtual environment beside it, where its
    ``plugins.providers`` path points) and the plain ``pulumi`` CLI to run in it."""

    directory: Path
    cli: PulumiCli
    env: dict[str, str]
    control: Control
    outputs: list[str] = field(default_factory=list)

    def pulumi(self, *args: str, expect: int | None = 0, timeout: float = 300) -> str:
        done = subprocess.run(
            [str(self.cli.pulumi), *args, "--non-interactive", "--color", "never"],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = done.stdout + done.stderr
        self.outputs.append(output)
        if expect is not None:
            assert done.returncode == expect, f"pulumi {' '.join(args)}:\n{output}"
        assert "Traceback" not in output and 'File "' not in output, output
        assert self.control.open_sessions() == 0, f"pulumi {' '.join(args)} left a session"
        return output

    def state(self) -> dict[str, dict[str, Any]]:
        """The recorded data sources by name: inputs and outputs (secrets encrypted)."""
        exported = yaml.safe_load(self.pulumi("stack", "export"))
        return {
            str(r["urn"]).rsplit("::", 1)[-1]: r
            for r in exported["deployment"].get("resources") or []
            if r["type"] == "acumatica:index:DataSource"
        }

    def state_texts(self) -> list[str]:
        return [p.read_text() for p in (self.directory.parent / "state").rglob("*.json")]


@pytest.fixture(scope="session")
def yaml_host(pulumi_cli: PulumiCli) -> Path:
    """The YAML language host (built once into the cache when Pulumi did not ship one)."""
    return ensure_yaml_language_host(pulumi_cli, build=True)


@pytest.fixture
def site() -> Iterator[Sandbox]:
    tenant = {
        "users": [{"name": "nectari", "password": SECRETS["password"]}],
        "connected_apps": [
            {
                "client_id": CODE_CLIENT_ID,
                "name": "Nectari",
                "flow": "authorization_code",
                "secrets": [SECRETS["client_secret"]],
                "redirect_uris": [CALLBACK_URL],
            },
            {
                "client_id": PASSWORD_CLIENT_ID,
                "name": "Verifier",
                "flow": "password",
                "secrets": [SECRETS["probe_client_secret"]],
            },
        ],
    }
    with running_sandbox(tenant=tenant) as sandbox:
        yield sandbox


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[OpenBaoServer]:
    with running_openbao(tmp_path / "openbao") as server:
        server.put(VAULT_PATH, SECRETS)
        yield server


@pytest.fixture
def project(
    tmp_path: Path,
    pulumi_cli: PulumiCli,
    yaml_host: Path,
    site: Sandbox,
    vault: OpenBaoServer,
) -> Iterator[Project]:
    directory = tmp_path / "examples" / "yaml-program"
    shutil.copytree(EXAMPLE, directory)
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (tmp_path / "state").mkdir()
    path = [str(pulumi_cli.bin_dir), str(yaml_host.parent), "/usr/bin", "/bin"]
    env = {
        "PATH": os.pathsep.join(dict.fromkeys(path)),
        "HOME": str(tmp_path),
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }
    with Control(site.url) as control:
        yield Project(directory, pulumi_cli, env, control)


def configure(project: Project, site: Sandbox, vault: OpenBaoServer) -> None:
    project.pulumi("stack", "init", "dev")
    project.pulumi("config", "set", "siteUrl", site.url)
    project.pulumi("config", "set", "acumatica:vaultAddress", vault.address)
    project.pulumi("config", "set", "--secret", "acumatica:vaultToken", VAULT_TOKEN)
    project.pulumi("config", "set", "--secret", "verifierPassword", SECRETS["password"])


def test_the_yaml_program_with_plain_pulumi_commands(
    project: Project, site: Sandbox, vault: OpenBaoServer
) -> None:
    configure(project, site, vault)

    preview = project.pulumi("preview", "--diff")
    assert preview.count("+ acumatica:index:DataSource: (create)") == 2
    assert f'oauthCallbackUrl : "{CALLBACK_URL}"' in preview
    assert "warning" not in preview.lower(), preview

    up = project.pulumi("up", "--yes")
    assert "+ 3 created" in up
    state = project.state()
    assert state["erp-basic"]["outputs"]["verification"]["status"] == "ok"
    oauth = state["erp-oauth"]["outputs"]
    assert oauth["verification"]["status"] == "ok"
    assert oauth["verification"]["callbackRegistered"] is True
    assert oauth["callbackUrl"] == CALLBACK_URL

    again = project.pulumi("up", "--yes", "--expect-no-changes")
    assert "3 unchanged" in again

    project.pulumi("config", "set", "pageSize", "200")
    diff = project.pulumi("preview", "--diff")
    assert "~ pageSize: 10000 => 200" in diff
    assert "~ 1 to update" in diff
    assert "1 updated" in project.pulumi("up", "--yes")

    vault.put(VAULT_PATH, SECRETS)  # a new version (2), every value the same: no rotation
    project.pulumi("preview", "--expect-no-changes")
    # one key rotated (version 3): only the data source that uses that key is to update
    project.control.patch_app(CODE_CLIENT_ID, secrets=[SECRETS["client_secret"], ROTATED])
    vault.put(VAULT_PATH, {**SECRETS, "client_secret": ROTATED})
    rotated = project.pulumi("preview", "--diff")
    assert "~ 1 to update" in rotated, rotated
    assert "[id=erp-oauth]" in rotated and "[id=erp-basic]" not in rotated, rotated
    assert "1 updated" in project.pulumi("up", "--yes")
    state = project.state()
    assert state["erp-basic"]["outputs"]["secretVersions"] == {
        f"vault:secret/{VAULT_PATH}#password": 1  # recorded before; its key never changed
    }
    assert state["erp-oauth"]["outputs"]["secretVersions"] == {
        f"vault:secret/{VAULT_PATH}#client_secret": 3,
        f"vault:secret/{VAULT_PATH}#probe_client_secret": 3,
        "pulumi-secret": None,  # the verifier's password, a Pulumi secret
    }

    project.control.patch_user("nectari", locked=True)
    project.pulumi("refresh", "--yes")
    drifted = project.state()
    for name in ("erp-basic", "erp-oauth"):
        verification = drifted[name]["outputs"]["verification"]
        assert verification["status"] == "failed", (name, verification)
    assert any("locked" in p for p in drifted["erp-basic"]["outputs"]["verification"]["problems"])
    project.control.patch_user("nectari", locked=False)

    program = project.directory / "Pulumi.yaml"
    text = program.read_text()
    renamed = text.replace(
        "  erp-basic:\n", f"  erp-main:\n    options:\n      aliases:\n        - {BASIC_URN}\n", 1
    )
    program.write_text(renamed.replace("${erp-basic.", "${erp-main."))
    moved = project.pulumi("preview", "--diff")
    assert "replace" not in moved and "(create)" not in moved and "(delete)" not in moved, moved
    project.pulumi("up", "--yes")
    assert set(project.state()) == {"erp-main", "erp-oauth"}

    plain = renamed.replace(
        "        password:\n          vault: {path: acumatica/yaml, key: password}\n",
        "        password: not-a-secret\n",
        1,
    )
    assert plain != renamed
    program.write_text(plain)
    refused = project.pulumi("preview", expect=None)
    assert "authentication.password: a secret must not be a plain string" in refused
    program.write_text(renamed.replace("${erp-basic.", "${erp-main."))

    shown = project.pulumi("stack", "output", "--show-secrets", "--json")
    assert yaml.safe_load(shown)["oauthCallbackUrl"] == CALLBACK_URL

    destroyed = project.pulumi("destroy", "--yes")
    assert "3 deleted" in destroyed
    assert project.state() == {}

    haystacks = project.outputs + project.state_texts()
    secret_values = {*SECRETS.values(), ROTATED, *(vault.sensitive - {VAULT_TOKEN, ""})}
    assert sorted({s for s in secret_values for text in haystacks if s in text}) == []


def test_the_plugin_ends_with_the_engine(
    project: Project, site: Sandbox, vault: OpenBaoServer
) -> None:
    """``pulumi up`` killed outright while a verification is under way: the plugin finishes
    it (so its session is logged out) and exits."""
    configure(project, site, vault)
    project.control.fault(path="/entity/auth/login", status=None, delay_ms=3000, times=None)
    engine = subprocess.Popen(
        [str(project.cli.pulumi), "up", "--yes", "--non-interactive"],
        cwd=project.directory,
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        plugins: list[int] = []
        while not plugins or (not project.control.state()["sessions"] and not _logins(project)):
            assert time.monotonic() < deadline, "no verification started"
            plugins = [
                pid
                for pid in descendants(engine.pid)
                if any("pulumi-resource-acumatica" in part for part in command_line(pid))
            ]
            time.sleep(0.1)
        engine.send_signal(signal.SIGKILL)
        engine.wait()
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{pid}").exists() for pid in plugins):
            assert time.monotonic() < deadline, "the plugin outlived the engine"
            time.sleep(0.2)
    finally:
        kill_pids(descendants(engine.pid))
        engine.kill()
        project.control.clear_faults()
    deadline = time.monotonic() + 10
    while project.control.open_sessions():
        assert time.monotonic() < deadline, "a session was left open"
        time.sleep(0.2)


def _logins(project: Project) -> bool:
    return any(r["path"].endswith("/entity/auth/login") for r in project.control.requests())
