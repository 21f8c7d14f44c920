"""The connection string of a data source (in driver order), with its secrets or with
placeholders for them. The dialect itself is :mod:`.connection_string`."""

from __future__ import annotations

from collections.abc import Mapping

from acumatica_datasource.spec import connection_string
from acumatica_datasource.spec.models import BasicAuthentication, DataSource
from acumatica_datasource.spec.references import SecretReference
from acumatica_datasource.spec.secret_fields import SecretPath

RENDERED_FIELDS = ("authentication", "extra_connection_properties")
"""The fields whose secrets the connection string holds."""


def rendered_secrets(source: DataSource) -> dict[SecretPath, SecretReference]:
    """The secrets the connection string holds, by path: the authentication's and the
    credentials among the extra connection properties."""
    return {
        path: reference
        for path, reference in source.secret_references().items()
        if path[0] in RENDERED_FIELDS
    }


def placeholder(reference: SecretReference | None) -> str:
    """What stands in for a secret in the safe rendering: ``{{vault:secret/app#key}}``."""
    return "{{" + (reference.describe() if reference is not None else "secret") + "}}"


def connection_properties(
    source: DataSource,
    *,
    callback_url: str | None,
    secrets: Mapping[SecretPath, str] | None = None,
) -> list[tuple[str, str]]:
    """The properties in driver order. ``secrets`` maps the paths of
    :func:`rendered_secrets` to resolved values; without it (or for a missing path)
    placeholders are used."""
    auth = source.authentication

    def secret(path: SecretPath, reference: SecretReference) -> str:
        if secrets is not None and path in secrets:
            return secrets[path]
        return placeholder(reference)

    items = [("URL", source.url), ("Company", source.company)]
    if isinstance(auth, BasicAuthentication):
        items += [
            ("AuthScheme", "Basic"),
            ("User", auth.username),
            ("Password", secret(("authentication", "password"), auth.password)),
        ]
    else:
        items += [
            ("AuthScheme", "OAuth"),
            ("OAuthClientId", auth.client_id),
            ("OAuthClientSecret", secret(("authentication", "client_secret"), auth.client_secret)),
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
        (
            key,
            value
            if isinstance(value, str)
            else secret(("extra_connection_properties", key), value),
        )
        for key, value in source.extra_connection_properties.items()
    ]
    return items


def render_connection_string(
    source: DataSource,
    *,
    callback_url: str | None,
    secrets: Mapping[SecretPath, str] | None = None,
) -> str:
    """The connection string; secrets appear only when given in ``secrets``."""
    return connection_string.render(
        connection_properties(source, callback_url=callback_url, secrets=secrets)
    )
