"""SecretValue never shows itself and cannot be pickled; metadata is plain, storable data."""

from __future__ import annotations

import copy
import dataclasses
import logging
import pickle
from collections.abc import Callable

import dill  # type: ignore[import-untyped]
import pytest
from tests.secrets.support import LeakGuard

from acumatica_datasource.secrets import ResolvedSecret, SecretMetadata, SecretValue


def test_redacted_everywhere(leaks: LeakGuard, caplog: pytest.LogCaptureFixture) -> None:
    raw = leaks.fresh()
    value = SecretValue(raw)
    assert value.reveal() == raw
    for shown in (
        str(value),
        repr(value),
        f"{value}",
        f"{value!r}",
        f"{value:>40}",
        "{}".format(value),  # noqa: UP032 - str.format is a separate path
        "%s" % (value,),  # noqa: UP031 - and so is %-formatting
    ):
        assert raw not in shown
        assert "<secret>" in shown
    resolved = ResolvedSecret(value, SecretMetadata(kind="env", reference="env:X", variable="X"))
    assert raw not in repr(resolved) and raw not in str(resolved)
    logging.getLogger("test").info("value %s, resolved %r", value, resolved)
    assert len(value) == len(raw) and bool(value)
    assert value == SecretValue(raw) and value != SecretValue(raw + "x")
    assert value != raw  # never equal to a plain string


@pytest.mark.parametrize("dump", [pickle.dumps, dill.dumps, copy.copy, copy.deepcopy])
def test_not_picklable_but_copyable(leaks: LeakGuard, dump: Callable[[object], object]) -> None:
    raw = leaks.fresh()
    value = SecretValue(raw)
    resolved = ResolvedSecret(value, SecretMetadata(kind="env", reference="env:X"))
    if dump in (copy.copy, copy.deepcopy):
        assert dump(value) == value
        return
    for obj in (value, resolved):
        with leaks.raises(TypeError, match="cannot be pickled"):
            dump(obj)


def test_metadata_is_frozen_and_picklable() -> None:
    meta = SecretMetadata(
        kind="vault",
        reference="vault:secret/app#password@v3",
        mount="secret",
        path="app",
        key="password",
        engine="kv2",
        version=3,
        created_time="2026-01-01T00:00:00Z",
    )
    assert pickle.loads(pickle.dumps(meta)) == meta
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.version = 4  # type: ignore[misc]


def test_only_strings() -> None:
    with pytest.raises(TypeError):
        SecretValue(123)  # type: ignore[arg-type]


def test_internal_objects_do_not_show_tokens(leaks: LeakGuard) -> None:
    """What a debugger or pytest's traceback shows of internals carries no token."""
    from acumatica_datasource.redaction import Redactor
    from acumatica_datasource.secrets import SecretResolver, resolve_connection
    from acumatica_datasource.secrets.auth import Lease
    from acumatica_datasource.secrets.failures import CallContext

    token = leaks.fresh("hvs")
    conn = resolve_connection(None, {"VAULT_ADDR": "https://user:pw@vault.example:8200"})
    assert "pw@" not in conn.display_address and "pw@" not in conn.where()
    ctx = CallContext(connection=conn, reference="env:X", redact=Redactor([token]))
    lease = Lease(token=token, ttl=60, renewable=True, obtained_at=0)
    resolver = SecretResolver(None, environ={"VAULT_TOKEN": token})
    for obj in (ctx, lease, resolver):
        leaks.check_text(repr(obj), type(obj).__name__)
    with leaks.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(resolver)
