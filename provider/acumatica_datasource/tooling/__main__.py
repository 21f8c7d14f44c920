"""``python -m acumatica_datasource.tooling``: locate or build the Pulumi CLI and the YAML
language host (plain ``pulumi`` commands in YAML projects need it); print the CLI's path."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from acumatica_datasource.tooling.gobuild import ToolError
from acumatica_datasource.tooling.pulumi_build import PULUMI_VERSION
from acumatica_datasource.tooling.pulumi_cli import ensure_pulumi_cli
from acumatica_datasource.tooling.yaml_host import YAML_VERSION, ensure_yaml_language_host


def main(argv: Sequence[str] | None = None) -> int:
    """Locate the Pulumi CLI or build it; print what ``--print`` asks for; exit 1 on failure."""
    parser = argparse.ArgumentParser(
        prog="python -m acumatica_datasource.tooling",
        description=f"Locate the Pulumi CLI or build v{PULUMI_VERSION} into the cache, and the "
        f"Pulumi YAML language host (v{YAML_VERSION}); print the path of `pulumi`.",
    )
    parser.add_argument("--no-build", action="store_true", help="fail instead of building")
    parser.add_argument(
        "--print",
        choices=("pulumi", "bin-dir", "json"),
        default="pulumi",
        dest="what",
        help="what to print (default: the path of pulumi)",
    )
    args = parser.parse_args(argv)
    try:
        cli = ensure_pulumi_cli(build=not args.no_build)
        yaml_host = ensure_yaml_language_host(cli, build=not args.no_build)
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.what == "bin-dir":
        print(cli.bin_dir)
    elif args.what == "json":
        print(
            json.dumps(
                {
                    "pulumi": str(cli.pulumi),
                    "bin_dir": str(cli.bin_dir),
                    "version": cli.version,
                    "source": cli.source,
                    "language_host": str(cli.language_host) if cli.language_host else None,
                    "yaml_language_host": str(yaml_host),
                }
            )
        )
    else:
        print(cli.pulumi)
    return 0


if __name__ == "__main__":
    sys.exit(main())
