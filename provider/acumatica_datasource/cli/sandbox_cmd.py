"""``acumatica-ds sandbox``: run the local Acumatica sandbox until SIGINT or SIGTERM.

Prints the base URL as the first line on stdout, one line per request on stderr
(``METHOD PATH STATUS MS``). A config file that cannot be read or is invalid is reported as
``FILE:LINE: path.to.key: problem`` lines on stderr, with exit code 2.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import yaml

    from acumatica_datasource.sandbox import RequestEvent, SandboxConfig

EXIT_OK = 0
EXIT_USAGE = 2
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML or JSON sandbox config (default: the built-in ACME tenant)",
    )
    parser.add_argument(
        "--definitions",
        metavar="DIR",
        help="a directory of Acumatica endpoint definition files (e.g. Default_24.200.001.json "
        "or a site's swagger.json): serve every entity they define (overrides the config's "
        "definitions key)",
    )


class _ConfigFileError(Exception):
    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


def _node_line(root: yaml.Node | None, path: str) -> int | None:
    """The 1-based line of the YAML node at ``path`` (or of its deepest existing parent)."""
    import yaml

    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for match in _PATH_PART.finditer(path):
        key, index = match.group(1), match.group(2)
        found: yaml.Node | None = None
        if key is not None and isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                    line = key_node.start_mark.line + 1
                    found = value_node
                    break
        elif index is not None and isinstance(node, yaml.SequenceNode):
            position = int(index)
            if position < len(node.value):
                found = node.value[position]
                line = found.start_mark.line + 1
        if found is None:
            break
        node = found
    return line


def load_config(path: str, definitions: str | None = None) -> SandboxConfig:
    """Read and validate a YAML/JSON config file; raise with one line per problem.

    A relative ``definitions`` path in the file is taken from the file's directory;
    ``definitions`` (the command line's) replaces the file's.
    """
    import yaml

    from acumatica_datasource.sandbox import SandboxConfig, SandboxConfigError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _ConfigFileError([f"{path}: cannot read the config file: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        raise _ConfigFileError([f"{path}: the config file is not UTF-8 text"]) from exc
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _ConfigFileError([f"{where}: not valid YAML: {problem}"]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _ConfigFileError(
            [f"{path}:1: the config must be a mapping of keys (build_version, tenants, ...)"]
        )
    if definitions is not None:
        data["definitions"] = definitions
    elif isinstance(data.get("definitions"), str):
        data["definitions"] = str(Path(path).parent / data["definitions"])
    try:
        return SandboxConfig.from_mapping(data)
    except SandboxConfigError as exc:
        located = [(_node_line(root, problem.path), str(problem)) for problem in exc.problems]
        located.sort(key=lambda item: item[0] or 0)
        lines = [f"{path}:{line}: {text}" if line else f"{path}: {text}" for line, text in located]
        raise _ConfigFileError(lines) from exc


def _log_request(event: RequestEvent) -> None:
    status = "-" if event.status is None else str(event.status)
    query = f"?{event.query}" if event.query else ""
    line = f"{event.method} {event.path}{query} {status} {event.duration_ms:.1f}ms"
    print(line, file=sys.stderr, flush=True)


def _ready(url: str) -> None:
    print(url, flush=True)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM (exit 0); exit 2 on a bad config or an unusable address."""
    from acumatica_datasource.sandbox import (
        SandboxConfig,
        SandboxConfigError,
        default_config_data,
        serve,
    )

    try:
        if args.config:
            config = load_config(args.config, args.definitions)
        else:
            data = default_config_data()
            data["definitions"] = args.definitions
            config = SandboxConfig.from_mapping(data)
    except _ConfigFileError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    except SandboxConfigError as exc:
        for problem in exc.problems:
            print(f"acumatica-ds sandbox: --{problem}", file=sys.stderr)
        return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        print(f"acumatica-ds sandbox: --port must be 0..65535, not {args.port}", file=sys.stderr)
        return EXIT_USAGE
    try:
        serve(config, args.host, args.port, on_ready=_ready, on_request=_log_request)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(
            f"acumatica-ds sandbox: cannot listen on {args.host}:{args.port}: {reason}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK
