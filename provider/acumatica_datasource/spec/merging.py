"""How environment documents combine, and where each combined value was written.

Two things combine mappings of data-source fields with the same rules: ``defaults`` under
each data source, and a base file's data source (or ``defaults``) under the file that
``extends`` it. The rules, written once in :func:`merge_fields`: a value set on the upper
side wins; ``verification`` merges key by key (one level: ``verification.login`` is taken
whole); ``extra_connection_properties`` merges key by key, ignoring the case of the keys;
every other field (``authentication`` included) is taken whole.

A combined mapping or list is a :class:`MergedDict` or :class:`MergedList` that records the
:class:`Origin` of each key or item (file, line, and path in that file), so a problem found in
the combined document is reported in the file and at the line that holds the value.
:func:`position` walks a path through a combined document to that origin.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from acumatica_datasource.spec import connection_string
from acumatica_datasource.spec.problems import Loc
from acumatica_datasource.spec.yamlfile import LineDict, LineList

MERGED_KEY_BY_KEY = ("verification",)
"""Data-source fields whose mappings merge one level deep (besides the extra properties)."""
PROPERTIES = "extra_connection_properties"


@dataclass(frozen=True)
class Origin:
    """Where a value was written: a file, a 1-based line, and its path in that file."""

    file: str
    line: int
    loc: Loc

    def child(self, part: str | int, line: int | None) -> Origin:
        """The origin of a key or item of the value written here."""
        return Origin(self.file, line or self.line, (*self.loc, part))


class MergedDict(LineDict):
    """A mapping combined from several places; ``origins`` holds every key's origin."""

    origins: dict[str, Origin]

    def __init__(self, line: int = 0) -> None:
        super().__init__(line)
        self.origins = {}

    def put(self, key: str, value: Any, origin: Origin) -> None:
        """Set ``key`` to ``value`` written at ``origin``."""
        self[key] = value
        self.origins[key] = origin
        self.key_lines[key] = origin.line


class MergedList(LineList):
    """A list combined from several places; ``origins`` holds every item's origin."""

    origins: list[Origin]

    def __init__(self, line: int = 0) -> None:
        super().__init__(line)
        self.origins = []

    def add(self, value: Any, origin: Origin) -> None:
        """Append ``value`` written at ``origin``."""
        self.append(value)
        self.origins.append(origin)
        self.item_lines.append(origin.line)


def key_origin(node: dict[str, Any], key: str, origin: Origin) -> Origin:
    """The origin of ``node[key]``, given the origin of ``node``."""
    if isinstance(node, MergedDict):
        return node.origins[key]
    return origin.child(key, getattr(node, "key_lines", {}).get(key))


def item_origin(node: list[Any], index: int, origin: Origin) -> Origin:
    """The origin of ``node[index]``, given the origin of ``node``."""
    if isinstance(node, MergedList):
        return node.origins[index]
    lines = getattr(node, "item_lines", [])
    return origin.child(index, lines[index] if index < len(lines) else None)


def copy_mapping(node: dict[str, Any], origin: Origin) -> MergedDict:
    """``node`` as a :class:`MergedDict` (same values, each key's origin recorded)."""
    result = MergedDict(getattr(node, "line", 0) or origin.line)
    for key, value in node.items():
        result.put(key, value, key_origin(node, key, origin))
    return result


def merge_fields(
    under: dict[str, Any],
    over: dict[str, Any],
    under_origin: Origin,
    over_origin: Origin,
    *,
    skip: Collection[str] = (),
    nested: bool = True,
) -> MergedDict:
    """``over``'s fields over ``under``'s by the module's rules; ``skip`` names keys of
    ``under`` never taken; ``nested=False`` takes every value whole (key by key only)."""
    result = copy_mapping(over, over_origin)
    for key, value in under.items():
        if key in skip:
            continue
        below = key_origin(under, key, under_origin)
        if key not in over:
            result.put(key, value, below)
            continue
        mine = over[key]
        above = key_origin(over, key, over_origin)
        if not nested:
            continue
        if key in MERGED_KEY_BY_KEY and isinstance(value, dict) and isinstance(mine, dict):
            result.put(key, merge_fields(value, mine, below, above, nested=False), above)
        elif key == PROPERTIES:
            result.put(key, _merge_properties(value, mine, below, above), above)
    return result


def _merge_properties(under: Any, mine: Any, below: Origin, above: Origin) -> Any:
    """Merge two property sets (text or mappings) ignoring the case of keys; mine wins.
    Text stays text (one origin: mine); a mapping records each key's origin."""
    try:
        base = _pairs(under, below)
        own = _pairs(mine, above)
    except (connection_string.PropertySyntaxError, TypeError):
        return mine
    lowered = {key.lower() for key, _, _ in own}
    combined = [pair for pair in base if pair[0].lower() not in lowered] + own
    if isinstance(mine, str):
        return connection_string.render([(key, value) for key, value, _ in combined])
    result = MergedDict(getattr(mine, "line", 0) or above.line)
    for key, value, origin in combined:
        result.put(key, value, origin)
    return result


def _pairs(value: Any, origin: Origin) -> list[tuple[str, Any, Origin]]:
    if isinstance(value, str):
        return [(key, item, origin) for key, item in connection_string.parse(value)]
    if isinstance(value, dict):
        return [(key, item, key_origin(value, key, origin)) for key, item in value.items()]
    raise TypeError


def position(document: Any, loc: Loc, top: Origin) -> tuple[Origin, list[Origin]]:
    """Where the value at ``loc`` of a (combined) document was written, and the origin of
    each step taken on the way (``steps[k]`` for ``loc[: k + 1]``). A part that is not in the
    document ends the walk: the rest of ``loc`` extends the last origin's path."""
    node, origin = document, top
    steps: list[Origin] = []
    for taken, part in enumerate(loc):
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            origin = key_origin(node, part, origin)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            origin = item_origin(node, part, origin)
        else:
            return Origin(origin.file, origin.line, (*origin.loc, *loc[taken:])), steps
        node = node[part]
        steps.append(origin)
    return origin, steps
