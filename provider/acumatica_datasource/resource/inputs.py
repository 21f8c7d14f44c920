"""Typed inputs of :class:`AcumaticaDataSource`: authentication, secret references,
verification settings. Each turns into the same mapping an environment file holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi


@dataclass(frozen=True)
class VaultSecret:
    """A secret in Vault's KV engine: ``VaultSecret(path="acumatica/prod", key="password")``."""

    path: str
    key: str
    mount: str = "secret"
    version: int | None = None
    """A KV v2 version to pin; the latest when absent."""
    engine: Literal["kv2", "kv1"] | None = None

    def to_input(self) -> dict[str, Any]:
        """The ``{vault: {...}}`` form."""
        location: dict[str, Any] = {"path": self.path, "key": self.key, "mount": self.mount}
        if self.version is not None:
            location["version"] = self.version
        if self.engine is not None:
            location["engine"] = self.engine
        return {"vault": location}


@dataclass(frozen=True)
class EnvSecret:
    """A secret taken from an environment variable of the deployment (``{env: NAME}``)."""

    name: str

    def to_input(self) -> dict[str, Any]:
        """The ``{env: NAME}`` form."""
        return {"env": self.name}


SecretInput = VaultSecret | EnvSecret | Mapping[str, Any] | pulumi.Output[str]
"""A secret reference, or a Pulumi secret (``pulumi.Output.secret(...)``, a secret config)."""


def secret_input(value: SecretInput | None, field: str) -> Any:
    """The property value of a secret field; plain strings are refused (they would be
    stored in clear in the state)."""
    if value is None:
        return None
    if isinstance(value, VaultSecret | EnvSecret):
        return value.to_input()
    if isinstance(value, str) or (isinstance(value, Mapping) and "inline" in value):
        raise TypeError(
            f"{field}: a secret must not be a plain string (it would be stored in clear): use "
            "VaultSecret(...), EnvSecret(...) or a Pulumi secret such as "
            "pulumi.Output.secret(value) or config.require_secret(name)"
        )
    if isinstance(value, pulumi.Output):
        return pulumi.Output.secret(value)
    return dict(value)


@dataclass(frozen=True)
class BasicAuth:
    """Session login with an Acumatica user name and password."""

    username: pulumi.Input[str]
    password: SecretInput

    def to_input(self) -> dict[str, Any]:
        """The ``authentication`` mapping."""
        return {
            "strategy": "basic",
            "username": self.username,
            "password": secret_input(self.password, "authentication.password"),
        }


@dataclass(frozen=True)
class OAuth2:
    """An OAuth 2.0 connected application (Authorization Code flow)."""

    client_id: pulumi.Input[str]
    client_secret: SecretInput
    scope: pulumi.Input[Sequence[str]] | str | None = None
    """Defaults to ``api offline_access``."""

    def to_input(self) -> dict[str, Any]:
        """The ``authentication`` mapping."""
        result: dict[str, Any] = {
            "strategy": "oauth2",
            "client_id": self.client_id,
            "client_secret": secret_input(self.client_secret, "authentication.client_secret"),
        }
        if self.scope is not None:
            result["scope"] = self.scope
        return result


@dataclass(frozen=True)
class VerificationUser:
    """The ``verification.login`` user of the OAuth data probe, optionally with the Resource
    Owner Password application it logs in through."""

    username: pulumi.Input[str]
    password: SecretInput
    client_id: pulumi.Input[str] | None = None
    client_secret: SecretInput | None = None

    def to_input(self) -> dict[str, Any]:
        """The ``verification.login`` mapping."""
        result: dict[str, Any] = {
            "username": self.username,
            "password": secret_input(self.password, "verification.login.password"),
        }
        if self.client_id is not None:
            result["client_id"] = self.client_id
        if self.client_secret is not None:
            result["client_secret"] = secret_input(
                self.client_secret, "verification.login.client_secret"
            )
        return result


@dataclass(frozen=True)
class VerificationSettings:
    """The ``verification`` input: how the data source is verified before it is recorded
    (the ``verification`` output is the outcome)."""

    mode: pulumi.Input[Literal["strict", "warn", "off"]] | None = None
    """strict (default): a failed check fails the deployment; warn: recorded with a warning."""
    entity: pulumi.Input[str] | None = None
    login: VerificationUser | None = None
    refresh_token: VaultSecret | None = None

    def to_input(self) -> dict[str, Any]:
        """The ``verification`` mapping."""
        result: dict[str, Any] = {}
        if self.mode is not None:
            result["mode"] = self.mode
        if self.entity is not None:
            result["entity"] = self.entity
        if self.login is not None:
            result["login"] = self.login.to_input()
        if self.refresh_token is not None:
            result["refresh_token"] = self.refresh_token.to_input()
        return result
