"""Secret references: where a secret lives, never the secret itself.

In an environment file a secret is ``{vault: {path, key, mount?, version?, engine?}}`` or
``{env: NAME}``. A plain string where a secret belongs is refused with a message that shows
how to reference it instead (and never repeats the string).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from acumatica_datasource.spec.base import SpecModel, rule_errors

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

RESERVED_VARIABLES = re.compile(
    r"(?:VAULT_\w*|BAO_\w*|(?:\w*_)?SECRET_ID|PULUMI_\w*|ACUMATICA_DS_\w*|GITHUB_TOKEN"
    r"|ACTIONS_ID_TOKEN_REQUEST_\w*|ACTIONS_RUNTIME_TOKEN|CI_JOB_TOKEN|CI_JOB_JWT\w*)",
    re.IGNORECASE,
)
"""Variables that hold the pipeline's own credentials and settings (Vault and OpenBao, AppRole
secret ids, Pulumi, acumatica-ds, CI identity tokens): an ``{env: NAME}`` reference may not
name them, or a file could send them to its site as a password."""

RESERVED_MOUNTS = frozenset({"auth", "sys", "identity", "cubbyhole"})
"""Vault's own APIs (``auth/token/lookup-self`` answers the token itself): never a KV mount."""
_URL_CHARACTERS = re.compile(r"[%?#\\]")

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
        problems = kv_location_problems(self.mount, self.path)
        if problems:
            raise rule_errors([((name,), message) for name, message in problems])
        if self.version is not None and self.engine == "kv1":
            raise PydanticCustomError(
                "vault_version", "a version can only be pinned on a KV v2 engine (engine: kv2)"
            )
        return self


def kv_location_problems(mount: str, path: str) -> list[tuple[str, str]]:
    """``(field, message)`` for each way ``mount`` and ``path`` (stripped of outer slashes)
    would reach beyond a KV secrets engine: Vault's own APIs, dot or empty segments, or
    characters that change the request URL. Checked at validation and again before a read."""
    problems = []
    for name, value in (("mount", mount), ("path", path)):
        segments = value.split("/")
        if _URL_CHARACTERS.search(value):
            problems.append(
                (name, "must not contain %, ?, # or a backslash: a KV reference is a plain path")
            )
        elif any(segment in ("", ".", "..") for segment in segments):
            problems.append(
                (name, "must not have empty, '.' or '..' segments: they would leave the KV engine")
            )
        elif name == "mount" and RESERVED_MOUNTS & {s.lower() for s in segments}:
            reserved = next(s for s in segments if s.lower() in RESERVED_MOUNTS)
            problems.append(
                (
                    name,
                    f"{reserved}/ is Vault's own API, not a KV secrets engine: references read "
                    "only KV secrets (mount is the KV engine's path, e.g. secret)",
                )
            )
    return problems


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

    @field_validator("env")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if RESERVED_VARIABLES.fullmatch(name):
            raise PydanticCustomError(
                "env_reserved",
                "{name} holds the pipeline's own credentials or settings (Vault, Pulumi, "
                "acumatica-ds or CI identity), which must never be sent to a site: put the "
                "secret in a variable of its own (e.g. ACUMATICA_PASSWORD) or in Vault",
                {"name": name},
            )
        return name

    def describe(self) -> str:
        """A short, non-secret name for messages: ``env:NAME``."""
        return f"env:{self.env}"


class InlineSecretRef(SpecModel):
    """A secret given as a value: a Pulumi secret in a program. Never accepted in files.

    Accepted only when validating with the context ``{"inline_secrets": True}``; the value
    is a ``SecretStr``, so dumps and reprs mask it.
    """

    inline: SecretStr

    def describe(self) -> str:
        """What messages call it: ``pulumi-secret``."""
        return "pulumi-secret"


INLINE_CONTEXT = {"inline_secrets": True}
"""Validation context that lets a secret field hold a value (Pulumi programs only)."""


def _reference_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for kind in ("vault", "env", "inline"):
            if kind in value:
                return kind
        return None
    if isinstance(value, VaultSecretRef):
        return "vault"
    if isinstance(value, EnvSecretRef):
        return "env"
    if isinstance(value, InlineSecretRef):
        return "inline"
    return None


def _refuse_literal(value: Any, info: ValidationInfo) -> Any:
    inline_allowed = bool(info.context and info.context.get("inline_secrets"))
    if isinstance(value, str):
        if inline_allowed:
            return {"inline": value}
        raise PydanticCustomError(
            "secret_literal", "a secret must not be written in the file: " + REFERENCE_HINT
        )
    if isinstance(value, dict):
        if "vault" in value and "env" in value:
            raise PydanticCustomError("secret_ambiguous", "give either vault or env, not both")
        if "inline" in value and not inline_allowed:
            raise PydanticCustomError(
                "secret_reference", "expected a secret reference: " + REFERENCE_HINT
            )
    return value


SecretRef = Annotated[
    Annotated[VaultSecretRef, Tag("vault")]
    | Annotated[EnvSecretRef, Tag("env")]
    | Annotated[InlineSecretRef, Tag("inline"), SkipJsonSchema()],
    Discriminator(
        _reference_kind,
        custom_error_type="secret_reference",
        custom_error_message="expected a secret reference: " + REFERENCE_HINT,
    ),
    BeforeValidator(_refuse_literal),
]
"""A secret reference field: Vault or an environment variable."""

SecretReference = VaultSecretRef | EnvSecretRef | InlineSecretRef
"""The validated value of a :data:`SecretRef` field."""
