"""The main job (``make demo``): the quickstart end to end, all on loopback.

1. start the Acumatica sandbox (``acumatica-ds sandbox``) and an OpenBao dev server on free
   loopback ports;
2. store the quickstart's secrets in Vault;
3. ``acumatica-ds validate``, ``verify`` and ``up`` on examples/quickstart/environment.yaml
   (its sandbox URL pointed at the running sandbox), printing verification results and the
   OAuth callback URL to register in Acumatica;
4. ``acumatica-ds destroy``, then stop both servers (by process id) and check that no
   Acumatica session was left open.

The first run builds the Pulumi CLI from the Go module proxy (a few minutes, once).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.openbao import running_openbao  # noqa: E402

QUICKSTART = ROOT / "examples" / "quickstart"
PLACEHOLDER_URL = "http://127.0.0.1:8710"
SECRETS = {
    "password": "Quickstart-Passw0rd",
    "client_secret": "Quickstart-Client-Secret",
    "probe_client_secret": "Quickstart-Probe-Secret",
}
CLI = [sys.executable, "-m", "acumatica_datasource"]


def say(text: str) -> None:
    """A step heading."""
    print(f"\n== {text}", flush=True)


def run(args: list[str], env: dict[str, str], *, expect: int = 0) -> None:
    """Run an ``acumatica-ds`` command, showing its output; stop the demo if it fails."""
    print(f"$ acumatica-ds {' '.join(args)}", flush=True)
    done = subprocess.run([*CLI, *args], env=env, check=False)
    if done.returncode != expect:
        raise SystemExit(f"demo: `acumatica-ds {args[0]}` exited {done.returncode}")


def start_sandbox(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """``acumatica-ds sandbox`` on a free port; its first stdout line is the base URL."""
    process = subprocess.Popen(
        [*CLI, "sandbox", "--port", "0", "--config", str(QUICKSTART / "sandbox.yaml")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        process.terminate()
        raise SystemExit("demo: the sandbox did not start")
    return process, url


def open_sessions(url: str) -> int:
    """The sandbox's count of open Acumatica sessions."""
    with urllib.request.urlopen(f"{url}/_sandbox/state", timeout=10) as response:  # noqa: S310
        return int(json.load(response)["open_sessions"])


def main() -> int:
    """Run the demo; 0 when every step worked."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="acumatica-ds-demo-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("PULUMI_CONFIG_PASSPHRASE", "acumatica-ds-demo")
    env.pop("PULUMI_BACKEND_URL", None)

    say("Pulumi CLI (built once from the Go module proxy when none is installed)")
    subprocess.run([sys.executable, "-m", "acumatica_datasource.tooling"], check=True)

    say("starting the Acumatica sandbox and an OpenBao dev server on loopback")
    sandbox, url = start_sandbox(env)
    try:
        with running_openbao(work / "openbao") as vault:
            print(f"sandbox: {url}\nOpenBao: {vault.address}", flush=True)
            env.update(VAULT_ADDR=vault.address, VAULT_TOKEN="root")
            for name in [n for n in env if n.startswith("BAO_")]:
                env.pop(name)

            say("storing the quickstart's secrets in Vault at secret/acumatica/quickstart")
            vault.put("acumatica/quickstart", SECRETS)

            environment = work / "quickstart.yaml"
            text = (QUICKSTART / "environment.yaml").read_text().replace(PLACEHOLDER_URL, url)
            environment.write_text(text.replace("../../schema.json", str(ROOT / "schema.json")))
            state = ["--state", str(work / "state")]

            say("validate: offline checks of the environment file")
            run(["validate", str(environment)], env)
            say("verify: secrets, discovery, login, the paged test request, OAuth checks")
            run(["verify", str(environment)], env)
            say("up: the data sources through Pulumi (verified before they are recorded)")
            run(["up", "--env", str(environment), *state], env)
            say("up again: nothing changed, so nothing to do")
            run(["up", "--env", str(environment), *state], env)
            say("destroy: remove the data sources from the stack")
            run(["destroy", "--env", str(environment), *state], env)

            leaked = open_sessions(url)
            say(f"Acumatica sessions left open: {leaked}")
            if leaked:
                return 1
    finally:
        sandbox.send_signal(signal.SIGTERM)
        try:
            sandbox.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
    shutil.rmtree(work, ignore_errors=True)
    say(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
