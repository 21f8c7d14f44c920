"""A local emulator of the Acumatica REST and OAuth endpoints.

It shares nothing with the client layers it tests: besides the standard library it imports
only aiohttp (its web framework) and pydantic (its config models). ``Sandbox(config).start()``
serves it from a background thread (tests), :func:`serve` blocks (the ``acumatica-ds
sandbox`` command). The built-in site is documented in :mod:`.defaults`, the config keys in
:mod:`.config`, faults in :mod:`.faults`, the control API in :mod:`.control`.

What it serves:

* ``GET /entity`` (discovery), session login/logout, OAuth 2.0 under ``/identity``.
* Entities (:mod:`.entities`): four hand-tuned ones (:mod:`.builtin`) and, when the config
  names a directory of endpoint definition files (``definitions`` key, ``acumatica-ds
  sandbox --definitions DIR``), every top-level entity those files define (:mod:`.definitions`):
  Acumatica's published ``Default_24.200.001.json`` and the like, or a site's own
  ``swagger.json``. The sandbox ships none of them. Records are generated lazily and
  deterministically (:mod:`.records`): 25 per generated entity unless ``records`` or
  ``default_records`` say otherwise.
* ``GET /entity/{Endpoint}/{Version}/swagger.json`` (:mod:`.openapi`), generated from the same
  entity model; list reads with ``$top $skip $select $expand $custom $filter``
  (:mod:`.query`); single records by id or key values; ``PUT`` and ``DELETE`` in memory.
* ``GET /Frames/Login.aspx`` (:mod:`.pages`) and the Generic Inquiry OData endpoints under
  ``/t/{tenant}/api/odata/gi`` (:mod:`.odata`).

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
  ``GET /entity``, ``swagger.json``, ``/identity/connect/userinfo``, the login page and the
  OData endpoints take no slot.
* Tokens are opaque. An access token outlives a refresh of its grant until it expires.
  Omitted ``scope`` means ``api``. userinfo needs the ``openid`` scope (else 403).
* A missing single record answers 500 with ``exceptionType``
  ``PX.Api.ContractBased.NoEntitySatisfiesTheConditionException`` and ``No entity satisfies
  the condition.``, not a routing 404: that is what clients written against real sites
  handle, e.g. the public client micwallace/acustock (``src/providers/core/api.ts`` maps
  exactly this ``exceptionType`` to "not found").
* ``$filter`` errors answer 500 ``Microsoft.OData.ODataException`` with the OData parser's
  wording; an unknown custom field answers 500 ``PX.Data.PXException``. String comparisons
  ignore case (SQL Server's default collation). ``$top``/``$skip`` that are not whole
  numbers answer 400. Actions and file attachments are described in swagger.json but answer
  405. Generated entities' key fields are the sandbox's guess (:func:`.definitions.guess_keys`):
  the definition files do not name them.
* Authentication is checked before the endpoint/entity exists (custom endpoints are
  tenant-scoped): unknown endpoint, version or entity answers 404 to a signed-in caller.
* ``requests_per_minute`` counts every request except logout (the license documentation
  excepts sign-out requests) in a sliding minute.
"""

from acumatica_datasource.sandbox.app import RequestEvent, build_app
from acumatica_datasource.sandbox.config import (
    AppConfig,
    ConfigProblem,
    InquiryConfig,
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
from acumatica_datasource.sandbox.definitions import DefinitionsError, load_definitions
from acumatica_datasource.sandbox.server import Sandbox, serve

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_CONFIG_DATA",
    "AppConfig",
    "ConfigProblem",
    "DefinitionsError",
    "InquiryConfig",
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
    "load_definitions",
    "serve",
]
