"""Names a package exports from its modules, each module imported on first use.

A package's ``__init__`` maps every exported name to the module that defines it and lets
:func:`lazy_exports` make its module ``__getattr__`` (PEP 562): importing the package then
imports none of its modules, so a process loads only the modules whose names it uses (the
provider's ``check`` never loads the YAML reader, ``--help`` no model). The names are also
imported under ``TYPE_CHECKING`` for type checkers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``modules`` maps each exported name to the
    submodule (relative to ``package``) that defines it."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
