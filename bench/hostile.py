"""Hostile sites: the peak memory and wall time of ``acumatica-ds verify`` under each attack
of issue 12 that costs memory or time, against the same command verifying a well-behaved
site in the same run (the baseline).

Each attack runs against :class:`tests.support.hostile.HostileSite` on loopback; the command
runs in a process of its own, whose peak resident memory (``VmHWM``) it reports at exit.

    uv run python bench/hostile.py
"""

from __future__ import annotations

import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from tests.support.hostile import (  # noqa: E402
    PAGE_PATH,
    HostileSite,
    Measured,
    dribble,
    endless,
    huge,
    running_hostile_site,
    verify_command,
)

MiB = 1024 * 1024
ENVIRON = {"PW": "secret1"}


def gzip_bomb(inflated: int) -> bytes:
    """A gzip body of about 1 MiB that inflates to ``inflated`` bytes of a JSON list."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * MiB
    parts = [packer.compress(b"[")]
    parts += [packer.compress(block) for _ in range(inflated // MiB)]
    return b"".join(parts) + packer.compress(b"]") + packer.flush()


def compressed(body: bytes) -> Any:
    async def answer(site: HostileSite, request: web.Request, _: bytes) -> web.StreamResponse:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return web.Response(body=body, headers=headers)

    return answer


def source(site: HostileSite, **extra: Any) -> dict[str, Any]:
    return {
        "description": "bench",
        "url": site.url,
        "company": "ACME",
        "authentication": {"strategy": "basic", "username": "admin", "password": {"env": "PW"}},
        **extra,
    }


def measure(name: str, handler: Any, **extra: Any) -> tuple[str, Measured, int]:
    with running_hostile_site() as site, tempfile.TemporaryDirectory() as tmp:
        if handler is not None:
            site.answer("GET", PAGE_PATH, handler)
        result = verify_command(Path(tmp), [source(site, **extra)], environ=ENVIRON)
        return name, result, site.open_sessions


def main() -> int:
    runs = [
        measure("baseline: a well-behaved site", None),
        measure("page with Content-Length 2 GiB", huge(2 * 1024**3)),
        measure("page chunked without end", endless()),
        measure("page of 1 MiB gzip inflating to 1 GiB", compressed(gzip_bomb(1024 * MiB))),
        measure(
            "page at one byte a second, operation_timeout 5",
            dribble(1.0, b"[" + b" " * 60 + b"]"),
            operation_timeout=5,
        ),
    ]
    print("| attack | exit | peak memory (MiB) | wall time (s) | sessions left open |")
    print("|---|---|---|---|---|")
    for name, result, left in runs:
        print(
            f"| {name} | {result.code} | {result.peak_bytes / MiB:.0f} | {result.seconds:.1f} "
            f"| {left} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
