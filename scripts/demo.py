"""The main job (``make demo``): the quickstart end to end, all on loopback.

1. start the Acumatica sandbox (``acumatica-ds sandbox``) and an OpenBao dev server on free
   loopback ports;
2. store the quickstart's secrets in Vault;
3. ``acumatica-ds validate``, ``verify`` and ``up`` on examples/quickstart/environment.yaml
   (its sandbox URL pointed at the running sandbox), printing verification results and the
   OAuth callback URL to register in Acumatica;
4. ``acumatica-ds destroy``;
5. examples/yaml-program through the plain ``pulumi`` CLI (the provider plugin and the YAML
   language host): ``pulumi up``, its outputs, ``pulumi destroy``;
6. stop both servers (by process id) and check that no Acumatica session was left open.

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
TOOLING = [sys.executable, "-m", "acumatica_datasource.tooling"]
YAML_PROGRAM = ROOT / "examples" / "yaml-program"


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


def pulumi_bin_dir() -> str:
    """The directory of the Pulumi CLI (and beside it the YAML language host)."""
    found = subprocess.run(
        [*TOOLING, "--print", "bin-dir"], check=True, capture_output=True, text=True
    )
    return found.stdout.strip()


def yaml_program(work: Path, url: str, vault_address: str, env: dict[str, str]) -> None:
    """The YAML example in a copy (its plugins.providers path points at ../../.venv/bin)."""
    project = work / "examples" / "yaml-program"
    shutil.copytree(YAML_PROGRAM, project)
    (work / ".venv").symlink_to(Path(sys.executable).parent.parent)
    bin_dir = pulumi_bin_dir()
    pulumi_env = {
        **{k: v for k, v in env.items() if not k.startswith(("VAULT_", "BAO_"))},
        "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
        "PULUMI_BACKEND_URL": f"file://{work / 'yaml-state'}",
        "PULUMI_HOME": str(work / "pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }
    (work / "yaml-state").mkdir()
    commands = [
        ["stack", "init", "dev"],
        ["config", "set", "siteUrl", url],
        ["config", "set", "acumatica:vaultAddress", vault_address],
        ["config", "set", "--secret", "acumatica:vaultToken", "root"],
        ["config", "set", "--secret", "verifierPassword", SECRETS["password"]],
        ["up", "--yes"],
        ["stack", "output", "oauthCallbackUrl"],
        ["destroy", "--yes"],
    ]
    for args in commands:
        shown = [a if a != SECRETS["password"] and a != "root" else "***" for a in args]
        print(f"$ pulumi {' '.join(shown)}", flush=True)
        done = subprocess.run(
            [f"{bin_dir}/pulumi", *args, "--non-interactive"],
            cwd=project,
            env=pulumi_env,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"demo: `pulumi {args[0]}` exited {done.returncode}")


def main() -> int:
    """Run the demo; 0 when every step worked."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="acumatica-ds-demo-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("PULUMI_CONFIG_PASSPHRASE", "acumatica-ds-demo")
    env.pop("PULUMI_BACKEND_URL", None)

    say("Pulumi CLI (built once from the Go module proxy when none is installed)")
    subprocess.run(TOOLING, check=True)

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
            schema = str(ROOT / "environment.schema.json")
            environment.write_text(text.replace("../../environment.schema.json", schema))
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
            run(["destroy", "--env", str(environment), "--yes", *state], env)

            say("examples/yaml-program: plain `pulumi up` of a Pulumi YAML program (the plugin)")
            vault.put("acumatica/yaml", SECRETS)
            yaml_program(work, url, vault.address, env)

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
