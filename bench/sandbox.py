"""Sandbox throughput (login + one page + logout cycles per second) and peak memory.

Throughput runs sequentially, then with 8 concurrent clients (threads, one httpx client each),
against an in-process sandbox (its own event loop thread) or, with ``--subprocess``, against
``acumatica-ds sandbox`` in a child process (no GIL sharing with the clients). It runs twice in
the same process: on the built-in site, then with every entity of the endpoint definitions
loaded (``--definitions``, default ``../shared/reference/acumatica-endpoints`` when present),
and prints the ratio. Each phase is bounded by ``--seconds``. It also prints the server's own
handler time per cycle (from ``/_sandbox/state``), i.e. the rate the sandbox could sustain if
the clients cost nothing: on a small machine the httpx clients, not the sandbox, are the limit.
With ``--subprocess`` it also prints the child's CPU time per cycle (from ``/proc``), the
figure least disturbed by other load on the machine.

Memory: ``acumatica-ds sandbox`` runs in a child process with the default config, then with
the definitions; each is read through once (``swagger.json`` of every endpoint version and a
page of every entity) and the child's peak resident memory (``VmHWM``) is printed.

    uv run python bench/sandbox.py [--seconds 3] [--clients 8] [--subprocess] [--definitions DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from acumatica_datasource.sandbox import Sandbox, SandboxConfig, default_config_data

PAGE = "/entity/Default/24.200.001/StockItem"
LOGIN = {"name": "admin", "password": "secret1", "tenant": "ACME"}
REFERENCE = Path(__file__).resolve().parents[1].parent / "shared/reference/acumatica-endpoints"


def _config_data(definitions: str | None, unlimited: bool) -> dict[str, object]:
    data = default_config_data()
    if unlimited:
        data["license"] = {"api_users": 0}
    if definitions:
        data["definitions"] = definitions
    return data


@contextmanager
def _child(data: dict[str, object]) -> Iterator[tuple[str, int]]:
    """``acumatica-ds sandbox`` with config ``data`` in a child process: (url, pid)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(data, handle)
    process = subprocess.Popen(
        [sys.executable, "-m", "acumatica_datasource", "sandbox", "--config", handle.name],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        Path(handle.name).unlink()


@contextmanager
def _site(use_subprocess: bool, definitions: str | None) -> Iterator[tuple[str, int | None]]:
    """The site's URL and, in a child process, its pid."""
    data = _config_data(definitions, unlimited=True)
    if use_subprocess:
        with _child(data) as site:
            yield site
        return
    with Sandbox(SandboxConfig.from_mapping(data)) as sandbox:
        yield sandbox.url, None


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


def _cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) of process ``pid`` so far; 0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _throughput(
    url: str, pid: int | None, clients: int, seconds: float
) -> tuple[float, float, float, float, float]:
    """(sequential cycles/s, its server ms/cycle, concurrent cycles/s, its server ms/cycle,
    server CPU ms per cycle over both phases: 0 when the server runs in this process)."""
    _run(url, 1, 0.3)  # warm up (record cache, imports)
    _server_ms_per_cycle(url, 1)
    cpu_before = _cpu_seconds(pid)
    sequential, seq_elapsed = _run(url, 1, seconds)
    seq_server = _server_ms_per_cycle(url, sequential)
    concurrent, con_elapsed = _run(url, clients, seconds)
    con_server = _server_ms_per_cycle(url, concurrent)
    cpu = (_cpu_seconds(pid) - cpu_before) * 1000.0 / max(sequential + concurrent, 1)
    return sequential / seq_elapsed, seq_server, concurrent / con_elapsed, con_server, cpu


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _memory(definitions: str | None) -> tuple[int, int, int]:
    """(peak KiB after start, peak KiB after reading everything once, entities read)."""
    with _child(_config_data(definitions, unlimited=False)) as (url, pid):
        started = _peak_kib(pid)
        read = 0
        with httpx.Client(base_url=url, timeout=120.0) as client:
            assert client.post("/entity/auth/login", json=LOGIN).status_code == 204
            for version in ("22.200.001", "23.200.001", "24.200.001"):
                document = client.get(f"/entity/Default/{version}/swagger.json").json()
                for tag in document["tags"]:
                    response = client.get(f"/entity/Default/{version}/{tag['name']}")
                    assert response.status_code == 200, (tag["name"], response.status_code)
                    read += 1
            assert client.post("/entity/auth/logout", content=b"").status_code == 204
        return started, _peak_kib(pid), read


def main() -> int:
    """Run the phases and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--subprocess", action="store_true", help="run the sandbox in a child")
    parser.add_argument(
        "--definitions",
        default=str(REFERENCE) if REFERENCE.is_dir() else None,
        help="endpoint definition files to load (default: the reference ones, if present)",
    )
    args = parser.parse_args()
    mode = "subprocess" if args.subprocess else "in-process"
    phases = [("built-in entities", None)]
    if args.definitions:
        phases.append(("all defined entities", args.definitions))
    rates: dict[str, tuple[float, float, float, float, float]] = {}
    print(f"sandbox ({mode}): login + 1 page of StockItem ($top=100) + logout cycles")
    for label, definitions in phases:
        with _site(args.subprocess, definitions) as (url, pid):
            rates[label] = seq, seq_server, con, con_server, cpu = _throughput(
                url, pid, args.clients, args.seconds
            )
        print(f"  {label}:")
        print(f"    sequential:   {seq:8.1f} cycles/s; server {seq_server:.3f} ms/cycle")
        print(
            f"    {args.clients} concurrent: {con:8.1f} cycles/s; server {con_server:.3f} ms/cycle"
        )
        print(f"    server-side capacity: ~{1000.0 / max(seq_server, 1e-6):.0f} cycles/s")
        if cpu:
            print(f"    server CPU: {cpu:.3f} ms/cycle")
    if len(rates) == 2:
        base, full = rates["built-in entities"], rates["all defined entities"]
        cpu_ratio = f", server CPU {full[4] / base[4]:.2f}" if base[4] else ""
        print(
            f"  all entities / built-in: sequential {full[0] / base[0]:.2f}, "
            f"concurrent {full[2] / base[2]:.2f}, server time {full[1] / base[1]:.2f}{cpu_ratio}"
        )
    print("peak memory of acumatica-ds sandbox (VmHWM), reading every entity once:")
    for label, definitions in phases:
        started, peak, read = _memory(definitions)
        print(
            f"  {label}: {started / 1024:.1f} MiB after start, {peak / 1024:.1f} MiB after "
            f"reading swagger.json and {read} entity lists"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
