"""The built-in site served when no config file is given.

As YAML (the same keys a ``--config`` file uses)::

    build_version: "24.210.0013"
    endpoints: {Default: ["20.200.001", "22.200.001", "23.200.001", "24.200.001", "25.200.001"]}
    license: {api_users: 2, requests_per_minute: 0, login_limit_response: 500-json}
    session_idle_timeout_s: 600
    access_token_lifetime_s: 3600
    tenants:
      - name: ACME
        setup_complete: true
        branches: [HQ]
        users:
          - {name: admin, password: "secret1"}
        connected_apps:
          - client_id: "88358B02-A48D-A50E-F710-39C1636C30F6@ACME"
            name: Nectari
            flow: authorization_code
            secrets: ["s3cr3t"]
            redirect_uris: ["https://bi.example.com/oauth/callback/abc"]
          - client_id: "5D4C3B2A-1F0E-4D9C-8B7A-6E5F4D3C2B1A@ACME"
            name: Verifier
            flow: password
            secrets: ["v3rify"]
        records: {UnitsOfMeasure: 25, FinancialYear: 5, StockItem: 2500, Customer: 1200}

One tenant, so any tenant name logs in to ACME; two concurrent API sessions; sessions idle
out after 10 minutes; access tokens last an hour.
"""

from __future__ import annotations

import copy
from typing import Final

from acumatica_datasource.sandbox.config import SandboxConfig

DEFAULT_CONFIG_DATA: Final[dict[str, object]] = {
    "build_version": "24.210.0013",
    "endpoints": {
        "Default": ["20.200.001", "22.200.001", "23.200.001", "24.200.001", "25.200.001"]
    },
    "license": {"api_users": 2, "requests_per_minute": 0, "login_limit_response": "500-json"},
    "session_idle_timeout_s": 600,
    "access_token_lifetime_s": 3600,
    "tenants": [
        {
            "name": "ACME",
            "setup_complete": True,
            "branches": ["HQ"],
            "users": [{"name": "admin", "password": "secret1"}],
            "connected_apps": [
                {
                    "client_id": "88358B02-A48D-A50E-F710-39C1636C30F6@ACME",
                    "name": "Nectari",
                    "flow": "authorization_code",
                    "secrets": ["s3cr3t"],
                    "redirect_uris": ["https://bi.example.com/oauth/callback/abc"],
                },
                {
                    "client_id": "5D4C3B2A-1F0E-4D9C-8B7A-6E5F4D3C2B1A@ACME",
                    "name": "Verifier",
                    "flow": "password",
                    "secrets": ["v3rify"],
                },
            ],
            "records": {
                "UnitsOfMeasure": 25,
                "FinancialYear": 5,
                "StockItem": 2500,
                "Customer": 1200,
            },
        }
    ],
}


def default_config_data() -> dict[str, object]:
    """A fresh, mutable copy of the built-in config mapping (to tweak and validate)."""
    return copy.deepcopy(DEFAULT_CONFIG_DATA)


def default_config() -> SandboxConfig:
    """The built-in site as a validated :class:`SandboxConfig`."""
    return SandboxConfig.from_mapping(default_config_data())


DEFAULT_CONFIG: Final[SandboxConfig] = default_config()
