"""Locate the Pulumi CLI, or build it into the cache.

The Automation API drives the ``pulumi`` program, a Go binary. With inline programs the
engine needs only ``pulumi`` and the dynamic-provider plugin script
``pulumi-resource-pulumi-python`` (found next to ``pulumi`` or on ``PATH``).
:func:`locate_pulumi_cli` looks, in order:

1. for a ``pulumi`` on ``PATH`` of at least version 3.200, used as it is (when its directory
   lacks the plugin script, the script comes from the cache, or from the ``sdk/v3`` module);
2. in the cache ``${XDG_CACHE_HOME:-~/.cache}/pulumi-acumatica-datasource/pulumi/v<version>/bin``.

:func:`build_pulumi_cli` builds it from the Go module proxy into that cache (see
:mod:`~acumatica_datasource.tooling.pulumi_build`); :func:`ensure_pulumi_cli` does the one,
else the other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from acumatica_datasource.errors import EnvironmentProblem
from acumatica_datasource.tooling.gobuild import (
    Log,
    ToolError,
    build_once,
    cache_root,
    file_lock,
    find_go,
    install_executable,
    is_executable,
)
from acumatica_datasource.tooling.pulumi_build import (
    LANGUAGE_HOST,
    PLUGIN_SCRIPT,
    PULUMI_VERSION,
    build_pulumi,
    cli_cache_dir,
    install_plugin_script,
    reported_version,
)

MIN_PATH_VERSION = (3, 200, 0)
"""The oldest ``pulumi`` on ``PATH`` that is used as it is."""

INSTALL_HINT = (
    "Install the Pulumi CLI (https://www.pulumi.com/docs/install/) so that `pulumi` is on "
    "PATH, or install Go 1.26+ (https://go.dev/dl/) so that it can be built from the Go "
    "module proxy into the cache (`python -m acumatica_datasource.tooling`)."
)

Source = Literal["path", "cache", "built"]

_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class PulumiCliError(ToolError, EnvironmentProblem):
    """No usable Pulumi CLI: none on PATH, none cached, and it could not be built."""


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


def parse_version(text: str) -> tuple[int, int, int] | None:
    """Parse ``v3.274.1`` (or ``3.274.1-alpha+dirty``) into a tuple; None when unparsable."""
    match = _VERSION_RE.search(text)
    if match is None:
        return None
    return (int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _complete(bin_dir: Path) -> bool:
    return is_executable(bin_dir / "pulumi") and is_executable(bin_dir / PLUGIN_SCRIPT)


def _language_host(bin_dir: Path) -> Path | None:
    return bin_dir / LANGUAGE_HOST if is_executable(bin_dir / LANGUAGE_HOST) else None


def _cached() -> PulumiCli | None:
    bin_dir = cli_cache_dir() / "bin"
    if not _complete(bin_dir):
        return None
    return PulumiCli(
        pulumi=bin_dir / "pulumi",
        bin_dir=bin_dir,
        version=PULUMI_VERSION,
        source="cache",
        language_host=_language_host(bin_dir),
    )


def _plugin_for_ambient(pulumi: Path, version: str, *, build: bool, log: Log) -> Path:
    """Return a bin dir with a ``pulumi`` link to ``pulumi`` and the plugin script beside it."""
    resolved = pulumi.resolve()
    key = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    bin_dir = cache_root() / "pulumi" / f"ambient-{key}" / "bin"
    link = bin_dir / "pulumi"
    with file_lock(cache_root() / "pulumi" / f"ambient-{key}.lock", log):
        if not is_executable(bin_dir / PLUGIN_SCRIPT):
            cached = _cached()
            go = shutil.which("go") if build else None
            if cached is not None:
                install_executable(cached.bin_dir / PLUGIN_SCRIPT, bin_dir / PLUGIN_SCRIPT)
            elif go is not None:
                with tempfile.TemporaryDirectory(prefix="pulumi-cli-plugin-") as work:
                    install_plugin_script(go, bin_dir, cwd=Path(work), log=log)
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
    version = reported_version(pulumi)
    parsed = parse_version(version or "")
    if version is None or parsed is None:
        log(f"ignoring {pulumi}: `pulumi version` did not report a version")
        return None
    if parsed < MIN_PATH_VERSION:
        minimum = ".".join(map(str, MIN_PATH_VERSION))
        log(f"ignoring {pulumi}: version {version} is older than {minimum}")
        return None
    if is_executable(pulumi.parent / PLUGIN_SCRIPT):
        bin_dir = pulumi.parent
    else:
        bin_dir = _plugin_for_ambient(pulumi, version, build=build, log=log)
    return PulumiCli(
        pulumi=pulumi,
        bin_dir=bin_dir,
        version=version,
        source="path",
        language_host=_language_host(pulumi.parent),
    )


def locate_pulumi_cli(*, build: bool = True, log: Log = _log_stderr) -> PulumiCli | None:
    """The Pulumi CLI on ``PATH`` or in the cache, or None; builds nothing but, for a CLI on
    ``PATH`` without one, the plugin script (``build=False`` forbids that too)."""
    return _from_path(build=build, log=log) or _cached()


def build_pulumi_cli(go: str, *, log: Log = _log_stderr) -> PulumiCli:
    """Build :data:`PULUMI_VERSION` with ``go`` into the cache (once, when several processes
    ask at the same time); raise :class:`PulumiCliError` with installation advice."""
    try:
        built = build_once(
            cli_cache_dir(),
            go,
            lambda bin_dir, work: build_pulumi(go, bin_dir, work, log),
            complete=_complete,
            log=log,
        )
    except ToolError as error:
        raise PulumiCliError(f"{error}\n{INSTALL_HINT}") from None
    cached = _cached()
    if cached is None:  # pragma: no cover - the rename succeeded, so this cannot happen
        raise PulumiCliError(f"the build did not produce {cli_cache_dir() / 'bin'}")
    return dataclasses.replace(cached, source="built") if built else cached


def ensure_pulumi_cli(*, build: bool = True, log: Log = _log_stderr) -> PulumiCli:
    """Locate the Pulumi CLI, building it into the cache when needed and allowed.

    Raises :class:`PulumiCliError` (with installation advice) when there is none and it
    cannot be built (``build=False``, no ``go``, or the build failed).
    """
    located = locate_pulumi_cli(build=build, log=log)
    if located is not None:
        return located
    try:
        go = find_go(build=build)
    except ToolError as why:
        raise PulumiCliError(
            f"no Pulumi CLI found: none on PATH (>= {'.'.join(map(str, MIN_PATH_VERSION))}), "
            f"none in {cli_cache_dir() / 'bin'}, and {why}. {INSTALL_HINT}"
        ) from None
    return build_pulumi_cli(go, log=log)
