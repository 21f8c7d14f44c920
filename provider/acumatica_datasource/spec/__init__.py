"""The data-source spec: models, validation, connection strings, callback URLs, schema.

Pure: no network and no secrets; safe to import anywhere, fast to import.
"""

from acumatica_datasource.spec.connection_string import MANAGED_KEYS
from acumatica_datasource.spec.derived import (
    SECRET_FIELDS,
    connection_properties,
    placeholder,
    render_connection_string,
    rendered_secrets,
)
from acumatica_datasource.spec.document import (
    Problem,
    SpecError,
    ValidationResult,
    load_environment,
    validate_data,
    validate_file,
    validate_text,
)
from acumatica_datasource.spec.models import (
    DEFAULT_SCOPE,
    SCOPES,
    BasicAuthentication,
    DataSource,
    DataSourceDefaults,
    Environment,
    OAuth2Authentication,
    Verification,
    VerificationLogin,
)
from acumatica_datasource.spec.problems import FieldProblem
from acumatica_datasource.spec.references import (
    EnvSecretRef,
    InlineSecretRef,
    SecretReference,
    VaultLocation,
    VaultSecretRef,
)
from acumatica_datasource.spec.urls import callback_url, normalize_site_url, slugify
from acumatica_datasource.spec.vault import (
    AppRoleAuth,
    CredentialSource,
    JwtAuth,
    KubernetesAuth,
    TokenAuth,
    VaultSettings,
)

__all__ = [
    "DEFAULT_SCOPE",
    "MANAGED_KEYS",
    "SCOPES",
    "SECRET_FIELDS",
    "AppRoleAuth",
    "BasicAuthentication",
    "CredentialSource",
    "DataSource",
    "DataSourceDefaults",
    "EnvSecretRef",
    "Environment",
    "FieldProblem",
    "InlineSecretRef",
    "JwtAuth",
    "KubernetesAuth",
    "OAuth2Authentication",
    "Problem",
    "SecretReference",
    "SpecError",
    "TokenAuth",
    "ValidationResult",
    "VaultLocation",
    "VaultSecretRef",
    "VaultSettings",
    "Verification",
    "VerificationLogin",
    "callback_url",
    "connection_properties",
    "load_environment",
    "normalize_site_url",
    "placeholder",
    "render_connection_string",
    "rendered_secrets",
    "slugify",
    "validate_data",
    "validate_file",
    "validate_text",
]
