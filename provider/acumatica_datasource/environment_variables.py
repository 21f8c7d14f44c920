"""The names of the environment variables this package reads (each written here once).

Vault's own variables (``BAO_*``, ``VAULT_*``) and Pulumi's (``PULUMI_*``) are named where they
are read: :mod:`acumatica_datasource.secrets.config` and :mod:`acumatica_datasource.tooling`.
"""

from __future__ import annotations

CA_BUNDLE = "ACUMATICA_DS_CA_BUNDLE"
"""CA certificates to trust for the Acumatica sites (``--ca-bundle``, ``acumatica:caBundle``)."""

DEBUG = "ACUMATICA_DS_DEBUG"
"""Set (to anything) to let tracebacks through, for a bug report."""

RUN_DIR = "ACUMATICA_DS_RUN_DIR"
"""Set by the command line for the engine's provider processes: the run's channel directory
(cancellation requests in, verification verdicts and progress out; see
``acumatica_datasource.resource.run_channel``)."""

SESSIONS_PER_SITE = "ACUMATICA_DS_SESSIONS_PER_SITE"
"""Sessions per site (``--sessions-per-site``, ``acumatica:sessionsPerSite``)."""

STATE_DIR = "ACUMATICA_DS_STATE_DIR"
"""The command line's local state directory (``--state``)."""

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"
"""Set by GitHub Actions: a file the Markdown summary of a command is appended to (unless
``--no-summary``)."""

WORKSPACES = ("GITHUB_WORKSPACE", "CI_PROJECT_DIR")
"""Set by GitHub Actions and GitLab CI: the repository's checkout, which the file paths of
annotations and SARIF results are made relative to."""

VAULT_ALLOW_HTTP = "ACUMATICA_DS_VAULT_ALLOW_HTTP"
"""Set to 1 (or true) to accept a plain ``http://`` Vault address off loopback, like
``vault.allow_insecure_http: true`` in the file (a warning is printed on every run)."""

VERIFICATION_MODE = "ACUMATICA_DS_VERIFICATION_MODE"
"""The verification mode of data sources that set none (``acumatica:verificationMode``)."""
