"""The client against hostile servers (issue 12): bounded answers, bounded time, clear errors
for pathological JSON, and server text made safe. Each attack runs against a server written
for the test on loopback (:mod:`tests.support.hostile`, or a raw socket server below)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import tracemalloc
import unicodedata
import zlib
from collections.abc import Iterator

import pytest
from aiohttp import web
from tests.support.hostile import (
    LOGIN_PATH,
    PAGE_PATH,
    TOKEN_PATH,
    HostileSite,
    dribble,
    fixed,
    huge,
    running_hostile_site,
)
from tests.support.sandbox import PASSWORD
from tests.support.site import Leaks, make_client

from acumatica_datasource import redaction
from acumatica_datasource.acumatica import (
    ProtocolError,
    RequestTimeout,
    ResponseTooLarge,
    UnexpectedServerError,
)
from acumatica_datasource.redaction import MASK, Redactor

VERSION = "24.200.001"


@pytest.fixture
def hostile() -> Iterator[HostileSite]:
    with running_hostile_site() as site:
        yield site
        assert site.open_sessions == 0, "a session was left open"


def test_the_unsafe_character_table_is_unicode_categories() -> None:
    computed = [
        code
        for code in range(0x110000)
        if unicodedata.category(chr(code)) in redaction.UNSAFE_CATEGORIES
    ]
    listed = [code for low, high in redaction.UNSAFE_RANGES for code in range(low, high + 1)]
    assert listed == computed


def test_clean_masks_before_it_normalises() -> None:
    redact = Redactor(["a  b\x1bc", 'pw"RT-é93kq'])
    said = 'x a  b\x1bc y {"password":"pw\\"RT-é93kq"} \x1b]0;title\x07\x1b[2J z'
    assert redact.clean(said) == f'x {MASK} y {{"password":"{MASK}"}} z'


# --- point 9: answers are read with a limit ----------------------------------------------------


def test_a_huge_login_error_fails_without_reading_it(hostile: HostileSite, leaks: Leaks) -> None:
    async def answer(site: HostileSite, request: web.Request, body: bytes) -> web.StreamResponse:
        return await huge(2 * 1024**3)(site, request, body)

    hostile.answer("POST", LOGIN_PATH, answer)
    started = time.monotonic()
    with make_client(hostile.url) as client, leaks.raises(ResponseTooLarge) as info:
        with client.session(username="admin", password=PASSWORD, tenant="ACME"):
            pass
    assert time.monotonic() - started < 5
    assert "larger than 2 MiB" in str(info.value) and "Content-Length 2 GiB" in str(info.value)


def test_a_compressed_page_cannot_expand_past_the_limit(hostile: HostileSite) -> None:
    """A 1 MB gzip body that inflates to 1 GB: the read stops at the page limit, and the
    client's memory grows by little more than that."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip, without 1 GB in memory
    spaces = b" " * 2**20
    bomb = packer.compress(b"[") + b"".join(packer.compress(spaces) for _ in range(1024))
    bomb += packer.compress(b"]") + packer.flush()

    async def answer(site: HostileSite, request: web.Request, body: bytes) -> web.StreamResponse:
        return web.Response(
            body=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )

    hostile.answer("GET", PAGE_PATH, answer)
    tracemalloc.start()
    try:
        with (
            make_client(hostile.url) as client,
            client.session(username="admin", password=PASSWORD, tenant="ACME") as session,
            pytest.raises(ResponseTooLarge) as info,
        ):
            session.read("UnitsOfMeasure", version=VERSION, top=100, select="UnitID")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "larger than 1.39 MiB" in str(info.value) and "page_size" in str(info.value)
    assert peak < 8 * 1024 * 1024, peak


# --- point 10: operation_timeout bounds a request's whole wall time --------------------------


@contextlib.contextmanager
def raw_server(reply: bytes, interval: float) -> Iterator[str]:
    """A TCP server that answers every connection with ``reply``, one byte per
    ``interval`` seconds (a slowloris in the status line and headers)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    address: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            for index in range(len(reply)):
                writer.write(reply[index : index + 1])
                await writer.drain()
                await asyncio.sleep(interval)
        writer.close()

    def serve() -> None:
        server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
        address.append(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        ready.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield address[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_headers_sent_a_byte_at_a_time_time_out(leaks: Leaks) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X: y\r\n" * 50
    with raw_server(reply, 0.05) as url, make_client(url, timeout=1.0) as client:
        started = time.monotonic()
        with leaks.raises(RequestTimeout):
            client.discover()
    elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 0.5, elapsed


def test_a_body_sent_a_byte_at_a_time_times_out_and_the_session_closes(
    hostile: HostileSite, leaks: Leaks
) -> None:
    hostile.answer("GET", PAGE_PATH, dribble(0.05, b"[" + b" " * 200 + b"]"))
    with make_client(hostile.url, timeout=1.0) as client:
        started = time.monotonic()
        with (
            leaks.raises(RequestTimeout) as info,
            client.session(username="admin", password=PASSWORD, tenant="ACME") as session,
        ):
            session.read("UnitsOfMeasure", version=VERSION, top=10)
    assert time.monotonic() - started < 1.0 + 1.0  # the read, then the logout
    assert "operation_timeout (1 s)" in str(info.value)


# --- point 11: pathological JSON ----------------------------------------------------------------


def test_a_page_nested_too_deeply_is_a_protocol_error(hostile: HostileSite, leaks: Leaks) -> None:
    hostile.answer("GET", PAGE_PATH, fixed(b"[" * 200_000))
    with (
        make_client(hostile.url) as client,
        client.session(username="admin", password=PASSWORD, tenant="ACME") as session,
        leaks.raises(ProtocolError) as info,
    ):
        session.read("UnitsOfMeasure", version=VERSION, top=10)
    assert "is not JSON (nested too deeply)" in str(info.value)


@pytest.mark.parametrize(
    "body", [b'{"access_token": "abcdef", "expires_in": 1e999}', b"[" * 100_000]
)
def test_unusable_token_answers_are_protocol_errors(
    hostile: HostileSite, leaks: Leaks, body: bytes
) -> None:
    hostile.answer("POST", TOKEN_PATH, fixed(body))
    with make_client(hostile.url) as client, leaks.raises(ProtocolError) as info:
        client.password_token(
            client_id="x@ACME", client_secret="s3cr3t-x", username="u", password="p", scope="api"
        )
    assert "token endpoint" in str(info.value)


def test_an_error_type_from_the_server_is_made_safe(hostile: HostileSite, leaks: Leaks) -> None:
    body = b'{"message": "boom", "exceptionType": "PX.\\u001b]0;owned\\u0007Data.Boom"}'
    hostile.answer("GET", PAGE_PATH, fixed(body, status=500))
    with (
        make_client(hostile.url) as client,
        client.session(username="admin", password=PASSWORD, tenant="ACME") as session,
        leaks.raises(UnexpectedServerError) as info,
    ):
        session.read("UnitsOfMeasure", version=VERSION, top=10)
    assert "\x1b" not in str(info.value) and "\x07" not in str(info.value)
    assert "[PX.Data.Boom]" in str(info.value)
