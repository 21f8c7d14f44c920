"""``acumatica-ds promote FILE FILE...``: apply environments in order, each only after the
previous one succeeded with every verification ``ok`` (or ``off``); stop at the first failure.

The gate reads this run's verdicts: a data source verified now must be ``ok``; one left
unchanged must have an ``ok`` (or ``off``) verification on record, and ``up`` verifies again
every data source whose recorded verification is not ``ok``, so no stale verdict passes.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from acumatica_datasource.cli import exit_code, output
from acumatica_datasource.cli.stack_cmd import add_engine_options, check_settings, engine_runner
from acumatica_datasource.errors import AcumaticaDataSourceError, UsageError

if TYPE_CHECKING:
    from acumatica_datasource.cli.result import DataSourceResult
    from acumatica_datasource.spec import Problem

PASSING = ("ok", "off")


class MisnamedFileError(UsageError):
    """Files whose name and ``environment`` disagree (``prod.yaml`` saying ``environment:
    dev``): ``promote`` refuses them, as it would deploy a stage's file to another stage."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(
            "refusing to promote: "
            + "; ".join(map(str, problems))
            + ". Nothing was applied: fix each file's environment (or its name), then promote "
            "again"
        )


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``promote``."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="environment files, in order")
    add_engine_options(parser, stack=False)
    output.add_format_option(parser)


def blocking(source: DataSourceResult) -> str | None:
    """Why ``source`` stops the promotion, or None when it passes the gate."""
    if source.status in ("failed", "interrupted"):
        return source.status
    if source.status == "deleted":
        return None
    if source.verification != "not_run":
        return None if source.verification == "ok" else f"verification {source.verification}"
    if source.recorded_verification not in PASSING:
        return f"recorded verification {source.recorded_verification or 'missing'}"
    return None


def run(args: argparse.Namespace) -> int:
    """Validate every file first, then apply them one after the other."""
    from acumatica_datasource.cli import interrupts
    from acumatica_datasource.cli.result import RESULT_VERSION, error_document, stack_label
    from acumatica_datasource.spec import validate_file

    results = [validate_file(name) for name in args.files]
    errors = [error for result in results if (error := result.error()) is not None]
    if errors:
        for error in errors:
            output.failure(error)
        output.error("nothing was applied: fix the files first")
        if args.format == "json":
            document = error_document(
                "promote",
                max(errors, key=exit_code).kind,
                "; ".join(str(e) for e in errors) + ": nothing was applied, fix the files first",
                problems=[p.as_dict() for e in errors for p in getattr(e, "problems", [])],
            )
            print(json.dumps(document, ensure_ascii=False))
        return max(map(exit_code, errors))
    misnamed = [found for result in results if (found := result.name_mismatch()) is not None]
    if misnamed:
        raise MisnamedFileError(misnamed)
    names = [
        stack_label(args.project or r.environment.project, r.environment.environment)
        for r in results
        if r.environment is not None
    ]
    if len(set(names)) != len(names):
        raise UsageError("two files name the same environment (stack): " + ", ".join(names))
    check_settings()
    summary: list[dict[str, Any]] = []
    failed = False
    problem: AcumaticaDataSourceError | None = None
    received = interrupts.current()
    for result in results:
        environment = result.environment
        assert environment is not None
        project = args.project or environment.project
        entry: dict[str, Any] = {
            "file": result.file,
            "project": project,
            "stack": environment.environment,
        }
        summary.append(entry)
        if failed or received.first is not None:
            entry["status"] = "not_applied"
            continue
        label = stack_label(project, environment.environment)
        output.note(f"promote: applying {result.file} to stack {label}")
        try:
            outcome = engine_runner(args, environment, environment.environment).run("up")
        except AcumaticaDataSourceError as exc:  # no engine, no passphrase, a locked stack
            entry.update(status="failed", reason=str(exc), error={"kind": exc.kind})
            output.failure(exc)
            failed, problem = True, problem or exc
            continue
        entry.update(outcome.as_dict(versioned=False))
        entry.pop("command", None)
        reasons = [
            f"{source.description} ({why})"
            for source in outcome.data_sources
            if (why := blocking(source)) is not None
        ]
        if outcome.status == "interrupted":
            entry.update(status="interrupted", reason=f"interrupted by {outcome.signal}")
        elif not outcome.succeeded or reasons:
            entry.update(
                status="failed",
                reason="not promoted further: " + ", ".join(reasons)
                if reasons
                else "the deployment failed",
            )
            failed = True
        else:
            entry["status"] = "applied"
    status = "interrupted" if received.first is not None else ("failed" if failed else "succeeded")
    if args.format == "json":
        document = {
            "version": RESULT_VERSION,
            "command": "promote",
            "status": status,
            "succeeded": status == "succeeded",
            "signal": received.describe() if received.first is not None else None,
            "environments": summary,
        }
        if problem is not None:
            document["error"] = {"kind": problem.kind, "message": str(problem)}
        print(json.dumps(document, ensure_ascii=False))
    else:
        for entry in summary:
            reason = f": {entry['reason']}" if entry.get("reason") else ""
            print(f"{stack_label(entry['project'], entry['stack']):<16} {entry['status']}{reason}")
            for source in entry.get("data_sources", []):
                for message in source.get("messages", []):
                    if message["severity"] != "info":
                        print(f"    {source['description']}: {message['text']}")
    if status == "interrupted":
        return received.exit_code
    if problem is not None:
        return exit_code(problem)
    return 1 if failed else 0
