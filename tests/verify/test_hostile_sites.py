"""Verification against hostile sites (issue 12): what a server says is masked and made
harmless before it is printed or recorded, and a server cannot exhaust memory or time.

Each test runs the real verification (and, where it says so, the real ``acumatica-ds verify``
process) against :class:`tests.support.hostile.HostileSite`, a small aiohttp server on
loopback that echoes secrets, sends terminal escape sequences, endless bodies or one byte a
second. The texts a user or the state can see are the report's JSON, the command's text
output and the ``verification`` output the provider records; each is searched for every
echo form of :mod:`tests.support.echoes`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.support.echoes import ECHOES, USER, found_forms
from tests.support.hostile import (
    LOGIN_PATH,
    PAGE_PATH,
    TOKEN_PATH,
    HostileSite,
    dribble,
    echo,
    endless,
    fixed,
    huge,
    running_hostile_site,
    verify_command,
)
from tests.support.site import Leaks, Site
from tests.verify.support import (
    ENVIRON,
    basic,
    environment,
    oauth,
    only,
    options,
    run,
)

from acumatica_datasource.cli.render.text import report_block, report_line
from acumatica_datasource.resource.outputs import verification_output
from acumatica_datasource.secrets import SecretResolver
from acumatica_datasource.verify import Report, verify_all

ISSUE_PASSWORDS = ('pw"RT-é93kq', "pw  two  spaces")
"""The passwords of issue 12 that leaked: a quote with a non-ASCII character, a double space."""
ESCAPES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def hostile() -> Iterator[HostileSite]:
    with running_hostile_site() as site:
        yield site
        assert site.open_sessions == 0, "the verification left a session open"


def visible_texts(report: Report, mode: str = "warn") -> list[str]:
    """Everything a user or the state can see of a report: its JSON (as printed, and with
    ASCII escapes), the text output, and the recorded ``verification`` output."""
    recorded = verification_output(report, mode)
    return [
        json.dumps(report.as_dict(), ensure_ascii=False),
        json.dumps(report.as_dict()),
        report_block(report),
        report_line(report),
        json.dumps(recorded, ensure_ascii=False),
        json.dumps(recorded),
    ]


def verify_basic(site: HostileSite, password: str, leaks: Leaks, **extra: Any) -> Report:
    leaks.add(password)
    env = environment(basic(site, verification={"mode": "warn"}, **extra))  # type: ignore[arg-type]
    return only(run(leaks, env, environ={"PW": password}))


# --- point 1: every encoding a server can echo is masked ---------------------------------------


@pytest.mark.parametrize("password", ISSUE_PASSWORDS)
def test_a_plain_text_500_echoing_the_login_request_leaks_nothing(
    hostile: HostileSite, leaks: Leaks, password: str
) -> None:
    """The attack of issue 12: the login answer is the raw request JSON as text/plain."""
    hostile.answer("POST", LOGIN_PATH, echo(500, "text/plain", wrap=lambda t: f"Bad request {t}"))
    report = verify_basic(hostile, password, leaks)
    assert report.status == "failed"
    login = next(c for c in report.checks if c.name == "login")
    assert "********" in login.detail
    assert found_forms([password], visible_texts(report)) == []


def _echo_secret(encoding: str, field: str, container: str) -> Any:
    """A login or token answer that decodes the request and echoes ``field`` in ``encoding``,
    as text/plain or inside a JSON error body."""

    async def handler(site: HostileSite, request: web.Request, body: bytes) -> web.StreamResponse:
        if request.path == LOGIN_PATH:
            value = json.loads(body)[field]
        else:
            value = (await request.post())[field]
        said = f"<<{ECHOES[encoding](str(value))}>>"
        if container == "text":
            return web.Response(status=500, text=said, content_type="text/plain")
        if request.path == TOKEN_PATH:
            return web.json_response(
                {"error": "invalid_grant", "error_description": said}, status=400
            )
        return web.json_response(
            {"message": "An error has occurred.", "exceptionMessage": said}, status=500
        )

    return handler


SECRET_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\"'\\%+&=;/ \t\n:@#?<>é€中😀\u00a0\u200b`$")),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    min_size=4,
    max_size=24,
)


@pytest.fixture(scope="module")
def property_site() -> Iterator[HostileSite]:
    with running_hostile_site() as site:
        yield site


def _verify_echo(
    site: HostileSite, secret: str, encoding: str, container: str, flow: str
) -> list[str]:
    if flow == "basic":
        site.answer("POST", LOGIN_PATH, _echo_secret(encoding, "password", container))
        source = basic(site, verification={"mode": "warn"})  # type: ignore[arg-type]
        environ = {"PW": secret}
    else:
        site.answer("POST", TOKEN_PATH, _echo_secret(encoding, "client_secret", container))
        source = oauth(site, verification={"mode": "warn"})  # type: ignore[arg-type]
        environ = {"CS": secret}
    env = environment(source)
    [report] = verify_all(
        [(source_, env.callback_url(source_)) for source_ in env.data_sources],
        secrets=SecretResolver(None, environ=environ),
        options=options(),
    )
    assert site.open_sessions == 0
    return visible_texts(report)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    secret=SECRET_TEXT,
    encoding=st.sampled_from(sorted(ECHOES)),
    container=st.sampled_from(["text", "json"]),
    flow=st.sampled_from(["basic", "oauth"]),
)
def test_no_echo_form_of_any_secret_survives(
    property_site: HostileSite, secret: str, encoding: str, container: str, flow: str
) -> None:
    """Property: whatever the secret (quotes, backslashes, unicode, whitespace runs, %, +) and
    however the server echoes it, no form of it is in the output, the JSON or the state."""
    assume(secret.strip() and "*" not in secret)
    baseline = _verify_echo(property_site, "benign-Secret-0042", encoding, container, flow)
    assume(not found_forms([secret], baseline))  # a form that is part of our own wording
    texts = _verify_echo(property_site, secret, encoding, container, flow)
    assert found_forms([secret], texts) == []


# --- point 2: nothing a server says is recorded without masking ------------------------------


def test_server_facts_and_details_are_masked_before_they_are_recorded(
    hostile: HostileSite, leaks: Leaks
) -> None:
    password = "fact-Secret-7781"
    leaked_build = f"24.210.0013 {ECHOES['json-unicode'](password)} \x1b]0;owned\x07"
    discovery = {
        "version": {"acumaticaBuildVersion": leaked_build, "databaseVersion": "x"},
        "endpoints": [{"name": "Default", "version": "24.200.001"}],
    }
    hostile.answer("GET", "/entity", fixed(json.dumps(discovery).encode()))
    hostile.answer("POST", LOGIN_PATH, echo(500, "text/plain", wrap=lambda t: f"Bad request {t}"))
    report = verify_basic(hostile, password, leaks)
    recorded = verification_output(report, "warn")
    assert "********" in recorded["server"]["build_version"]
    assert found_forms([password], visible_texts(report)) == []
    assert not ESCAPES.search(json.dumps(recorded, ensure_ascii=False))


# --- point 3: terminal control sequences never reach the terminal ----------------------------

HOSTILE_TEXT = (
    "Invalid credentials \x1b]0;pwned title\x07\x1b[2J\x1b[31mred\x1b[0m \x9b2J \x85next\u2028"
    "line \u202egnp.exe\u202c zero\u200bwidth \x00\x08\x7f"
)


@pytest.mark.parametrize("container", ["text", "json"])
def test_escape_sequences_from_a_server_are_stripped(
    site: Site, leaks: Leaks, tmp_path: Path, container: str
) -> None:
    """The sandbox's fault injection answers the login with escape sequences."""
    body: Any = HOSTILE_TEXT
    if container == "json":
        body = {"message": HOSTILE_TEXT, "exceptionType": "PX.\x1b[2JData\x07Exception"}
    site.control.fault(path=LOGIN_PATH, status=500, body=body)
    env = environment(basic(site, verification={"mode": "warn"}))
    report = only(run(leaks, env))
    texts = visible_texts(report)
    for text in texts:
        assert not ESCAPES.search(text.replace("\n", " ")), text
        assert "\x1b" not in text and "\\u001b" not in text
    login = next(c for c in report.checks if c.name == "login")
    assert "Invalid credentials" in report.as_dict()["checks"][2]["detail"], login


