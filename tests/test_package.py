"""Guards of the package's shape: the import direction of the layers, and what it exports.

The six layers of DESIGN.md section 3 are ``spec <- secrets <- acumatica <- verify <- resource
<- cli``: a module imports only its own layer and the layers before it. Besides them:

* the shared modules at the root (``errors``, ``redaction``, ``environment_variables``,
  ``exports``) import nothing of the package, and every layer may import them;
* ``tooling`` (the programs the engine needs) imports only the shared modules, and only
  ``cli`` imports it;
* the sandbox has rules of its own (tests/sandbox/test_isolation.py); only ``cli`` imports it
  (``acumatica-ds sandbox`` serves it);
* the package root (``__init__``, ``__main__``) is the package's face and may import any layer.

Every import counts, at module level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import acumatica_datasource

PACKAGE = "acumatica_datasource"
PACKAGE_DIR = Path(acumatica_datasource.__file__).parent
LAYERS = ("spec", "secrets", "acumatica", "verify", "resource", "cli")
SHARED = ("errors", "redaction", "environment_variables", "exports")
OUTSIDE = ("tooling", "sandbox")

EXPORTED = [
    "AcumaticaDataSource",
    "BasicAuth",
    "DataSourceError",
    "DataSourceProvider",
    "EnvSecret",
    "OAuth2",
    "VaultSecret",
    "VerificationSettings",
    "VerificationUser",
    "__version__",
    "declare_environment",
]
"""The package root's ``__all__``: a change here is a change of the public interface."""


def _part(module: str) -> str:
    """The layer (or shared module, or outside part) that ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> set[str]:
    """Every module of the package that ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: use absolute imports ({node.module})"
            if node.module == PACKAGE:  # from acumatica_datasource import errors
                found.update(f"{PACKAGE}.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return {name for name in found if name.split(".")[0] == PACKAGE}


def _allowed(importer: str, imported: str) -> bool:
    source, target = _part(importer), _part(imported)
    if source == target or target in SHARED:
        return True
    if source in LAYERS and target in LAYERS:
        return LAYERS.index(target) < LAYERS.index(source)
    if target in OUTSIDE:
        return source == "cli"
    return False


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR).with_suffix("")
        name = ".".join((PACKAGE, *relative.parts)).removesuffix(".__init__")
        modules[name] = path
    return modules


def test_every_module_belongs_to_a_known_part() -> None:
    root = {PACKAGE, f"{PACKAGE}.__main__"}
    unknown = [
        name
        for name in _modules()
        if name not in root and _part(name) not in (*LAYERS, *SHARED, *OUTSIDE)
    ]
    assert unknown == [], "a new top-level module: place it in a layer (or in this test)"


def test_layers_import_only_the_layers_before_them() -> None:
    root = {PACKAGE, f"{PACKAGE}.__main__"}
    broken = [
        f"{name} imports {imported}"
        for name, path in _modules().items()
        if name not in root and _part(name) != "sandbox"  # sandbox: test_isolation.py
        for imported in sorted(_imports(path))
        if not _allowed(name, imported)
    ]
    assert broken == []


def test_the_rule_catches_a_wrong_way_import() -> None:
    assert _allowed(f"{PACKAGE}.verify.runner", f"{PACKAGE}.acumatica.client")
    assert not _allowed(f"{PACKAGE}.acumatica.client", f"{PACKAGE}.verify.report")
    assert not _allowed(f"{PACKAGE}.spec.models", f"{PACKAGE}.secrets")
    assert not _allowed(f"{PACKAGE}.resource.provider", f"{PACKAGE}.tooling")
    assert not _allowed(f"{PACKAGE}.errors", f"{PACKAGE}.spec")
    assert not _allowed(f"{PACKAGE}.verify.runner", f"{PACKAGE}.sandbox")
    assert _allowed(f"{PACKAGE}.cli.engine", f"{PACKAGE}.tooling.pulumi_cli")
    assert _allowed(f"{PACKAGE}.spec.models", f"{PACKAGE}.errors")


def _in_order(names: list[str]) -> list[str]:
    """Sorted as ruff sorts ``__all__``: CONSTANTS, then Classes, then functions."""
    return sorted(names, key=lambda name: (not name.isupper(), name))


def test_the_root_exports_a_sorted_pinned_list() -> None:
    assert acumatica_datasource.__all__ == EXPORTED
    assert _in_order(EXPORTED) == EXPORTED
    for name in EXPORTED:
        assert getattr(acumatica_datasource, name) is not None, name
    with pytest.raises(AttributeError):
        _ = acumatica_datasource.NoSuchThing  # type: ignore[attr-defined]


@pytest.mark.parametrize("layer", [*LAYERS, "tooling", "sandbox"])
def test_each_package_exports_names_it_has_in_sorted_order(layer: str) -> None:
    module = importlib.import_module(f"{PACKAGE}.{layer}")
    exported = list(getattr(module, "__all__", []))
    assert exported == _in_order(exported)
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == []


def test_importing_the_root_loads_no_layer() -> None:
    probe = (
        "import sys, acumatica_datasource\n"
        "print(sorted(m for m in sys.modules if m.startswith('acumatica_datasource.')"
        " or m.split('.')[0] in ('pulumi', 'pydantic', 'httpx', 'hvac')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
