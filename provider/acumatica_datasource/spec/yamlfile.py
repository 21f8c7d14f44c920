"""Safe YAML loading that remembers where every key and item came from.

Environment files are read with YAML 1.2 core-schema scalars (so ``mode: off`` stays the
string ``"off"`` and ``2024-01-01`` stays text), duplicate keys rejected, and limits on
size, depth and alias expansion, so that hostile or broken input gives one clear message
instead of a traceback or an exhausted machine.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Environment files larger than this are refused (a generous bound: 1,000 data sources
take about 300 KB)."""

MAX_DEPTH = 32
"""Deepest nesting of mappings and sequences accepted."""

MAX_NODES = 500_000
"""Most values a document may expand to, aliases included (stops "billion laughs")."""

_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_MERGE = "tag:yaml.org,2002:merge"


class YamlProblem(Exception):
    """The document cannot be read; ``line`` is 1-based (0 when unknown)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class LineDict(dict[str, Any]):
    """A mapping that knows the line it starts on and the line of each key."""

    line: int
    key_lines: dict[str, int]

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.key_lines = {}


class LineList(list[Any]):
    """A sequence that knows the line it starts on and the line of each item."""

    line: int
    item_lines: list[int]

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.item_lines = []


class _CoreResolver(yaml.resolver.Resolver):
    """YAML 1.2 core schema: only true/false are booleans; no timestamps or sexagesimals."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - replaced, not shared


_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_CoreResolver.add_implicit_resolver(_MERGE, re.compile(r"^(?:<<)$"), ["<"])


class _Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    yaml.constructor.SafeConstructor,
    _CoreResolver,
):
    """Pure-Python loader: its recursion is bounded by Python's, never the C stack."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        _CoreResolver.__init__(self)


def decode(data: bytes) -> str:
    """Decode file bytes as UTF-8 (a BOM is allowed) or raise :class:`YamlProblem`."""
    if len(data) > MAX_FILE_BYTES:
        raise YamlProblem(
            0,
            f"the file is {len(data):,} bytes; environment files are limited to "
            f"{MAX_FILE_BYTES:,} bytes: split it into several environments",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlProblem(
            line,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}):"
            " save it as UTF-8",
        ) from None


def parse(text: str) -> Any:
    """Parse one YAML document into plain values, :class:`LineDict` and :class:`LineList`."""
    if len(text) > MAX_FILE_BYTES:
        raise YamlProblem(0, f"the document is longer than {MAX_FILE_BYTES:,} characters")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlProblem(line, f"not valid YAML: {_describe(exc)}") from None
    except yaml.YAMLError as exc:  # ReaderError: control characters and the like
        raise YamlProblem(_reader_line(text, exc), f"not valid YAML: {exc}") from None
    except RecursionError:
        raise YamlProblem(0, f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
    if node is None:
        raise YamlProblem(1, "the file is empty: it must hold an environment mapping")
    return _Builder(loader).build(node, 0)


def _describe(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    return "; ".join(parts) if parts else "syntax error"


def _reader_line(text: str, exc: yaml.YAMLError) -> int:
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        return text[:position].count("\n") + 1
    return 0


class _Builder:
    """Turns composed nodes into values, enforcing depth, size and key rules."""

    def __init__(self, loader: _Loader) -> None:
        self._loader = loader
        self._nodes = 0

    def build(self, node: Node, depth: int) -> Any:
        self._nodes += 1
        line = node.start_mark.line + 1
        if self._nodes > MAX_NODES:
            raise YamlProblem(
                line, f"the document expands to more than {MAX_NODES:,} values (aliases?)"
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(line, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ScalarNode):
            return self._scalar(node, line)
        if isinstance(node, SequenceNode):
            items = LineList(line)
            for child in node.value:
                items.append(self.build(child, depth + 1))
                items.item_lines.append(child.start_mark.line + 1)
            return items
        if isinstance(node, MappingNode):
            return self._mapping(node, depth, line)
        raise YamlProblem(line, f"unsupported YAML node {node.tag}")  # pragma: no cover

    def _scalar(self, node: ScalarNode, line: int) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise YamlProblem(line, f"the YAML tag {node.tag} is not supported here")
        try:
            return self._loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError):
            raise YamlProblem(line, f"cannot read {node.value!r} as {node.tag}") from None

    def _mapping(self, node: MappingNode, depth: int, line: int) -> LineDict:
        result = LineDict(line)
        merged: list[tuple[str, Any, int]] = []
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node, depth))
                continue
            key = self.build(key_node, depth + 1)
            if not isinstance(key, str):
                raise YamlProblem(key_line, f"keys must be text, not {key!r}: quote the key")
            if key in result:
                raise YamlProblem(
                    key_line, f"duplicate key '{key}' (first at line {result.key_lines[key]})"
                )
            result[key] = self.build(value_node, depth + 1)
            result.key_lines[key] = key_line
        for key, value, key_line in merged:
            if key not in result:
                result[key] = value
                result.key_lines[key] = key_line
        return result

    def _merge_sources(self, node: Node, depth: int) -> list[tuple[str, Any, int]]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        entries: list[tuple[str, Any, int]] = []
        for source in sources:
            value = self.build(source, depth + 1)
            if not isinstance(value, LineDict):
                raise YamlProblem(
                    source.start_mark.line + 1, "a merge key '<<' must refer to mappings"
                )
            entries.extend((k, v, value.key_lines[k]) for k, v in value.items())
        return entries
