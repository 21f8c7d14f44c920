"""In a provider process the engine started: follow the run, and never outlive the engine.

The engine starts a provider with a pipe on its stdin and never writes to it; when the engine
goes away (it exited, or was killed with its command), the pipe's other end closes and the
provider reads end-of-file. The dynamic-provider server itself notices nothing and would serve
forever, an orphan. :class:`EngineWatch` runs, on daemon threads:

* a reader of stdin: at end-of-file it cancels the work, gives the operations under way a few
  seconds to close their Acumatica sessions, and ends the process;
* a ticker: it cancels the work when the command line asks (the run channel's ``cancel``
  file), and reports what slow verifications wait for (to the run channel, or as lines on
  stderr, which the engine shows);
* and, at interpreter shutdown (the engine stops its plugins with SIGINT), it cancels the
  work before Python waits for the server's threads.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
import time
from collections.abc import Callable

from acumatica_datasource.resource.lifecycle import DataSourceLifecycle
from acumatica_datasource.resource.run_channel import RunChannel

TICK_SECONDS = 0.2
GRACE_SECONDS = 6.0
"""How long operations under way get to close their sessions once the engine is gone."""


class EngineWatch:
    """Watches the engine and the command line for one provider process (see the module).

    ``lifecycle`` gives the provider's current lifecycle (a new one comes with each
    ``configure``); ``exit_process`` ends the process (``os._exit``, or a test's stand-in).
    """

    def __init__(
        self,
        lifecycle: Callable[[], DataSourceLifecycle],
        *,
        channel: RunChannel | None,
        exit_process: Callable[[int], None] = os._exit,
    ) -> None:
        self._lifecycle = lifecycle
        self._channel = channel
        self._exit = exit_process
        self._started = False

    def start(self) -> None:
        """Start watching (once)."""
        if self._started:
            return
        self._started = True
        threading.Thread(target=self._tick, name="engine-watch", daemon=True).start()
        if _stdin_is_pipe():
            threading.Thread(target=self._read_stdin, name="engine-stdin", daemon=True).start()
        register = getattr(threading, "_register_atexit", None)
        if register is not None:  # runs before Python joins the server's worker threads
            with contextlib.suppress(RuntimeError):
                register(lambda: self._cancel("the provider is stopping (the engine stopped it)"))

    def _cancel(self, reason: str) -> None:
        self._lifecycle().cancel(reason)

    def _tick(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            if self._channel is not None:
                reason = self._channel.cancelled()
                if reason is not None:
                    self._cancel(reason)
            for waiting in self._lifecycle().board.due():
                if self._channel is not None:
                    self._channel.emit(
                        "waiting",
                        data_source_id=waiting.data_source_id,
                        description=waiting.description,
                        seconds=round(waiting.seconds, 1),
                        waiting_for=waiting.waiting_for,
                    )
                else:
                    print(waiting.line(), file=sys.stderr, flush=True)

    def _read_stdin(self) -> None:
        while True:
            try:
                data = os.read(0, 4096)
            except OSError:
                data = b""
            if not data:
                break
        self._cancel("the engine went away")
        deadline = time.monotonic() + GRACE_SECONDS
        while self._lifecycle().busy and time.monotonic() < deadline:
            time.sleep(TICK_SECONDS)
        self._exit(0)


def _stdin_is_pipe() -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(0).st_mode)
    except OSError:
        return False
