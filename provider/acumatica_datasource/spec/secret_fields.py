"""Which fields hold secrets: every field typed :data:`~.references.SecretRef`.

This is the one place that knows it. :func:`secret_paths` finds the secret fields by walking
a model's annotations (through unions, optionals and nested models), so a new secret field
needs nothing but its ``SecretRef`` type: the resource's guards and diffs, the outputs'
``secret_versions``, the verifier and the connection string all derive from it.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from acumatica_datasource.spec.references import EnvSecretRef, InlineSecretRef, VaultSecretRef

SecretPath = tuple[str, ...]
"""A field path in a model, e.g. ``("verification", "login", "password")``."""

_REFERENCE_TYPES = (VaultSecretRef, EnvSecretRef, InlineSecretRef)


def _leaves(annotation: Any) -> Iterator[Any]:
    """The types inside an annotation: through ``Annotated``, unions, ``Optional``, lists."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _leaves(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType, list, tuple):
        for argument in typing.get_args(annotation):
            yield from _leaves(argument)
    else:
        yield annotation


@functools.cache
def secret_paths(model: type[BaseModel]) -> tuple[SecretPath, ...]:
    """Every path to a secret reference field in ``model`` and the models it nests, in
    field order. A field of a union of models contributes each member's secret fields."""
    paths: list[SecretPath] = []
    for name, field in model.model_fields.items():
        for leaf in _leaves(field.annotation):
            if leaf in _REFERENCE_TYPES:
                paths.append((name,))
            elif isinstance(leaf, type) and issubclass(leaf, BaseModel):
                paths += [(name, *inner) for inner in secret_paths(leaf)]
    return tuple(dict.fromkeys(paths))


def value_at(model: BaseModel, path: SecretPath) -> Any:
    """The value at ``path`` in a validated model, or None where a step is missing."""
    value: Any = model
    for name in path:
        value = getattr(value, name, None)
        if value is None:
            return None
    return value
