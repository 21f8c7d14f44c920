"""JUnit XML for CI test reports (``verify --format junit``, ``verify --junit FILE``).

One ``testsuite`` per environment file (its name the file, relative to the checkout), one
``testcase`` per data source (``classname`` the environment, ``name`` the description),
each check a line of ``<system-out>``; a failed verification is a ``<failure>`` whose
message is the first failed check and whose text is every failed check with its detail, an
interrupted one an ``<error>``, one not run (``mode: off``) ``<skipped>``. Times are in
seconds. Every text comes from the report through :meth:`Report.text` (secrets masked).
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections import Counter
from typing import TYPE_CHECKING, Literal

from acumatica_datasource.cli.render.locations import repository_path
from acumatica_datasource.cli.render.text import check_line
from acumatica_datasource.cli.result import FailedCommand, VerifiedFile, VerifyResult

if TYPE_CHECKING:
    from acumatica_datasource.verify import Report

SUITES = "acumatica-ds verify"


@functools.singledispatch
def render(result: object) -> str:
    """The JUnit XML document of ``result``."""
    raise TypeError(f"no JUnit form for {type(result).__name__}")


@render.register(VerifyResult)
def _verify(result: VerifyResult) -> str:
    root = ET.Element("testsuites", {"name": SUITES, **_counts(result.reports)})
    root.set("time", _seconds(sum(verified.duration_ms for verified in result.files)))
    root.extend(_suite(verified) for verified in result.files)
    ET.indent(root)
    return _document(root)


@render.register(FailedCommand)
def _failed(result: FailedCommand) -> str:
    """One test case in error, so a CI's test report says why there are no others."""
    counts = {"tests": "1", "failures": "0", "errors": "1", "skipped": "0"}
    root = ET.Element("testsuites", {"name": f"acumatica-ds {result.command}", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": f"acumatica-ds {result.command}", **counts})
    case = ET.SubElement(suite, "testcase", classname="acumatica-ds", name=result.command)
    first = result.message.splitlines()[0] if result.message else result.kind
    error = ET.SubElement(case, "error", message=first, type=result.kind)
    error.text = (
        "\n".join(
            f"{repository_path(p.file)}:{p.line}: {p.path}: {p.message}" for p in result.problems
        )
        or result.message
    )
    ET.indent(root)
    return _document(root)


def _document(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _suite(verified: VerifiedFile) -> ET.Element:
    path = repository_path(verified.file)
    suite = ET.Element("testsuite", {"name": path, **_counts(verified.reports)})
    suite.set("time", _seconds(verified.duration_ms))
    if verified.started_at is not None:
        suite.set("timestamp", verified.started_at)
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="environment", value=verified.environment)
    suite.extend(_case(report, verified.environment, path) for report in verified.reports)
    return suite


def _case(report: Report, environment: str, path: str) -> ET.Element:
    case = ET.Element(
        "testcase",
        classname=environment,
        name=report.description,
        file=path,
        time=_seconds(report.duration_ms),
    )
    outcome = _outcome(report)
    if outcome == "error":
        ET.SubElement(
            case, "error", message=f"interrupted: {report.text(report.interrupted or '')}"
        )
    elif outcome == "failure":
        first = report.failures[0]
        failure = ET.SubElement(
            case, "failure", message=f"{first.name}: {report.text(first.detail)}", type=first.name
        )
        failure.text = "\n".join(
            f"{check.name}: {report.text(check.detail)}" for check in report.failures
        )
    elif outcome == "skipped":
        reason = "; ".join(report.text(check.detail) for check in report.checks) or "not run"
        ET.SubElement(case, "skipped", message=reason)
    lines = [check_line(report, check) for check in report.checks]
    lines.append(f"data source id: {report.data_source_id}")
    if report.callback_url:
        lines.append(f"callback URL: {report.callback_url}")
    ET.SubElement(case, "system-out").text = "\n".join(lines)
    return case


def _outcome(report: Report) -> Literal["failure", "error", "skipped"] | None:
    """How JUnit classes a verification: interrupted is an error, a failed check a failure,
    nothing run skipped, anything else (ok, warnings) a pass."""
    if report.status == "interrupted":
        return "error"
    if report.status == "failed":
        return "failure"
    return "skipped" if report.status == "skipped" else None


def _counts(reports: list[Report]) -> dict[str, str]:
    outcomes = Counter(_outcome(report) for report in reports)
    return {
        "tests": str(len(reports)),
        "failures": str(outcomes["failure"]),
        "errors": str(outcomes["error"]),
        "skipped": str(outcomes["skipped"]),
    }


def _seconds(milliseconds: int) -> str:
    return f"{milliseconds / 1000:.3f}"
