"""The paged test request: one page of the verification entity and, when it is full, one
record of the next page, as a Nectari-style BI server pages through an entity."""

from __future__ import annotations

from dataclasses import dataclass, field

from acumatica_datasource.acumatica import (
    AcumaticaError,
    Forbidden,
    NotFound,
    Session,
    SessionExpired,
    TenantSetupIncomplete,
    probe_key_field,
)
from acumatica_datasource.redaction import Redactor
from acumatica_datasource.spec import DataSource
from acumatica_datasource.verify.report import Check, timing


@dataclass
class PagedRead:
    """What the paged test request found: its checks (``page``, ``next_page``) and the records
    read, or that the session expired first (then nothing is to be recorded)."""

    checks: list[Check] = field(default_factory=list)
    records: int = 0
    expired: bool = False


def read_pages(
    session: Session, source: DataSource, version: str, redact: Redactor, *, may_expire: bool
) -> PagedRead:
    """Read one page and, when it is full, one record of the next. With ``may_expire``, a
    session that expires before the read ends gives ``PagedRead(expired=True)`` (the caller
    logs in again); without, it fails the check."""
    entity = source.verification.entity
    page_size = source.page_size
    select = probe_key_field(entity, version)
    page = Check("page", "ok", "")
    try:
        with timing(page):
            records = session.read(entity, version=version, top=page_size, skip=0, select=select)
    except SessionExpired as exc:
        if may_expire:
            return PagedRead(expired=True)
        again = (
            " (again, right after a new login)"
            if session.kind == "cookie"
            else ": the site refused the access token it had just issued"
        )
        page.status, page.detail = "failed", redact(str(exc) + again)
        return PagedRead([page, _not_read("not run: the first page failed")])
    except TenantSetupIncomplete as exc:
        page.status, page.detail = "warning", redact(str(exc)) + ": authentication works"
        return PagedRead([page, _not_read("not run: the company's setup is not finished")])
    except AcumaticaError as exc:
        page.status, page.detail = "failed", redact(str(exc) + _read_hint(exc, entity))
        return PagedRead([page, _not_read("not run: the first page failed")])
    selected = f", $select={select}" if select else ""
    page.detail = f"read {len(records)} {entity} record(s) with $top={page_size}, $skip=0{selected}"
    if len(records) < page_size:
        no_next = _not_read("the first page was not full: there is no next page")
        return PagedRead([page, no_next], len(records))
    following = Check("next_page", "ok", "")
    try:
        with timing(following):
            more = session.read(entity, version=version, top=1, skip=page_size, select=select)
    except AcumaticaError as exc:
        if may_expire and isinstance(exc, SessionExpired):
            return PagedRead(expired=True)  # between the two reads: log in again, as for page one
        following.status = "failed"
        following.detail = redact(str(exc) + _read_hint(exc, entity))
        return PagedRead([page, following], len(records))
    following.detail = f"paging continues: {len(more)} record(s) at $skip={page_size}"
    return PagedRead([page, following], len(records) + len(more))


def _not_read(reason: str) -> Check:
    return Check("next_page", "skipped", reason)


def _read_hint(exc: AcumaticaError, entity: str) -> str:
    """What to change when the paged test request fails for good."""
    if isinstance(exc, NotFound):
        return (
            f": check verification.entity ({entity}) and EndpointVersion in "
            "extra_connection_properties"
        )
    if isinstance(exc, Forbidden):
        return f", or set verification.entity to an entity the user may read (not {entity})"
    return ""
