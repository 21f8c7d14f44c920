"""Connectivity verification of data sources: checks, reports, parallel runs."""

from acumatica_datasource.verify.report import Check, Report, ServerFacts
from acumatica_datasource.verify.runner import verify_all, verify_data_source
from acumatica_datasource.verify.verifier import SecretSource, Verifier, VerifyOptions

__all__ = [
    "Check",
    "Report",
    "SecretSource",
    "ServerFacts",
    "Verifier",
    "VerifyOptions",
    "verify_all",
    "verify_data_source",
]
