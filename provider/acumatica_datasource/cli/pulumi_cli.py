"""Make sure a Pulumi CLI is available, and the environment for offline engine runs.

The Automation API drives the ``pulumi`` program, a Go binary. With inline programs the
engine needs only ``pulumi`` and the dynamic-provider plugin script
``pulumi-resource-pulumi-python`` (found next to ``pulumi`` or on ``PATH``). This module finds
them, in order:

1. a ``pulumi`` on ``PATH`` of at least version 3.200, used as it is (when its directory lacks
   the plugin script, the script comes from the cache);
2. the cache ``${XDG_CACHE_HOME:-~/.cache}/pulumi-acumatica-datasource/pulumi/v<version>/bin``;
3. a build from the Go module proxy into that cache, when ``go`` is available: a throw-away
   wrapper module requires ``github.com/pulumi/pulumi/pkg/v3`` and ``.../sdk/v3`` at
   :data:`PULUMI_VERSION`, ``go build`` compiles ``pkg/v3/cmd/pulumi`` and the plugin script is
   copied from the ``sdk/v3`` module zip (``python/dist/``). The build is atomic (a temporary
   directory inside the cache renamed into place) and guarded by a file lock, so concurrent
   processes build once. It also tries the Python language host ``pulumi-language-python``
   (needed only for plain ``pulumi up`` in a project directory); its absence is not fatal.

``python -m acumatica_datasource.cli.pulumi_cli`` locates or builds the CLI and prints its
path. Only the standard library is imported here.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from acumatica_datasource.errors import AcumaticaDataSourceError

PULUMI_VERSION = "3.274.1"
"""The Pulumi CLI version built into the cache (pinned)."""

MIN_PATH_VERSION = (3, 200, 0)
"""The oldest ``pulumi`` on ``PATH`` that is used as it is."""

PLUGIN_SCRIPT = "pulumi-resource-pulumi-python"
LANGUAGE_HOST = "pulumi-language-python"
PKG_MODULE = "github.com/pulumi/pulumi/pkg/v3"
SDK_MODULE = "github.com/pulumi/pulumi/sdk/v3"
CLI_PACKAGE = f"{PKG_MODULE}/cmd/pulumi"
LANGUAGE_HOST_MODULE = "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3"
VERSION_SYMBOL = f"{SDK_MODULE}/go/common/version.Version"
CACHE_APP_DIR = "pulumi-acumatica-datasource"
BUILD_INFO = "build-info.json"

INSTALL_HINT = (
    "Install the Pulumi CLI (https://www.pulumi.com/docs/install/) so that `pulumi` is on "
    "PATH, or install Go 1.26+ (https://go.dev/dl/) so that it can be built from the Go "
    "module proxy into the cache (`python -m acumatica_datasource.cli.pulumi_cli`)."
)

Source = Literal["path", "cache", "built"]
Log = Callable[[str], None]

_HEARTBEAT_SECONDS = 30.0
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class PulumiCliError(AcumaticaDataSourceError):
    """No usable Pulumi CLI: none on PATH, none cached, and it could not be built."""


class PassphraseMissingError(AcumaticaDataSourceError):
    """No passphrase for the state's secrets provider was given."""


@dataclass(frozen=True)
class PulumiCli:
    """A located Pulumi CLI.

    ``bin_dir`` holds ``pulumi`` (possibly as a symbolic link) and the dynamic-provider plugin
    script; prepend it to ``PATH``. ``bin_dir.parent`` is the ``root`` that
    ``pulumi.automation.PulumiCommand`` expects (it runs ``<root>/bin/pulumi``).
    """

    pulumi: Path
    bin_dir: Path
    version: str
    source: Source
    language_host: Path | None = None

    @property
    def root(self) -> Path:
        """The directory whose ``bin/pulumi`` is this CLI (``PulumiCommand(root=...)``)."""
        return self.bin_dir.parent

    def command(self) -> Any:
        """Return a ``pulumi.automation.PulumiCommand`` running this CLI (imports pulumi)."""
        from pulumi.automation import PulumiCommand

        return PulumiCommand(root=str(self.root))


