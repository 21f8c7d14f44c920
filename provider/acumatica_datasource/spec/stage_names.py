"""Does an environment file's name agree with the environment it names?

A stage file copied from another stage and not fully edited (``prod.yaml`` still saying
``environment: dev``) deploys to the wrong stack. The rule, checked by
:func:`environment_name_mismatch`:

* The file's name is lower-cased, its extensions (``.yaml``, ``.yml``, ``.json``) removed,
  and it is split into words at ``-``, ``_``, ``.`` and spaces; the words ``env`` and
  ``environment`` at either end are dropped (``prod.env.yaml``, ``environment-prod.yaml``).
* The environment is split into words at ``-``.
* Words are compared through the usual names of stages (``production``, ``prd`` and ``live``
  are ``prod``; ``development`` is ``dev``; ``staging`` is ``stage``; ...).
* Only a name that holds a stage word (dev, test, qa, uat, stage, preprod, prod) has an
  opinion: ``environment.yaml`` or ``erp.yaml`` may hold any environment. A name that has one
  disagrees unless its words are the environment's words (``prod-eu.yaml`` is ``prod-eu``,
  not ``prod``).
"""

from __future__ import annotations

import os
import re
from pathlib import PurePath

_EXTENSIONS = (".yaml", ".yml", ".json")
_IGNORED_WORDS = frozenset({"env", "environment"})
_STAGES: dict[str, tuple[str, ...]] = {
    "dev": ("dev", "devel", "develop", "development"),
    "test": ("test", "tst", "testing"),
    "qa": ("qa",),
    "uat": ("uat", "acceptance"),
    "stage": ("stage", "stg", "staging"),
    "preprod": ("preprod", "preproduction"),
    "prod": ("prod", "prd", "production", "live"),
}
_CANONICAL = {alias: stage for stage, aliases in _STAGES.items() for alias in aliases}


def environment_name_mismatch(path: str | os.PathLike[str], environment: str) -> str | None:
    """Why the name of the file at ``path`` disagrees with its ``environment``, or None when
    they agree or the name names no stage (the rule is in this module's docstring)."""
    words = _file_words(path)
    if not any(word in _STAGES for word in words):
        return None
    if words == _words(environment.lower().split("-")):
        return None
    name = PurePath(path).name
    return (
        f"{name} is named for stage '{'-'.join(words)}' but says environment: {environment}"
        " (copied from another stage?): correct environment or rename the file"
    )


def _file_words(path: str | os.PathLike[str]) -> tuple[str, ...]:
    name = PurePath(path).name.lower()
    while name.endswith(_EXTENSIONS):
        name = name.rsplit(".", 1)[0]
    words = [word for word in re.split(r"[-_.\s]+", name) if word]
    while words and words[-1] in _IGNORED_WORDS:
        words.pop()
    while words and words[0] in _IGNORED_WORDS:
        words.pop(0)
    return _words(words)


def _words(words: list[str]) -> tuple[str, ...]:
    return tuple(_CANONICAL.get(word, word) for word in words if word)
