"""Sandbox throughput: login + one page + logout cycles per second.

Runs sequentially, then with 8 concurrent clients (threads, one httpx client each), against an
in-process sandbox (its own event loop thread) or, with ``--subprocess``, against
``acumatica-ds sandbox`` in a child process (no GIL sharing with the clients). Each phase is
bounded by ``--seconds``. Prints cycles/s of both phases and their ratio, and the server's own
handler time per cycle (from ``/_sandbox/state``), i.e. the rate the sandbox could sustain if
the clients cost nothing: on a small machine the httpx clients, not the sandbox, are the limit.

    uv run python bench/sandbox.py [--seconds 3] [--clients 8] [--subprocess]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from acumatica_datasource.sandbox import Sandbox, SandboxConfig, default_config_data

PAGE = "/entity/Default/24.200.001/StockItem"
LOGIN = {"name": "admin", "password": "secret1", "tenant": "ACME"}


def _config() -> SandboxConfig:
    data = default_config_data()
    data["license"] = {"api_users": 0}
    return SandboxConfig.from_mapping(data)


@contextmanager
def _site(use_subprocess: bool) -> Iterator[str]:
    if not use_subprocess:
        with Sandbox(_config()) as sandbox:
            yield sandbox.url
        return
    import json
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({**default_config_data(), "license": {"api_users": 0}}, handle)
    process = subprocess.Popen(
        [sys.executable, "-m", "acumatica_datasource", "sandbox", "--config", handle.name],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def _cycle(client: httpx.Client) -> None:
    assert client.post("/entity/auth/login", json=LOGIN).status_code == 204
    assert client.get(PAGE, params={"$top": 100}).status_code == 200
    assert client.post("/entity/auth/logout", content=b"").status_code == 204


def _run(url: str, clients: int, seconds: float) -> tuple[int, float]:
    """Cycles completed by ``clients`` threads within ``seconds``; returns (cycles, elapsed)."""
    deadline = time.perf_counter() + seconds
    counts = [0] * clients
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with httpx.Client(base_url=url, timeout=30.0) as client:
                while time.perf_counter() < deadline:
                    _cycle(client)
                    counts[index] += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return sum(counts), elapsed


def _server_ms_per_cycle(url: str, cycles: int) -> float:
    """Handler time per cycle of the phase just run; resets the sandbox for the next phase."""
    state = httpx.get(f"{url}/_sandbox/state", timeout=30.0).json()
    busy = sum(entry["duration_ms"] or 0.0 for entry in state["requests"])
    httpx.post(f"{url}/_sandbox/reset", timeout=30.0).raise_for_status()
    return busy / max(cycles, 1)


def main() -> int:
    """Run both phases and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--subprocess", action="store_true", help="run the sandbox in a child")
    args = parser.parse_args()
    mode = "subprocess" if args.subprocess else "in-process"
    with _site(args.subprocess) as url:
        _run(url, 1, 0.3)  # warm up (record cache, imports)
        _server_ms_per_cycle(url, 1)
        sequential, seq_elapsed = _run(url, 1, args.seconds)
        seq_server = _server_ms_per_cycle(url, sequential)
        concurrent, con_elapsed = _run(url, args.clients, args.seconds)
        con_server = _server_ms_per_cycle(url, concurrent)
    seq_rate = sequential / seq_elapsed
    con_rate = concurrent / con_elapsed
    print(f"sandbox ({mode}): login + 1 page ($top=100) + logout cycles")
    print(
        f"  sequential:   {seq_rate:8.1f} cycles/s ({sequential} in {seq_elapsed:.1f} s); "
        f"server {seq_server:.3f} ms/cycle"
    )
    print(
        f"  {args.clients} concurrent: {con_rate:8.1f} cycles/s ({concurrent} in "
        f"{con_elapsed:.1f} s); server {con_server:.3f} ms/cycle"
    )
    print(f"  concurrent/sequential: {con_rate / seq_rate:.2f}")
    print(f"  server-side capacity: ~{1000.0 / max(seq_server, 1e-6):.0f} cycles/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
