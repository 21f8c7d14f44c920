"""Environment documents and verification runs for the verification tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.support.sandbox import (
    CODE_CLIENT_ID,
    CODE_CLIENT_SECRET,
    PASSWORD,
    PASSWORD_CLIENT_ID,
    PASSWORD_CLIENT_SECRET,
    TENANT,
    USER,
)
from tests.support.site import Leaks, Site

from acumatica_datasource.acumatica import DiscoveryCache, SessionGate, SessionLimits
from acumatica_datasource.secrets import SecretResolver
from acumatica_datasource.spec import Environment, validate_data
from acumatica_datasource.verify import Report, SecretSource, VerifyOptions, verify_all

CALLBACK_BASE = "https://bi.example.com"
ENVIRON = {"PW": PASSWORD, "CS": CODE_CLIENT_SECRET, "PCS": PASSWORD_CLIENT_SECRET}
LOGIN = "/entity/auth/login"
LOGOUT = "/entity/auth/logout"
TOKEN = "/identity/connect/token"
OPENID = "/identity/.well-known/openid-configuration"
AUTHORIZE = "/identity/connect/authorize"
PAGE = "/entity/Default/25.200.001/UnitsOfMeasure"


def basic(site: Site, description: str = "basic", **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "url": site.url,
        "company": TENANT,
        "authentication": {"strategy": "basic", "username": USER, "password": {"env": "PW"}},
        **extra,
    }


def oauth(
    site: Site,
    description: str = "abc",
    *,
    client_id: str = CODE_CLIENT_ID,
    secret: str = "CS",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "description": description,
        "url": site.url,
        "company": TENANT,
        "authentication": {
            "strategy": "oauth2",
            "client_id": client_id,
            "client_secret": {"env": secret},
        },
        **extra,
    }


PROBE_LOGIN = {
    "login": {
        "username": USER,
        "password": {"env": "PW"},
        "client_id": PASSWORD_CLIENT_ID,
        "client_secret": {"env": "PCS"},
    }
}


def environment(*sources: Mapping[str, Any], **extra: Any) -> Environment:
    result = validate_data(
        {
            "environment": "test",
            "callback_base_url": CALLBACK_BASE,
            "data_sources": list(sources),
            **extra,
        }
    )
    assert result.environment is not None, result.problems
    return result.environment


def options(per_site: int = 1) -> VerifyOptions:
    """Options of one run: a fresh gate and discovery cache."""
    return VerifyOptions(
        limits=SessionLimits(per_site=per_site), gate=SessionGate(), discovery=DiscoveryCache()
    )


def run(
    leaks: Leaks,
    env: Environment,
    *,
    environ: Mapping[str, str] = ENVIRON,
    secrets: SecretSource | None = None,
    run_options: VerifyOptions | None = None,
) -> list[Report]:
    """Verify every data source of ``env``; every report is searched for secrets."""
    resolver = secrets if secrets is not None else SecretResolver(None, environ=dict(environ))
    reports = verify_all(
        [(source, env.callback_url(source)) for source in env.data_sources],
        secrets=resolver,
        options=run_options or options(),
    )
    for report in reports:
        leaks.check_report(report)
    return reports


def statuses(report: Report) -> list[tuple[str, str]]:
    return [(check.name, check.status) for check in report.checks]


def check(report: Report, name: str) -> Any:
    found = [c for c in report.checks if c.name == name]
    assert len(found) == 1, (name, statuses(report))
    return found[0]


def only(reports: Sequence[Report]) -> Report:
    assert len(reports) == 1
    return reports[0]
