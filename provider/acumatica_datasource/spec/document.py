"""Validate environment files: read them with the bases they extend, merge ``defaults``,
check every rule, and report each problem in the file and at the line that holds the value.

Every problem is reported at once as ``FILE:LINE: path.to.field: message``, where the path is
the value's path in FILE (a value inherited from ``defaults`` is reported at the defaults,
with the data source's path when both are in one file).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from acumatica_datasource.errors import AcumaticaDataSourceError, UsageError
from acumatica_datasource.spec import overlay, yamlfile
from acumatica_datasource.spec.merging import (
    MergedList,
    Origin,
    copy_mapping,
    item_origin,
    key_origin,
    merge_fields,
    position,
)
from acumatica_datasource.spec.models import Environment, ProjectName, environment_rules
from acumatica_datasource.spec.problems import (
    FieldProblem,
    Problem,
    format_path,
    problems_from_errors,
)
from acumatica_datasource.spec.stage_names import environment_name_mismatch

ROOT_PATH = overlay.ROOT_PATH
_SOURCE_REFERENCE = re.compile(r"data_sources\[(\d+)\]((?:\.\w+|\[\d+\])*)")
_NOT_DEFAULTS = ("description", "id")


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
    files: list[str] = field(default_factory=list)
    """The files read: ``file`` first, then the bases it extends, in order."""
    environment_line: int = 1
    """The line of the file's ``environment`` key."""

    @property
    def valid(self) -> bool:
        """True when the file has no problem."""
        return not self.problems

    def name_mismatch(self) -> Problem | None:
        """The problem of a valid file whose name disagrees with its ``environment``
        (``prod.yaml`` saying ``environment: dev``), at the ``environment`` line; None when
        they agree (the rule: :func:`~.stage_names.environment_name_mismatch`)."""
        if self.environment is None:
            return None
        why = environment_name_mismatch(self.file, self.environment.environment)
        if why is None:
            return None
        return Problem(self.file, self.environment_line, "environment", why)

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
        problem = Problem(name, 1, ROOT_PATH, f"cannot read the file: {reason}", "unreadable-file")
        return ValidationResult(name, None, [problem], unreadable=True, files=[name])
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
    """Validate a parsed document (line numbers come from :class:`LineDict` when present);
    bases named by ``extends`` are read relative to ``file``'s directory."""
    if not isinstance(document, dict):
        kind = "a list" if isinstance(document, list) else "a single value"
        return _failed(
            file,
            getattr(document, "line", 1) or 1,
            f"the file holds {kind}; it must be a mapping with environment and data_sources",
        )
    layered = overlay.resolve(document, file)
    if layered.fatal:
        problems = _ordered(layered.problems, layered.files)
        return ValidationResult(file, None, problems, files=layered.files)
    top = Origin(file, getattr(document, "line", 1) or 1, ())
    merged = _merge_defaults(layered.document, top)
    field_problems: list[FieldProblem] = []
    environment: Environment | None = None
    try:
        environment = Environment.model_validate(merged)
    except ValidationError as exc:
        field_problems = problems_from_errors(Environment, exc.errors())
    field_problems += [
        FieldProblem(loc, message, "cross-source") for loc, message in environment_rules(merged)
    ]
    problems = _ordered(layered.problems + _locate(merged, top, field_problems), layered.files)
    if problems:
        return ValidationResult(file, None, problems, files=layered.files)
    line = key_origin(document, "environment", top).line
    return ValidationResult(file, environment, [], files=layered.files, environment_line=line)


def project_problem(name: str) -> str | None:
    """Why ``name`` is not a Pulumi project name as the ``project`` key allows (for
    ``--project``), or None when it is one."""
    try:
        TypeAdapter(ProjectName).validate_python(name)
    except ValidationError as exc:
        errors = [{**error, "loc": ("project",)} for error in exc.errors()]
        return problems_from_errors(Environment, errors)[0].message  # type: ignore[arg-type]
    return None


def _failed(file: str, line: int, message: str) -> ValidationResult:
    problem = Problem(file, line, ROOT_PATH, message, "yaml")
    return ValidationResult(file, None, [problem], files=[file])


def _merge_defaults(document: dict[str, Any], top: Origin) -> dict[str, Any]:
    """Merge ``defaults`` under every data source (the data source's own values win)."""
    defaults = document.get("defaults")
    sources = document.get("data_sources")
    if not isinstance(defaults, dict) or not isinstance(sources, list):
        return document
    defaults_origin = key_origin(document, "defaults", top)
    sources_origin = key_origin(document, "data_sources", top)
    merged_sources = MergedList(getattr(sources, "line", 0) or sources_origin.line)
    for index, source in enumerate(sources):
        origin = item_origin(sources, index, sources_origin)
        if isinstance(source, dict):
            merged = merge_fields(defaults, source, defaults_origin, origin, skip=_NOT_DEFAULTS)
            merged_sources.add(merged, origin)
        else:
            merged_sources.add(source, origin)
    result = copy_mapping(document, top)
    result.put("data_sources", merged_sources, sources_origin)
    return result


def _locate(document: Any, top: Origin, field_problems: list[FieldProblem]) -> list[Problem]:
    """Place each problem where its value was written; a problem with a value inherited from
    ``defaults`` that was already reported at the defaults is not repeated."""
    seen: set[tuple[str, str, str]] = set()
    located: list[Problem] = []
    for problem in field_problems:
        origin, steps = position(document, problem.loc, top)
        message = _name_sources(problem.message, document, top, origin.file)
        path = format_path(origin.loc)
        inherited = problem.loc[:1] == ("data_sources",) and origin.loc[:1] == ("defaults",)
        if inherited and len(steps) >= 2:
            if (origin.file, path, message) in seen:
                continue
            anchor = steps[1]
            if anchor.file == origin.file:
                message += f" (inherited from {path})"
                path = format_path((*anchor.loc, *problem.loc[2:]))
            else:
                message += f" (inherited by {_describe(anchor, origin.file)})"
        key = (origin.file, path, message)
        if key in seen:
            continue
        seen.add(key)
        located.append(Problem(origin.file, origin.line, path, message, problem.rule))
    return located


def _name_sources(message: str, document: Any, top: Origin, file: str) -> str:
    """``message`` with each ``data_sources[N]`` of the combined document named as a problem
    reported in ``file`` names it (its index in the file that holds it, and that file)."""

    def name(match: re.Match[str]) -> str:
        origin = position(document, ("data_sources", int(match.group(1))), top)[0]
        return _describe(origin, file, match.group(2))

    return _SOURCE_REFERENCE.sub(name, message)


def _describe(origin: Origin, file: str, rest: str = "") -> str:
    """``origin``'s path (and ``rest``), naming its file when it is not ``file``."""
    text = format_path(origin.loc) + rest
    return text if origin.file == file else f"{text} of {origin.file}"


def _ordered(problems: list[Problem], files: list[str]) -> list[Problem]:
    """By file (the validated file first, then its bases) and line."""
    rank = {name: index for index, name in enumerate(files)}
    return sorted(problems, key=lambda p: (rank.get(p.file, len(rank)), p.line))
