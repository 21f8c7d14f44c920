"""Turning ``hvac`` and ``requests`` exceptions into one clear :class:`SecretError`.

``hvac`` raises ``hvac.exceptions.*`` for HTTP error answers and lets ``requests.exceptions.*``
through for transport failures; the two families are unrelated, so both are mapped here. The
original exception is never chained: hvac keeps response bodies on it and requests keeps the
prepared request, whose headers hold the Vault token. :func:`guarded` raises the mapped error
outside the ``except`` block, so not even ``__context__`` refers to the original.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import hvac.exceptions
import requests.exceptions

from acumatica_datasource.redaction import Redactor
from acumatica_datasource.secrets.client import RedirectRefused
from acumatica_datasource.secrets.config import VaultConnection, display_address
from acumatica_datasource.secrets.errors import (
    SecretAccessDenied,
    SecretError,
    SecretNotFound,
    VaultAuthenticationError,
    VaultConfigError,
    VaultNamespaceNotFound,
    VaultRedirect,
    VaultSealed,
    VaultTimeout,
    VaultTLSError,
    VaultUnavailable,
)

T = TypeVar("T")
E = TypeVar("E", bound=Exception)

CALL_ERRORS: tuple[type[Exception], ...] = (
    hvac.exceptions.VaultError,
    requests.exceptions.RequestException,
    OSError,
    ValueError,
)
"""What a call through hvac can raise besides our own errors."""

_MAX_SAID = 300


@dataclass(frozen=True)
class CallContext:
    """What a failure message needs: where, which reference, and what must never appear."""

    connection: VaultConnection
    reference: str | None
    redact: Redactor = field(default_factory=Redactor, repr=False)
    """Knows the strings (tokens, credentials, a value being written) to mask in server
    messages."""

    @property
    def where(self) -> str:
        return self.connection.where()


def server_said(exc: hvac.exceptions.VaultError, redact: Callable[[str], str] = str) -> str:
    """The server's error strings, masked by ``redact`` (before anything else), shortened."""
    errors: Any = exc.errors
    if errors is None and isinstance(exc.json, dict):
        errors = exc.json.get("errors")
    if isinstance(errors, list):
        text = "; ".join(str(e) for e in errors if e)
    elif isinstance(errors, str):
        text = errors
    else:
        text = ""
    text = " ".join(redact(text).split())
    if len(text) > _MAX_SAID:
        text = text[: _MAX_SAID - 3] + "..."
    return text


def _tls_reason(exc: Exception) -> str:
    text = str(exc)
    match = re.search(r"certificate verify failed: ([^(')\"]+)", text)
    if match:
        return "certificate verify failed: " + match.group(1).strip()
    if "doesn't match" in text or "hostname mismatch" in text.lower():
        return "the certificate does not match the host name"
    match = re.search(r"\[SSL: ([A-Z0-9_]+)\]", text)
    if match:
        return match.group(1).lower().replace("_", " ")
    match = re.search(r"alert ([a-z ]+)", text)
    if match:
        return "the server sent TLS alert: " + match.group(1).strip()
    return "TLS handshake failed"


