"""The root of the package's exception hierarchy.

Every error this package raises on purpose derives from :class:`AcumaticaDataSourceError`;
its message is written for the user and never contains a secret value.
"""

from __future__ import annotations


class AcumaticaDataSourceError(Exception):
    """Base class of every error raised by this package on purpose."""
