"""The Markdown renderer's escaping: a description, a field value or a server's text cannot
break a summary's table, start markup or inject HTML into a job summary or a PR comment.
(Pure: result objects built here; the real runs are in test_run_reports.py.)"""

from __future__ import annotations

import re

from acumatica_datasource.cli.render import render
from acumatica_datasource.cli.render.markdown import code, text
from acumatica_datasource.cli.result import DataSourceResult, FieldChange, StackResult

HOSTILE = "ERP | <img src=x onerror=alert(1)> `x` **bold** [link](https://evil.example)\nrow"


def cells(row: str) -> list[str]:
    """A GFM table row's cells: split at pipes that are not escaped."""
    return re.split(r"(?<!\\)\|", row.strip().strip("|"))


def test_text_is_literal_on_one_line() -> None:
    escaped = text(HOSTILE)
    assert "\n" not in escaped
    assert "<img" not in escaped and "&lt;img" in escaped
    assert re.search(r"(?<!\\)[|`*\[\]]", escaped) is None


def test_code_spans_survive_backticks_and_pipes() -> None:
    assert code("plain") == "`plain`"
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert code("a|b\nc") == "`a\\|b c`"


def test_a_hostile_data_source_keeps_the_table_whole() -> None:
    source = DataSourceResult(
        "erp",
        HOSTILE,
        action="update",
        status="planned",
        recorded_verification="ok",
        diff=[FieldChange("extra_connection_properties.Branch", "update", "A|B", "`C`")],
    )
    source.say("error", "server said: <b>no</b> | try again")
    result = StackResult("preview", "dev", data_sources=[source])
    summary = render(result, "markdown")
    header, rule, row = (line for line in summary.splitlines() if line.startswith("|"))
    assert len(cells(header)) == len(cells(rule)) == len(cells(row)) == 5
    assert "<b>" not in summary and "<img" not in summary
    assert "`A\\|B` → `` `C` ``" in row
    assert "- ❌ **ERP \\| &lt;img" in summary
