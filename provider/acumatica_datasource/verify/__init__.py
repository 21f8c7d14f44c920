"""Connectivity verification of data sources: checks, reports, parallel runs.

Names are loaded on first use (see :mod:`acumatica_datasource.exports`), so importing one
light module of the package (e.g. its cancellation or progress board) loads no HTTP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acumatica_datasource.exports import lazy_exports

if TYPE_CHECKING:
    from acumatica_datasource.verify.progress import ProgressBoard, Waiting
    from acumatica_datasource.verify.report import Check, Report, ServerFacts
    from acumatica_datasource.verify.runner import verify_all, verify_data_source
    from acumatica_datasource.verify.verifier import SecretSource, Verifier, VerifyOptions

_MODULES = {
    "Check": "report",
    "ProgressBoard": "progress",
    "Report": "report",
    "SecretSource": "verifier",
    "ServerFacts": "report",
    "Verifier": "verifier",
    "VerifyOptions": "verifier",
    "Waiting": "progress",
    "verify_all": "runner",
    "verify_data_source": "runner",
}

__getattr__ = lazy_exports(__name__, _MODULES)

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
