"""``acumatica-ds verify FILE``: exit codes, the JSON shape, progress on stderr, no tracebacks,
no secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.site import Leaks, Site
from tests.verify.support import CALLBACK_BASE, ENVIRON, LOGIN, PROBE_LOGIN, basic, oauth

from acumatica_datasource import cli

Run = Callable[..., tuple[int, str, str]]


def write_env(path: Path, *sources: dict[str, Any]) -> str:
    document = {
        "environment": "dev",
        "callback_base_url": CALLBACK_BASE,
        "data_sources": list(sources),
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)


@pytest.fixture
def verify(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], leaks: Leaks
) -> Run:
    """``verify(*args, env=...)`` runs ``acumatica-ds verify`` in-process: (code, out, err)."""

    def call(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        for name in ("ACUMATICA_DS_SESSIONS_PER_SITE", "ACUMATICA_DS_CA_BUNDLE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in (ENVIRON if env is None else env).items():
            monkeypatch.setenv(name, value)
        try:
            code = cli.main(["verify", *args])
        except SystemExit as exc:  # argparse's own usage errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        leaks.check_text(out, "stdout")
        leaks.check_text(err, "stderr")
        assert "Traceback" not in out + err
        return code, out, err

    return call


def test_all_ok_exits_0_with_a_report_and_progress(site: Site, verify: Run, tmp_path: Path) -> None:
    file = write_env(tmp_path / "dev.yaml", basic(site, "Basic one"), oauth(site, "abc"))
    code, out, err = verify(file)
    assert code == 0, (out, err)
    assert "Basic one [basic-one]: OK" in out and "abc [abc]: OK" in out
    assert "callback URL: https://bi.example.com/oauth/callback/abc (registered)" in out
    assert "records read: 25, HTTP requests: 3" in out or "HTTP requests" in out
    lines = err.splitlines()
    assert lines[0] == f"verifying 2 data sources of {file}"
    assert sorted(line.split("]")[0] for line in lines[1:3]) == ["[1/2", "[2/2"]
    assert lines[-1] == "2 of 2 data sources passed"


def test_json_is_one_object_of_the_documented_shape(
    site: Site, verify: Run, tmp_path: Path
) -> None:
    file = write_env(
        tmp_path / "dev.yaml",
        basic(site, "Basic one", page_size=10),
        oauth(site, "abc", verification=PROBE_LOGIN),
    )
    code, out, err = verify(file, "--format", "json")
    assert code == 0, err
    document = json.loads(out)  # exactly one JSON value on stdout
    assert list(document) == [
        "version",
        "command",
        "status",
        "succeeded",
        "signal",
        "possibly_open_sessions",
        "data_sources",
    ]
    assert document["version"] == 1 and document["status"] == "succeeded"
    first, second = document["data_sources"]
    for report in (first, second):
        assert {"description", "status", "callback_url", "checks", "server"} <= set(report)
        assert {"records_read", "requests"} <= set(report)
        assert set(report["server"]) >= {"build_version", "endpoint", "version"}
        for item in report["checks"]:
            assert set(item) >= {"name", "status", "detail", "duration_ms"}
            assert isinstance(item["duration_ms"], int)
    assert first["description"] == "Basic one" and first["status"] == "ok"
    assert first["callback_url"] is None
    assert first["server"] == {
        "build_version": "24.210.0013",
        "endpoint": "Default",
        "version": "25.200.001",
    }
    assert first["records_read"] == 11 and isinstance(first["requests"], int)
    assert second["callback_url"] == "https://bi.example.com/oauth/callback/abc"
    assert second["status"] == "ok" and second["records_read"] == 25
    assert err.startswith("verifying 2 data sources")


def test_a_failure_exits_1(site: Site, verify: Run, tmp_path: Path, leaks: Leaks) -> None:
    file = write_env(tmp_path / "dev.yaml", basic(site), oauth(site, "abc"))
    leaks.add("wrong-password-9")
    code, out, err = verify(file, env={**ENVIRON, "PW": "wrong-password-9"})
    assert code == 1
    assert "basic [basic]: FAILED" in out and "FAIL login" in out
    assert "1 of 2 data sources passed" in err


def test_a_warning_exits_0(make_site: Callable[..., Site], verify: Run, tmp_path: Path) -> None:
    site = make_site(tenant={"setup_complete": False})
    file = write_env(tmp_path / "dev.yaml", basic(site))
    code, out, _ = verify(file, "--format", "json")
    assert code == 0
    assert json.loads(out)["data_sources"][0]["status"] == "warning"


def test_mode_off_exits_0_without_requests(site: Site, verify: Run, tmp_path: Path) -> None:
    file = write_env(tmp_path / "dev.yaml", basic(site, verification={"mode": "off"}))
    code, out, _ = verify(file, "--format", "json", env={})
    assert code == 0 and json.loads(out)["data_sources"][0]["status"] == "skipped"
    assert site.log() == []


def test_data_source_selection(site: Site, verify: Run, tmp_path: Path) -> None:
    file = write_env(
        tmp_path / "dev.yaml", basic(site, "First One"), basic(site, "Second"), basic(site, "Third")
    )
    code, out, _ = verify(
        file, "--data-source", "first one", "--data-source", "third", "--format", "json"
    )
    assert code == 0
    assert [r["description"] for r in json.loads(out)["data_sources"]] == ["First One", "Third"]
    assert [p for p in site.paths() if p[1] == LOGIN] == [("POST", LOGIN)] * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data-source", "nope"], "no data source nope; known: basic"),
        (["--sessions-per-site", "0"], "--sessions-per-site: must be at least 1"),
        (["--sessions-per-site", "two"], "'two' is not a whole number"),
        (["--ca-bundle", "/nonexistent/ca.pem"], "/nonexistent/ca.pem"),
    ],
)
def test_usage_errors_exit_2(
    site: Site, verify: Run, tmp_path: Path, args: list[str], message: str
) -> None:
    file = write_env(tmp_path / "dev.yaml", basic(site))
    code, out, err = verify(file, *args)
    assert code == 2 and out == ""
    assert message in err
    assert site.log() == []


def test_a_bad_sessions_variable_exits_2(site: Site, verify: Run, tmp_path: Path) -> None:
    file = write_env(tmp_path / "dev.yaml", basic(site))
    code, _, err = verify(file, env={**ENVIRON, "ACUMATICA_DS_SESSIONS_PER_SITE": "lots"})
    assert code == 2 and "ACUMATICA_DS_SESSIONS_PER_SITE" in err


def test_an_unreadable_file_exits_2(verify: Run, tmp_path: Path) -> None:
    code, out, err = verify(str(tmp_path / "missing.yaml"))
    assert code == 2 and out == "" and "missing.yaml" in err
    code, out, err = verify(str(tmp_path))
    assert code == 2 and out == ""


def test_an_invalid_file_exits_1(verify: Run, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("environment: dev\ndata_sources:\n  - description: x\n")
    code, out, err = verify(str(path))
    assert code == 1 and out == "" and "bad.yaml:3" in err


def test_the_console_script_never_shows_a_traceback(site: Site, tmp_path: Path) -> None:
    file = write_env(
        tmp_path / "dev.yaml",
        basic(site),
        basic(site, "unreachable", url="http://127.0.0.1:9", operation_timeout=0.3),
    )
    env = {**os.environ, **ENVIRON, "PW": "wrong-password-5"}
    env.pop("ACUMATICA_DS_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "acumatica_datasource", "verify", file, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    reports = json.loads(result.stdout)["data_sources"]
    assert [r["status"] for r in reports] == ["failed", "failed"]
    for secret in ("wrong-password-5", "secret1"):
        assert secret not in result.stdout + result.stderr
