"""Acumatica data sources as code.

The Pulumi resource and its inputs are importable from here (loaded on first use, so the
command line's offline commands never import Pulumi)::

    from acumatica_datasource import AcumaticaDataSource, BasicAuth, OAuth2, VaultSecret
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from acumatica_datasource.resource import (
        AcumaticaDataSource,
        BasicAuth,
        DataSourceError,
        DataSourceProvider,
        EnvSecret,
        OAuth2,
        VaultSecret,
        VerificationSettings,
        VerificationUser,
        declare_environment,
    )


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        return getattr(importlib.import_module("acumatica_datasource.resource"), name)
    raise AttributeError(f"module 'acumatica_datasource' has no attribute {name!r}")


__all__ = [
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
