"""Engine events of one run become progress lines and the results of its data sources:
what the engine planned and applied, its diagnostics, and (after the run) the verdicts the
provider processes sent through the run channel."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from pulumi import automation as auto

from acumatica_datasource.cli.backend import engine_text
from acumatica_datasource.cli.result import SECRET, DataSourceResult, FieldChange, left_open
from acumatica_datasource.resource import TYPE_TOKEN
from acumatica_datasource.resource.lifecycle import ROTATION_UNCHECKED, property_changes
from acumatica_datasource.resource.outputs import is_fingerprint
from acumatica_datasource.resource.properties import UNKNOWN, is_secret_path
from acumatica_datasource.spec import Environment

DONE_BY_STEP = {
    "create": "created",
    "update": "updated",
    "same": "unchanged",
    "delete": "deleted",
    "replace": "updated",
    "create-replacement": "updated",
    "delete-replaced": "updated",
    "refresh": "unchanged",
    "read": "unchanged",
}
"""The engine's step -> the data source's status once the step completed."""
SYMBOLS = {
    "create": "+",
    "update": "~",
    "same": "=",
    "delete": "-",
    "replace": "+-",
    "create-replacement": "+-",
    "delete-replaced": "+-",
    "refresh": "~",
    "read": "~",
}
VERDICT = {"ok": "ok", "warning": "warning", "failed": "failed"}
"""A verification report's status -> this run's verdict (anything else: not_run)."""
PREVIEWED = ("planned", "unchanged")
"""Statuses of a data source a preview got to."""
UNSAVED = "failed to save snapshot"
"""How the engine reports a checkpoint it could not write to the backend (after retrying the
write for about 30 seconds)."""
ENGINE_NOISE = ("update failed", "preview failed", "refresh failed", "destroy failed")


class Progress:
    """Turns engine events into progress lines and the results of the data sources."""

    def __init__(self, environment: Environment, operation: str, write: Callable[[str], None]):
        self.write = write
        self.operation = operation
        self._lock = threading.Lock()
        self.sources = {
            source.data_source_id: DataSourceResult(source.data_source_id, source.description)
            for source in environment.data_sources
        }
        self.errors: list[str] = []
        self.warnings: list[str] = []
        """Warnings of the engine about no data source in particular."""
        self.unchecked: list[str] = []
        """The data sources whose secrets' rotation could not be checked (Vault failed)."""
        self.unsaved: str | None = None
        """Why the engine could not save the state, once it could not."""
        self.on_unsaved: Callable[[], None] | None = None
        """Called once, when the engine first could not save the state."""
        self.old_outputs: dict[str, dict[str, Any]] = {}
        self.new_outputs: dict[str, dict[str, Any]] = {}

    def _source(self, urn: str | None) -> DataSourceResult | None:
        if not urn or TYPE_TOKEN not in urn:
            return None
        name = urn.rsplit("::", 1)[-1]
        return self.sources.setdefault(name, DataSourceResult(name, name))

    def __call__(self, event: auto.EngineEvent) -> None:
        with self._lock:
            self._handle(event)

    def _handle(self, event: auto.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            source = self._source(meta.urn)
            if source is not None:
                self._planned(source, _step(meta.op), meta)
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            source = self._source(meta.urn)
            if source is not None:
                self._applied(source, _step(meta.op), meta)
        elif event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            source = self._source(meta.urn)
            if source is not None:
                if source.status != "interrupted":
                    source.status = "failed"
                self.write(f"  x {source.data_source_id}: {source.status}")
        elif event.diagnostic_event is not None:
            self._diagnostic(event.diagnostic_event)

    def _planned(self, source: DataSourceResult, op: str, meta: Any) -> None:
        source.action = op
        old = dict(getattr(meta.old, "outputs", None) or {}) if meta.old else {}
        new = dict(getattr(meta.new, "inputs", None) or {}) if meta.new else {}
        self.old_outputs[source.data_source_id] = old
        recorded = old.get("verification")
        if isinstance(recorded, dict):
            source.recorded_verification = _known(recorded.get("status"))
        source.callback_url = _known(new.get("callback_url")) or _known(old.get("callback_url"))
        if self.operation == "preview":
            source.status = "unchanged" if op == "same" else "planned"
        detail = ""
        if op in ("update", "replace", "create-replacement"):
            source.diff = _field_changes(old, new)
            detail = _describe_update(source)
        if op != "same" or self.operation == "refresh":
            self.write(f"  {SYMBOLS.get(op, '*')} {op:<8} {source.data_source_id}{detail}")
        moved = _callback_change(old, new) if op in ("update", "replace") else None
        if moved is not None:
            text = (
                f"callback URL {moved[0]} -> {moved[1]}: register the new one in the "
                "connected application's Redirect URIs in Acumatica"
            )
            self.write(f"    {text}")
            source.say("warning", text)

    def _applied(self, source: DataSourceResult, op: str, meta: Any) -> None:
        outputs = dict(getattr(meta.new, "outputs", None) or {}) if meta.new else {}
        self.new_outputs[source.data_source_id] = outputs
        if self.operation != "preview":
            source.status = DONE_BY_STEP.get(op, "updated")
        recorded = outputs.get("verification")
        if isinstance(recorded, dict):
            source.recorded_verification = _known(recorded.get("status"))
        source.callback_url = _known(outputs.get("callback_url")) or source.callback_url

    def _diagnostic(self, diagnostic: auto.DiagnosticEvent) -> None:
        if diagnostic.severity == "debug":
            return
        message = engine_text(diagnostic.message.strip())
        if not message or message in ENGINE_NOISE:
            return
        if message.startswith("Resource monitor has terminated"):
            return
        message = message.removeprefix("DataSourceError: ")
        source = self._source(diagnostic.urn)
        if UNSAVED in message:
            self._unsaved(message, source)
            return
        if source is not None:
            if diagnostic.severity == "error":
                if message.startswith("interrupted:"):
                    source.status = "interrupted"
                source.say("error", message)
            else:
                source.say("warning", message)
        elif diagnostic.severity == "error":
            self.errors.append(message)
        elif diagnostic.severity == "warning":
            self.warnings.append(message)
        for line in message.splitlines():
            self.write(f"    {line}")

    def _unsaved(self, message: str, source: DataSourceResult | None) -> None:
        """The engine could not record a step: the data source's outcome is unknown to the
        state (the next run applies it again), and the run is stopped."""
        if source is not None:
            source.status = "interrupted"
            source.say("error", "not recorded: the state backend could not be written")
        if self.unsaved is not None:
            return
        self.unsaved = message.split(f"{UNSAVED}:", 1)[-1].strip()
        self.write(f"    the state backend could not be written: {self.unsaved}")
        if self.on_unsaved is not None:
            self.on_unsaved()

    # --- after the run ------------------------------------------------------------------------

    def verdicts(self, events: list[dict[str, Any]]) -> None:
        """Apply the provider processes' run channel: this run's verdicts and warnings."""
        for event in events:
            source = self.sources.get(str(event.get("data_source_id")))
            if source is None:
                continue
            kind = event.get("kind")
            if kind == "verification":
                status = str(event.get("status"))
                source.verification = VERDICT.get(status, "not_run")
                left = int(event.get("possibly_open_sessions") or 0)
                source.possibly_open_sessions += left
                if left:
                    source.say("warning", left_open(left))
                if status == "interrupted":
                    source.status = "interrupted"
                elif status == "failed" and self.operation == "refresh":
                    source.say("error", str(event.get("summary", "")))
            elif kind == "warning":
                source.say("warning", str(event.get("message", "")))
                if event.get("topic") == ROTATION_UNCHECKED and source.data_source_id not in (
                    self.unchecked
                ):
                    self.unchecked.append(source.data_source_id)


def _step(op: Any) -> str:
    return str(getattr(op, "value", op))


def _known(value: Any) -> Any:
    return None if value == UNKNOWN else value


def _callback_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, str] | None:
    """The callback URL before and after a step, when it changes (both known)."""
    before, after = old.get("callback_url"), new.get("callback_url")
    if _known(before) and _known(after) and before != after:
        return str(before), str(after)
    return None


