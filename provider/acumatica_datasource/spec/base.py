"""The base of every spec model: strict types, unknown keys refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

TEXT_PATTERN = r"^\s*[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*\s*$"
"""Non-empty text without control characters (surrounding spaces are trimmed)."""


class SpecModel(BaseModel):
    """Strict (``"10"`` is not an integer, ``yes`` is not a boolean), closed to unknown keys."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        validate_default=False,
        use_attribute_docstrings=True,
        hide_input_in_errors=True,  # a value in the wrong place may be a secret
    )
