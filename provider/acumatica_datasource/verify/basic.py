"""The Basic flow: log in with a cookie session, the paged test request, log out."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from acumatica_datasource.acumatica import (
    AcumaticaClient,
    AcumaticaError,
    CredentialsRejected,
    LogoutFailed,
)
from acumatica_datasource.spec import BasicAuthentication
from acumatica_datasource.verify.paging import PagedRead, read_pages
from acumatica_datasource.verify.report import Check, timing

if TYPE_CHECKING:
    from acumatica_datasource.verify.verifier import Verifier

BASIC_STEPS = ("login", "page", "next_page", "logout")


def verify_basic(
    verifier: Verifier, client: AcumaticaClient, auth: BasicAuthentication, version: str | None
) -> None:
    """Log in, read and log out; log in once more when the first session expires before the
    read ends. ``version`` None: discovery failed, nothing runs."""
    if version is None:
        verifier.checks.skip(*BASIC_STEPS, reason="not run: endpoint discovery failed")
        return
    for again in (False, True):
        if _session(verifier, client, auth, version, again=again):
            return


def _session(
    verifier: Verifier,
    client: AcumaticaClient,
    auth: BasicAuthentication,
    version: str,
    *,
    again: bool,
) -> bool:
    """One session's checks; False, with nothing recorded, when it expired mid-read and a
    second login may do better."""
    source, checks = verifier.source, verifier.checks
    login = Check("login", "ok", "")
    logout = Check("logout", "ok", "session closed")
    read = PagedRead()
    try:
        with contextlib.ExitStack() as open_session:
            with timing(login):
                session = open_session.enter_context(
                    client.session(
                        username=auth.username,
                        password=verifier.values["password"],
                        tenant=source.company,
                        branch=source.text_property("Branch"),
                        locale=source.text_property("Locale"),
                    )
                )
            login.detail = f"logged in as {auth.username} to company {source.company}"
            if again:
                login.detail += " (again: the first session expired mid-read)"
            read = read_pages(session, source, version, checks.redact, may_expire=not again)
            with timing(logout):
                open_session.close()
    except LogoutFailed as exc:
        checks.record(login, *read.checks, records_read=read.records)
        checks.warn("logout", exc)
        return True
    except AcumaticaError as exc:
        login.status, login.detail = "failed", checks.redact(str(exc) + _hint(verifier, exc))
        checks.record(login)
        checks.skip("page", "next_page", "logout", reason="not run: the login failed")
        return True
    if read.expired:
        return False
    checks.record(login, *read.checks, logout, records_read=read.records)
    return True


def _hint(verifier: Verifier, exc: AcumaticaError) -> str:
    if isinstance(exc, CredentialsRejected) and "password" in verifier.metadata:
        return f" (password from {verifier.metadata['password'].reference})"
    return ""
