"""``acumatica-ds schema``: print the JSON Schema of environment files."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    """``schema`` takes no arguments."""


def run(args: argparse.Namespace) -> int:
    """Print the schema that ``environment.schema.json`` must equal."""
    from acumatica_datasource.spec.schema import json_schema_text

    sys.stdout.write(json_schema_text())
    return 0
