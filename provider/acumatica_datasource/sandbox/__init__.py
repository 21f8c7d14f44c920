"""A local emulator of the Acumatica REST and OAuth endpoints this product uses.

It shares nothing with the client layers: it imports only the standard library and aiohttp.
``Sandbox(config).start()`` serves it from a background thread (tests), :func:`serve` blocks
(the ``acumatica-ds sandbox`` command). The built-in site is documented in :mod:`.defaults`,
the config keys in :mod:`.config`, faults in :mod:`.faults`, the control API in :mod:`.control`.

Choices where real sites vary or the sources are silent (each switchable where it matters):

* Error bodies are ASP.NET's ``{message, exceptionMessage, exceptionType, stackTrace}``;
  ``message`` repeats the exception text unless ``error_message_style: generic``.
* Login: a single-tenant site accepts any tenant name; on a multi-tenant site an unknown or
  missing tenant answers ``PX.Data.PXUndefinedCompanyException``. ``tenant`` and ``company``
  together answer 400. A locked user gets the locked-out message whatever the password.
  A new login on a cookie jar that holds a live session replaces that session.
* The API-user limit counts cookie and bearer sessions of every tenant. A bearer grant takes
  its slot at its first entity request (``license.bearer_slot``); once its session has been
  logged out or has idled out, the next entity request with a live token opens a new one.
  ``GET /entity`` and ``/identity/connect/userinfo`` take no slot.
* Tokens are opaque. An access token outlives a refresh of its grant until it expires.
  Omitted ``scope`` means ``api``. userinfo needs the ``openid`` scope (else 403).
* ``$filter`` supports ``eq``/``ne``/``and``/``or``/parentheses; other syntax answers 500
  ``Microsoft.OData.ODataException``, as does an unknown field in ``$select``/``$filter``.
  String comparisons ignore case (SQL Server's default collation). ``$top``/``$skip`` that
  are not whole numbers answer 400. Only GET (list reads) of entities is emulated.
* Authentication is checked before the endpoint/entity exists (custom endpoints are
  tenant-scoped): unknown endpoint, version or entity answers 404 to a signed-in caller.
* ``requests_per_minute`` counts every request except logout (the license documentation
  excepts sign-out requests) in a sliding minute.
"""

from acumatica_datasource.sandbox.app import RequestEvent, build_app
from acumatica_datasource.sandbox.config import (
    AppConfig,
    ConfigProblem,
    LicenseConfig,
    SandboxConfig,
    SandboxConfigError,
    TenantConfig,
    UserConfig,
)
from acumatica_datasource.sandbox.defaults import (
    DEFAULT_CONFIG,
    DEFAULT_CONFIG_DATA,
    default_config,
    default_config_data,
)
from acumatica_datasource.sandbox.server import Sandbox, serve

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_CONFIG_DATA",
    "AppConfig",
    "ConfigProblem",
    "LicenseConfig",
    "RequestEvent",
    "Sandbox",
    "SandboxConfig",
    "SandboxConfigError",
    "TenantConfig",
    "UserConfig",
    "build_app",
    "default_config",
    "default_config_data",
    "serve",
]
