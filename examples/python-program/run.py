"""Run program.py through the Automation API (no Python language host needed).

    PULUMI_CONFIG_PASSPHRASE=... python run.py preview|up|destroy [STACK]

State goes to ./.state unless PULUMI_BACKEND_URL is set; the Pulumi CLI is located or
built by acumatica-ds (see the project README).
"""

from __future__ import annotations

import sys
from pathlib import Path

from pulumi import automation as auto

from acumatica_datasource.tooling import ensure_pulumi_cli, offline_environment

sys.path.insert(0, str(Path(__file__).parent))
from program import program


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
    main(*sys.argv[1:])
