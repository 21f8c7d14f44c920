"""SARIF 2.1.0 for code scanning (``validate --format sarif``): one rule per kind of problem
(:data:`acumatica_datasource.spec.RULES`) and one result per problem at its file and line.

GitHub code scanning (``github/codeql-action/upload-sarif``) and other SARIF consumers show
the results on the lines of the environment files. Relative paths are given against
``%SRCROOT%``, the checkout (:func:`.locations.repository_path`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from acumatica_datasource.cli.render.locations import repository_path
from acumatica_datasource.cli.result import ValidateResult

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
VERSION = "2.1.0"
ROOT = "%SRCROOT%"
FINGERPRINT = "acumaticaDsProblem/v1"
"""A result's identity across runs: its rule, file and field path (not the line, so a problem
keeps its identity when lines above it move)."""


@functools.singledispatch
def render(result: object) -> str:
    """The SARIF log of ``result``."""
    raise TypeError(f"no SARIF form for {type(result).__name__}")


@render.register(ValidateResult)
def _validate(result: ValidateResult) -> str:
    from acumatica_datasource.spec import RULES

    version = importlib.metadata.version("pulumi-acumatica-datasource")
    index = {rule_id: position for position, rule_id in enumerate(RULES)}
    results = []
    for problem in result.problems:
        path = repository_path(problem.file)
        results.append(
            {
                "ruleId": problem.rule,
                "ruleIndex": index[problem.rule],
                "level": "error",
                "message": {"text": f"{problem.path}: {problem.message}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": _artifact(path),
                            "region": {"startLine": max(problem.line, 1)},
                        },
                        "logicalLocations": [
                            {"fullyQualifiedName": problem.path, "kind": "member"}
                        ],
                    }
                ],
                "partialFingerprints": {
                    FINGERPRINT: hashlib.sha256(
                        "\0".join((problem.rule, path, problem.path)).encode()
                    ).hexdigest()[:32]
                },
            }
        )
    log = {
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "acumatica-ds",
                        "version": version,
                        "semanticVersion": version,
                        "rules": [
                            {
                                "id": rule.id,
                                "name": "".join(part.title() for part in rule.id.split("-")),
                                "shortDescription": {"text": rule.title},
                                "help": {"text": rule.help},
                                "defaultConfiguration": {"level": "error"},
                            }
                            for rule in RULES.values()
                        ],
                    }
                },
                "invocations": [{"executionSuccessful": True}],
                "results": results,
            }
        ],
    }
    return json.dumps(log, ensure_ascii=False, indent=2)


def _artifact(path: str) -> dict[str, Any]:
    """A file's artifact location: a relative URI against the checkout, or a file URI."""
    posix = PurePosixPath(path)
    if posix.is_absolute():
        return {"uri": posix.as_uri()}
    return {"uri": quote(path), "uriBaseId": ROOT}
