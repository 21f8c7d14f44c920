"""``acumatica-ds promote FILE FILE...``: apply environments in order, each only after the
previous one succeeded with every verification ``ok`` (or ``off``); stop at the first failure.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from acumatica_datasource.cli import exit_code, output
from acumatica_datasource.cli.stack_cmd import add_engine_options
from acumatica_datasource.errors import AcumaticaDataSourceError, UsageError

PASSING = ("ok", "off", None)


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``promote``."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="environment files, in order")
    add_engine_options(parser, stack=False)
    output.add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    """Validate every file first, then apply them one after the other."""
    from acumatica_datasource.cli.engine import EngineRunner, EngineSettings
    from acumatica_datasource.spec import validate_file

    results = [validate_file(name) for name in args.files]
    errors = [error for result in results if (error := result.error()) is not None]
    if errors:
        for error in errors:
            output.failure(error)
        output.error("nothing was applied: fix the files first")
        return max(map(exit_code, errors))
    names = [r.environment.environment for r in results if r.environment is not None]
    if len(set(names)) != len(names):
        raise UsageError("two files name the same environment (stack): " + ", ".join(names))
    summary: list[dict[str, Any]] = []
    failed = False
    for result in results:
        environment = result.environment
        assert environment is not None
        entry: dict[str, Any] = {"file": result.file, "stack": environment.environment}
        summary.append(entry)
        if failed:
            entry["status"] = "not applied"
            continue
        output.note(f"promote: applying {result.file} to stack {environment.environment}")
        settings = EngineSettings(
            state_dir=EngineSettings.state_directory(args.state),
            stack=environment.environment,
            sessions_per_site=args.sessions_per_site,
            clear_pending=args.clear_pending,
        )
        try:
            outcome = EngineRunner(environment, settings, write=output.note).run("up")
        except AcumaticaDataSourceError as exc:  # no engine, no passphrase, a locked stack...
            entry.update(status="failed", reason=str(exc))
            failed = True
            continue
        blocking = [d for d in outcome.data_sources if d.verification not in PASSING]
        entry["changes"] = outcome.changes
        entry["data_sources"] = [d.as_dict() for d in outcome.data_sources]
        if not outcome.succeeded:
            entry.update(status="failed", reason="the deployment failed")
            failed = True
        elif blocking:
            entry.update(
                status="failed",
                reason="verification not ok for "
                + ", ".join(f"{d.description} ({d.verification})" for d in blocking),
            )
            failed = True
        else:
            entry["status"] = "applied"
    if args.format == "json":
        print(json.dumps({"environments": summary, "succeeded": not failed}, ensure_ascii=False))
    else:
        for entry in summary:
            reason = f": {entry['reason']}" if entry.get("reason") else ""
            print(f"{entry['stack']:<16} {entry['status']}{reason}")
            for source in entry.get("data_sources", []):
                for message in source.get("messages", []):
                    print(f"    {source['description']}: {message}")
    return 1 if failed else 0
