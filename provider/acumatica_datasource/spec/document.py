"""Validate environment files: read, merge ``defaults``, check every rule, report with lines.

Every problem is reported at once as ``FILE:LINE: path.to.field: message``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from acumatica_datasource.errors import AcumaticaDataSourceError, UsageError
from acumatica_datasource.spec import connection_string, yamlfile
from acumatica_datasource.spec.models import Environment, environment_rules
from acumatica_datasource.spec.problems import FieldProblem, Loc, format_path, problems_from_errors
from acumatica_datasource.spec.yamlfile import LineDict, LineList

ROOT_PATH = "(document)"
_MERGED_ONE_LEVEL = ("verification",)


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one file, at a line (1-based) and a field path."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used by ``acumatica-ds validate --format json``."""
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


class SpecError(AcumaticaDataSourceError):
    """An environment file is invalid; ``problems`` lists every reason."""

    kind = "invalid"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UnreadableFileError(SpecError, UsageError):
    """An environment file cannot be read at all (missing, a directory, no permission)."""

    kind = "usage"


@dataclass
class ValidationResult:
    """The outcome of validating one file."""

    file: str
    environment: Environment | None
    problems: list[Problem] = field(default_factory=list)
    unreadable: bool = False
    """True when the file could not be read (its one problem says why)."""

    @property
    def valid(self) -> bool:
        """True when the file has no problem."""
        return not self.problems

    def error(self) -> SpecError | None:
        """The problems as an exception (:class:`UnreadableFileError` when the file could not
        be read), or None for a valid file."""
        if not self.problems:
            return None
        return (UnreadableFileError if self.unreadable else SpecError)(self.problems)


def load_environment(path: str | os.PathLike[str]) -> Environment:
    """Read and validate an environment file, or raise :class:`SpecError`
    (:class:`UnreadableFileError` when it cannot be read)."""
    result = validate_file(path)
    error = result.error()
    if error is not None:
        raise error
    assert result.environment is not None  # a file without problems has an environment
    return result.environment


def validate_file(path: str | os.PathLike[str]) -> ValidationResult:
    """Validate the environment file at ``path``."""
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        problem = Problem(name, 1, ROOT_PATH, f"cannot read the file: {reason}")
        return ValidationResult(name, None, [problem], unreadable=True)
    return validate_text(data, name)


def validate_text(data: bytes | str, file: str = "<input>") -> ValidationResult:
    """Validate the text of an environment file; ``file`` names it in problems."""
    try:
        text = yamlfile.decode(data) if isinstance(data, bytes) else data
        document = yamlfile.parse(text)
    except yamlfile.YamlProblem as exc:
        return _failed(file, max(exc.line, 1), exc.message)
    return validate_data(document, file)


def validate_data(document: Any, file: str = "<input>") -> ValidationResult:
    """Validate a parsed document (line numbers come from :class:`LineDict` when present)."""
    if not isinstance(document, dict):
        kind = "a list" if isinstance(document, list) else "a single value"
        return _failed(
            file,
            getattr(document, "line", 1) or 1,
            f"the file holds {kind}; it must be a mapping with environment and data_sources",
        )
    merged = _merge_defaults(document)
    field_problems: list[FieldProblem] = []
    environment: Environment | None = None
    try:
        environment = Environment.model_validate(merged)
    except ValidationError as exc:
        field_problems = problems_from_errors(Environment, exc.errors())
    field_problems += [FieldProblem(loc, message) for loc, message in environment_rules(merged)]
    problems = _locate(file, merged, field_problems)
    if problems:
        return ValidationResult(file, None, problems)
    return ValidationResult(file, environment, [])


def _failed(file: str, line: int, message: str) -> ValidationResult:
    return ValidationResult(file, None, [Problem(file, line, ROOT_PATH, message)])


