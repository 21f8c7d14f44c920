"""The outputs recorded in Pulumi's state, and their version.

Upgrade rule. Refresh and destroy run the provider pickled in the state, which is a
reference to :class:`DataSourceProvider` by name: they always run the *installed* version of
this package, against outputs that any earlier version recorded. So:

* outputs carry ``provider_version`` (:data:`PROVIDER_VERSION`); outputs without it are
  version 0 (recorded before versioning, or damaged);
* :func:`upgrade` turns outputs of any earlier version into the current shape, one version at
  a time (``_UPGRADES[n]`` takes version ``n`` to ``n + 1``); ``diff`` and ``read`` call it
  first, and ``read`` records the result, so a refresh stores the current shape;
* bump :data:`PROVIDER_VERSION` whenever the shape of the outputs changes (a property
  renamed, removed, or its meaning changed) and add the step from the previous version; never
  edit an existing step; adding an optional property needs no bump;
* ``delete`` must not depend on the shape at all (it does nothing remote);
* outputs of a *newer* version are refused with a clear message (upgrade the package)
  rather than misread.

Tests keep a hand-made output set of every older version (tests/resource) and check that
``read`` and ``delete`` still work with it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from acumatica_datasource.resource.properties import (
    INPUT_PROPERTIES,
    lookup,
    put,
    secret_references,
)
from acumatica_datasource.spec import DataSource, InlineSecretRef, render_connection_string

if TYPE_CHECKING:
    from acumatica_datasource.verify import Report

PROVIDER_VERSION = 2
OUTPUT_PROPERTIES = (
    "callback_url",
    "connection_string_template",
    "verification",
    "secret_versions",
    "provider_version",
    "connection_string",
)
"""Properties only the provider sets."""
PUBLISHED_OUTPUTS = (
    "data_source_id",
    "description",
    "callback_url",
    "connection_string_template",
    "verification",
    "secret_versions",
)
"""What a data source publishes for other stacks (the stack output named by its id) and what
``acumatica-ds output`` prints: the recorded outputs that are no secret."""
SECRET_OUTPUT = "connection_string"
"""The one secret output (with ``expose_connection_string``)."""
CONNECTION_STRINGS_OUTPUT = "connection_strings"
"""The secret stack output mapping each id with an exposed connection string to it (not a
possible id: ids have no ``_``)."""
MAX_DETAIL = 300
FINGERPRINT = "pulumi_secret"

_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""version -> the function turning outputs of that version into the next version's."""


def _from_version_0(outputs: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (no ``provider_version``): fill in what version 1 always records."""
    result = dict(outputs)
    verification = result.get("verification")
    if isinstance(verification, str):  # an early shape recorded only the status
        verification = {"status": verification}
    if not isinstance(verification, Mapping):
        verification = {}
    result["verification"] = {
        "status": "unknown",
        "mode": None,
        "checked_at": None,
        "summary": "recorded by an earlier provider version",
        **verification,
    }
    versions = result.get("secret_versions")
    result["secret_versions"] = dict(versions) if isinstance(versions, Mapping) else {}
    for key in ("callback_url", "connection_string_template", "connection_string"):
        result.setdefault(key, None)
    return result


def _from_version_1(outputs: dict[str, Any]) -> dict[str, Any]:
    """Version 1 recorded every check with its detail; version 2 keeps a compact
    ``{name: status}`` map and the details of the checks that did not pass (``problems``)."""
    result = dict(outputs)
    verification = dict(result.get("verification") or {})
    checks = verification.get("checks")
    if isinstance(checks, list):
        verification["checks"] = {
            str(c.get("name")): c.get("status") for c in checks if isinstance(c, Mapping)
        }
        verification["problems"] = [
            f"{c.get('name')}: {c.get('detail')}"
            for c in checks
            if isinstance(c, Mapping) and c.get("status") in ("failed", "warning")
        ]
    result["verification"] = verification
    return result


_UPGRADES[0] = _from_version_0
_UPGRADES[1] = _from_version_1


def upgrade(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs of any earlier provider version in the current shape."""
    result = dict(outputs)
    recorded = result.get("provider_version")
    try:
        version = int(recorded) if recorded is not None else 0
    except (TypeError, ValueError):
        version = 0
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


def is_fingerprint(value: Mapping[str, Any]) -> bool:
    """Whether a recorded value is the fingerprint of a Pulumi secret (not the secret)."""
    return FINGERPRINT in value


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
    """The ``verification`` output: status, time, each check's status, the details of those
    that did not pass, and server facts. No timings, and no details of passing checks: a
    refresh of an unchanged world records no change but ``checked_at``, and the state stays
    small."""
    if report is None:
        return {"status": "off", "mode": mode, "checked_at": None, "summary": "not verified"}
    return {
        "status": report.status,
        "mode": mode,
        "checked_at": report.checked_at,
        "summary": report.text(report.summary(), MAX_DETAIL),
        "checks": {c.name: c.status for c in report.checks},
        "problems": [
            report.text(f"{c.name}: {c.detail}", MAX_DETAIL)
            for c in report.checks
            if c.status in ("failed", "warning")
        ],
        "server": report.facts(),
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
