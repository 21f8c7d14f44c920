"""Fixtures of the verification tests: the sandbox, the open-session check and the leak guard."""

from __future__ import annotations

from tests.support.site import leaks, make_site, shared_sandbox, site

__all__ = ["leaks", "make_site", "shared_sandbox", "site"]
