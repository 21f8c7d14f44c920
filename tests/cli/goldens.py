"""Golden files of the CI report formats (``tests/cli/golden/``), compared after the parts
that change from run to run (ports, timings, dates, the package version) are replaced by
placeholders. ``UPDATE_GOLDEN=1`` rewrites them: review the diff before committing it."""

from __future__ import annotations

import os
import re
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"

_VARIABLE = (
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:<port>"),
    (re.compile(r"\(\d+ ms\)"), "(<ms> ms)"),
    (re.compile(r'time="\d+\.\d+"'), 'time="<s>"'),
    (re.compile(r'timestamp="[^"]+"'), 'timestamp="<timestamp>"'),
    (re.compile(r"\bin \d+\.\d s\b"), "in <s> s"),
    (re.compile(r"\b20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00|Z)?"), "<timestamp>"),
)


def normalized(text: str, *, version: str | None = None) -> str:
    """``text`` with its run-dependent parts as placeholders."""
    for pattern, replacement in _VARIABLE:
        text = pattern.sub(replacement, text)
    if version is not None:
        text = text.replace(f'"{version}"', '"<version>"')
    return text.rstrip("\n") + "\n"


def assert_golden(name: str, text: str, *, version: bool = False) -> None:
    """``text`` (normalised) equals the golden file ``name``."""
    import importlib.metadata

    found = normalized(
        text,
        version=importlib.metadata.version("pulumi-acumatica-datasource") if version else None,
    )
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(found, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with UPDATE_GOLDEN=1, then review it"
    assert found == path.read_text(encoding="utf-8"), f"differs from {path} (UPDATE_GOLDEN=1)"
