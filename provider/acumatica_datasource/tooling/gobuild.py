"""Build Go programs from the Go module proxy into a per-user cache, once.

A :class:`GoTool` says what to build (the main package, its version, modules pinned beside
it, a version symbol to stamp); :meth:`GoTool.build` runs ``go get`` and ``go build`` in a
throw-away wrapper module. :func:`build_once` fills one cache directory with a recipe: in a
staging directory renamed into place (atomic) and under a file lock (concurrent processes
build once). :func:`locate_or_build` does both for a tool that is one program in its own
cache directory. Only the standard library is imported here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acumatica_datasource.errors import AcumaticaDataSourceError

CACHE_APP_DIR = "pulumi-acumatica-datasource"
BUILD_INFO = "build-info.json"

Log = Callable[[str], None]
Recipe = Callable[[Path, Path], Mapping[str, Any]]
"""Fills ``bin_dir`` (first argument) using a scratch directory (second); returns facts for
``build-info.json``."""

_HEARTBEAT_SECONDS = 30.0


class ToolError(AcumaticaDataSourceError):
    """A program the engine needs is not available and could not be built."""


@dataclass(frozen=True)
class GoTool:
    """One program built from the Go module proxy."""

    binary: str
    """The file name of the built program."""
    package: str
    """The Go package of its ``main`` (``go get`` resolves its module)."""
    version: str
    """The version of ``package``'s module, without the leading ``v``."""
    pins: tuple[str, ...] = ()
    """Further modules required at ``version`` (e.g. an SDK whose version must match)."""
    version_symbol: str | None = None
    """A string variable set to ``v<version>`` with ``-ldflags -X``."""

    def build(self, go: str, bin_dir: Path, work: Path, log: Log, *, quiet: bool = False) -> None:
        """Compile ``bin_dir/binary``; raise :class:`ToolError` with go's output tail."""
        wrapper = work / self.binary
        wrapper.mkdir()
        (wrapper / "go.mod").write_text(f"module build{self.binary}\n\ngo 1.26\n", "utf-8")
        wanted = [f"{self.package}@v{self.version}"]
        wanted += [f"{module}@v{self.version}" for module in self.pins]
        log(f"resolving {wanted[0]} and its dependencies (go get)")
        label = f"{self.binary}: go get"
        code, lines = run_go([go, "get", *wanted], cwd=wrapper, log=log, label=label, quiet=True)
        if code != 0:
            raise ToolError(f"`go get {wanted[0]}` failed (exit {code}):\n{tail(lines)}")
        log(f"compiling {self.binary} (go build)")
        ldflags = ["-ldflags", f"-X {self.version_symbol}=v{self.version}"]
        command = [go, "build", "-mod=mod", *(ldflags if self.version_symbol else [])]
        command += ["-o", str(bin_dir / self.binary), self.package]
        label = f"{self.binary}: go build"
        code, lines = run_go(command, cwd=wrapper, log=log, label=label, quiet=quiet)
        if code != 0:
            raise ToolError(f"`go build {self.package}` failed (exit {code}):\n{tail(lines)}")


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Return ``${XDG_CACHE_HOME:-~/.cache}/pulumi-acumatica-datasource``."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / CACHE_APP_DIR


def tool_dir(name: str, version: str, environ: Mapping[str, str] | None = None) -> Path:
    """The cache directory of one version of a tool (its ``bin`` holds the programs)."""
    return cache_root(environ) / name / f"v{version}"


def is_executable(path: Path) -> bool:
    """True for an executable regular file (or a link to one)."""
    return path.is_file() and os.access(path, os.X_OK)


