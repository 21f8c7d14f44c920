"""JSON for programs: the result's ``as_dict`` as one line (the README's "JSON output")."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acumatica_datasource.cli.render import Result


def render(result: Result) -> str:
    """One JSON object, non-ASCII characters as they are."""
    return json.dumps(result.as_dict(), ensure_ascii=False)
