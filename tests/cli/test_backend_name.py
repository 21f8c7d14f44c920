"""How a state backend is named in messages: never with its password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from acumatica_datasource.cli.backend import backend_name
from acumatica_datasource.tooling import PulumiCli


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("file:///srv/state", "file:///srv/state"),
        (
            "postgres://ci@db.example.com:5432/pulumi?sslmode=require",
            "postgres://ci@db.example.com:5432/pulumi?sslmode=require",
        ),
        (
            "postgres://ci:S3cret-pw@db.example.com:5432/pulumi?sslmode=require",
            "postgres://ci@db.example.com:5432/pulumi?sslmode=require",
        ),
        (
            "postgres://ci@/pulumi?host=/run/pg&password=S3cret-pw&sslmode=disable",
            "postgres://ci@/pulumi?host=/run/pg&sslmode=disable",
        ),
    ],
)
def test_a_backend_is_named_without_its_password(url: str, shown: str) -> None:
    assert backend_name(url) == shown
    assert "S3cret-pw" not in backend_name(url)


@pytest.mark.engine
def test_engine_errors_never_show_the_backend_password(
    tmp_path: Path, pulumi_cli: PulumiCli
) -> None:
    """The engine repeats a backend URL in its errors; a password given as a ``password=``
    parameter (the engine masks only the user part's) must not reach the output."""
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PULUMI_CONFIG_PASSPHRASE": "passphrase",
        "PULUMI_BACKEND_URL": "postgres://ci@127.0.0.1:1/db?sslmode=disable&password=S3cret-pw",
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "acumatica_datasource",
            "preview",
            "--format",
            "json",
            "--env",
            str(root / "examples" / "quickstart" / "environment.yaml"),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode in (1, 2), run.stderr
    assert "unable to open state database" in run.stdout + run.stderr
    assert "S3cret-pw" not in run.stdout + run.stderr
