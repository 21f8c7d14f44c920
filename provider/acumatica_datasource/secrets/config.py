"""How to reach Vault: settings from the environment file, then ``BAO_*``, then ``VAULT_*``.

Everything is resolved here, explicitly, from a mapping of environment variables, and passed to
``hvac.Client`` as arguments: hvac itself reads some ``VAULT_*`` variables only at import time
and ``~/.vault-token`` on its own, which would make behaviour depend on the import order.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from requests.utils import DEFAULT_CA_BUNDLE_PATH

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.secrets.errors import VaultConfigError
from acumatica_datasource.spec.urls import plain_http_off_loopback
from acumatica_datasource.spec.vault import CredentialSource, VaultSettings

logger = logging.getLogger("acumatica_datasource.secrets")

DEFAULT_TIMEOUT = 10.0
"""Seconds per Vault request when nothing else is configured."""

ENV_PREFIXES = ("BAO_", "VAULT_")
_TRUE = {"1", "t", "true", "yes", "y", "on"}
_FALSE = {"0", "f", "false", "no", "n", "off"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_PEM_CERT = re.compile(
    r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----", re.ASCII
)


class InsecureVaultWarning(UserWarning):
    """Warned when TLS verification of Vault is switched off."""


def env_value(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """``(value, variable)`` of ``BAO_<name>`` or else ``VAULT_<name>``; empty counts as unset."""
    for prefix in ENV_PREFIXES:
        variable = prefix + name
        value = environ.get(variable, "").strip()
        if value:
            return value, variable
    return None


def display_address(address: str) -> str:
    """The address without any ``user:password@`` part, query or fragment, for messages."""
    parts = urlsplit(address)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def default_ca_bundle() -> str:
    """The CA bundle ``requests`` verifies with when no CA is configured, for messages."""
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        value = os.environ.get(variable)
        if value:
            return f"the default CA bundle {value} (from {variable})"
    return f"the default CA bundle {DEFAULT_CA_BUNDLE_PATH}"


@dataclass(frozen=True)
class VaultConnection:
    """Resolved connection settings; ``sources`` tells where each setting came from."""

    address: str
    namespace: str | None = None
    ca_cert: str | None = None
    ca_path: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    skip_verify: bool = False
    timeout: float = DEFAULT_TIMEOUT
    sources: Mapping[str, str] = field(default_factory=dict)
    ca_bundle: str | None = None
    """A bundle file made from the certificates in ``ca_path`` (see :func:`prepare_ca_path`)."""

    @property
    def display_address(self) -> str:
        """The address for messages (no credentials in it)."""
        return display_address(self.address)

    @property
    def verify(self) -> bool | str:
        """The ``verify`` argument for ``requests``: a CA file, or a bool."""
        if self.skip_verify:
            return False
        if self.ca_cert:
            return self.ca_cert
        if self.ca_bundle:
            return self.ca_bundle
        return True

    @property
    def cert(self) -> tuple[str, str] | str | None:
        """The client certificate (and key) for ``requests``, if any."""
        if self.client_cert and self.client_key:
            return (self.client_cert, self.client_key)
        return self.client_cert

    def describe_ca(self) -> str:
        """Which CA certificates verify the server, for TLS error messages."""
        if self.skip_verify:
            return "no CA (verification is switched off)"
        if self.ca_cert:
            return f"the CA file {self.ca_cert} ({self.sources.get('ca_cert', 'vault.ca_cert')})"
        if self.ca_path:
            return (
                f"the CA directory {self.ca_path} ({self.sources.get('ca_path', 'vault.ca_path')})"
            )
        return default_ca_bundle() + ", as no vault.ca_cert, BAO_CACERT or VAULT_CACERT is set"

    def where(self) -> str:
        """``Vault at <address>`` plus the namespace, for messages."""
        ns = f" (namespace {self.namespace})" if self.namespace else ""
        return f"Vault at {self.display_address}{ns}"


def _bool(value: str, variable: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise VaultConfigError(f"{variable} must be true or false, not {value!r}")


def _duration(value: str, variable: str) -> float:
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
        pos = 0
        total = 0.0
        for match in _DURATION.finditer(text):
            if match.start() != pos:
                break
            unit = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[match.group(2)]
            total += float(match.group(1)) * unit
            pos = match.end()
        if pos == len(text) and pos:
            seconds = total
    if seconds <= 0:
        raise VaultConfigError(
            f"{variable} must be a positive number of seconds or a duration such as 30s, "
            f"not {value!r}"
        )
    return seconds


def resolve_connection(
    settings: VaultSettings | None, environ: Mapping[str, str]
) -> VaultConnection:
    """Resolve the connection settings; file settings first, then ``BAO_*``, then ``VAULT_*``.

    Checks that configured TLS files exist. Warns loudly when verification is switched off.
    """
    s = settings or VaultSettings()
    sources: dict[str, str] = {}

    def pick(attr: str, name: str) -> str | None:
        value = getattr(s, attr)
        if value is not None:
            sources[attr] = f"vault.{attr}"
            return str(value)
        found = env_value(environ, name)
        if found is None:
            return None
        sources[attr] = found[1]
        return found[0]

    address = pick("address", "ADDR")
    if not address:
        raise VaultConfigError(
            "no Vault address is configured: set vault.address in the environment file, "
            "or the BAO_ADDR or VAULT_ADDR environment variable (e.g. https://vault.example.com:8200)"
        )
    address = address.rstrip("/")
    scheme = urlsplit(address).scheme.lower()
    if scheme not in ("http", "https") or not urlsplit(address).hostname:
        raise VaultConfigError(
            f"the Vault address {display_address(address)!r} from {sources['address']} is not "
            "an http:// or https:// URL"
        )

    if plain_http_off_loopback(address):
        _insecure_http(address, sources["address"], s, environ)

    skip_verify = False
    if s.skip_verify is not None:
        skip_verify = s.skip_verify
        sources["skip_verify"] = "vault.skip_verify"
    else:
        found = env_value(environ, "SKIP_VERIFY")
        if found is not None:
            skip_verify = _bool(*found)
            sources["skip_verify"] = found[1]

    timeout = DEFAULT_TIMEOUT
    if s.timeout is not None:
        timeout = float(s.timeout)
        sources["timeout"] = "vault.timeout"
    else:
        found = env_value(environ, "CLIENT_TIMEOUT")
        if found is not None:
            timeout = _duration(*found)
            sources["timeout"] = found[1]

    ca_cert = pick("ca_cert", "CACERT")
    ca_path = pick("ca_path", "CAPATH")
    client_cert = pick("client_cert", "CLIENT_CERT")
    client_key = pick("client_key", "CLIENT_KEY")
    namespace = pick("namespace", "NAMESPACE")
    if namespace is not None:
        namespace = namespace.strip("/") or None

    for attr, value, want_dir in (
        ("ca_cert", ca_cert, False),
        ("ca_path", ca_path, True),
        ("client_cert", client_cert, False),
        ("client_key", client_key, False),
    ):
        if value is None:
            continue
        p = Path(value)
        ok = p.is_dir() if want_dir else p.is_file()
        if not ok:
            kind = "directory" if want_dir else "file"
            raise VaultConfigError(
                f"the {attr.replace('_', ' ')} {kind} {value} (from {sources[attr]}) does not "
                "exist or is not readable"
            )
    if client_key and not client_cert:
        raise VaultConfigError(
            f"a client key is configured ({sources['client_key']}) without a client certificate: "
            "set vault.client_cert, BAO_CLIENT_CERT or VAULT_CLIENT_CERT too"
        )

    connection = VaultConnection(
        address=address,
        namespace=namespace,
        ca_cert=ca_cert,
        ca_path=ca_path,
        client_cert=client_cert,
        client_key=client_key,
        skip_verify=skip_verify,
        timeout=timeout,
        sources=sources,
    )
    if skip_verify:
        message = (
            f"TLS certificate verification of Vault at {connection.display_address} is "
            f"switched off ({sources['skip_verify']}): anyone on the network path can "
            "impersonate Vault and read every secret and token sent to it. Configure "
            "vault.ca_cert (or BAO_CACERT / VAULT_CACERT) instead."
        )
        logger.warning("INSECURE: %s", message)
        warnings.warn(message, InsecureVaultWarning, stacklevel=3)
    return connection


def _insecure_http(
    address: str, source: str, settings: VaultSettings, environ: Mapping[str, str]
) -> None:
    """Refuse a plain ``http://`` address off loopback, unless the user opted in (then warn:
    on every run, as each run resolves the connection once)."""
    if settings.allow_insecure_http:
        allowed_by = "vault.allow_insecure_http"
    elif _bool(environ.get(variables.VAULT_ALLOW_HTTP) or "false", variables.VAULT_ALLOW_HTTP):
        allowed_by = variables.VAULT_ALLOW_HTTP
    else:
        raise VaultConfigError(
            f"the Vault address {display_address(address)} (from {source}) is plain http:// to "
            "a host that is not loopback: the Vault token and every secret would travel in "
            "clear. Fix: use Vault's https:// address, or accept the risk with "
            f"vault.allow_insecure_http: true (or {variables.VAULT_ALLOW_HTTP}=1)"
        )
    message = (
        f"Vault at {display_address(address)} is reached over plain http ({allowed_by}): the "
        "Vault token and every secret travel in clear, readable by anyone on the network path. "
        "Use Vault's https:// address."
    )
    logger.warning("INSECURE: %s", message)
    warnings.warn(message, InsecureVaultWarning, stacklevel=4)


def prepare_ca_path(connection: VaultConnection) -> VaultConnection:
    """Turn a CA directory into a bundle file that ``requests`` can use.

    Vault reads every PEM file of ``VAULT_CAPATH``; OpenSSL's own directory lookup needs
    hashed file names. So the certificates (only ``CERTIFICATE`` blocks, never keys) of every
    file in the directory are collected into a temporary bundle, removed by :func:`release`.
    """
    if connection.ca_cert or not connection.ca_path or connection.skip_verify:
        return connection
    blocks: list[str] = []
    for entry in sorted(Path(connection.ca_path).iterdir()):
        if not entry.is_file():
            continue
        try:
            text = entry.read_text(encoding="ascii", errors="ignore")
        except OSError:
            continue
        blocks.extend(match.group(0) for match in _PEM_CERT.finditer(text))
    if not blocks:
        raise VaultConfigError(
            f"the CA directory {connection.ca_path} ({connection.sources.get('ca_path')}) "
            "holds no PEM certificate"
        )
    fd, name = tempfile.mkstemp(prefix="acumatica-ds-vault-ca-", suffix=".pem")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("\n".join(blocks) + "\n")
    return replace(connection, ca_bundle=name)


def release(connection: VaultConnection) -> None:
    """Remove the temporary CA bundle of :func:`prepare_ca_path`, if any."""
    if connection.ca_bundle:
        Path(connection.ca_bundle).unlink(missing_ok=True)


def home_directory(environ: Mapping[str, str]) -> Path:
    """``HOME`` from ``environ`` (the one passed to the resolver), else the user's home."""
    home = environ.get("HOME")
    return Path(home) if home else Path.home()


def read_credential(source: CredentialSource, environ: Mapping[str, str], what: str) -> str:
    """Read a login credential from ``{env: NAME}`` or ``{file: PATH}``; never returns ''."""
    if source.env is not None:
        value = environ.get(source.env, "").strip()
        if not value:
            raise VaultConfigError(
                f"the {what} comes from the environment variable {source.env}, which is "
                f"{'empty' if source.env in environ else 'not set'}: set it, or change vault.auth"
            )
        return value
    assert source.file is not None
    path = Path(source.file).expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise VaultConfigError(
            f"the {what} comes from the file {source.file}, which does not exist"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise VaultConfigError(
            f"the {what} comes from the file {source.file}, which cannot be read ({reason})"
        ) from None
    if not value:
        raise VaultConfigError(f"the {what} comes from the file {source.file}, which is empty")
    return value
