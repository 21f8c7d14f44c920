"""Safe YAML loading that remembers where every key and item came from.

Environment files are read with YAML 1.2 core-schema scalars (so ``mode: off`` stays the
string ``"off"`` and ``2024-01-01`` stays text), duplicate keys rejected, and limits on
size, depth and alias expansion, so that hostile or broken input gives one clear message
instead of a traceback or an exhausted machine.

Why not ``ruamel.yaml`` (YAML 1.2, line information, duplicate-key errors)? Measured with
0.19.1, its round-trip loader (the one that keeps lines) keeps duplicate-key, several-document
and bad-merge errors, but breaks six guarantees: ``2024-01-01`` becomes a date and ``1_000``
the number 1000; ``!!binary`` gives bytes and an unknown tag such as ``!vault`` a tagged value
instead of an error; non-text keys (``1:``, ``[a]:``) are accepted; nesting 5,000 levels deep
raises ``RecursionError``; there is no limit on alias expansion (the ten-level "billion
laughs" document of the tests loads, and expands to 10**10 values for whatever walks it);
keys taken in by a merge (``<<``) have no line. It also reads a 1,000-data-source file
(270 KB) in 2.2 s against 93 ms here (23 times slower). Adapting it would mean a resolver,
constructors, a depth and an alias budget of our own again, on top of a slower parser: this
reader stays.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
from yaml.nodes import ScalarNode

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Environment files larger than this are refused (a generous bound: 1,000 data sources
take about 300 KB)."""

MAX_DEPTH = 32
"""Deepest nesting of mappings and sequences accepted."""

MAX_NODES = 500_000
"""Most values a document may expand to, aliases included (stops "billion laughs")."""


def _int(text: str) -> int:
    body = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    if body[:2] in ("0o", "0x"):
        return sign * int(body[2:], 8 if body[1] == "o" else 16)
    return int(text, 10)


def _float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    return float(text)


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError(text)
    return text.lower() == "true"


def _null(text: str) -> None:
    if text not in ("", "~", "null", "Null", "NULL"):
        raise ValueError(text)


