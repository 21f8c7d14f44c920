"""``acumatica-ds output --env FILE``: print what the stack records for each data source.

The recorded outputs, per data source of the file (and per recorded one the file no longer
has): callback URL, verification, connection-string template and secret versions, as the
last ``up`` or ``refresh`` recorded them. The secret connection string (``expose_connection_
string``) is shown as ``[secret]`` unless ``--show-secrets`` is given. Nothing is verified,
locked or changed. The same values are the stack outputs named by each data source's id, for
other stacks to read (``StackReference``).

Exit 0 when the stack could be read; 1 when it does not exist or cannot be read; 2 on usage
and environment problems (bad arguments, an invalid file, no passphrase, no Pulumi CLI).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from acumatica_datasource.cli import output
from acumatica_datasource.cli.stack_cmd import add_stack_options

if TYPE_CHECKING:
    from acumatica_datasource.spec import Environment


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``output``."""
    from acumatica_datasource.cli import render

    parser.add_argument("--env", required=True, metavar="FILE", help="an environment file")
    add_stack_options(parser)
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="print the connection strings of data sources that expose them "
        "(expose_connection_string) instead of [secret]",
    )
    render.add_output_options(parser, "output")


def run(args: argparse.Namespace) -> int:
    """Read the stack's records and print them."""
    from acumatica_datasource.cli.engine import EngineRunner, EngineSettings
    from acumatica_datasource.spec import load_environment

    environment = load_environment(args.env)
    settings = EngineSettings(
        state_dir=EngineSettings.state_directory(args.state),
        stack=args.stack or environment.environment,
        project=args.project or environment.project,
    )
    runner = EngineRunner(environment, settings, write=output.note)
    recorded = runner.recorded_outputs()
    document = outputs_document(environment, settings.project, settings.stack, recorded, args)
    if args.format == "json":
        print(json.dumps(document, ensure_ascii=False), flush=True)
    else:
        for line in text_lines(document):
            print(line)
    return 0


def outputs_document(
    environment: Environment,
    project: str,
    stack: str,
    recorded: dict[str, dict[str, Any]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The JSON object of ``output``: the file's data sources in its order, then those the
    stack records and the file no longer has."""
    from acumatica_datasource.cli.result import RESULT_VERSION, SECRET
    from acumatica_datasource.resource.outputs import PUBLISHED_OUTPUTS, SECRET_OUTPUT

    described = {s.data_source_id: s.description for s in environment.data_sources}
    entries: list[dict[str, Any]] = []
    messages: list[dict[str, str]] = []
    for data_source_id in [*described, *(i for i in recorded if i not in described)]:
        outputs = recorded.get(data_source_id)
        entry: dict[str, Any] = dict.fromkeys(PUBLISHED_OUTPUTS)
        entry.update(
            data_source_id=data_source_id,
            description=described.get(data_source_id),
            recorded=outputs is not None,
            in_file=data_source_id in described,
        )
        if outputs is not None:
            entry.update({name: outputs.get(name) for name in PUBLISHED_OUTPUTS})
        secret = (outputs or {}).get(SECRET_OUTPUT)
        entry[SECRET_OUTPUT] = secret if secret is None or args.show_secrets else SECRET
        entries.append(entry)
        if outputs is None:
            messages.append(
                _info(f"{data_source_id}: not recorded in stack {stack} (not deployed: run up)")
            )
        elif data_source_id not in described:
            messages.append(
                _info(f"{data_source_id}: recorded, but not in {args.env} (the next up deletes it)")
            )
    if args.show_secrets and not any(e[SECRET_OUTPUT] for e in entries):
        messages.append(
            _info("no data source records a connection string (expose_connection_string: true)")
        )
    return {
        "version": RESULT_VERSION,
        "command": "output",
        "project": project,
        "stack": stack,
        "status": "succeeded",
        "succeeded": True,
        "data_sources": entries,
        "messages": messages,
    }


def text_lines(document: dict[str, Any]) -> list[str]:
    """The ``output`` document for people."""
    from acumatica_datasource.cli.result import SECRET, stack_label

    entries = document["data_sources"]
    count = sum(1 for e in entries if e["recorded"])
    label = stack_label(document["project"], document["stack"])
    lines = [f"output {label}: {count} data source(s) recorded"]
    for entry in entries:
        if not entry["recorded"]:
            continue
        lines.append(
            f"  {entry['description'] or entry['data_source_id']} [{entry['data_source_id']}]"
        )
        if entry["callback_url"]:
            lines.append(f"      callback URL: {entry['callback_url']}")
        verification = entry["verification"] or {}
        checked = verification.get("checked_at")
        lines.append(
            f"      verification: {verification.get('status', 'unknown')}"
            + (f" (checked at {checked})" if checked else "")
        )
        lines.append(f"      connection-string template: {entry['connection_string_template']}")
        secret = entry["connection_string"]
        if secret == SECRET:
            lines.append(f"      connection string: {SECRET} (--show-secrets prints it)")
        elif secret is not None:
            lines.append(f"      connection string: {secret}")
    lines += [f"  note: {m['text']}" for m in document["messages"]]
    return lines


def _info(text: str) -> dict[str, str]:
    return {"severity": "info", "text": text}