def _log_stderr(message: str) -> None:
    print(f"pulumi-cli: {message}", file=sys.stderr, flush=True)


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Return ``${XDG_CACHE_HOME:-~/.cache}/pulumi-acumatica-datasource``."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / CACHE_APP_DIR


def cli_cache_dir(version: str = PULUMI_VERSION, environ: Mapping[str, str] | None = None) -> Path:
    """Return the cache directory of one CLI version (its ``bin`` holds the programs)."""
    return cache_root(environ) / "pulumi" / f"v{version}"


def parse_version(text: str) -> tuple[int, int, int] | None:
    """Parse ``v3.274.1`` (or ``3.274.1-alpha+dirty``) into a tuple; None when unparsable."""
    match = _VERSION_RE.search(text)
    if match is None:
        return None
    return (int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _cli_environ() -> dict[str, str]:
    env = dict(os.environ)
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    return env


def _pulumi_version(pulumi: Path) -> str | None:
    try:
        result = subprocess.run(
            [str(pulumi), "version"],
            capture_output=True,
            text=True,
            timeout=60,
            env=_cli_environ(),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    text = result.stdout.strip()
    return text.removeprefix("v") if text else None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _complete(bin_dir: Path) -> bool:
    return _is_executable(bin_dir / "pulumi") and _is_executable(bin_dir / PLUGIN_SCRIPT)


def _cached(version: str, environ: Mapping[str, str] | None = None) -> PulumiCli | None:
    bin_dir = cli_cache_dir(version, environ) / "bin"
    if not _complete(bin_dir):
        return None
    language_host = bin_dir / LANGUAGE_HOST
    return PulumiCli(
        pulumi=bin_dir / "pulumi",
        bin_dir=bin_dir,
        version=version,
        source="cache",
        language_host=language_host if _is_executable(language_host) else None,
    )


@contextlib.contextmanager
def _file_lock(path: Path, log: Log) -> Iterator[None]:
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


def _run_go(
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


def _tail(lines: Sequence[str], count: int = 25) -> str:
    return "\n".join(f"    {line}" for line in lines[-count:])


def _write_go_mod(directory: Path, module: str, requires: Sequence[str]) -> None:
    text = [f"module {module}", "", "go 1.26", ""]
    text += [f"require {requirement}" for requirement in requires]
    (directory / "go.mod").write_text("\n".join(text) + "\n", encoding="utf-8")


def _module_dir(go: str, module: str, version: str, *, cwd: Path, log: Log) -> Path:
    code, lines = _run_go(
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
        detail = info.get("Error") or _tail(lines)
        raise PulumiCliError(f"could not download {module}@v{version}: {detail}")
    return Path(directory)


def _install_plugin_script(go: str, version: str, bin_dir: Path, *, cwd: Path, log: Log) -> None:
    sdk_dir = _module_dir(go, SDK_MODULE, version, cwd=cwd, log=log)
    script = sdk_dir / "python" / "dist" / PLUGIN_SCRIPT
    if not script.is_file():
        raise PulumiCliError(f"{SDK_MODULE}@v{version} has no python/dist/{PLUGIN_SCRIPT}")
    target = bin_dir / PLUGIN_SCRIPT
    bin_dir.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{PLUGIN_SCRIPT}.tmp")
    shutil.copyfile(script, staging)  # the module cache is read-only: copy the bytes only
    staging.chmod(0o755)
    staging.replace(target)


def _build_cli(go: str, version: str, bin_dir: Path, work: Path, log: Log) -> None:
    wrapper = work / "wrapper"
    wrapper.mkdir()
    _write_go_mod(wrapper, "pulumiclibuild", [])
    log(f"resolving {CLI_PACKAGE}@v{version} and its dependencies (go get)")
    code, lines = _run_go(
        [go, "get", f"{CLI_PACKAGE}@v{version}", f"{SDK_MODULE}@v{version}"],
        cwd=wrapper,
        log=log,
        label="go get",
        quiet=True,  # only retraction warnings; errors are in the exception
    )
    if code != 0:
        raise PulumiCliError(
            f"`go get {CLI_PACKAGE}@v{version}` failed (exit {code}):\n{_tail(lines)}\n"
            + INSTALL_HINT
        )
    log("compiling pulumi (go build; the first build takes several minutes)")
    code, lines = _run_go(
        [
            go,
            "build",
            "-mod=mod",
            "-ldflags",
            f"-X {VERSION_SYMBOL}=v{version}",
            "-o",
            str(bin_dir / "pulumi"),
            CLI_PACKAGE,
        ],
        cwd=wrapper,
        log=log,
        label="go build",
    )
    if code != 0:
        raise PulumiCliError(
            f"`go build {CLI_PACKAGE}` failed (exit {code}):\n{_tail(lines)}\n" + INSTALL_HINT
        )
    log(f"installing {PLUGIN_SCRIPT} from {SDK_MODULE}@v{version}")
    _install_plugin_script(go, version, bin_dir, cwd=wrapper, log=log)


def _build_language_host(go: str, version: str, bin_dir: Path, work: Path, log: Log) -> str | None:
    """Try to build ``pulumi-language-python``; return None on success, else why not."""
    wrapper = work / "language-host"
    wrapper.mkdir()
    _write_go_mod(wrapper, "pulumilanguagehostbuild", [f"{SDK_MODULE} v{version}"])
    log(f"trying the Python language host {LANGUAGE_HOST_MODULE}@v{version}")
    code, lines = _run_go(
        [go, "get", f"{LANGUAGE_HOST_MODULE}@v{version}"],
        cwd=wrapper,
        log=log,
        label="go get (language host)",
        quiet=True,
    )
    if code == 0:
        code, lines = _run_go(
            [go, "build", "-mod=mod", "-o", str(bin_dir / LANGUAGE_HOST), LANGUAGE_HOST_MODULE],
            cwd=wrapper,
            log=log,
            label="go build (language host)",
            quiet=True,
        )
    if code == 0:
        return None
    reason = " ".join(line.strip() for line in lines[-3:] if line.strip()) or f"exit {code}"
    log(
        f"{LANGUAGE_HOST} not built ({reason}); the Automation API does not need it, "
        "plain `pulumi up` in a project directory does"
    )
    return reason


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _check_built_version(pulumi: Path, version: str) -> None:
    reported = _pulumi_version(pulumi)
    if reported != version:
        raise PulumiCliError(f"the built pulumi reports version {reported!r}, expected {version!r}")


def _build_into_cache(go: str, version: str, log: Log) -> PulumiCli:
    dest = cli_cache_dir(version)
    parent = dest.parent
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(f".v{version}.tmp-*"):  # left by an interrupted build
        _remove_tree(stale)
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f".v{version}.tmp-", dir=parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
    try:
        bin_dir = staging / "bin"
        bin_dir.mkdir()
        with tempfile.TemporaryDirectory(prefix="pulumi-cli-build-") as work_name:
            work = Path(work_name)
            _build_cli(go, version, bin_dir, work, log)
            _check_built_version(bin_dir / "pulumi", version)
            language_error = _build_language_host(go, version, bin_dir, work, log)
        info = {
            "version": version,
            "go": _go_version(go),
            "built_seconds": round(time.monotonic() - started, 1),
            "language_host": {"built": language_error is None, "error": language_error},
        }
        (staging / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        if dest.exists():  # incomplete leftover (we hold the lock): move it aside first
            trash = Path(tempfile.mkdtemp(prefix=f".v{version}.tmp-old-", dir=parent))
            dest.rename(trash / "old")
            _remove_tree(trash)
        staging.rename(dest)
    except BaseException:
        _remove_tree(staging)
        raise
    log(f"built pulumi v{version} in {time.monotonic() - started:.0f}s: {dest / 'bin'}")
    cached = _cached(version)
    if cached is None:  # pragma: no cover - rename succeeded, so this cannot happen
        raise PulumiCliError(f"the build did not produce {dest / 'bin'}")
    return PulumiCli(
        pulumi=cached.pulumi,
        bin_dir=cached.bin_dir,
        version=version,
        source="built",
        language_host=cached.language_host,
    )


def _go_version(go: str) -> str | None:
    try:
        result = subprocess.run(
            [go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def _plugin_for_ambient(pulumi: Path, version: str, *, build: bool, log: Log) -> Path:
    """Return a bin dir with a ``pulumi`` link to ``pulumi`` and the plugin script beside it."""
    resolved = pulumi.resolve()
    key = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    bin_dir = cache_root() / "pulumi" / f"ambient-{key}" / "bin"
    link = bin_dir / "pulumi"
    with _file_lock(cache_root() / "pulumi" / f"ambient-{key}.lock", log):
        if not _is_executable(bin_dir / PLUGIN_SCRIPT):
            cached = _cached(PULUMI_VERSION)
            go = shutil.which("go") if build else None
            if cached is not None:
                bin_dir.mkdir(parents=True, exist_ok=True)
                staging = bin_dir / f".{PLUGIN_SCRIPT}.tmp"
                shutil.copyfile(cached.bin_dir / PLUGIN_SCRIPT, staging)
                staging.chmod(0o755)
                staging.replace(bin_dir / PLUGIN_SCRIPT)
            elif go is not None:
                with tempfile.TemporaryDirectory(prefix="pulumi-cli-plugin-") as work:
                    _install_plugin_script(go, PULUMI_VERSION, bin_dir, cwd=Path(work), log=log)
            else:
                raise PulumiCliError(
                    f"the pulumi on PATH ({pulumi}, v{version}) has no {PLUGIN_SCRIPT} beside "
                    "it, which Python dynamic providers need, and it cannot be fetched "
                    "without Go. Reinstall the Pulumi CLI from "
                    "https://www.pulumi.com/docs/install/ (it ships the script) or install Go."
                )
        if not (link.is_symlink() and link.resolve() == resolved):
            staging_link = bin_dir / ".pulumi.tmp"
            staging_link.unlink(missing_ok=True)
            staging_link.symlink_to(resolved)
            staging_link.replace(link)
    return bin_dir


def _from_path(*, build: bool, log: Log) -> PulumiCli | None:
    found = shutil.which("pulumi")
    if found is None:
        return None
    pulumi = Path(found)
    version = _pulumi_version(pulumi)
    parsed = parse_version(version or "")
    if version is None or parsed is None:
        log(f"ignoring {pulumi}: `pulumi version` did not report a version")
        return None
    if parsed < MIN_PATH_VERSION:
        minimum = ".".join(map(str, MIN_PATH_VERSION))
        log(f"ignoring {pulumi}: version {version} is older than {minimum}")
        return None
    language_host = pulumi.parent / LANGUAGE_HOST
    if _is_executable(pulumi.parent / PLUGIN_SCRIPT):
        bin_dir = pulumi.parent
    else:
        bin_dir = _plugin_for_ambient(pulumi, version, build=build, log=log)
    return PulumiCli(
        pulumi=pulumi,
        bin_dir=bin_dir,
        version=version,
        source="path",
        language_host=language_host if _is_executable(language_host) else None,
    )


def ensure_pulumi_cli(*, build: bool = True, log: Log = _log_stderr) -> PulumiCli:
    """Locate the Pulumi CLI, building it into the cache when needed and allowed.

    Raises :class:`PulumiCliError` (with installation advice) when there is none and it
    cannot be built (``build=False``, no ``go``, or the build failed).
    """
    on_path = _from_path(build=build, log=log)
    if on_path is not None:
        return on_path
    cached = _cached(PULUMI_VERSION)
    if cached is not None:
        return cached
    go = shutil.which("go")
    if not build or go is None:
        why = "building is disabled" if not build else "`go` is not on PATH"
        raise PulumiCliError(
            f"no Pulumi CLI found: none on PATH (>= {'.'.join(map(str, MIN_PATH_VERSION))}), "
            f"none in {cli_cache_dir() / 'bin'}, and {why}. {INSTALL_HINT}"
        )
    lock = cache_root() / "pulumi" / f"v{PULUMI_VERSION}.lock"
    with _file_lock(lock, log):
        cached = _cached(PULUMI_VERSION)  # another process may have built it meanwhile
        if cached is not None:
            return cached
        log(f"building the Pulumi CLI v{PULUMI_VERSION} with {go} into {cli_cache_dir()}")
        return _build_into_cache(go, PULUMI_VERSION, log)


def offline_environment(
    state_dir: Path,
    passphrase: str | None = None,
    *,
    cli: PulumiCli | None = None,
    pulumi_home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the environment variables for an offline engine run.

    * ``PULUMI_BACKEND_URL``: ``file://<state_dir>`` unless the user set one.
    * ``PULUMI_CONFIG_PASSPHRASE``: from the environment, else ``passphrase``; without either
      (and without ``PULUMI_CONFIG_PASSPHRASE_FILE``) :class:`PassphraseMissingError`.
    * ``PULUMI_SKIP_UPDATE_CHECK``, ``PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION``: no network.
    * ``PULUMI_HOME``: the user's if set, else ``pulumi_home``, else ``pulumi-home`` in the
      cache, so nothing is written to ``~/.pulumi``.
    * ``PULUMI_PYTHON_CMD``: this interpreter, which the dynamic-provider plugin script runs
      (``python -u -m pulumi.dynamic``), so the provider imports this package.
    * ``PATH``: ``cli.bin_dir`` (when given) and this interpreter's directory first.

    The returned mapping is meant to be layered over ``os.environ`` (it is what
    ``LocalWorkspaceOptions(env_vars=...)`` does).
    """
    env = os.environ if environ is None else environ
    result: dict[str, str] = {}
    result["PULUMI_BACKEND_URL"] = env.get("PULUMI_BACKEND_URL") or (
        "file://" + str(Path(state_dir).expanduser().resolve())
    )
    if env.get("PULUMI_CONFIG_PASSPHRASE") is not None:
        result["PULUMI_CONFIG_PASSPHRASE"] = env["PULUMI_CONFIG_PASSPHRASE"]
    elif env.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        result["PULUMI_CONFIG_PASSPHRASE_FILE"] = env["PULUMI_CONFIG_PASSPHRASE_FILE"]
    elif passphrase is not None:
        result["PULUMI_CONFIG_PASSPHRASE"] = passphrase
    else:
        raise PassphraseMissingError(
            "PULUMI_CONFIG_PASSPHRASE is not set: the stack state's secrets are encrypted with "
            "a passphrase. Export PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) "
            "and run again; keep it the same for every run against the same state."
        )
    result["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    result["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    home = env.get("PULUMI_HOME") or str(pulumi_home or cache_root(env) / "pulumi-home")
    result["PULUMI_HOME"] = str(Path(home).expanduser())
    result["PULUMI_PYTHON_CMD"] = sys.executable
    # The Automation API puts the CLI's own directory first; the plugin script and this
    # interpreter's directory (a virtual environment's bin) follow, before the rest.
    path = [str(cli.bin_dir)] if cli is not None else []
    path.append(str(Path(sys.executable).parent))
    path += [entry for entry in env.get("PATH", os.defpath).split(os.pathsep) if entry]
    result["PATH"] = os.pathsep.join(dict.fromkeys(path))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m acumatica_datasource.cli.pulumi_cli``: locate or build; print the path."""
    parser = argparse.ArgumentParser(
        prog="python -m acumatica_datasource.cli.pulumi_cli",
        description=f"Locate the Pulumi CLI or build v{PULUMI_VERSION} into the cache; "
        "print the path of `pulumi`.",
    )
    parser.add_argument("--no-build", action="store_true", help="fail instead of building")
    parser.add_argument(
        "--print",
        choices=("pulumi", "bin-dir", "json"),
        default="pulumi",
        dest="what",
        help="what to print (default: the path of pulumi)",
    )
    args = parser.parse_args(argv)
    try:
        cli = ensure_pulumi_cli(build=not args.no_build)
    except PulumiCliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.what == "bin-dir":
        print(cli.bin_dir)
    elif args.what == "json":
        print(
            json.dumps(
                {
                    "pulumi": str(cli.pulumi),
                    "bin_dir": str(cli.bin_dir),
                    "version": cli.version,
                    "source": cli.source,
                    "language_host": str(cli.language_host) if cli.language_host else None,
                }
            )
        )
    else:
        print(cli.pulumi)
    return 0


if __name__ == "__main__":
    sys.exit(main())
