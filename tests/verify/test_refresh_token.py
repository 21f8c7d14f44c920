"""The OAuth data probe through ``verification.refresh_token`` (a Vault reference), against a
real OpenBao dev server: the rotated token is written back with check-and-set before the page
is read; a conflict fails the check and says the stored token is now invalid."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.openbao import OpenBaoServer, running_openbao
from tests.support.sandbox import (
    CODE_CLIENT_ID,
    CODE_CLIENT_SECRET,
    REDIRECT_URI,
    authorization_code,
)
from tests.support.site import Leaks, Site
from tests.verify.support import LOGOUT, PAGE, TOKEN, check, environment, oauth, only, run

from acumatica_datasource.secrets import ResolvedSecret, SecretMetadata, SecretResolver
from acumatica_datasource.spec import Environment, SecretReference, VaultSecretRef


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoServer]:
    with running_openbao(tmp_path_factory.mktemp("bao")) as server:
        yield server


def refresh_token(site: Site) -> str:
    """A refresh token of the data source's own (authorization-code) application."""
    with httpx.Client(base_url=site.url, timeout=5) as http:
        code = authorization_code(http)
        answer = http.post(
            TOKEN,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": CODE_CLIENT_ID,
                "client_secret": CODE_CLIENT_SECRET,
            },
        )
    answer.raise_for_status()
    token: str = answer.json()["refresh_token"]
    return token


class Recording:
    """A secret source that records what the sandbox had seen when the write happened."""

    def __init__(self, resolver: SecretResolver, site: Site, before_write: Callable[[], Any]):
        self.resolver = resolver
        self.site = site
        self.before_write = before_write
        self.log_at_write: list[tuple[str, str]] | None = None

    def resolve(self, reference: SecretReference) -> ResolvedSecret:
        return self.resolver.resolve(reference)

    def write(
        self, reference: VaultSecretRef, value: str, *, expected_version: int | None
    ) -> SecretMetadata:
        self.log_at_write = self.site.paths()
        self.before_write()
        return self.resolver.write(reference, value, expected_version=expected_version)


@pytest.fixture
def stored(bao: OpenBaoServer, site: Site, leaks: Leaks, tmp_path: Path) -> Iterator[Stored]:
    """A refresh token of the data source's application in Vault (version 1), an environment
    whose data source probes with it, and a resolver (root token) for that Vault."""
    path = f"acumatica/{secrets.token_hex(4)}"
    token = refresh_token(site)
    leaks.add(token)
    assert bao.put(path, {"refresh_token": token, "other": "kept"}) == 1
    source = oauth(
        site,
        verification={"refresh_token": {"vault": {"path": path, "key": "refresh_token"}}},
    )
    env = environment(source, vault={"address": bao.address})
    resolver = SecretResolver(
        env.vault,
        environ={"VAULT_TOKEN": "root", "HOME": str(tmp_path), "CS": CODE_CLIENT_SECRET},
    )
    try:
        yield Stored(env, resolver, path, token, offset=len(site.log()))
    finally:
        resolver.close()


@dataclass
class Stored:
    env: Environment
    resolver: SecretResolver
    path: str
    token: str
    offset: int
    """Requests the sandbox had logged before the verification (obtaining the token)."""

    @property
    def reference(self) -> str:
        return f"vault:secret/{self.path}#refresh_token"


def vault_value(bao: OpenBaoServer, path: str) -> tuple[int, dict[str, str]]:
    read = bao.admin.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)
    return int(read["data"]["metadata"]["version"]), read["data"]["data"]


def test_the_rotated_token_is_written_back_before_the_page_read(
    bao: OpenBaoServer, site: Site, leaks: Leaks, stored: Stored
) -> None:
    source = Recording(stored.resolver, site, before_write=lambda: None)
    report = only(run(leaks, stored.env, secrets=source))
    version, data = vault_value(bao, stored.path)
    leaks.add(data["refresh_token"])
    leaks.check_report(report)
    assert report.status == "ok", report.summary()
    assert [c.name for c in report.checks][-5:] == [
        "token",
        "refresh_token_rotation",
        "page",
        "next_page",
        "logout",
    ]
    assert version == 2 and data["other"] == "kept"
    assert data["refresh_token"] != stored.token
    assert stored.reference in check(report, "refresh_token_rotation").detail
    assert report.secret_versions[stored.reference] == 2
    # written right after the refresh, before anything else
    assert source.log_at_write is not None
    assert source.log_at_write[stored.offset :][-1] == ("POST", TOKEN)
    assert ("GET", PAGE) not in source.log_at_write
    assert site.paths()[-2:] == [("GET", PAGE), ("POST", LOGOUT)]
    # the stored token is the live one: the next run works again (and rotates again)
    again = only(run(leaks, stored.env, secrets=stored.resolver))
    version, data = vault_value(bao, stored.path)
    leaks.add(data["refresh_token"])
    assert again.status == "ok" and version == 3


def test_a_cas_conflict_says_the_stored_token_is_now_invalid(
    bao: OpenBaoServer, site: Site, leaks: Leaks, stored: Stored
) -> None:
    someone_else = f"written-by-someone-else-{secrets.token_hex(4)}"
    leaks.add(someone_else)
    source = Recording(
        stored.resolver,
        site,
        before_write=lambda: bao.put(stored.path, {"refresh_token": someone_else}),
    )
    report = only(run(leaks, stored.env, secrets=source))
    assert report.status == "failed"
    rotation = check(report, "refresh_token_rotation")
    assert rotation.status == "failed"
    assert "now invalid" in rotation.detail and stored.reference in rotation.detail
    assert "obtain a new refresh token" in rotation.detail
    assert vault_value(bao, stored.path) == (2, {"refresh_token": someone_else})
    assert check(report, "logout").status == "ok"  # the token's session is still closed


def test_a_stale_stored_token_names_the_vault_reference(
    bao: OpenBaoServer, site: Site, leaks: Leaks, stored: Stored
) -> None:
    with httpx.Client(base_url=site.url, timeout=5) as http:  # rotated behind our back
        rotated = http.post(
            TOKEN,
            data={
                "grant_type": "refresh_token",
                "refresh_token": stored.token,
                "client_id": CODE_CLIENT_ID,
                "client_secret": CODE_CLIENT_SECRET,
            },
        ).json()["refresh_token"]
    leaks.add(rotated)
    report = only(run(leaks, stored.env, secrets=stored.resolver))
    assert report.status == "failed"
    detail = check(report, "token").detail
    assert "invalid_grant" in detail and stored.reference in detail
    assert vault_value(bao, stored.path)[0] == 1