# --- point 11: pathological JSON is a clear per-data-source failure ----------------------------


def test_pathological_json_fails_one_data_source_and_spares_the_others(
    hostile: HostileSite, site: Site, leaks: Leaks
) -> None:
    hostile.answer("GET", PAGE_PATH, fixed(b"[" * 200_000))
    infinite = json.dumps({"access_token": "t0ken-abc", "token_type": "Bearer"})
    hostile.answer("POST", TOKEN_PATH, fixed(infinite[:-1].encode() + b', "expires_in": 1e999}'))
    env = environment(
        basic(hostile, "nested"),  # type: ignore[arg-type]
        oauth(
            hostile,  # type: ignore[arg-type]
            "infinite",
            verification={
                "login": {"username": USER, "password": {"env": "PW"}},
            },
        ),
        basic(site, "good"),
    )
    reports = run(leaks, env)
    by_name = {r.description: r for r in reports}
    assert by_name["good"].status == "ok"
    nested = next(c for c in by_name["nested"].checks if c.name == "page")
    assert nested.status == "failed"
    assert "UnitsOfMeasure" in nested.detail and "nested too deeply" in nested.detail
    token = next(c for c in by_name["infinite"].checks if c.name == "token")
    assert token.status == "failed" and "expires_in" in token.detail
    for report in reports:
        assert "internal error" not in json.dumps(report.as_dict())


