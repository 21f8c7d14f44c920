"""Secret references: where a secret lives, never the secret itself.

In an environment file a secret is ``{vault: {path, key, mount?, version?, engine?}}`` or
``{env: NAME}``. A plain string where a secret belongs is refused with a message that shows
how to reference it instead (and never repeats the string).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from acumatica_datasource.spec.base import SpecModel

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

REFERENCE_HINT = (
    "reference the secret instead of writing it here: "
    "{vault: {path: <path>, key: <key>}} or {env: <VARIABLE>}"
)


class VaultLocation(SpecModel):
    """A key of a secret in Vault's KV engine."""

    path: Annotated[str, Field(min_length=1, pattern=r"^[^\s]+$")]
    """Path of the secret inside the mount, e.g. ``acumatica/dev``."""
    key: Annotated[str, Field(min_length=1)]
    """Key inside the secret, e.g. ``password``."""
    mount: Annotated[str, Field(min_length=1, pattern=r"^[^\s]+$")] = "secret"
    """Mount point of the KV engine."""
    version: Annotated[int, Field(ge=1)] | None = None
    """A KV v2 version to pin; the latest when absent."""
    engine: Literal["kv2", "kv1"] | None = None
    """The KV engine version; detected from the mount when absent."""

    @model_validator(mode="after")
    def _check(self) -> VaultLocation:
        self.path = self.path.strip("/")
        self.mount = self.mount.strip("/")
        if not self.path or not self.mount:
            raise PydanticCustomError("vault_path", "path and mount must not be only '/'")
        if self.version is not None and self.engine == "kv1":
            raise PydanticCustomError(
                "vault_version", "a version can only be pinned on a KV v2 engine (engine: kv2)"
            )
        return self


class VaultSecretRef(SpecModel):
    """``{vault: {...}}``: a secret read from Vault."""

    vault: VaultLocation

    def describe(self) -> str:
        """A short, non-secret name for messages: ``vault:secret/acumatica/dev#password``."""
        v = self.vault
        pinned = f"@v{v.version}" if v.version is not None else ""
        return f"vault:{v.mount}/{v.path}#{v.key}{pinned}"


class EnvSecretRef(SpecModel):
    """``{env: NAME}``: a secret taken from an environment variable."""

    env: Annotated[str, Field(pattern=ENV_NAME_PATTERN)]

    def describe(self) -> str:
        """A short, non-secret name for messages: ``env:NAME``."""
        return f"env:{self.env}"


def _reference_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "vault" in value:
            return "vault"
        if "env" in value:
            return "env"
        return None
    if isinstance(value, VaultSecretRef):
        return "vault"
    if isinstance(value, EnvSecretRef):
        return "env"
    return None


def _refuse_literal(value: Any) -> Any:
    if isinstance(value, str):
        raise PydanticCustomError(
            "secret_literal", "a secret must not be written in the file: " + REFERENCE_HINT
        )
    if isinstance(value, dict) and "vault" in value and "env" in value:
        raise PydanticCustomError("secret_ambiguous", "give either vault or env, not both")
    return value


SecretRef = Annotated[
    Annotated[VaultSecretRef, Tag("vault")] | Annotated[EnvSecretRef, Tag("env")],
    Discriminator(
        _reference_kind,
        custom_error_type="secret_reference",
        custom_error_message="expected a secret reference: " + REFERENCE_HINT,
    ),
    BeforeValidator(_refuse_literal),
]
"""A secret reference field: Vault or an environment variable."""

SecretReference = VaultSecretRef | EnvSecretRef
"""The validated value of a :data:`SecretRef` field."""

UNION_TAGS = frozenset({"vault", "env"})
