"""Acumatica data sources declared in Python with ``AcumaticaDataSource``.

Run it with `pulumi up` in this directory (needs the Pulumi CLI and its Python language
host), or without the language host through the Automation API: `python run.py up`.
Settings come from the environment so the same program serves every stage:

* ACUMATICA_URL (e.g. https://acme.acumatica.com), ACUMATICA_COMPANY;
* VAULT_ADDR / VAULT_TOKEN for the secrets at secret/acumatica/<stage>;
* BI_CALLBACK_BASE_URL, the BI server's public https URL.
"""

from __future__ import annotations

import os

import pulumi

from acumatica_datasource import (
    AcumaticaDataSource,
    BasicAuth,
    OAuth2,
    VaultSecret,
    VerificationSettings,
    VerificationUser,
)

BI_CLIENT_ID = "88358B02-A48D-A50E-F710-39C1636C30F6"
PROBE_CLIENT_ID = "5D4C3B2A-1F0E-4D9C-8B7A-6E5F4D3C2B1A"


def program() -> None:
    """Declare a Basic and an OAuth data source; export the callback URL to register."""
    stage = pulumi.get_stack()
    url = os.environ.get("ACUMATICA_URL", "https://acme.acumatica.com")
    company = os.environ.get("ACUMATICA_COMPANY", "ACME")
    secrets = f"acumatica/{stage}"

    erp = AcumaticaDataSource(
        "erp-basic",
        description="ERP (Basic)",
        url=url,
        company=company,
        page_size=10,
        extra_connection_properties={"EndpointVersion": "24.200.001"},
        authentication=BasicAuth(
            username="nectari", password=VaultSecret(path=secrets, key="password")
        ),
        verification=VerificationSettings(mode="strict", entity="StockItem"),
    )
    oauth = AcumaticaDataSource(
        "erp-oauth",
        description="ERP (OAuth)",
        data_source_id="erp-oauth",
        url=url,
        company=company,
        authentication=OAuth2(
            client_id=f"{BI_CLIENT_ID}@{company}",
            client_secret=VaultSecret(path=secrets, key="client_secret"),
        ),
        callback_base_url=os.environ.get("BI_CALLBACK_BASE_URL", "https://bi.example.com"),
        verification=VerificationSettings(
            mode="strict",
            login=VerificationUser(
                username="nectari",
                password=VaultSecret(path=secrets, key="password"),
                client_id=f"{PROBE_CLIENT_ID}@{company}",
                client_secret=VaultSecret(path=secrets, key="probe_client_secret"),
            ),
        ),
    )
    pulumi.export("callback_url", oauth.callback_url)
    pulumi.export("basic_verification", erp.verification["status"])
    pulumi.export("oauth_verification", oauth.verification["status"])
