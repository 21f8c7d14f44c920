"""The sandbox shares nothing with the client layers: only the standard library and aiohttp."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import acumatica_datasource.sandbox as sandbox_package

PACKAGE_DIR = Path(sandbox_package.__file__).parent
ALLOWED_THIRD_PARTY = {"aiohttp"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_sandbox_sources_import_only_stdlib_aiohttp_and_themselves() -> None:
    sources = sorted(PACKAGE_DIR.glob("*.py"))
    assert sources
    for source in sources:
        for name in _imported_modules(source):
            top = name.split(".")[0]
            if name.startswith("acumatica_datasource"):
                assert name.startswith("acumatica_datasource.sandbox"), f"{source.name}: {name}"
            else:
                assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, (
                    f"{source.name} imports {name}"
                )


def test_importing_the_sandbox_loads_no_client_layer() -> None:
    probe = (
        "import sys, acumatica_datasource.sandbox\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'yaml', 'httpx', 'hvac', 'pulumi') or (m.startswith('acumatica_datasource.') "
        "and not m.startswith('acumatica_datasource.sandbox')))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
