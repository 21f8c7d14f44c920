"""Guards of start-up work (issue 18): each process imports and builds only what it uses.

Every probe runs in a fresh interpreter and reports what it loaded. ``bench/startup.py``
measures the time these guards protect; here only the work itself is pinned, never a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.spec.support import basic_source

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "quickstart" / "environment.yaml"

LAYERS = ("spec", "secrets", "acumatica", "verify", "resource", "cli")
NETWORK = ("httpx", "hvac", "requests", "aiohttp")
"""The clients of Acumatica and Vault: loaded by the steps that resolve or verify."""
ENGINE = ("pulumi", "grpc", "google.protobuf", "dill")

REPORT = """
import json, sys
from acumatica_datasource.spec import base, models
print(json.dumps({
    "modules": sorted(sys.modules),
    "built": sorted(
        name for name in dir(models)
        if isinstance(getattr(models, name), type)
        and issubclass(getattr(models, name), base.SpecModel)
        and getattr(models, name).__pydantic_complete__
    ),
    "docstrings_read": base._class_docstrings.cache_info().currsize,
}))
"""
"""Printed at the end of a probe: the modules loaded, the spec models built, and whether
any model's source was read for its field docstrings."""

DATA_SOURCE = basic_source()


def probe(code: str) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", code + REPORT],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def loaded(modules: list[str], *packages: str) -> list[str]:
    """The modules of ``packages`` (top-level names or dotted prefixes) among ``modules``."""
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]


def layers(modules: list[str], *names: str) -> list[str]:
    return loaded(modules, *(f"acumatica_datasource.{name}" for name in names))


HELD = {
    "acumatica_datasource.acumatica",
    "acumatica_datasource.acumatica.cancellation",
    "acumatica_datasource.verify",
    "acumatica_datasource.verify.progress",
}
"""What the lifecycle holds from the start, the run's cancellation and progress board: two
standard-library modules of their layers (whose packages load their names lazily)."""


def test_help_loads_no_layer_and_no_pydantic() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import contextlib, io, json, sys\n"
            "from acumatica_datasource.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['--help'])\n"
            "print(json.dumps(sorted(sys.modules)))\n",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    modules = json.loads(done.stdout)
    assert loaded(modules, "pydantic", "pydantic_core", "yaml", *ENGINE, *NETWORK) == []
    assert layers(modules, *(layer for layer in LAYERS if layer != "cli")) == []


def test_validate_loads_only_the_spec_and_reads_no_source() -> None:
    result = probe(
        "import contextlib, io\n"
        "from acumatica_datasource.cli import main\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        f"    assert main(['validate', {str(EXAMPLE)!r}]) == 0\n"
    )
    modules = result["modules"]
    assert loaded(modules, *ENGINE, *NETWORK) == []
    assert layers(modules, "secrets", "acumatica", "verify", "resource") == []
    assert result["docstrings_read"] == 0  # field descriptions are for the schemas only
    assert "difflib" not in modules  # "did you mean" is for unknown keys only


def test_schema_describes_fields_from_their_docstrings() -> None:
    result = probe(
        "from acumatica_datasource.spec.schema import json_schema\n"
        "url = json_schema()['$defs']['DataSource']['properties']['url']\n"
        "assert url['description'].startswith('Base URL of the Acumatica site'), url\n"
    )
    assert result["docstrings_read"] > 0


def test_dynamic_provider_check_loads_no_client_and_builds_no_environment() -> None:
    result = probe(
        "from acumatica_datasource.resource.provider import DataSourceProvider\n"
        f"checked = DataSourceProvider().check({{}}, {DATA_SOURCE!r})\n"
        "assert not checked.failures, checked.failures\n"
    )
    modules = result["modules"]
    assert loaded(modules, *NETWORK) == []
    # the lifecycle holds the run's cancellation and progress board from the start: two
    # standard-library modules of their layers (whose packages load their names lazily)
    assert set(layers(modules, "secrets", "acumatica", "verify", "cli")) <= HELD
    assert loaded(modules, "acumatica_datasource.spec.yamlfile") == []  # no file to read
    assert "Environment" not in result["built"]
    assert "DataSource" in result["built"]
    assert result["docstrings_read"] == 0


def test_plugin_loads_no_client_before_the_first_call() -> None:
    result = probe("import acumatica_datasource.resource.plugin_server\n")
    modules = result["modules"]
    assert loaded(modules, *NETWORK) == []
    assert set(layers(modules, "secrets", "acumatica", "verify", "cli")) <= HELD
    assert result["built"] == []  # each model is built by the first call that validates
    assert result["docstrings_read"] == 0  # the package schema is built when asked for
