"""GitHub Actions annotations: one ``::error`` workflow command per problem, shown on the
line of the pull request's file (``validate --format github``); paths are relative to the
checkout (:func:`.locations.repository_path`).

The message and the properties are escaped as GitHub's runner reads them: ``%``, ``\\r``
and ``\\n`` in the message; those and ``:`` and ``,`` in a property.
"""

from __future__ import annotations

import functools

from acumatica_datasource.cli.render.locations import repository_path
from acumatica_datasource.cli.result import ValidateResult

TITLE = "acumatica-ds"
_DATA = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_PROPERTY = {**_DATA, ":": "%3A", ",": "%2C"}


def escape_data(text: str) -> str:
    """A workflow command's message, escaped."""
    return "".join(_DATA.get(char, char) for char in text)


def escape_property(text: str) -> str:
    """A workflow command's property value, escaped."""
    return "".join(_PROPERTY.get(char, char) for char in text)


def command(name: str, message: str, **properties: object) -> str:
    """``::name key=value,...::message``."""
    pairs = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name} {pairs}::{escape_data(message)}"


@functools.singledispatch
def render(result: object) -> str:
    """The annotations of ``result``."""
    raise TypeError(f"no GitHub annotations for {type(result).__name__}")


@render.register(ValidateResult)
def _validate(result: ValidateResult) -> str:
    return "\n".join(
        command(
            "error",
            f"{problem.path}: {problem.message}",
            file=repository_path(problem.file),
            line=max(problem.line, 1),
            title=TITLE,
        )
        for problem in result.problems
    )