def _field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    """The changed input fields between recorded outputs and new inputs, at the deepest path
    where they differ; a secret value (a Pulumi secret, or its recorded fingerprint) is shown
    as :data:`~.result.SECRET` (a secret reference is no secret and is shown)."""
    changes = []
    for change in property_changes(old, new):
        if not change.input:
            continue
        changes.append(
            FieldChange(
                ".".join(change.path),
                change.kind,
                old=_shown(change.path, _at(old, change.path)),
                new=_shown(change.path, _known(_at(new, change.path))),
            )
        )
    return changes


def _shown(path: tuple[str, ...], value: Any) -> Any:
    """``value`` at ``path`` as a diff may show it: a secret value becomes ``[secret]``."""
    if value is None or not is_secret_path(path):
        return value
    if isinstance(value, Mapping) and not is_fingerprint(value):
        return value  # a reference: {vault: ...} or {env: ...}
    return SECRET


def _at(values: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = values
    for part in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def _describe_update(source: DataSourceResult) -> str:
    if source.diff:
        return f"  ({', '.join(dict.fromkeys(change.path for change in source.diff))})"
    if source.recorded_verification not in (None, "ok", "off"):
        reason = f"verify again: the recorded verification is {source.recorded_verification}"
    else:
        reason = "a Vault secret was rotated"
    source.say("info", reason)
    return f"  ({reason})"
