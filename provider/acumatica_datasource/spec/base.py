"""The base of every spec model: strict types, unknown keys refused."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from acumatica_datasource.redaction import UNSAFE_BMP_CLASS

TEXT_PATTERN = rf"^\s*[^{UNSAFE_BMP_CLASS}]*[^\s{UNSAFE_BMP_CLASS}][^{UNSAFE_BMP_CLASS}]*\s*$"
"""Non-empty text without control or format characters (surrounding spaces are trimmed)."""
TEXT_MESSAGE = (
    "must be non-empty text without control characters (tabs, newlines) or invisible "
    "formatting characters (bidi overrides, zero-width spaces, line separators)"
)


class SpecModel(BaseModel):
    """Strict (``"10"`` is not an integer, ``yes`` is not a boolean), closed to unknown keys."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        validate_default=False,
        use_attribute_docstrings=True,
        hide_input_in_errors=True,  # a value in the wrong place may be a secret
    )


Loc = tuple[str | int, ...]


def rule_errors(problems: list[tuple[Loc, str]], value: Any = None) -> ValidationError:
    """A ValidationError whose errors sit at the given locations (relative to the model or
    field being validated): a validator raises it to report several problems at once."""
    details = [
        InitErrorDetails(type=PydanticCustomError("rule", message), loc=loc, input=value)
        for loc, message in problems
    ]
    return ValidationError.from_exception_data("rules", details)