class _Merged(LineDict):
    """A data source with defaults merged in; ``inherited`` keys came from the defaults."""

    inherited: set[str]

    def __init__(self, line: int = 0) -> None:
        super().__init__(line)
        self.inherited = set()


def _merge_defaults(document: dict[str, Any]) -> dict[str, Any]:
    defaults = document.get("defaults")
    sources = document.get("data_sources")
    if not isinstance(defaults, dict) or not isinstance(sources, list):
        return document
    merged_sources = LineList(getattr(sources, "line", 0))
    merged_sources.item_lines = list(getattr(sources, "item_lines", []))
    for source in sources:
        merged_sources.append(_merge(defaults, source) if isinstance(source, dict) else source)
    merged = LineDict(getattr(document, "line", 0))
    merged.update(document)
    merged.key_lines = dict(getattr(document, "key_lines", {}))
    merged["data_sources"] = merged_sources
    return merged


def _merge(defaults: dict[str, Any], source: dict[str, Any], depth: int = 0) -> _Merged:
    result = _Merged(getattr(source, "line", 0))
    result.update(source)
    result.key_lines = dict(getattr(source, "key_lines", {}))
    default_lines = getattr(defaults, "key_lines", {})
    for key, value in defaults.items():
        if depth == 0 and key in ("description", "id"):
            continue  # refused where the defaults are validated
        mine = source.get(key)
        if key not in source:
            result[key] = value
            result.inherited.add(key)
            if key in default_lines:
                result.key_lines[key] = default_lines[key]
        elif depth == 0 and key in _MERGED_ONE_LEVEL and isinstance(value, dict):
            if isinstance(mine, dict):
                result[key] = _merge(value, mine, depth + 1)
        elif depth == 0 and key == "extra_connection_properties":
            result[key] = _merge_properties(value, mine)
    return result


def _merge_properties(defaults: Any, mine: Any) -> Any:
    """Merge two property sets (strings or mappings) case-insensitively; mine wins."""
    try:
        base = _pairs(defaults)
        own = _pairs(mine)
    except (connection_string.PropertySyntaxError, TypeError):
        return mine
    lowered = {key.lower() for key, _ in own}
    combined = [(k, v) for k, v in base if k.lower() not in lowered] + own
    if isinstance(mine, str):
        return connection_string.render(combined)
    merged = LineDict(getattr(mine, "line", 0))
    merged.update(combined)
    merged.key_lines = dict(getattr(mine, "key_lines", {}))
    return merged


def _pairs(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, str):
        return list(connection_string.parse(value))
    if isinstance(value, dict):
        return list(value.items())
    raise TypeError


def _locate(file: str, document: Any, field_problems: list[FieldProblem]) -> list[Problem]:
    """Attach lines; report problems that stem from ``defaults`` once, at the defaults."""
    seen: set[tuple[str, str]] = set()
    located: list[Problem] = []
    for problem in field_problems:
        line, inherited_rest = _line_of(document, problem.loc)
        path, message = problem.path, problem.message
        if inherited_rest is not None:
            defaults_path = format_path(("defaults", *inherited_rest))
            if (defaults_path, message) in seen:
                continue
            message += f" (inherited from {defaults_path})"
        key = (path, message)
        if key in seen:
            continue
        seen.add(key)
        located.append(Problem(file, line, path, message))
    return sorted(located, key=lambda p: p.line)


def _line_of(document: Any, loc: Loc) -> tuple[int, Loc | None]:
    """The line of ``loc`` and, if its value came from the defaults, its path there."""
    line = getattr(document, "line", 1) or 1
    node = document
    inherited = False
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            line = getattr(node, "key_lines", {}).get(part, line)
            inherited = inherited or part in getattr(node, "inherited", ())
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            lines = getattr(node, "item_lines", [])
            line = lines[part] if part < len(lines) else line
            node = node[part]
        else:
            break
    # defaults merge into data_sources[i]: the rest of the path is the same under defaults
    return max(line, 1), (loc[2:] if inherited else None)
