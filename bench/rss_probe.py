"""Run the dynamic-provider server while recording its peak memory (for bench/stack.py).

Used as ``PULUMI_PYTHON_CMD``: the plugin script calls ``$PULUMI_PYTHON_CMD -u -m
pulumi.dynamic ARGS``; this writes ``ru_maxrss`` (KiB) to ``$RSS_PROBE_FILE`` every 100 ms.
"""

from __future__ import annotations

import os
import resource
import runpy
import sys
import threading
import time


def record(path: str) -> None:
    while True:
        with open(path, "a") as out:
            out.write(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\n")
        time.sleep(0.1)


if __name__ == "__main__":
    target = os.environ.get("RSS_PROBE_FILE")
    if target:
        threading.Thread(target=record, args=(target,), daemon=True).start()
    arguments = sys.argv[1:]
    while arguments and arguments[0] in ("-u", "-m", "pulumi.dynamic"):
        arguments.pop(0)
    sys.argv = ["pulumi.dynamic", *arguments]
    runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
