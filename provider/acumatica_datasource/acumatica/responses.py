"""Classify Acumatica's error answers into the typed errors of :mod:`.errors`."""

from __future__ import annotations

import email.utils
import json
import math
import time
from typing import Any

import httpx

from acumatica_datasource.acumatica import errors
from acumatica_datasource.redaction import Redactor

LOGIN_LIMIT_TEXT = "api login limit"
RATE_TEXTS = ("per minute", "requests per", "rate limit")
"""Texts of a 429 about the request rate; any other 429 at login is the API login limit."""
MAX_DETAIL = 300
MAX_KIND = 120


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), when present."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


class NotJson(ValueError):
    """An answer is not usable JSON; the message says why (for "is not JSON (...)")."""


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON; :class:`NotJson` for anything else, including JSON too deeply nested
    to decode (a hostile page of nested ``[``)."""
    try:
        return json.loads(response.content)
    except RecursionError:
        raise NotJson("nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise NotJson("malformed") from None


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The ASP.NET error body ``{message, exceptionMessage, exceptionType}`` if any."""
    try:
        data = json_body(response)
    except NotJson:
        return {}
    return data if isinstance(data, dict) else {}


def describe(response: httpx.Response, redact: Redactor) -> tuple[str, str | None]:
    """A short text of what the server said, and its exception type, both made safe by
    :meth:`Redactor.clean` (secrets masked before anything else is done to the text)."""
    body = error_body(response)
    parts = [
        redact.clean(body[key], MAX_DETAIL)
        for key in ("message", "exceptionMessage")
        if isinstance(body.get(key), str)
    ]
    if not body and _is_text(response):
        parts = [redact.clean(response.text, MAX_DETAIL)]
    detail = " - ".join(dict.fromkeys(part for part in parts if part)) or (
        f"HTTP {response.status_code}"
    )
    kind = body.get("exceptionType")
    safe_kind = redact.clean(kind, MAX_KIND) if isinstance(kind, str) else ""
    return redact.clean(detail, MAX_DETAIL), safe_kind or None


def _is_text(response: httpx.Response) -> bool:
    kind = response.headers.get("Content-Type", "")
    return kind.startswith(("text/plain", "application/json")) or not kind


def _retry_note(seconds: float | None) -> str:
    return "" if seconds is None else f" (Retry-After: {seconds:.3g} s)"


def _is_request_rate(text: str) -> bool:
    """Whether a 429's text blames the request rate (not the concurrent API sessions)."""
    return any(marker in text for marker in RATE_TEXTS)


def is_login_limit(response: httpx.Response) -> bool:
    """429, or the "API Login Limit" text at any status."""
    if response.status_code == 429 and "login" in response.text.lower():
        return True
    return LOGIN_LIMIT_TEXT in response.text.lower()


def login_error(
    response: httpx.Response, *, site: str, user: str, tenant: str, redact: Redactor
) -> errors.AcumaticaError:
    """The error for a failed ``POST /entity/auth/login``."""
    status = response.status_code
    detail, kind = describe(response, redact)
    lowered = f"{detail} {kind or ''}".lower()
    who = f"user '{user}' of company {tenant}"
    if status == 429 and not is_login_limit(response) and _is_request_rate(lowered):
        return request_error(response, site=site, action=f"log in as {user}", redact=redact)
    if is_login_limit(response) or status == 429:
        retry_after = retry_after_seconds(response)
        return errors.LoginLimitReached(
            f"API login limit reached: every concurrent API session of the license is in "
            f"use ({detail}){_retry_note(retry_after)}; log out idle sessions (they expire "
            "after about 10 minutes idle) or lower the parallelism (--sessions-per-site)",
            site=site,
            status=status,
            retry_after=retry_after,
        )
    if "undefinedcompany" in lowered or ("company" in lowered and "not found" in lowered):
        return errors.TenantUnknown(
            f"the site has no company (tenant) '{tenant}' ({detail}): check company",
            site=site,
            status=status,
            exception_type=kind,
        )
    if "invalid credentials" in lowered or "username or password" in lowered:
        return errors.CredentialsRejected(
            f"Acumatica rejected the password of {who} ({detail}): check "
            "authentication.username and the password secret",
            site=site,
            status=status,
            exception_type=kind,
        )
    if "change your password" in lowered or "password has expired" in lowered:
        return errors.PasswordChangeRequired(
            f"{who} must change the password before logging in ({detail}): log in once in the "
            "browser, set a new password, and store it in the secret",
            site=site,
            status=status,
            exception_type=kind,
        )
    if "locked" in lowered or "disabled" in lowered:
        return errors.UserLocked(
            f"{who} is locked out or disabled ({detail}): ask an Acumatica administrator to "
            "unlock it (Users form)",
            site=site,
            status=status,
            exception_type=kind,
        )
    return request_error(response, site=site, action="log in", redact=redact)


def request_error(
    response: httpx.Response, *, site: str, action: str, redact: Redactor
) -> errors.AcumaticaError:
    """The error for any other failed request; ``action`` says what was attempted."""
    status = response.status_code
    detail, kind = describe(response, redact)
    retry_after = retry_after_seconds(response)
    if status in (502, 503, 504):
        return errors.ServerUnavailable(
            f"the site is temporarily unavailable (HTTP {status}) while trying to {action}"
            f"{_retry_note(retry_after)}",
            site=site,
            status=status,
            retry_after=retry_after,
        )
    if status == 429:
        if is_login_limit(response):
            return errors.LoginLimitReached(
                f"API login limit reached while trying to {action} ({detail})"
                f"{_retry_note(retry_after)}",
                site=site,
                status=status,
                retry_after=retry_after,
            )
        return errors.RateLimited(
            f"the site's request queue is full (HTTP 429) while trying to {action}"
            f"{_retry_note(retry_after)}",
            site=site,
            retry_after=retry_after,
        )
    if status == 401:
        return errors.SessionExpired(
            f"not authenticated (HTTP 401) while trying to {action}: the session or token "
            "expired or was revoked",
            site=site,
            status=status,
        )
    if status == 403:
        return errors.Forbidden(
            f"access denied (HTTP 403) while trying to {action}: the user lacks rights to the "
            "form behind it; grant them in Acumatica (User Roles)",
            site=site,
            status=status,
        )
    if status == 404:
        return errors.NotFound(
            f"not found (HTTP 404) while trying to {action}", site=site, status=status
        )
    if kind is not None and "setupnotentered" in kind.lower().replace(".", ""):
        return errors.TenantSetupIncomplete(
            f"authenticated, but the company's setup is not finished ({detail})",
            site=site,
            status=status,
            exception_type=kind,
        )
    if is_login_limit(response):
        return errors.LoginLimitReached(
            f"API login limit reached while trying to {action} ({detail})",
            site=site,
            status=status,
            retry_after=retry_after,
        )
    type_text = f" [{kind}]" if kind else ""
    return errors.UnexpectedServerError(
        f"the server failed to {action}: HTTP {status}{type_text}: {detail}",
        site=site,
        status=status,
        exception_type=kind,
    )