_SCALARS: dict[str, Callable[[str], Any]] = {
    "tag:yaml.org,2002:str": str,
    "tag:yaml.org,2002:int": _int,
    "tag:yaml.org,2002:float": _float,
    "tag:yaml.org,2002:bool": _bool,
    "tag:yaml.org,2002:null": _null,
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


class _PurePythonParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """The event parser used when PyYAML was built without libyaml."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


def _event_parser(text: str) -> Any:
    """libyaml's event parser (fast; no recursion), else PyYAML's pure-Python one."""
    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - PyYAML wheels ship libyaml
        return _PurePythonParser(text)
    return CParser(text)


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
    parser: Any = None
    try:
        parser = _event_parser(text)
        return _Builder(parser).document()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        if "nesting depth" in str(exc.problem):
            raise YamlProblem(line, f"nested more than {MAX_DEPTH} levels deep") from None
        raise YamlProblem(line, f"not valid YAML: {_describe(exc)}") from None
    except yaml.YAMLError as exc:  # ReaderError: control characters and the like
        raise YamlProblem(_reader_line(text, exc), f"not valid YAML: {exc}") from None
    finally:
        if parser is not None:
            parser.dispose()


def _describe(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    return "; ".join(parts) if parts else "syntax error"


def _reader_line(text: str, exc: yaml.YAMLError) -> int:
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        return text[:position].count("\n") + 1
    return 0


class _Frame:
    """A mapping or sequence under construction."""

    __slots__ = ("anchor", "key", "key_line", "merges", "size", "value")

    def __init__(self, value: LineDict | LineList, anchor: str | None) -> None:
        self.value = value
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_line = 0
        self.merges: list[Any] | None = None
        self.size = 1


_NO_KEY = object()
_MERGE_KEY = object()


class _Builder:
    """Builds values from parser events with an explicit stack (no recursion), enforcing
    depth, expanded size, key rules and YAML merge keys."""

    def __init__(self, parser: Any) -> None:
        self._parser = parser
        self._resolver = _CoreResolver()
        self._anchors: dict[str, tuple[Any, int]] = {}
        self._nodes = 0

    def document(self) -> Any:
        parser = self._parser
        parser.get_event()  # stream start
        if parser.check_event(yaml.StreamEndEvent):
            raise YamlProblem(1, "the file is empty: it must hold an environment mapping")
        parser.get_event()  # document start
        value = self._value()
        parser.get_event()  # document end
        if not parser.check_event(yaml.StreamEndEvent):
            line = parser.peek_event().start_mark.line + 1
            raise YamlProblem(line, "the file holds several YAML documents (---): keep one")
        return value

    def _value(self) -> Any:
        stack: list[_Frame] = []
        while True:
            event = self._parser.get_event()
            line = event.start_mark.line + 1
            size = 1
            if isinstance(event, yaml.ScalarEvent):
                value = self._scalar(event, line)
                self._count(1, line)
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in self._anchors:
                    raise YamlProblem(line, f"the alias *{event.anchor} has no anchor")
                value, size = self._anchors[event.anchor]
                self._count(size, line)
            elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                self._check_collection_tag(event, line)
                if len(stack) >= MAX_DEPTH:
                    raise YamlProblem(line, f"nested more than {MAX_DEPTH} levels deep")
                self._count(1, line)
                mapping = isinstance(event, yaml.MappingStartEvent)
                stack.append(_Frame(LineDict(line) if mapping else LineList(line), event.anchor))
                continue
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                frame = stack.pop()
                if frame.merges is not None:
                    self._apply_merges(frame)
                value, size = frame.value, frame.size
                if frame.anchor is not None:
                    self._anchors[frame.anchor] = (value, size)
                line = frame.value.line
            else:  # pragma: no cover - the parser emits nothing else inside a document
                raise YamlProblem(line, f"unexpected YAML event {type(event).__name__}")
            if isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                self._anchors[event.anchor] = (value, 1)
            if not stack:
                return value
            self._add(stack[-1], value, size, line, event)

    def _add(self, frame: _Frame, value: Any, size: int, line: int, event: Any) -> None:
        frame.size += size
        container = frame.value
        if isinstance(container, LineList):
            container.append(value)
            container.item_lines.append(line)
            return
        if frame.key is _NO_KEY:
            if value is _MERGE_KEY:
                frame.key = _MERGE_KEY
            elif not isinstance(value, str) or isinstance(event, yaml.AliasEvent):
                raise YamlProblem(line, "keys must be plain text: quote the key")
            elif value in container:
                raise YamlProblem(
                    line, f"duplicate key '{value}' (first at line {container.key_lines[value]})"
                )
            else:
                frame.key = value
            frame.key_line = line
            return
        if frame.key is _MERGE_KEY:
            sources = value if isinstance(value, LineList) else [value]
            if not all(isinstance(source, LineDict) for source in sources):
                raise YamlProblem(line, "a merge key '<<' must refer to mappings")
            frame.merges = (frame.merges or []) + list(sources)
        else:
            container[frame.key] = value
            container.key_lines[frame.key] = frame.key_line
        frame.key = _NO_KEY

    @staticmethod
    def _apply_merges(frame: _Frame) -> None:
        container = frame.value
        assert isinstance(container, LineDict)
        for source in frame.merges or []:
            for key, value in source.items():
                if key not in container:
                    container[key] = value
                    container.key_lines[key] = source.key_lines[key]

    def _count(self, size: int, line: int) -> None:
        self._nodes += size
        if self._nodes > MAX_NODES:
            raise YamlProblem(
                line, f"the document expands to more than {MAX_NODES:,} values (aliases?)"
            )

    def _scalar(self, event: Any, line: int) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._resolver.resolve(ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        if tag == _MERGE and event.implicit[0]:
            return _MERGE_KEY
        construct = _SCALARS.get(tag)
        if construct is None:
            raise YamlProblem(line, f"the YAML tag {tag} is not supported here")
        try:
            return construct(event.value)
        except ValueError:
            kind = tag.rsplit(":", 1)[-1]
            raise YamlProblem(line, f"the value is not a valid {kind}") from None

    @staticmethod
    def _check_collection_tag(event: Any, line: int) -> None:
        allowed = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map", "!", None)
        if event.tag not in allowed:
            raise YamlProblem(line, f"the YAML tag {event.tag} is not supported here")
