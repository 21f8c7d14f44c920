"""Shared state in PostgreSQL: the Pulumi CLI this project builds stores stacks in a real
PostgreSQL server (Pulumi's DIY backend, ``postgres://`` URLs), for plain ``pulumi``
commands and for ``acumatica-ds``.

What the backend needs (from pkg/backend/diy/postgres of the pinned CLI): nothing special.
The URL is lib/pq's (``host=`` a socket directory, ``sslmode``, ...) plus an optional
``table=`` (default ``pulumi_state``), which the CLI creates on first use when the role may
create tables; lib/pq also reads ``PGPASSWORD`` (and the other ``PG*`` variables). Each stored
file is a row whose ``data`` column is JSON ``{"data": BASE64}``: a secret scan of a
``pg_dump`` must decode it, which :func:`tests.support.postgres.state_blobs` does.

A password written into the URL is not kept out of files: the CLI stores the backend URL in
``PULUMI_HOME`` (``credentials.json`` on ``pulumi login``, and as the key of the selected stack
in ``workspaces/*-workspace.json`` on every stack selection, which the Automation API does).
So the password goes in ``PGPASSWORD``, and these tests prove that way leaves no trace.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.conftest import SECRETS, World, environment
from tests.support.e2e import files_under
from tests.support.postgres import PostgresServer, running_postgres, state_blobs

from acumatica_datasource.tooling import PulumiCli

pytestmark = pytest.mark.engine

PASSWORD = "Backend-Passw0rd-value"
"""The database password (SCRAM authentication): it must leak nowhere."""


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    with running_postgres(password=PASSWORD, tcp=True) as server:
        yield server


def test_the_helper_starts_postgres_as_root_and_stops_it_by_pid() -> None:
    with running_postgres() as server:
        pid, directory = server.pid, server.directory
        assert pid is not None
        os.kill(pid, 0)  # running
        assert server.psql("SELECT current_user").strip() == "postgres"
        assert server.psql("SHOW listen_addresses").strip() == ""  # the socket only
        print(f"PostgreSQL started (initdb included) in {server.start_seconds:.2f} s")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not directory.exists()


def plain_pulumi(
    cli: PulumiCli, home: Path, cwd: Path, *args: str, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PG"))}
    environ.update(
        PULUMI_HOME=str(home),
        PULUMI_CONFIG_PASSPHRASE="plain-passphrase",
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        **env,
    )
    done = subprocess.run(
        [str(cli.pulumi), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_plain_pulumi_commands_keep_stacks_in_postgres(
    pulumi_cli: PulumiCli, postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database("plain")
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: pg-probe\nruntime: yaml\n")
    home = tmp_path / "pulumi-home"

    def pulumi(*args: str) -> str:
        return plain_pulumi(pulumi_cli, home, project, *args, PGPASSWORD=PASSWORD).stdout

    assert url in pulumi("login", url)
    assert f"Backend URL: {url}" in pulumi("whoami", "-v")
    for stack in ("dev", "prod"):
        pulumi("stack", "init", stack)
    assert sorted(entry["name"] for entry in json.loads(pulumi("stack", "ls", "--json"))) == [
        "dev",
        "prod",
    ]
    keys = set(postgres.psql("SELECT key FROM pulumi_state", "plain").split())
    assert {f"plain/.pulumi/stacks/pg-probe/{stack}.json" for stack in ("dev", "prod")} <= keys
    pulumi("stack", "rm", "--yes", "prod")
    assert [entry["name"] for entry in json.loads(pulumi("stack", "ls", "--json"))] == ["dev"]
    # the same database over loopback TCP, named by PULUMI_BACKEND_URL instead of a login
    over_tcp = plain_pulumi(
        pulumi_cli,
        tmp_path / "tcp-home",
        project,
        "stack",
        "ls",
        "--json",
        PULUMI_BACKEND_URL=postgres.backend_url("plain", tcp=True),
        PGPASSWORD=PASSWORD,
    )
    assert [entry["name"] for entry in json.loads(over_tcp.stdout)] == ["dev"]
    assert not any(PASSWORD in text for text in files_under(home))

    refused = plain_pulumi(pulumi_cli, tmp_path / "other-home", project, "login", url, check=False)
    assert refused.returncode != 0
    assert "password authentication failed" in refused.stderr
    # why the password goes in PGPASSWORD: the CLI writes a URL's password into PULUMI_HOME
    with_password = url.replace("postgres://postgres@", f"postgres://postgres:{PASSWORD}@")
    plain_pulumi(pulumi_cli, tmp_path / "third-home", project, "login", with_password)
    assert any(PASSWORD in text for text in files_under(tmp_path / "third-home"))


def test_up_then_preview_with_the_state_in_postgres(world: World, postgres: PostgresServer) -> None:
    url = postgres.create_database("acumatica")
    world.extra_env.update(PULUMI_BACKEND_URL=url, PGPASSWORD=PASSWORD)
    world.secrets.add(PASSWORD)
    path = world.write_environment("dev", environment(world))

    up = world.acumatica_ds("up", "--env", str(path), "--format", "json")
    assert up.code == 0, up.output
    assert up.result["changes"]["create"] == 2
    preview = world.acumatica_ds("preview", "--env", str(path), "--format", "json")
    assert preview.code == 0, preview.output
    changes = preview.result["changes"]
    assert (changes["create"], changes["update"], changes["delete"], changes["same"]) == (
        0,
        0,
        0,
        2,
    )
    assert not (world.state_dir / ".pulumi").exists()  # nothing went to a file backend
    assert sorted(world.resources("dev")) == ["erp-basic", "erp-oauth"]

    dump = postgres.dump("acumatica")
    blobs = state_blobs(dump)
    checkpoint = blobs["acumatica/.pulumi/stacks/acumatica-datasources/dev.json"]
    assert "erp-basic" in checkpoint and "erp-oauth" in checkpoint  # the scan sees the state
    # the dump, the decoded state, and every file the runs left (workspaces, PULUMI_HOME)
    scanned = [dump, *blobs.values(), *files_under(world.state_dir)]
    secrets = world.secrets | set(SECRETS.values())
    assert not {secret for secret in secrets for text in scanned if secret in text}
    assert world.secret_hits() == []  # command output, exports, engine logs
