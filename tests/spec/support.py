"""Small builders for environment documents used across the spec tests."""

from __future__ import annotations

import copy
import textwrap
from typing import Any

from acumatica_datasource.spec import ValidationResult, validate_data, validate_text

CLIENT_ID = "88358B02-A48D-A50E-F710-39C1636C30F6@ACME"


def basic_source(**overrides: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "description": "Acumatica Data Source",
        "url": "https://acme.acumatica.com",
        "company": "ACME",
        "authentication": {
            "strategy": "basic",
            "username": "nectari",
            "password": {"vault": {"path": "acumatica/dev", "key": "password"}},
        },
    }
    source.update(overrides)
    return source


def oauth_source(**overrides: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "description": "Acumatica OAuth",
        "url": "https://acme.acumatica.com",
        "company": "ACME",
        "authentication": {
            "strategy": "oauth2",
            "client_id": CLIENT_ID,
            "client_secret": {"vault": {"path": "acumatica/dev", "key": "client_secret"}},
        },
    }
    source.update(overrides)
    return source


def environment(*sources: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "environment": "dev",
        "callback_base_url": "https://bi.example.com",
        "data_sources": [copy.deepcopy(s) for s in sources] or [basic_source()],
    }
    document.update(overrides)
    return document


def check(document: Any) -> ValidationResult:
    return validate_data(copy.deepcopy(document), "env.yaml")


def check_yaml(text: str) -> ValidationResult:
    return validate_text(textwrap.dedent(text).lstrip("\n"), "env.yaml")


def messages(result: ValidationResult) -> dict[str, str]:
    """path -> message (the last one when a path has several)."""
    return {p.path: p.message for p in result.problems}


def only_problem(result: ValidationResult) -> tuple[str, str]:
    assert len(result.problems) == 1, [str(p) for p in result.problems]
    problem = result.problems[0]
    return problem.path, problem.message
