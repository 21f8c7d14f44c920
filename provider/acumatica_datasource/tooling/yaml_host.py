"""The Pulumi YAML language host, located or built like the Pulumi CLI.

Plain ``pulumi`` commands in a project with ``runtime: yaml`` run ``pulumi-language-yaml``.
Pulumi's own installs ship it beside ``pulumi``, and then it is used as it is. Otherwise
:func:`locate_or_build` builds :data:`YAML_LANGUAGE_HOST` from the Go module proxy into the
same cache as the CLI (``<cache>/pulumi-language-yaml/v<version>/bin``, well under a minute)
and a link to it is put beside the cached ``pulumi``, where the engine looks for its bundled
language hosts first (so it neither needs ``PATH`` nor warns about finding it there).
"""

from __future__ import annotations

import sys
from pathlib import Path

from acumatica_datasource.tooling.gobuild import (
    GoTool,
    Log,
    cache_root,
    is_executable,
    locate_or_build,
)
from acumatica_datasource.tooling.pulumi_cli import PulumiCli

YAML_VERSION = "1.25.0"
"""The pulumi-yaml version built into the cache (pinned)."""

YAML_LANGUAGE_HOST = GoTool(
    binary="pulumi-language-yaml",
    package="github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml",
    version=YAML_VERSION,
)


def _log_stderr(message: str) -> None:
    print(f"pulumi-language-yaml: {message}", file=sys.stderr, flush=True)


def ensure_yaml_language_host(
    cli: PulumiCli, *, build: bool = True, log: Log = _log_stderr
) -> Path:
    """The YAML language host for ``cli``: the one shipped beside its ``pulumi``, else the
    cached one (built when absent and ``build``), linked into ``cli.bin_dir`` when that
    directory is the cache's. Raises :class:`~.gobuild.ToolError` when there is none."""
    shipped = cli.pulumi.resolve().parent / YAML_LANGUAGE_HOST.binary
    if is_executable(shipped):
        return shipped
    program = locate_or_build(YAML_LANGUAGE_HOST, build=build, log=log)
    if not cli.bin_dir.resolve().is_relative_to(cache_root().resolve()):
        return program  # the user's directory: the caller puts the program's on PATH
    link = cli.bin_dir / YAML_LANGUAGE_HOST.binary
    if not (link.is_symlink() and link.resolve() == program.resolve()):
        staging = cli.bin_dir / f".{YAML_LANGUAGE_HOST.binary}.tmp"
        staging.unlink(missing_ok=True)
        staging.symlink_to(program)
        staging.replace(link)
    return link
