"""``python -m acumatica_datasource.sandbox [--host H] [--port P] [--config FILE.json]
[--definitions DIR]``.

A runner that needs nothing beyond the sandbox's own imports (JSON config files only);
``acumatica-ds sandbox`` also reads YAML and reports problems by file and line.
"""

from __future__ import annotations

import argparse
import json
import sys

from acumatica_datasource.sandbox.app import RequestEvent
from acumatica_datasource.sandbox.config import SandboxConfig, SandboxConfigError
from acumatica_datasource.sandbox.defaults import default_config_data
from acumatica_datasource.sandbox.server import serve


def main() -> int:
    """Run the sandbox until SIGINT/SIGTERM; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m acumatica_datasource.sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--config", metavar="FILE", help="a JSON config file")
    parser.add_argument("--definitions", metavar="DIR", help="endpoint definition files")
    args = parser.parse_args()
    data: dict[str, object] = default_config_data()
    if args.config:
        try:
            with open(args.config, encoding="utf-8") as handle:  # noqa: PTH123
                data = json.load(handle)
            if not isinstance(data, dict):
                raise SandboxConfigError([])
        except (OSError, ValueError) as exc:
            print(f"{args.config}: {exc}", file=sys.stderr)
            return 2
    if args.definitions:
        data["definitions"] = args.definitions
    try:
        config = SandboxConfig.from_mapping(data)
    except SandboxConfigError as exc:
        print(f"{args.config or 'the built-in config'}: {exc}", file=sys.stderr)
        return 2

    def log(event: RequestEvent) -> None:
        status = "-" if event.status is None else str(event.status)
        print(f"{event.method} {event.path} {status} {event.duration_ms:.1f}ms", file=sys.stderr)

    serve(config, args.host, args.port, on_ready=lambda url: print(url, flush=True), on_request=log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
