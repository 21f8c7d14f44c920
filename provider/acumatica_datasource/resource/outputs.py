"""The outputs recorded in Pulumi's state, and their version.

Upgrade rule: outputs carry ``provider_version``. A newer provider must read, refresh and
delete resources recorded by any older version: :func:`upgrade` turns old outputs into the
current shape, one version at a time. Bump :data:`PROVIDER_VERSION` whenever the shape of
the outputs changes, and add the step from the previous version.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from typing import Any

from acumatica_datasource.resource.properties import (
    INPUT_PROPERTIES,
    lookup,
    put,
    secret_references,
)
from acumatica_datasource.spec import DataSource, InlineSecretRef, render_connection_string
from acumatica_datasource.verify import Report

PROVIDER_VERSION = 1
OUTPUT_PROPERTIES = (
    "callback_url",
    "connection_string_template",
    "verification",
    "secret_versions",
    "provider_version",
    "connection_string",
)
"""Properties only the provider sets."""
MAX_DETAIL = 300
FINGERPRINT = "pulumi_secret"

_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""version -> the function turning outputs of that version into the next version's."""


def upgrade(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs of any earlier provider version in the current shape."""
    result = dict(outputs)
    version = int(result.get("provider_version") or 1)
    if version > PROVIDER_VERSION:
        raise ValueError(
            f"this resource was recorded by a newer provider (outputs version {version}); "
            f"this one understands up to {PROVIDER_VERSION}: upgrade pulumi-acumatica-datasource"
        )
    while version < PROVIDER_VERSION:
        result = _UPGRADES[version](result)
        version += 1
        result["provider_version"] = version
    return result


def fingerprint(value: str, salt: str | None = None) -> dict[str, str]:
    """A slow, salted hash of a Pulumi secret value, to notice when it changes."""
    salt = salt or os.urandom(16).hex()
    digest = hashlib.scrypt(value.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return {"salt": salt, "scrypt": digest.hex()}


def same_secret(value: Any, recorded: Any) -> bool:
    """Whether a Pulumi secret value matches a recorded fingerprint."""
    if not (isinstance(value, str) and isinstance(recorded, Mapping)):
        return False
    stamp = recorded.get(FINGERPRINT)
    if not isinstance(stamp, Mapping) or not isinstance(stamp.get("salt"), str):
        return False
    expected = fingerprint(value, stamp["salt"])["scrypt"]
    return hmac.compare_digest(expected, str(stamp.get("scrypt", "")))


def verification_output(report: Report | None, mode: str) -> dict[str, Any]:
    """The ``verification`` output: status, time, checks and server facts (no timings, so
    a refresh of an unchanged world records no change but ``checked_at``)."""
    if report is None:
        return {"status": "off", "mode": mode, "checked_at": None, "summary": "not verified"}
    return {
        "status": report.status,
        "mode": mode,
        "checked_at": report.checked_at,
        "summary": _short(report.summary()),
        "checks": [
            {"name": c.name, "status": c.status, "detail": _short(c.detail)} for c in report.checks
        ],
        "server": report.server.as_dict(),
        "callback_registered": report.callback_registered,
        "records_read": report.records_read,
    }


def build_outputs(
    inputs: Mapping[str, Any],
    source: DataSource,
    *,
    report: Report | None,
    connection_string: str | None,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything recorded for a data source. Secret values never appear, except the opt-in
    ``connection_string`` (marked secret by the resource)."""
    outputs: dict[str, Any] = {key: inputs[key] for key in INPUT_PROPERTIES if key in inputs}
    for path, reference in secret_references(source).items():
        if isinstance(reference, InlineSecretRef):
            value = reference.inline.get_secret_value()
            old = lookup(previous, path) if previous is not None else None
            stamp = old if same_secret(value, old) else {FINGERPRINT: fingerprint(value)}
            put(outputs, path, stamp)
    callback = inputs.get("callback_url")
    outputs["data_source_id"] = source.data_source_id
    outputs["callback_url"] = callback
    outputs["connection_string_template"] = render_connection_string(source, callback_url=callback)
    outputs["verification"] = verification_output(report, source.verification.mode)
    outputs["secret_versions"] = {
        ref.describe(): (report.secret_versions.get(ref.describe()) if report else None)
        for ref in secret_references(source).values()
    }
    outputs["provider_version"] = PROVIDER_VERSION
    outputs["connection_string"] = connection_string
    return outputs


def _short(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."
