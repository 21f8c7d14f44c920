"""Answers in the shapes the real site uses: ASP.NET error bodies, OAuth errors, HTML pages."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Final

from aiohttp import web

from acumatica_datasource.sandbox.config import ErrorMessageStyle, SandboxConfig

PX_EXCEPTION: Final = "PX.Data.PXException"
GENERIC_MESSAGE: Final = "An error has occurred."
LOGIN_LIMIT_MESSAGE: Final = "API Login Limit"


def json_response(
    data: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer with the charset IIS adds."""
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def aspnet_message(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """An ASP.NET Web API answer carrying only ``message`` (routing, 401, 405...)."""
    return json_response({"message": message}, status=status, headers=headers)


def aspnet_error(
    style: ErrorMessageStyle,
    status: int,
    exception_message: str,
    exception_type: str = PX_EXCEPTION,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The ASP.NET error body ``{message, exceptionMessage, exceptionType, stackTrace}``."""
    body = {
        "message": exception_message if style == "detailed" else GENERIC_MESSAGE,
        "exceptionMessage": exception_message,
        "exceptionType": exception_type,
        "stackTrace": (
            f"   at {exception_type}..ctor()\r\n   at PX.Api.ContractBased.EntityService.Execute()"
        ),
    }
    return json_response(body, status=status, headers=headers)


def retry_after_headers(config: SandboxConfig) -> dict[str, str]:
    """The ``Retry-After`` header of 429 answers, when the config asks for one."""
    seconds = config.license.retry_after_s
    if seconds is None:
        return {}
    text = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
    return {"Retry-After": text}


def login_limit(config: SandboxConfig) -> web.Response:
    """The API-login-limit answer, in the configured variant."""
    variant = config.license.login_limit_response
    if variant == "429-text":
        return web.Response(
            status=429,
            text=LOGIN_LIMIT_MESSAGE,
            content_type="text/plain",
            headers=retry_after_headers(config),
        )
    status = 429 if variant == "429-json" else 500
    headers = retry_after_headers(config) if status == 429 else {}
    return aspnet_error(config.error_message_style, status, LOGIN_LIMIT_MESSAGE, headers=headers)


def oauth_error(
    error: str,
    description: str | None = None,
    status: int = 400,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """An RFC 6749 error answer of the token endpoint."""
    body: dict[str, str] = {"error": error}
    if description:
        body["error_description"] = description
    all_headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})}
    return json_response(body, status=status, headers=all_headers)


def html_page(title: str, body_html: str, status: int = 200) -> web.Response:
    """A small HTML page (login form, error page)."""
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body_html}\n</body></html>\n"
    )
    return web.Response(status=status, text=page, content_type="text/html")


def reason(status: int) -> str:
    """The reason phrase of an HTTP status."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def length_required() -> web.Response:
    """IIS's answer to a POST without ``Content-Length``."""
    return html_page(
        "Length Required",
        "<h2>Length Required</h2>\n<hr><p>HTTP Error 411. The request must be chunked or have "
        "a content length.</p>",
        status=411,
    )
