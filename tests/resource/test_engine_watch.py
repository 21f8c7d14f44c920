"""The provider process follows its run (issue 11, point 8): it cancels its work when the
command line asks through the run channel, tells the command line each verification's verdict,
and exits when the engine goes away (the engine's end of its stdin closes). The real
``python -m pulumi.dynamic`` server, the sandbox and OpenBao; no engine."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.resource.conftest import basic_props, make_provider_env
from tests.resource.support import ProviderServer
from tests.support.openbao import OpenBaoServer
from tests.support.sandbox import Control

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.sandbox import Sandbox


def events(run_dir: Path) -> list[dict[str, object]]:
    path = run_dir / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_provider_follows_its_run_and_ends_with_the_engine(
    tmp_path: Path, bao: OpenBaoServer, sandbox: Sandbox, control: Control
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = make_provider_env(home, bao, **{variables.RUN_DIR: str(run_dir)})
    server = ProviderServer(env=env, workdir=tmp_path / "provider", stdin_pipe=True)
    server.start()
    try:
        server.configure({})
        _, outputs = server.up(basic_props(sandbox.url), name="one")
        assert outputs["verification"]["status"] == "ok"
        (verdict,) = [e for e in events(run_dir) if e["kind"] == "verification"]
        assert verdict["data_source_id"] == "erp-basic" and verdict["status"] == "ok", verdict
        assert verdict["operation"] == "create" and verdict["possibly_open_sessions"] == 0

        # the command line is interrupted: no verification starts any more
        (run_dir / "cancel").write_text("the command received SIGTERM")
        time.sleep(0.5)
        requests = len(control.requests())
        inputs = server.checked(basic_props(sandbox.url, description="Two"), name="two")
        try:
            server.create(inputs, name="two")
        except Exception as exc:  # grpc.RpcError: the create fails, naming the interruption
            assert "interrupted" in str(exc) and "SIGTERM" in str(exc), exc
        else:
            raise AssertionError("a verification started after the run was cancelled")
        assert len(control.requests()) == requests, "Acumatica was contacted after the cancel"
        assert events(run_dir)[-1]["status"] == "interrupted"

        # the engine goes away: the provider ends within seconds
        assert server.process is not None and server.process.stdin is not None
        assert server.process.poll() is None
        server.process.stdin.close()
        started = time.monotonic()
        server.process.wait(timeout=10)
        assert time.monotonic() - started < 10
    finally:
        server.stop()
    assert control.open_sessions() == 0
