"""File paths as CI systems expect them in annotations and reports: relative to the
repository's checkout (``$GITHUB_WORKSPACE``, ``$CI_PROJECT_DIR``) when the file lies in it,
with ``/`` separators."""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from acumatica_datasource import environment_variables as variables


def repository_path(file: str) -> str:
    """``file`` relative to the CI checkout when it lies in it, else as it was given."""
    for name in variables.WORKSPACES:
        root = os.environ.get(name, "").strip()
        if not root:
            continue
        try:
            return Path(file).resolve().relative_to(Path(root).resolve()).as_posix()
        except (OSError, ValueError):  # elsewhere, or not resolvable
            continue
    return PurePath(file).as_posix()
