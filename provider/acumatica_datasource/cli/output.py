"""Output helpers shared by the subcommands: formats, notes and errors on stderr."""

from __future__ import annotations

import argparse
import sys


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--format text|json``."""
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for machines",
    )


def note(message: str) -> None:
    """A line for people, on stderr (stdout stays for results)."""
    print(message, file=sys.stderr, flush=True)


def error(message: str) -> None:
    """An error line on stderr, prefixed with the program name."""
    print(f"acumatica-ds: {message}", file=sys.stderr, flush=True)
