"""Base files: an environment file may say ``extends: base.yaml`` and add to that file.

The rules (the README's "Base files" says the same for users):

* ``extends`` is a path relative to the directory of the file that holds it (not absolute,
  not a URL). The base may itself extend another file, up to :data:`MAX_DEPTH` files in a
  chain; a file that comes back in its own chain, and a base that cannot be read, are refused
  at the line of the ``extends`` that names it, a base that is not valid YAML or not a
  mapping in the base. A section malformed in a base (``data_sources: {}``) is kept, so that
  validation reports it there.
* ``environment`` is never inherited: each stage file names its own (a base may hold one, so
  that a stage file can serve as a base; it is ignored).
* ``project`` and ``callback_base_url``: the extending file's value, else the base's.
* ``vault``: merged key by key; ``vault.auth`` is taken whole.
* ``defaults``: merged by the data-source rules of :mod:`~acumatica_datasource.spec.merging`.
* ``data_sources``: the base's, in its order, each overridden by the extending file's entry
  that matches it, then the extending file's other entries in their order. An entry with an
  ``id`` matches the base entry with that id (explicit, or derived from its description); an
  entry without one matches the base entry with the same description, ignoring case. The
  matched fields merge by the data-source rules; two entries overriding the same base entry
  are refused. A base's data source cannot be removed by a stage.
* Then ``defaults`` (combined) are merged under every data source (combined): a data source's
  own value, from any file, wins over any default.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acumatica_datasource.spec import urls, yamlfile
from acumatica_datasource.spec.merging import (
    MergedDict,
    MergedList,
    Origin,
    copy_mapping,
    item_origin,
    key_origin,
    merge_fields,
)
from acumatica_datasource.spec.problems import Problem, format_path

MAX_DEPTH = 8
"""Most files in one chain of ``extends`` (the extending file included)."""

ROOT_PATH = "(document)"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_NOT_INHERITED = ("environment", "extends")
_MERGED: dict[str, type] = {"vault": dict, "defaults": dict, "data_sources": list}
"""The sections merged with the base's (of these types); any other key: the stage's wins."""


@dataclass
class Layered:
    """A document with its bases merged in."""

    document: Any
    files: list[str]
    """The files read: the extending file first, then its bases in order."""
    problems: list[Problem] = field(default_factory=list)
    fatal: bool = False
    """True when a base could not be combined (the document is then the file alone)."""


def resolve(document: Any, file: str) -> Layered:
    """Merge the bases that ``document`` (read from ``file``) extends, if any."""
    return _resolve(document, file, ())


def _resolve(document: Any, file: str, chain: tuple[str, ...]) -> Layered:
    if not isinstance(document, dict) or document.get("extends") is None:
        return Layered(document, [file])
    top = Origin(file, getattr(document, "line", 1) or 1, ())
    chain = (*chain, os.path.realpath(file))
    loaded = _load_base(document["extends"], key_origin(document, "extends", top), chain)
    if isinstance(loaded, Problem):
        files = [file] if loaded.file == file else [file, loaded.file]
        return Layered(document, files, [loaded], fatal=True)
    base_name, base = loaded
    inner = _resolve(base, base_name, chain)
    if inner.fatal:
        return Layered(document, [file, *inner.files], inner.problems, fatal=True)
    base_top = Origin(base_name, getattr(base, "line", 1) or 1, ())
    merged, problems = _merge_documents(inner.document, document, base_top, top)
    return Layered(merged, [file, *inner.files], inner.problems + problems)


def _load_base(value: Any, at: Origin, chain: tuple[str, ...]) -> tuple[str, Any] | Problem:
    """The base's file name (as the user would write it) and parsed document, or the problem
    with it: at the ``extends`` line (``at``), or in the base for a problem inside it."""

    def refused(message: str) -> Problem:
        return Problem(at.file, at.line, "extends", message, "extends")

    if not isinstance(value, str) or not value.strip():
        return refused("must be the path of a base environment file, relative to this file")
    text = value.strip()
    if _URL.match(text) or Path(text).is_absolute() or text.startswith("~"):
        return refused(
            f"'{text}' must be a path relative to this file (such as base.yaml or "
            "../base.yaml): an absolute path or a URL works on one machine only"
        )
    name = os.path.normpath(Path(at.file).parent / text)  # normpath: `a/../b` is `b`
    real = os.path.realpath(name)
    if real in chain:
        cycle = " -> ".join(Path(item).name for item in (*chain[chain.index(real) :], real))
        return refused(f"extends a file that extends it back ({cycle}): remove one of the extends")
    if len(chain) >= MAX_DEPTH:
        return refused(f"more than {MAX_DEPTH} files extend one another: flatten the chain")
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        return refused(f"cannot read the base file {name}: {exc.strerror or type(exc).__name__}")
    try:
        base = yamlfile.parse(yamlfile.decode(data))
    except yamlfile.YamlProblem as exc:
        return Problem(name, max(exc.line, 1), ROOT_PATH, exc.message, "yaml")
    if not isinstance(base, dict):
        kind = "a list" if isinstance(base, list) else "a single value"
        message = f"the base file holds {kind}; it must be a mapping like an environment file"
        return Problem(name, getattr(base, "line", 1) or 1, ROOT_PATH, message, "yaml")
    return name, base


def _merge_documents(
    base: dict[str, Any], stage: dict[str, Any], base_top: Origin, stage_top: Origin
) -> tuple[MergedDict, list[Problem]]:
    """The stage file's document over its (already combined) base's, by the module's rules."""
    result = copy_mapping(stage, stage_top)
    problems: list[Problem] = []
    for key, value in base.items():
        below = key_origin(base, key, base_top)
        if key in _NOT_INHERITED:
            continue
        if key not in stage:
            result.put(key, value, below)
            continue
        mine, above = stage[key], key_origin(stage, key, stage_top)
        kind = _MERGED.get(key)
        if kind is None or not isinstance(mine, kind):
            continue  # the stage's value wins (validation reports a malformed one)
        if not isinstance(value, kind):
            result.put(key, value, below)  # malformed in the base: validation reports it there
        elif isinstance(value, list) and isinstance(mine, list):
            sources, found = _merge_sources(value, mine, below, above)
            result.put(key, sources, above)
            problems += found
        elif isinstance(value, dict) and isinstance(mine, dict):
            result.put(key, merge_fields(value, mine, below, above, nested=key != "vault"), above)
    environment = base.get("environment")
    if "environment" not in stage and environment is not None:
        problems.append(
            Problem(
                stage_top.file,
                stage_top.line,
                "environment",
                f"required: the environment of {base_top.file} ({environment}) is not "
                "inherited, each stage file names its own",
                "extends",
            )
        )
        result.put("environment", environment, key_origin(base, "environment", base_top))
    return result, problems


