"""What the Pulumi CLI is built from, and the recipe that builds it into the cache.

``go build`` compiles :data:`PULUMI` (``pkg/v3/cmd/pulumi`` at :data:`PULUMI_VERSION`); the
dynamic-provider plugin script comes from the ``sdk/v3`` module zip (``python/dist/``); the
Python language host :data:`PYTHON_LANGUAGE_HOST` is tried too (only plain ``pulumi up`` in a
project directory needs it; the module proxy does not serve it, so its absence is not fatal).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acumatica_datasource.tooling.gobuild import (
    GoTool,
    Log,
    ToolError,
    install_executable,
    module_dir,
    tool_dir,
)

PULUMI_VERSION = "3.274.1"
"""The Pulumi CLI version built into the cache (pinned)."""

PLUGIN_SCRIPT = "pulumi-resource-pulumi-python"
LANGUAGE_HOST = "pulumi-language-python"
SDK_MODULE = "github.com/pulumi/pulumi/sdk/v3"
LANGUAGE_HOST_MODULE = "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3"

PULUMI = GoTool(
    binary="pulumi",
    package="github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    version=PULUMI_VERSION,
    pins=(SDK_MODULE,),
    version_symbol=f"{SDK_MODULE}/go/common/version.Version",
)
PYTHON_LANGUAGE_HOST = GoTool(
    binary=LANGUAGE_HOST,
    package=LANGUAGE_HOST_MODULE,
    version=PULUMI_VERSION,
    pins=(SDK_MODULE,),
)


def cli_cache_dir(version: str = PULUMI_VERSION, environ: Mapping[str, str] | None = None) -> Path:
    """Return the cache directory of one CLI version (its ``bin`` holds the programs)."""
    return tool_dir("pulumi", version, environ)


def reported_version(pulumi: Path) -> str | None:
    """What ``pulumi version`` says (without the ``v``), or None when it says nothing."""
    try:
        result = subprocess.run(
            [str(pulumi), "version"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = result.stdout.strip() if result.returncode == 0 else ""
    return text.removeprefix("v") or None


def install_plugin_script(go: str, bin_dir: Path, *, cwd: Path, log: Log) -> None:
    """Copy the plugin script from the ``sdk/v3`` module (downloaded with ``go``) to ``bin_dir``."""
    log(f"installing {PLUGIN_SCRIPT} from {SDK_MODULE}@v{PULUMI_VERSION}")
    sdk_dir = module_dir(go, SDK_MODULE, PULUMI_VERSION, cwd=cwd, log=log)
    script = sdk_dir / "python" / "dist" / PLUGIN_SCRIPT
    if not script.is_file():
        raise ToolError(f"{SDK_MODULE}@v{PULUMI_VERSION} has no python/dist/{PLUGIN_SCRIPT}")
    install_executable(script, bin_dir / PLUGIN_SCRIPT)


def build_pulumi(go: str, bin_dir: Path, work: Path, log: Log) -> dict[str, Any]:
    """The recipe of :func:`~acumatica_datasource.tooling.gobuild.build_once` for the CLI."""
    log(f"building the Pulumi CLI v{PULUMI_VERSION} with {go} (the first build takes minutes)")
    PULUMI.build(go, bin_dir, work, log)
    reported = reported_version(bin_dir / PULUMI.binary)
    if reported != PULUMI_VERSION:
        raise ToolError(
            f"the built pulumi reports version {reported!r}, expected {PULUMI_VERSION!r}"
        )
    install_plugin_script(go, bin_dir, cwd=work, log=log)
    try:
        PYTHON_LANGUAGE_HOST.build(go, bin_dir, work, log, quiet=True)
        language_error = None
    except ToolError as error:
        lines = [line.strip() for line in str(error).splitlines()[1:] if line.strip()]
        language_error = " ".join(lines[-3:]) or str(error)
        log(
            f"{LANGUAGE_HOST} not built ({language_error}); the Automation API does not need "
            "it, plain `pulumi up` in a project directory does"
        )
    return {
        "version": PULUMI_VERSION,
        "language_host": {"built": language_error is None, "error": language_error},
    }
