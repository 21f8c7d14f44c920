"""The Vault token goes to Vault only, and only over TLS off loopback (issue 12, points 4 to 6):
no redirect carries it to another address, plain http off loopback needs an opt-in, and no
reference reaches Vault's own APIs or the pipeline's credential variables. Against real
OpenBao dev servers, hostile servers on loopback, and (for an address off loopback) a network
namespace of its own."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.secrets.conftest import ResolverFactory, unique, vault_ref
from tests.secrets.support import LeakGuard
from tests.support.openbao import OpenBaoServer

from acumatica_datasource.secrets import (
    ReferenceRefused,
    SecretError,
    VaultConfigError,
    VaultRedirect,
)
from acumatica_datasource.spec import EnvSecretRef, VaultLocation, VaultSecretRef, VaultSettings

REPO_ROOT = Path(__file__).resolve().parents[2]


class _Recorder(BaseHTTPRequestHandler):
    """Records every request's headers; answers 404."""

    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.seen.append(dict(self.headers))
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"errors":[]}')

    do_POST = do_PUT = do_GET

    def log_message(self, *args: object) -> None:
        return


def _redirector(target: str) -> type[BaseHTTPRequestHandler]:
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(307)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = do_GET

        def log_message(self, *args: object) -> None:
            return

    return Redirect


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[ThreadingHTTPServer] = []

    def start(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> str:
        server = ThreadingHTTPServer((host, 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://{host}:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --- point 4: no redirects with the token ------------------------------------------------------


def test_a_redirect_to_another_host_never_receives_the_token(
    serve: object, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    seen: list[dict[str, str]] = []
    recorder = type("Recorder", (_Recorder,), {"seen": seen})
    other = serve(recorder, "127.0.0.2")  # type: ignore[operator]
    vault = serve(_redirector(other))  # type: ignore[operator]
    token = leaks.fresh("hvs")
    resolver = make_resolver(VaultSettings(address=vault), env={"BAO_TOKEN": token})
    with leaks.raises(SecretError) as info:
        resolver.resolve(vault_ref("app", "password"))
    assert seen == [], "the other host received a request"
    message = str(info.value)
    assert vault in message and other in message and "redirect" in message, message


def test_a_redirect_to_a_real_vault_elsewhere_is_refused(
    bao: OpenBaoServer, serve: object, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    """The redirect points at a working Vault on another port: following it would succeed."""
    path = unique()
    bao.put(path, {"password": leaks.fresh()})
    vault = serve(_redirector(bao.address))  # type: ignore[operator]
    before = bao.audited_requests("auth/token/lookup-self")
    resolver = make_resolver(VaultSettings(address=vault), env={"VAULT_TOKEN": "root"})
    with leaks.raises(VaultRedirect, match="redirect"):
        resolver.resolve(vault_ref(path, "password"))
    assert bao.audited_requests("auth/token/lookup-self") == before


# --- point 5: https off loopback -------------------------------------------------------------

NAMESPACE_SCRIPT = textwrap.dedent(
    """
    import json, os, subprocess, sys, tempfile, warnings
    from pathlib import Path
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", "10.77.0.1/32", "dev", "lo"], check=True)
    from tests.support.openbao import running_openbao
    from acumatica_datasource.secrets import SecretResolver
    from acumatica_datasource.spec import VaultSecretRef
    results = {}
    with running_openbao(Path(tempfile.mkdtemp()), host="10.77.0.1") as bao:
        bao.put("app", {"password": "Netns-Secret-4471"})
        ref = VaultSecretRef.model_validate({"vault": {"path": "app", "key": "password"}})
        for name, extra in (("plain", {}), ("opted_in", {"ACUMATICA_DS_VAULT_ALLOW_HTTP": "1"})):
            environ = {"HOME": tempfile.mkdtemp(), "BAO_ADDR": bao.address, "BAO_TOKEN": "root"}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    with SecretResolver(None, environ={**environ, **extra}) as resolver:
                        value = resolver.resolve(ref).value.reveal()
                    results[name] = {"resolved": value == "Netns-Secret-4471"}
                except Exception as exc:
                    results[name] = {"error": type(exc).__name__, "message": str(exc)}
            results[name]["warnings"] = [str(w.message) for w in caught]
        results["address"] = bao.address
    print(json.dumps(results))
    """
)


def test_plain_http_off_loopback_is_refused_without_the_opt_in(tmp_path: Path) -> None:
    """In a network namespace of its own, OpenBao listens on 10.77.0.1, an address that is not
    loopback: the resolver refuses http:// there, and with the opt-in resolves and warns."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare or ip is missing: no network namespace can be made here")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"this machine does not allow network namespaces: {probe.stderr!r}")
    script = tmp_path / "netns.py"
    script.write_text(NAMESPACE_SCRIPT)
    run = subprocess.run(
        ["unshare", "-n", sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        env={
            "PATH": str(Path(sys.executable).parent) + ":/usr/sbin:/usr/bin:/sbin:/bin",
            "PYTHONPATH": str(REPO_ROOT),
        },
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    assert results["address"].startswith("http://10.77.0.1:")
    plain = results["plain"]
    assert plain.get("error") == "VaultConfigError", plain
    assert "https" in plain["message"] and "ACUMATICA_DS_VAULT_ALLOW_HTTP" in plain["message"]
    opted_in = results["opted_in"]
    assert opted_in.get("resolved") is True, opted_in
    assert any("in clear" in w for w in opted_in["warnings"]), opted_in


def test_the_file_opt_in_works_and_warns(
    bao: OpenBaoServer, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    """On loopback nothing is refused; the opt-in in the file is accepted (and warns only off
    loopback, so here it is silent)."""
    path = unique()
    value = leaks.fresh()
    bao.put(path, {"password": value})
    settings = VaultSettings(address=bao.address, allow_insecure_http=True)
    resolved = make_resolver(settings, env={"VAULT_TOKEN": "root"}).resolve(
        vault_ref(path, "password")
    )
    assert resolved.value.reveal() == value


# --- point 6: references cannot reach the pipeline's own credentials -----------------------


@pytest.fixture
def limited_token(bao: OpenBaoServer) -> str:
    """A token that may read KV v2 secrets (and, like every token, look itself up)."""
    bao.policy("kv-reader", 'path "secret/data/*" { capabilities = ["read"] }')
    return bao.token(policies=["kv-reader"])


@pytest.mark.parametrize(
    "location",
    [
        {"mount": "auth/token", "path": "lookup-self", "key": "id", "engine": "kv1"},
        {"mount": "auth", "path": "token/lookup-self", "key": "id"},
        {"mount": "secret", "path": "../auth/token/lookup-self", "key": "id", "engine": "kv1"},
    ],
)
def test_a_reference_to_vaults_own_api_is_refused_at_run_time(
    bao: OpenBaoServer,
    settings: VaultSettings,
    make_resolver: ResolverFactory,
    leaks: LeakGuard,
    limited_token: str,
    location: dict[str, str],
) -> None:
    """Validation refuses these; a program that builds the reference without validation
    (``model_construct``) must not get the token either."""
    leaks.add(limited_token)
    ref = VaultSecretRef.model_construct(vault=VaultLocation.model_construct(**location))
    resolver = make_resolver(settings, env={"VAULT_TOKEN": limited_token})
    with leaks.raises(ReferenceRefused, match="KV"):
        resolver.resolve(ref)


def test_a_declared_engine_does_not_skip_the_kv_check(
    bao: OpenBaoServer, settings: VaultSettings, make_resolver: ResolverFactory, leaks: LeakGuard
) -> None:
    mounts = bao.admin.sys.list_mounted_secrets_engines()["data"]
    if "transit-engine/" not in mounts:
        bao.admin.sys.enable_secrets_engine("transit", path="transit-engine")
    resolver = make_resolver(settings, env={"VAULT_TOKEN": "root"})
    with leaks.raises(VaultConfigError, match="is a 'transit' engine, not a KV secrets engine"):
        resolver.resolve(vault_ref("keys/x", "name", mount="transit-engine", engine="kv1"))


@pytest.mark.parametrize("name", ["BAO_TOKEN", "VAULT_TOKEN", "PULUMI_CONFIG_PASSPHRASE"])
def test_an_env_reference_to_the_pipelines_credentials_is_refused_at_run_time(
    make_resolver: ResolverFactory, leaks: LeakGuard, name: str
) -> None:
    token = leaks.fresh("hvs")
    resolver = make_resolver(None, env={name: token})
    with leaks.raises(ReferenceRefused, match="credentials"):
        resolver.resolve(EnvSecretRef.model_construct(env=name))