def _merge_sources(
    base: list[Any], stage: list[Any], below: Origin, above: Origin
) -> tuple[MergedList, list[Problem]]:
    by_id: dict[str, int] = {}
    by_description: dict[str, int] = {}
    for index, source in enumerate(base):
        if isinstance(source, dict):
            source_id = _effective_id(source)
            if source_id is not None:
                by_id.setdefault(source_id, index)
            description = _folded(source.get("description"))
            if description is not None:
                by_description.setdefault(description, index)
    overrides: dict[int, int] = {}
    extra: list[int] = []
    problems: list[Problem] = []
    for position, source in enumerate(stage):
        match = _match(source, by_id, by_description)
        if match is None:
            extra.append(position)
        elif match in overrides:
            origin = item_origin(stage, position, above)
            first = format_path(item_origin(stage, overrides[match], above).loc)
            problems.append(
                Problem(
                    origin.file,
                    origin.line,
                    format_path(origin.loc),
                    f"overrides the same data source of {below.file} as {first}: "
                    "merge the two entries",
                    "extends",
                )
            )
        else:
            overrides[match] = position
    result = MergedList(getattr(stage, "line", 0) or above.line)
    for index, source in enumerate(base):
        origin = item_origin(base, index, below)
        if index in overrides:
            position = overrides[index]
            mine = item_origin(stage, position, above)
            result.add(merge_fields(source, stage[position], origin, mine), mine)
        else:
            result.add(source, origin)
    for position in extra:
        result.add(stage[position], item_origin(stage, position, above))
    return result, problems


def _match(source: Any, by_id: dict[str, int], by_description: dict[str, int]) -> int | None:
    if not isinstance(source, dict):
        return None
    if isinstance(source.get("id"), str):
        return by_id.get(source["id"])
    description = _folded(source.get("description"))
    return None if description is None else by_description.get(description)


def _effective_id(source: dict[str, Any]) -> str | None:
    if isinstance(source.get("id"), str):
        return str(source["id"])
    description = source.get("description")
    if isinstance(description, str) and description.strip():
        return urls.slugify(description.strip())
    return None


def _folded(value: Any) -> str | None:
    return value.strip().casefold() if isinstance(value, str) and value.strip() else None
