"""Output helpers shared by the subcommands: formats, notes and errors on stderr."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from acumatica_datasource import environment_variables as variables

if TYPE_CHECKING:
    from acumatica_datasource.errors import AcumaticaDataSourceError


def note(message: str) -> None:
    """A line for people, on stderr (stdout stays for results)."""
    print(message, file=sys.stderr, flush=True)


def error(message: str) -> None:
    """An error line on stderr, prefixed with the program name."""
    print(f"acumatica-ds: {message}", file=sys.stderr, flush=True)


def failure(exc: AcumaticaDataSourceError) -> None:
    """Report an error on stderr: a file's problems one per line as ``FILE:LINE: path:
    message``, anything else as an :func:`error` line."""
    from acumatica_datasource.spec import SpecError

    if isinstance(exc, SpecError):
        for problem in exc.problems:
            print(problem, file=sys.stderr, flush=True)
    else:
        error(str(exc))


N = TypeVar("N", int, float)


def at_least(minimum: N, kind: Callable[[str], N], noun: str) -> Callable[[str], N]:
    """An argparse type: a ``kind`` (``int``, ``float``) of at least ``minimum`` (a usage
    error, exit 2, otherwise)."""

    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


@contextlib.contextmanager
def ticking(every: float, tick: Callable[[], None]) -> Iterator[None]:
    """Call ``tick`` every ``every`` seconds on a background thread while the block runs."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            tick()

    thread = threading.Thread(target=run, name="ticking", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)


def add_sessions_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--sessions-per-site N`` (a usage error, exit 2, below 1)."""
    parser.add_argument(
        "--sessions-per-site",
        type=at_least(1, int, "a whole number"),
        metavar="N",
        help="concurrent Acumatica sessions per site (default 1, or "
        f"${variables.SESSIONS_PER_SITE}); at most the license's API users",
    )
