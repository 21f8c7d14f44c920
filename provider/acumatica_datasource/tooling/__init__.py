"""The programs the engine needs, located or built from the Go module proxy, and the
environment of an offline engine run.

Outside the six layers: only the standard library (and the package's error base) is imported,
and the command line and tests use it. To add a Go-built program, describe it with a
:class:`GoTool` (package, version, binary name) and call :func:`locate_or_build`, or add it to
a recipe run by :func:`build_once`. ``python -m acumatica_datasource.tooling`` (``make
pulumi``) locates or builds the Pulumi CLI and the YAML language host and prints the CLI's
path.
"""

from __future__ import annotations

from acumatica_datasource.tooling.environment import PassphraseMissingError, offline_environment
from acumatica_datasource.tooling.gobuild import (
    GoTool,
    ToolError,
    build_once,
    cache_root,
    locate_or_build,
)
from acumatica_datasource.tooling.pulumi_build import PULUMI_VERSION, cli_cache_dir
from acumatica_datasource.tooling.pulumi_cli import (
    PulumiCli,
    PulumiCliError,
    build_pulumi_cli,
    ensure_pulumi_cli,
    locate_pulumi_cli,
)
from acumatica_datasource.tooling.yaml_host import (
    YAML_LANGUAGE_HOST,
    YAML_VERSION,
    ensure_yaml_language_host,
)

__all__ = [
    "PULUMI_VERSION",
    "YAML_LANGUAGE_HOST",
    "YAML_VERSION",
    "GoTool",
    "PassphraseMissingError",
    "PulumiCli",
    "PulumiCliError",
    "ToolError",
    "build_once",
    "build_pulumi_cli",
    "cache_root",
    "cli_cache_dir",
    "ensure_pulumi_cli",
    "ensure_yaml_language_host",
    "locate_or_build",
    "locate_pulumi_cli",
    "offline_environment",
]
