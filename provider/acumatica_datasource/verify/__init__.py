"""Connectivity verification of data sources: checks, reports, parallel runs."""

from acumatica_datasource.verify.progress import ProgressBoard, Waiting
from acumatica_datasource.verify.report import Check, Report, ServerFacts
from acumatica_datasource.verify.runner import verify_all, verify_data_source
from acumatica_datasource.verify.verifier import SecretSource, Verifier, VerifyOptions

__all__ = [
    "Check",
    "ProgressBoard",
    "Report",
    "SecretSource",
    "ServerFacts",
    "Verifier",
    "VerifyOptions",
    "Waiting",
    "verify_all",
    "verify_data_source",
]