def _connect_reason(exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if any(
        marker in text
        for marker in ("Name or service not known", "nodename nor servname", "Failed to resolve")
    ):
        return "the host name cannot be resolved"
    if "Network is unreachable" in text or "No route to host" in text:
        return "the network is unreachable"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset" in text:
        return "the connection was closed without an answer"
    return "the connection failed"


def translate(
    exc: Exception,
    ctx: CallContext,
    *,
    action: str,
    api_path: str | None = None,
    capability: str = "read",
) -> SecretError:
    """Map any exception of a Vault call to a :class:`SecretError` naming the reference.

    ``action`` completes "... while <action>", e.g. ``reading secret/data/app``; ``api_path`` and
    ``capability`` make the policy hint of a permission error precise.
    """
    conn = ctx.connection
    ref = ctx.reference
    where = ctx.where
    if isinstance(exc, RedirectRefused):
        return VaultRedirect(
            f"{display_address(exc.origin)} answered with a redirect to "
            f"{display_address(exc.target)} while {action}; the Vault token is sent only to the "
            f"configured address ({conn.display_address}), so it was not followed. Fix: set "
            "vault.address (or BAO_ADDR / VAULT_ADDR) to the address that serves Vault itself "
            "(e.g. the active node of a cluster)",
            reference=ref,
        )
    if isinstance(exc, requests.exceptions.SSLError):
        reason = _tls_reason(exc)
        if "alert" in reason or "certificate required" in reason:
            fix = "check vault.client_cert / vault.client_key (or BAO_CLIENT_CERT / BAO_CLIENT_KEY)"
        else:
            fix = (
                "point vault.ca_cert (or BAO_CACERT / VAULT_CACERT) at the PEM file of the CA "
                "that signed Vault's certificate"
            )
        return VaultTLSError(
            f"TLS connection to {where} failed while {action} ({reason}); the server "
            f"certificate was checked against {conn.describe_ca()}. Fix: {fix}",
            reference=ref,
        )
    if isinstance(exc, requests.exceptions.Timeout):
        what = (
            "could not be connected to"
            if isinstance(exc, requests.exceptions.ConnectTimeout)
            else "did not answer"
        )
        return VaultTimeout(
            f"{where} {what} within {conn.timeout:g} s while {action}. Fix: check that Vault "
            "is up and reachable from here, or raise vault.timeout (or BAO_CLIENT_TIMEOUT)",
            reference=ref,
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        source = conn.sources.get("address", "vault.address")
        return VaultUnavailable(
            f"cannot connect to {where} while {action} ({_connect_reason(exc)}). Fix: check "
            f"that Vault is running and that the address (from {source}) is right",
            reference=ref,
        )
    if isinstance(exc, requests.exceptions.RequestException):
        return VaultUnavailable(
            f"the request to {where} failed while {action} ({type(exc).__name__}). Fix: check "
            "the address and that it is a Vault server",
            reference=ref,
        )
    if isinstance(exc, hvac.exceptions.VaultError):
        return _translate_vault(exc, ctx, action=action, api_path=api_path, capability=capability)
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        return VaultConfigError(
            f"cannot talk to {where} while {action}: {reason[:200]}. Fix: check the TLS "
            "files in the vault settings",
            reference=ref,
        )
    if isinstance(exc, ValueError):
        return VaultUnavailable(
            f"unexpected answer from {where} while {action} (not Vault's JSON). Fix: check that "
            "the address points at Vault's API",
            reference=ref,
        )
    return SecretError(f"{type(exc).__name__} while {action} on {where}", reference=ref)


def _translate_vault(
    exc: hvac.exceptions.VaultError,
    ctx: CallContext,
    *,
    action: str,
    api_path: str | None,
    capability: str,
) -> SecretError:
    conn = ctx.connection
    ref = ctx.reference
    where = ctx.where
    said = server_said(exc, ctx.redact)
    lowered = said.lower()
    if "namespace not found" in lowered:
        source = conn.sources.get("namespace", "vault.namespace")
        return VaultNamespaceNotFound(
            f"the namespace {conn.namespace!r} (from {source}) does not exist on "
            f"{conn.display_address}. Fix: correct vault.namespace (or BAO_NAMESPACE / "
            "VAULT_NAMESPACE), or create it (bao namespace create)",
            reference=ref,
        )
    if "http request to an https server" in (exc.text or "").lower() or (
        "http request to an https server" in lowered
    ):
        return VaultConfigError(
            f"{conn.display_address} speaks HTTPS but the address says http://. Fix: use "
            "https:// in vault.address (or BAO_ADDR / VAULT_ADDR)",
            reference=ref,
        )
    if isinstance(exc, hvac.exceptions.VaultDown):
        if "sealed" in lowered:
            return VaultSealed(
                f"{where} is sealed and cannot serve requests (while {action}). Fix: unseal it "
                "(bao operator unseal) or wait for its auto-unseal",
                reference=ref,
            )
        return VaultUnavailable(
            f"{where} is unavailable (503{': ' + said if said else ''}) while {action}. "
            "Fix: check the server's health (bao status)",
            reference=ref,
        )
    if isinstance(exc, hvac.exceptions.Forbidden):
        target = f' path "{api_path}" {{ capabilities = ["{capability}"] }}' if api_path else ""
        return SecretAccessDenied(
            f"permission denied by {where} while {action}: the token's policies do not allow "
            f"it. Fix: grant{target or ' access'} in a policy of the token (or its role)",
            reference=ref,
        )
    if isinstance(exc, hvac.exceptions.Unauthorized):
        return VaultAuthenticationError(
            f"{where} refused the token while {action} (401{': ' + said if said else ''}). "
            "Fix: log in again or provide a valid token",
            reference=ref,
        )
    if isinstance(exc, hvac.exceptions.InvalidPath):
        if "no handler for route" in lowered:
            return SecretNotFound(
                f"nothing is mounted at the path used while {action} on {where}. Fix: check "
                "the mount (bao secrets list / bao auth list)",
                reference=ref,
            )
        return SecretNotFound(
            f"not found on {where} while {action}{': ' + said if said else ''}", reference=ref
        )
    if isinstance(exc, hvac.exceptions.RateLimitExceeded):
        return VaultUnavailable(
            f"{where} is rate limiting requests (429) while {action}. Fix: retry later or "
            "raise the rate-limit quota",
            reference=ref,
        )
    status = {
        hvac.exceptions.InternalServerError: "500",
        hvac.exceptions.BadGateway: "502",
        hvac.exceptions.VaultNotInitialized: "501, not initialized",
    }.get(type(exc))
    if status is not None:
        return VaultUnavailable(
            f"{where} failed while {action} ({status}{': ' + said if said else ''}). Fix: "
            "check the server's logs and health",
            reference=ref,
        )
    return SecretError(
        f"{where} refused the request while {action}"
        f"{': ' + said if said else f' ({type(exc).__name__})'}",
        reference=ref,
    )


def guarded(
    call: Callable[[], T],
    translate_error: Callable[[E], SecretError],
    catch: tuple[type[E], ...] = CALL_ERRORS,  # type: ignore[assignment]
) -> T:
    """Run ``call``; for an exception of ``catch`` (by default a Vault or transport failure)
    raise ``translate_error(exc)`` instead, outside the ``except`` block: not chained, and
    without even a ``__context__`` that could carry a response body or the token."""
    try:
        return call()
    except catch as exc:
        error = translate_error(exc)
    raise error
