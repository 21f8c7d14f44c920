"""How a state backend is named in messages: never with its password."""

from __future__ import annotations

import pytest

from acumatica_datasource.cli.engine import backend_name


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("file:///srv/state", "file:///srv/state"),
        (
            "postgres://ci@db.example.com:5432/pulumi?sslmode=require",
            "postgres://ci@db.example.com:5432/pulumi?sslmode=require",
        ),
        (
            "postgres://ci:S3cret-pw@db.example.com:5432/pulumi?sslmode=require",
            "postgres://ci@db.example.com:5432/pulumi?sslmode=require",
        ),
        (
            "postgres://ci@/pulumi?host=/run/pg&password=S3cret-pw&sslmode=disable",
            "postgres://ci@/pulumi?host=/run/pg&sslmode=disable",
        ),
    ],
)
def test_a_backend_is_named_without_its_password(url: str, shown: str) -> None:
    assert backend_name(url) == shown
    assert "S3cret-pw" not in backend_name(url)
