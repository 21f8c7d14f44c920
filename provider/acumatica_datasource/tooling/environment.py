"""The environment of an offline engine run (no network, state in a local directory)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from acumatica_datasource.errors import EnvironmentProblem
from acumatica_datasource.tooling.gobuild import cache_root
from acumatica_datasource.tooling.pulumi_cli import PulumiCli


class PassphraseMissingError(EnvironmentProblem):
    """No passphrase for the state's secrets provider was given."""


def _not_empty(passphrase: str, source: str) -> str:
    """``passphrase``, unless it is empty (or blank)."""
    if not passphrase.strip():
        raise PassphraseMissingError(
            f"{source} is empty: every secret in the stack state would be decryptable with an "
            "empty passphrase. Fix: set PULUMI_CONFIG_PASSPHRASE (or the file of "
            "PULUMI_CONFIG_PASSPHRASE_FILE) to a long random passphrase kept in the CI's secret "
            "store, the same for every run against the same state"
        )
    return passphrase


def offline_environment(
    state_dir: Path,
    passphrase: str | None = None,
    *,
    cli: PulumiCli | None = None,
    pulumi_home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the environment variables for an offline engine run.

    * ``PULUMI_BACKEND_URL``: ``file://<state_dir>`` (created when missing: the engine refuses
      a file backend whose directory does not exist) unless the user set one.
    * ``PULUMI_CONFIG_PASSPHRASE``: from the environment, else ``passphrase``; without either
      (and without ``PULUMI_CONFIG_PASSPHRASE_FILE``) :class:`PassphraseMissingError`, as for
      an empty passphrase (or passphrase file), which would make every secret in the state
      decryptable with "".
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
    if env.get("PULUMI_BACKEND_URL"):
        result["PULUMI_BACKEND_URL"] = env["PULUMI_BACKEND_URL"]
    else:
        state = Path(state_dir).expanduser().resolve()
        state.mkdir(parents=True, exist_ok=True)
        result["PULUMI_BACKEND_URL"] = f"file://{state}"
    if env.get("PULUMI_CONFIG_PASSPHRASE") is not None:
        result["PULUMI_CONFIG_PASSPHRASE"] = _not_empty(
            env["PULUMI_CONFIG_PASSPHRASE"], "PULUMI_CONFIG_PASSPHRASE"
        )
    elif env.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        passphrase_file = env["PULUMI_CONFIG_PASSPHRASE_FILE"]
        with contextlib.suppress(OSError):  # unreadable: the engine says so itself
            _not_empty(
                Path(passphrase_file).read_text(),
                f"PULUMI_CONFIG_PASSPHRASE_FILE ({passphrase_file})",
            )
        result["PULUMI_CONFIG_PASSPHRASE_FILE"] = passphrase_file
    elif passphrase is not None:
        result["PULUMI_CONFIG_PASSPHRASE"] = _not_empty(passphrase, "the passphrase")
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