def install_executable(source: Path, target: Path) -> None:
    """Copy ``source``'s bytes to ``target``, executable, replacing it atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, staging)  # bytes only: a module cache's files are read-only
    staging.chmod(0o755)
    staging.replace(target)


@contextlib.contextmanager
def file_lock(path: Path, log: Log) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created), saying so when another process has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another process to finish ({path})")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _go_environ() -> dict[str, str]:
    env = dict(os.environ)
    env["GOWORK"] = "off"  # a go.work above the temporary directory must not interfere
    env.setdefault("GO111MODULE", "on")
    return env


def run_go(
    args: Sequence[str], *, cwd: Path, log: Log, label: str, quiet: bool = False
) -> tuple[int, list[str]]:
    """Run a go command, streaming progress to ``log``; return (exit code, output lines)."""
    started = time.monotonic()
    lines: list[str] = []
    downloads = 0
    process = subprocess.Popen(
        list(args),
        cwd=cwd,
        env=_go_environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert process.stdout is not None
    pending: queue.Queue[str | None] = queue.Queue()

    def reader() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            pending.put(raw.rstrip("\n"))
        pending.put(None)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        while True:
            try:
                line = pending.get(timeout=_HEARTBEAT_SECONDS)
            except queue.Empty:
                log(
                    f"{label}: still running ({time.monotonic() - started:.0f}s, "
                    f"{downloads} modules downloaded)"
                )
                continue
            if line is None:
                break
            lines.append(line)
            if line.startswith(("go: downloading ", "go: added ", "go: upgraded ")):
                downloads += line.startswith("go: downloading ")
            elif not quiet and line.strip():
                log(f"{label}: {line}")
    finally:
        if process.poll() is None:  # interrupted (e.g. Ctrl-C): stop our go child
            process.kill()
        thread.join()
        code = process.wait()
    return code, lines


def tail(lines: Sequence[str], count: int = 25) -> str:
    """The last ``count`` lines, indented, for an error message."""
    return "\n".join(f"    {line}" for line in lines[-count:])


def module_dir(go: str, module: str, version: str, *, cwd: Path, log: Log) -> Path:
    """Download ``module@v<version>`` into the module cache; return its (read-only) directory."""
    code, lines = run_go(
        [go, "mod", "download", "-json", f"{module}@v{version}"],
        cwd=cwd,
        log=log,
        label="go mod download",
        quiet=True,
    )
    text = "\n".join(line for line in lines if not line.startswith("go: "))
    try:
        info = json.loads(text)
    except json.JSONDecodeError:
        info = {}
    directory = info.get("Dir")
    if code != 0 or not directory:
        detail = info.get("Error") or tail(lines)
        raise ToolError(f"could not download {module}@v{version}: {detail}")
    return Path(directory)


def go_version(go: str) -> str | None:
    """``go env GOVERSION``, or None when it cannot be asked."""
    try:
        result = subprocess.run(
            [go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def build_once(
    dest: Path, go: str, recipe: Recipe, *, complete: Callable[[Path], bool], log: Log
) -> bool:
    """Fill ``dest/bin`` with ``recipe`` unless ``complete(dest/bin)``; True when built here.

    The recipe runs in a staging directory beside ``dest`` that is renamed into place, with
    ``build-info.json`` (go version, seconds, the recipe's facts), under the lock
    ``<dest>.lock``: a process that waited for another one's build finds it complete.
    """
    parent = dest.parent
    with file_lock(parent / f"{dest.name}.lock", log):
        if complete(dest / "bin"):
            return False
        for stale in parent.glob(f".{dest.name}.tmp-*"):  # left by an interrupted build
            shutil.rmtree(stale, ignore_errors=True)
        started = time.monotonic()
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=parent))
        staging.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
        try:
            (staging / "bin").mkdir()
            with tempfile.TemporaryDirectory(prefix="go-tool-build-") as work:
                facts = recipe(staging / "bin", Path(work))
            info = {
                **facts,
                "go": go_version(go),
                "built_seconds": round(time.monotonic() - started, 1),
            }
            (staging / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n", "utf-8")
            if dest.exists():  # incomplete leftover (we hold the lock): move it aside first
                trash = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-old-", dir=parent))
                dest.rename(trash / "old")
                shutil.rmtree(trash, ignore_errors=True)
            staging.rename(dest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    log(f"built {dest.parent.name} {dest.name} in {time.monotonic() - started:.0f}s: {dest}/bin")
    return True


def find_go(*, build: bool) -> str:
    """The ``go`` program, or :class:`ToolError` saying why there is none to build with."""
    go = shutil.which("go") if build else None
    if go is None:
        raise ToolError("building is disabled" if not build else "`go` is not on PATH")
    return go


def locate_or_build(tool: GoTool, *, build: bool, log: Log) -> Path:
    """The cached ``tool`` (``<cache>/<binary>/v<version>/bin/<binary>``), built if absent."""
    dest = tool_dir(tool.binary, tool.version)
    program = dest / "bin" / tool.binary
    if is_executable(program):
        return program
    try:
        go = find_go(build=build)
    except ToolError as why:
        raise ToolError(
            f"no {tool.binary} v{tool.version} in {dest / 'bin'}, and {why}. Install Go 1.26+ "
            "(https://go.dev/dl/) so that it can be built from the Go module proxy."
        ) from None

    def recipe(bin_dir: Path, work: Path) -> dict[str, Any]:
        tool.build(go, bin_dir, work, log)
        return {"package": tool.package, "version": tool.version}

    build_once(dest, go, recipe, complete=lambda b: is_executable(b / tool.binary), log=log)
    return program
