"""``acumatica-ds sandbox`` as a subprocess: URL on stdout, request log on stderr, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.support.sandbox import reference_definitions

COMMAND = [sys.executable, "-m", "acumatica_datasource", "sandbox"]


@contextmanager
def _sandbox_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [*COMMAND, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_prints_url_logs_requests_and_exits_0_on_signal(signum: signal.Signals) -> None:
    with _sandbox_process("--port", "0") as (process, url):
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/entity", params={"probe": "1"}).status_code == 200
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=15)
        assert process.returncode == 0
    lines = stderr.splitlines()
    assert any(line.startswith("GET /entity?probe=1 200 ") for line in lines), stderr
    assert "Traceback" not in stderr


def test_serves_a_yaml_config(tmp_path: Path) -> None:
    config = tmp_path / "sandbox.yaml"
    config.write_text(
        "build_version: '23.100.0001'\n"
        "instance_path: /AcumaticaERP\n"
        "tenants:\n"
        "  - name: Globex\n"
        "    users: [{name: admin, password: pw}]\n",
        encoding="utf-8",
    )
    with _sandbox_process("--config", str(config)) as (process, url):
        assert url.endswith("/AcumaticaERP")
        body = httpx.get(f"{url}/entity").json()
        assert body["version"]["acumaticaBuildVersion"] == "23.100.0001"
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
        assert process.returncode == 0


def test_serves_a_json_config(tmp_path: Path) -> None:
    config = tmp_path / "sandbox.json"
    config.write_text(json.dumps({"tenants": [{"name": "JSONCo"}]}), encoding="utf-8")
    with _sandbox_process("--config", str(config)) as (process, url):
        assert httpx.get(f"{url}/entity").status_code == 200
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
        assert process.returncode == 0


def _run_bad(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=30, check=False
    )


def test_invalid_config_exits_2_naming_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "license:\n"
        "  api_users: two\n"
        "tenants:\n"
        "  - name: ACME\n"
        "    users:\n"
        "      - {name: admin, password: 123}\n",
        encoding="utf-8",
    )
    result = _run_bad("--config", str(config))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert f"{config}:2: license.api_users: must be a whole number, not a string" in lines
    assert any(
        line.startswith(f"{config}:6: tenants[0].users[0].password: must be a string")
        for line in lines
    ), result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("tenants: [\n", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("tenants: []\n", "at least one tenant"),
    ],
)
def test_unparsable_config_exits_2(tmp_path: Path, content: str, expected: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(content, encoding="utf-8")
    result = _run_bad("--config", str(config))
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = _run_bad("--config", str(missing))
    assert result.returncode == 2
    assert f"{missing}: cannot read the config file" in result.stderr
    assert "Traceback" not in result.stderr


def _vendors(url: str) -> int:
    with httpx.Client(base_url=url) as client:
        body = {"name": "admin", "password": "secret1", "tenant": "ACME"}
        assert client.post("/entity/auth/login", json=body).status_code == 204
        status = client.get("/entity/Default/24.200.001/Vendor", params={"$top": 1}).status_code
        assert client.post("/entity/auth/logout", content=b"").status_code == 204
    return status


def test_definitions_option_serves_every_defined_entity() -> None:
    with _sandbox_process("--definitions", reference_definitions()) as (process, url):
        assert _vendors(url) == 200
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
        assert process.returncode == 0


def test_definitions_key_is_relative_to_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "Default_24.200.001.json").write_bytes(
        (Path(reference_definitions()) / "Default_24.200.001.json").read_bytes()
    )
    config = tmp_path / "sandbox.yaml"
    config.write_text("definitions: definitions\ntenants: [{name: ACME}]\n", encoding="utf-8")
    with _sandbox_process("--config", str(config)) as (process, url):
        with httpx.Client(base_url=url) as client:
            assert client.get("/entity/Default/24.200.001/swagger.json").status_code == 200
            tags = client.get("/entity/Default/24.200.001/swagger.json").json()["tags"]
            assert any(tag["name"] == "Vendor" for tag in tags)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)


def test_unusable_definitions_exit_2_naming_the_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [*COMMAND, "--definitions", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"{tmp_path / 'missing'}: not a directory" in result.stderr
    assert "Traceback" not in result.stderr
