"""Values derived from a data source: its connection string, with or without secrets."""

from __future__ import annotations

from collections.abc import Mapping

from acumatica_datasource.spec import connection_string
from acumatica_datasource.spec.models import BasicAuthentication, DataSource
from acumatica_datasource.spec.references import SecretReference

SECRET_FIELDS = ("password", "client_secret")
"""The authentication fields that hold secret references."""
PROPERTY_PREFIX = "extra_connection_properties."
"""Names a credential of the extra properties among the rendered secrets (see
:func:`rendered_secrets`)."""


def rendered_secrets(source: DataSource) -> dict[str, SecretReference]:
    """The references the connection string holds, by the name ``secrets`` uses for them
    below: ``password`` or ``client_secret``, and ``extra_connection_properties.<Key>``."""
    auth = source.authentication
    found = {name: getattr(auth, name) for name in SECRET_FIELDS if hasattr(auth, name)}
    for key, value in source.extra_connection_properties.items():
        if not isinstance(value, str):
            found[PROPERTY_PREFIX + key] = value
    return found


def placeholder(reference: SecretReference | None) -> str:
    """What stands in for a secret in the safe rendering: ``{{vault:secret/app#key}}``."""
    return "{{" + (reference.describe() if reference is not None else "secret") + "}}"


def connection_properties(
    source: DataSource,
    *,
    callback_url: str | None,
    secrets: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The properties in driver order. ``secrets`` maps the names of
    :func:`rendered_secrets` to resolved values; without it (or for a missing name)
    placeholders are used."""
    auth = source.authentication

    def secret(field: str, reference: SecretReference) -> str:
        if secrets is not None and field in secrets:
            return secrets[field]
        return placeholder(reference)

    items = [("URL", source.url), ("Company", source.company)]
    if isinstance(auth, BasicAuthentication):
        items += [
            ("AuthScheme", "Basic"),
            ("User", auth.username),
            ("Password", secret("password", auth.password)),
        ]
    else:
        items += [
            ("AuthScheme", "OAuth"),
            ("OAuthClientId", auth.client_id),
            ("OAuthClientSecret", secret("client_secret", auth.client_secret)),
            ("Scope", " ".join(auth.scope)),
        ]
        if callback_url is not None:
            items.append(("CallbackURL", callback_url))
    timeout = source.operation_timeout
    items += [
        ("Pagesize", str(source.page_size)),
        ("Timeout", str(int(timeout)) if float(timeout).is_integer() else repr(timeout)),
    ]
    items += [
        (key, value if isinstance(value, str) else secret(PROPERTY_PREFIX + key, value))
        for key, value in source.extra_connection_properties.items()
    ]
    return items


def render_connection_string(
    source: DataSource,
    *,
    callback_url: str | None,
    secrets: Mapping[str, str] | None = None,
) -> str:
    """The connection string; secrets appear only when given in ``secrets``."""
    return connection_string.render(
        connection_properties(source, callback_url=callback_url, secrets=secrets)
    )