def test_verify_command_survives_pathological_json(
    hostile: HostileSite, site: Site, tmp_path: Path
) -> None:
    hostile.answer("GET", PAGE_PATH, fixed(b"[" * 200_000))
    sources = [basic(hostile, "nested"), basic(site, "good")]  # type: ignore[arg-type]
    result = verify_command(tmp_path, sources, environ=ENVIRON)
    assert result.code == 1, result.err
    assert "internal error" not in result.out + result.err
    assert "Traceback" not in result.out + result.err
    reports = {r["description"]: r for r in json.loads(result.out)["data_sources"]}
    assert reports["good"]["status"] == "ok" and reports["nested"]["status"] == "failed"


# --- points 9 and 10: bounded memory and time -----------------------------------------------

TWO_GB = 2 * 1024**3
PEAK_LIMIT = 200 * 1024 * 1024


@pytest.mark.slow
@pytest.mark.parametrize("attack", ["content-length", "endless"])
def test_a_2_gb_body_keeps_verify_under_200_mb(
    hostile: HostileSite, tmp_path: Path, attack: str
) -> None:
    """The page read answers 2 GB (announced, or chunked without end): verify fails the data
    source with a message naming the limit, logs out, and stays under 200 MB."""
    hostile.answer("GET", PAGE_PATH, huge(TWO_GB) if attack == "content-length" else endless())
    result = verify_command(tmp_path, [basic(hostile, "big")], environ=ENVIRON)  # type: ignore[arg-type]
    print(f"{attack}: peak {result.peak_bytes / 2**20:.0f} MiB, {result.seconds:.1f} s")
    assert result.peak_bytes < PEAK_LIMIT
    assert result.code == 1, result.err
    [report] = json.loads(result.out)["data_sources"]
    page = next(c for c in report["checks"] if c["name"] == "page")
    assert page["status"] == "failed" and "MiB" in page["detail"], page
    assert next(c for c in report["checks"] if c["name"] == "logout")["status"] == "ok"


def test_a_slowloris_page_fails_within_the_operation_timeout(
    hostile: HostileSite, leaks: Leaks
) -> None:
    """One byte a second: the read fails after operation_timeout (plus at most a second),
    and the session is logged out."""
    hostile.answer("GET", PAGE_PATH, dribble(1.0, b"[" + b" " * 30 + b"]"))
    env = environment(basic(hostile, operation_timeout=3))  # type: ignore[arg-type]
    started = time.monotonic()
    report = only(run(leaks, env))
    elapsed = time.monotonic() - started
    page = next(c for c in report.checks if c.name == "page")
    assert page.status == "failed" and "operation_timeout" in page.detail, page
    assert elapsed < 3 + 1 + 1, elapsed  # the read, plus a second, plus login and logout
    assert next(c for c in report.checks if c.name == "logout").status == "ok"


# --- point 8: switched-off certificate checks are warned on every run --------------------------


def test_insecure_tls_properties_are_warned_on_every_run(site: Site, leaks: Leaks) -> None:
    source = basic(
        site, allow_insecure_tls=True, extra_connection_properties={"SSLServerCert": "*"}
    )
    for _ in range(2):
        report = only(run(leaks, environment(source)))
        assert report.status == "warning" and report.passed
        warning = next(c for c in report.checks if c.name == "certificate_checks")
        assert warning.status == "warning" and "SSLServerCert=*" in warning.detail


# --- point 6: a file cannot send the pipeline's credentials to its site ------------------------


def test_a_reference_to_the_vault_token_never_reaches_the_site(
    hostile: HostileSite, tmp_path: Path
) -> None:
    source = basic(hostile, "steal")  # type: ignore[arg-type]
    source["authentication"]["password"] = {"env": "BAO_TOKEN"}
    environ = {**ENVIRON, "BAO_TOKEN": "hvs.pipeline-1234"}
    result = verify_command(tmp_path, [source], environ=environ)
    assert result.code == 1
    assert "BAO_TOKEN holds the pipeline's own credentials" in result.err
    assert hostile.bodies(LOGIN_PATH) == [] and hostile.received == []
