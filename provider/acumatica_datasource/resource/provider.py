"""The dynamic provider: a thin adapter from Pulumi's dynamic ``ResourceProvider`` onto the
data source's lifecycle (:mod:`.lifecycle`), for Python programs.

The provider object is pickled into every resource's state, where it must capture nothing:
the pickle is a reference to this class (``__getstate__`` is empty). In the provider process
the dynamic-provider server unpickles it once, calls :meth:`DataSourceProvider.configure`
and keeps it for the whole command; ``configure`` gives it its :class:`DataSourceLifecycle`
(settings, secret resolvers), which lives as long as the process, and starts an
:class:`~.engine_watch.EngineWatch`, so the process follows the run's cancellation and ends
when the engine goes away.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from pulumi import dynamic

from acumatica_datasource import environment_variables as variables
from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.resource.engine_watch import EngineWatch
from acumatica_datasource.resource.lifecycle import (
    DataSourceError,
    DataSourceLifecycle,
    fail,
)
from acumatica_datasource.resource.properties import failure_property, property_path
from acumatica_datasource.resource.run_channel import RunChannel
from acumatica_datasource.resource.settings import ProviderSettings

DYNAMIC_SERVER = "pulumi.dynamic.__main__"
"""The module the dynamic-provider server runs as ``__main__``."""


def _stack_config() -> dict[str, Any]:
    """The stack's config as the engine hands it to the dynamic-provider process."""
    raw = os.environ.get("PULUMI_CONFIG")
    if not raw:
        return {}
    try:
        config = json.loads(raw)
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


def _in_dynamic_server() -> bool:
    """Whether this process is the dynamic-provider server the engine started."""
    main = sys.modules.get("__main__")
    return getattr(getattr(main, "__spec__", None), "name", None) == DYNAMIC_SERVER


def _hide_tracebacks() -> None:
    """Errors reach the user as ``DataSourceError: message``, without a Python stack.

    The dynamic-provider server (``python -m pulumi.dynamic``) reports every error as
    ``traceback.format_exc()``, which honours nothing but ``sys.tracebacklimit``. So in that
    server's process, and only there, the limit is set to 0 once, when the server configures
    the provider. ACUMATICA_DS_DEBUG=1 keeps the stack."""
    if _in_dynamic_server() and not os.environ.get(variables.DEBUG):
        sys.tracebacklimit = 0


class DataSourceProvider(dynamic.ResourceProvider):
    """Reconciles ``AcumaticaDataSource`` resources through :class:`DataSourceLifecycle`."""

    serialize_as_secret_always = False  # the pickle is a bare class reference

    def __getstate__(self) -> None:
        """Nothing of a configured provider goes into the pickle."""
        return

    @property
    def lifecycle(self) -> DataSourceLifecycle:
        """This process's lifecycle (made by ``configure``, or now from the environment)."""
        lifecycle: DataSourceLifecycle | None = self.__dict__.get("_lifecycle")
        if lifecycle is None:
            settings = ProviderSettings.load(_stack_config(), os.environ)
            lifecycle = self._new_lifecycle(settings)
        return lifecycle

    def _new_lifecycle(self, settings: ProviderSettings) -> DataSourceLifecycle:
        """A lifecycle for ``settings`` replacing the current one; in the dynamic-provider
        server, with the run channel and the engine watch (started once)."""
        previous: DataSourceLifecycle | None = self.__dict__.get("_lifecycle")
        if previous is not None:
            previous.close()
        channel = RunChannel.from_environment(os.environ)
        lifecycle = DataSourceLifecycle(settings, channel=channel)
        self.__dict__["_lifecycle"] = lifecycle
        if _in_dynamic_server() and "_watch" not in self.__dict__:
            watch = EngineWatch(lambda: self.lifecycle, channel=channel)
            self.__dict__["_watch"] = watch
            watch.start()
        return lifecycle

    def configure(self, req: dynamic.ConfigureRequest) -> None:
        """Provider-wide settings from stack config (``acumatica:*``) and the environment."""
        _hide_tracebacks()
        raw = dict(getattr(req.config, "_props", {}) or {})
        try:
            settings = ProviderSettings.load({**_stack_config(), **raw}, os.environ)
        except AcumaticaDataSourceError as exc:
            fail(str(exc))
        self._new_lifecycle(settings)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        """Validate offline with the spec's rules; normalise and add the callback URL."""
        outcome = self.lifecycle.check(news)
        failures = [
            dynamic.CheckFailure(failure_property(p.loc), f"{property_path(p.loc)}: {p.message}")
            for p in outcome.problems
        ]
        return dynamic.CheckResult(outcome.inputs, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        """Which inputs changed, and whether a Vault secret was rotated since it was read."""
        outcome = self.lifecycle.diff(id_, olds, news)
        return dynamic.DiffResult(
            changes=outcome.changed, replaces=outcome.replaces, delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """Resolve secrets, verify according to the mode, record the outputs."""
        outputs = self.lifecycle.create(props)
        return dynamic.CreateResult(outputs["data_source_id"], outputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        """As create, for new inputs."""
        return dynamic.UpdateResult(self.lifecycle.update(id_, olds, news))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """Refresh: verify again (unless mode is off) and record what changed in the world.
        A data source holding a Pulumi secret is not verified: a dynamic provider sees only
        the outputs, where such a secret is a fingerprint (the plugin re-verifies it)."""
        return dynamic.ReadResult(id_, self.lifecycle.read(id_, props))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Nothing to remove remotely: the data source lives in the BI server's config."""
        self.lifecycle.delete(id_, props)


__all__ = ["DataSourceError", "DataSourceProvider"]
