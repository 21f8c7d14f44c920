"""Run program.py through the Automation API (no Python language host needed).

    PULUMI_CONFIG_PASSPHRASE=... python run.py preview|up|destroy [STACK]

State goes to ./.state (created on first use) unless PULUMI_BACKEND_URL is set; the Pulumi
CLI is located or built by acumatica-ds (see the project README).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pulumi import automation as auto

from acumatica_datasource.cli import exit_code
from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.tooling import ensure_pulumi_cli, offline_environment

sys.path.insert(0, str(Path(__file__).parent))
from program import program

OPERATIONS = ("preview", "up", "destroy")


def main(operation: str, stack_name: str = "dev") -> None:
    """Run one operation on the stack."""
    here = Path(__file__).parent
    cli = ensure_pulumi_cli()
    env = offline_environment(here / ".state", cli=cli)
    stack = auto.create_or_select_stack(
        stack_name=stack_name,
        project_name="acumatica-python-program",
        program=program,
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(here),
            env_vars=env,
            pulumi_home=env["PULUMI_HOME"],
            pulumi_command=cli.command(),
        ),
    )
    action = {"preview": stack.preview, "up": stack.up, "destroy": stack.destroy}[operation]
    action(on_output=print)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run program.py on a stack.")
    parser.add_argument("operation", choices=OPERATIONS)
    parser.add_argument("stack", nargs="?", default="dev", help="the stack (default dev)")
    args = parser.parse_args()
    try:
        main(args.operation, args.stack)
    except AcumaticaDataSourceError as exc:  # no passphrase (exit 2), no Pulumi CLI
        print(f"run.py: {exc}", file=sys.stderr)
        sys.exit(exit_code(exc))
    except auto.CommandError as exc:  # the engine's own message (e.g. a failed verification)
        sys.exit(f"run.py: {args.operation} failed:\n{exc}")
