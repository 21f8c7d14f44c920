"""The root of the package's exception hierarchy.

Every error this package raises on purpose derives from :class:`AcumaticaDataSourceError`;
its message is written for the user and never contains a secret value.
"""

from __future__ import annotations


class AcumaticaDataSourceError(Exception):
    """Base class of every error raised by this package on purpose.

    ``kind`` names the class of problem for machines (the command line's JSON ``error.kind``):
    ``failed`` here; subclasses say ``usage``, ``environment``, ``invalid``, ``locked``...
    """

    kind = "failed"


class UsageError(AcumaticaDataSourceError):
    """The command cannot start as given: a file it cannot read, a setting it lacks, a name it
    does not know. The command line exits 2 for these, 1 for every other error."""

    kind = "usage"


class EnvironmentProblem(UsageError):
    """What the command needs from the machine is missing or wrong: the Pulumi CLI, the
    state passphrase, a writable state directory, a well-formed setting variable."""

    kind = "environment"


class Interrupted(AcumaticaDataSourceError):
    """The run was cancelled (a signal, or the engine went away) before the work finished;
    what was under way stopped at its next step, and every open session was closed."""

    kind = "interrupted"
