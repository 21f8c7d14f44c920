"""The sandbox shares no code with the client layers it tests (DESIGN.md section 3).

The rule: the sandbox imports none of ``acumatica_datasource.spec``, ``.secrets``,
``.acumatica``, ``.verify``, ``.resource`` or ``.cli`` (nor anything else of the package
outside ``acumatica_datasource.sandbox``); besides itself it uses the standard library,
aiohttp (its web framework) and pydantic (its config models) only. Both the source text and
what an import really loads are checked, so neither a direct nor an indirect import slips by.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import acumatica_datasource.sandbox as sandbox_package

PACKAGE_DIR = Path(sandbox_package.__file__).parent
ALLOWED_THIRD_PARTY = {"aiohttp", "pydantic", "pydantic_core"}
CLIENT_LAYERS = ("spec", "secrets", "acumatica", "verify", "resource", "cli")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports ({node.module})"
            if node.module:
                names.add(node.module)
    return names


def _violations(path: Path) -> list[str]:
    """The imports of ``path`` that break the rule."""
    bad = []
    for name in sorted(_imported_modules(path)):
        top = name.split(".")[0]
        if top == "acumatica_datasource":
            if not name.startswith("acumatica_datasource.sandbox"):
                bad.append(name)
        elif top not in sys.stdlib_module_names and top not in ALLOWED_THIRD_PARTY:
            bad.append(name)
    return bad


def test_sandbox_sources_import_only_stdlib_aiohttp_pydantic_and_themselves() -> None:
    sources = sorted(PACKAGE_DIR.rglob("*.py"))
    assert sources
    assert {source.name: _violations(source) for source in sources if _violations(source)} == {}


def test_importing_the_sandbox_loads_no_client_layer() -> None:
    probe = (
        "import sys, runpy\n"
        "import acumatica_datasource.sandbox, acumatica_datasource.sandbox.__main__\n"
        f"layers = {CLIENT_LAYERS!r}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('yaml', 'httpx', 'hvac', 'pulumi', 'requests', 'tenacity') "
        "or (m.startswith('acumatica_datasource.') "
        "and not m.startswith('acumatica_datasource.sandbox')) "
        "or any(m == f'acumatica_datasource.{layer}' for layer in layers))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_the_checker_flags_each_client_layer_and_other_libraries(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    lines = [f"from acumatica_datasource.{layer} import thing" for layer in CLIENT_LAYERS]
    probe.write_text("\n".join([*lines, "import httpx", "import json"]) + "\n", encoding="utf-8")
    expected = [f"acumatica_datasource.{layer}" for layer in CLIENT_LAYERS]
    assert _violations(probe) == sorted([*expected, "httpx"])
