"""The base of every spec model: strict types, unknown keys refused, built on first use.

Two kinds of start-up work are left to the processes that need them:

* a model's validator is built when it first validates (``defer_build``), so a process builds
  only the models it uses: the provider's ``check`` never builds ``Environment``;
* a field's description is the docstring under it, read from the source when a JSON Schema is
  generated (:func:`field_docstrings`), not when the class is created (pydantic's
  ``use_attribute_docstrings`` parses each class's source at import: about a third of the
  time ``validate`` spent importing the spec).
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import sys
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from acumatica_datasource.redaction import UNSAFE_BMP_CLASS

if TYPE_CHECKING:
    from pydantic import GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema

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
        defer_build=True,
        hide_input_in_errors=True,  # a value in the wrong place may be a secret
    )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The model's JSON Schema, each property described by its field's docstring."""
        json_schema = handler(core_schema)
        resolved = handler.resolve_ref_schema(json_schema)
        properties = resolved.get("properties", {})
        for name, text in field_docstrings(cls).items():
            field = cls.model_fields.get(name)
            key = (field.alias or name) if field is not None else name
            if key in properties and "description" not in properties[key]:
                properties[key]["description"] = text
        return json_schema


def field_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> the docstring written under the field, for ``model`` and the models it
    inherits fields from (what pydantic's ``use_attribute_docstrings`` would read)."""
    docs: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if issubclass(klass, SpecModel) and klass is not SpecModel:
            docs.update(_class_docstrings(klass.__module__).get(klass.__qualname__, {}))
    return docs


@functools.cache
def _class_docstrings(module: str) -> dict[str, dict[str, str]]:
    """Class name -> field docstrings, for the top-level classes of a module's source."""
    tree = ast.parse(inspect.getsource(sys.modules[module]))
    return {
        node.name: _attribute_docstrings(node.body)
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }


def _attribute_docstrings(body: list[ast.stmt]) -> dict[str, str]:
    docs: dict[str, str] = {}
    for statement, following in itertools.pairwise(body):
        text = _string(following)
        if (
            text is not None
            and isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
        ):
            docs[statement.target.id] = inspect.cleandoc(text)
    return docs


def _string(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        value: Any = statement.value.value
        return value if isinstance(value, str) else None
    return None


Loc = tuple[str | int, ...]


def rule_errors(problems: list[tuple[Loc, str]], value: Any = None) -> ValidationError:
    """A ValidationError whose errors sit at the given locations (relative to the model or
    field being validated): a validator raises it to report several problems at once."""
    details = [
        InitErrorDetails(type=PydanticCustomError("rule", message), loc=loc, input=value)
        for loc, message in problems
    ]
    return ValidationError.from_exception_data("rules", details)
