"""The tooling package without the real engine (fake go and pulumi): locating and building
the Pulumi CLI, a Go tool of its own, and the offline environment."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from acumatica_datasource.cli import main as cli_main
from acumatica_datasource.errors import AcumaticaDataSourceError
from acumatica_datasource.tooling import (
    PULUMI_VERSION,
    GoTool,
    PassphraseMissingError,
    PulumiCli,
    PulumiCliError,
    ToolError,
    cache_root,
    cli_cache_dir,
    ensure_pulumi_cli,
    locate_or_build,
    offline_environment,
)
from acumatica_datasource.tooling.__main__ import main
from acumatica_datasource.tooling.pulumi_build import LANGUAGE_HOST_MODULE, PLUGIN_SCRIPT
from acumatica_datasource.tooling.pulumi_cli import parse_version

# A stand-in for `go`: records its arguments, "builds" a pulumi that prints the version
# given with -ldflags, serves the sdk module directory, refuses the language host like the
# module proxy does.
FAKE_GO = """\
#!{python}
import json, os, sys, time
args = sys.argv[1:]
with open(os.environ["FAKE_GO_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[0] == "get":
    if any("pulumi-language-python" in a for a in args):
        print("go: " + args[-1] + ": reading https://proxy.golang.org/...: 403 Forbidden",
              file=sys.stderr)
        sys.exit(1)
    print("go: downloading github.com/pulumi/pulumi/pkg/v3 v3.274.1", file=sys.stderr)
elif args[0] == "build":
    out = args[args.index("-o") + 1]
    version = args[args.index("-ldflags") + 1].split("=")[-1] if "-ldflags" in args else "v0"
    time.sleep(0.3)
    with open(out, "w") as f:
        f.write("#!/bin/sh\\necho " + version + "\\n")
    os.chmod(out, 0o755)
elif args[:2] == ["mod", "download"]:
    print(json.dumps({{"Path": "x", "Version": "v3", "Dir": os.environ["FAKE_SDK_DIR"]}}))
elif args[:2] == ["env", "GOVERSION"]:
    print("go1.26.8")
"""


def _executable(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty cache, PATH without pulumi or go (only a dir for fakes and /bin for sh)."""
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", os.pathsep.join([str(fakes), "/bin", "/usr/bin"]))
    if any(Path(d, name).exists() for d in ("/bin", "/usr/bin") for name in ("go", "pulumi")):
        pytest.skip("a go or pulumi in /bin or /usr/bin would be found")
    return fakes


@pytest.fixture
def fake_go(isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    sdk = tmp_path / "sdk" / "python" / "dist"
    sdk.mkdir(parents=True)
    (sdk / PLUGIN_SCRIPT).write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    (sdk / PLUGIN_SCRIPT).chmod(0o444)  # the module cache is read-only
    monkeypatch.setenv("FAKE_SDK_DIR", str(tmp_path / "sdk"))
    log = tmp_path / "go.log"
    monkeypatch.setenv("FAKE_GO_LOG", str(log))
    _executable(isolated / "go", FAKE_GO.format(python=sys.executable))
    return log


def _go_calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_errors_derive_from_the_package_base() -> None:
    assert issubclass(PulumiCliError, ToolError)
    assert issubclass(ToolError, AcumaticaDataSourceError)
    assert issubclass(PassphraseMissingError, AcumaticaDataSourceError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v3.274.1", (3, 274, 1)),
        ("3.200.0", (3, 200, 0)),
        ("v3.275.0-alpha.1+dirty", (3, 275, 0)),
        ("", None),
        ("unknown", None),
    ],
)
def test_parse_version(text: str, expected: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == expected


def test_cache_root_follows_xdg(tmp_path: Path) -> None:
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "pulumi-acumatica-datasource"
    default = Path.home() / ".cache" / "pulumi-acumatica-datasource"
    assert cache_root({}) == default
    assert cache_root({"XDG_CACHE_HOME": "relative/dir"}) == default  # ignored per the spec
    assert cli_cache_dir("1.2.3", {"XDG_CACHE_HOME": str(tmp_path)}).name == "v1.2.3"


def test_nothing_available_raises_with_install_advice(isolated: Path) -> None:
    with pytest.raises(PulumiCliError) as error:
        ensure_pulumi_cli(log=lambda _m: None)
    message = str(error.value)
    assert "https://www.pulumi.com/docs/install/" in message
    assert "Go 1.26+" in message
    assert "`go` is not on PATH" in message


def test_no_build_refuses_to_build(fake_go: Path) -> None:
    with pytest.raises(PulumiCliError, match="building is disabled"):
        ensure_pulumi_cli(build=False, log=lambda _m: None)
    assert not fake_go.exists()


def test_builds_once_into_the_cache_under_a_lock(fake_go: Path) -> None:
    messages: list[str] = []
    results: list[PulumiCli] = []

    def worker() -> None:
        results.append(ensure_pulumi_cli(log=messages.append))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    builds = [call for call in _go_calls(fake_go) if call[0] == "build"]
    assert len(builds) == 1, "concurrent callers must build once"
    assert sorted(r.source for r in results) == ["built", "cache", "cache"]
    bin_dir = cli_cache_dir() / "bin"
    assert {r.bin_dir for r in results} == {bin_dir}
    assert all(r.version == PULUMI_VERSION for r in results)
    assert os.access(bin_dir / "pulumi", os.X_OK)
    assert os.access(bin_dir / PLUGIN_SCRIPT, os.X_OK)
    assert [r.language_host for r in results] == [None, None, None]
    info = json.loads((cli_cache_dir() / "build-info.json").read_text(encoding="utf-8"))
    assert info["version"] == PULUMI_VERSION
    assert info["language_host"]["built"] is False
    assert "403 Forbidden" in info["language_host"]["error"]
    assert not list(cli_cache_dir().parent.glob(".v*.tmp-*")), "no staging leftovers"
    assert any("compiling pulumi" in m for m in messages)
    assert any("pulumi-language-python not built" in m for m in messages)
    [build] = builds
    assert f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v{PULUMI_VERSION}" in (
        build
    )
    gets = [call for call in _go_calls(fake_go) if call[0] == "get"]
    assert any(f"{LANGUAGE_HOST_MODULE}@v{PULUMI_VERSION}" in call for call in gets)

    # Later calls reuse the cache without running go.
    calls_before = len(_go_calls(fake_go))
    assert ensure_pulumi_cli(log=messages.append).source == "cache"
    assert len(_go_calls(fake_go)) == calls_before


def test_pulumi_on_path_with_plugin_is_used_as_is(isolated: Path) -> None:
    _executable(isolated / "pulumi", "#!/bin/sh\necho v3.250.0\n")
    _executable(isolated / PLUGIN_SCRIPT, "#!/bin/sh\n")
    cli = ensure_pulumi_cli(build=False, log=lambda _m: None)
    assert cli.source == "path"
    assert cli.version == "3.250.0"
    assert cli.pulumi == isolated / "pulumi"
    assert cli.bin_dir == isolated
    assert cli.root == isolated.parent


def test_pulumi_on_path_without_plugin_gets_it_from_the_cache(
    isolated: Path, fake_go: Path
) -> None:
    _executable(isolated / "pulumi", "#!/bin/sh\necho v3.260.0\n")
    cli = ensure_pulumi_cli(log=lambda _m: None)
    assert cli.source == "path"
    assert cli.pulumi == isolated / "pulumi"
    assert cli.bin_dir != isolated
    assert (cli.bin_dir / "pulumi").resolve() == (isolated / "pulumi").resolve()
    assert os.access(cli.bin_dir / PLUGIN_SCRIPT, os.X_OK)
    assert not [call for call in _go_calls(fake_go) if call[0] == "build"], "no CLI build"


def test_old_pulumi_on_path_is_ignored(isolated: Path, fake_go: Path) -> None:
    _executable(isolated / "pulumi", "#!/bin/sh\necho v3.100.0\n")
    messages: list[str] = []
    cli = ensure_pulumi_cli(log=messages.append)
    assert cli.source == "built"
    assert any("older than 3.200.0" in m for m in messages)


def test_main_prints_the_path(fake_go: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--print", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["source"] == "built"
    assert printed["pulumi"] == str(cli_cache_dir() / "bin" / "pulumi")
    assert main([]) == 0
    assert capsys.readouterr().out.strip() == str(cli_cache_dir() / "bin" / "pulumi")


def test_a_command_without_a_pulumi_cli_says_how_to_get_one(
    isolated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = Path(__file__).parents[2] / "examples" / "basic.yaml"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PULUMI_CONFIG_PASSPHRASE", "p")
        code = cli_main(["preview", "--env", str(environment), "--state", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2  # an environment problem, as a missing passphrase
    assert "acumatica-ds: no Pulumi CLI found" in err and "internal error" not in err


def test_main_reports_errors(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-build"]) == 1
    assert "https://www.pulumi.com/docs/install/" in capsys.readouterr().err


def test_another_go_tool_is_built_once_into_its_own_cache_directory(fake_go: Path) -> None:
    tool = GoTool(binary="hello", package="example.com/hello/cmd/hello", version="1.2.3")
    program = locate_or_build(tool, log=lambda _m: None, build=True)
    assert program == cache_root() / "hello" / "v1.2.3" / "bin" / "hello"
    assert os.access(program, os.X_OK)
    assert locate_or_build(tool, log=lambda _m: None, build=False) == program
    calls = _go_calls(fake_go)
    assert [call[0] for call in calls if call[0] in ("get", "build")] == ["get", "build"]
    assert ["get", "example.com/hello/cmd/hello@v1.2.3"] in calls
    info = json.loads((program.parents[1] / "build-info.json").read_text(encoding="utf-8"))
    assert info["version"] == "1.2.3"
    with pytest.raises(ToolError, match=r"no other v1 .* building is disabled"):
        locate_or_build(GoTool("other", "example.com/other", "1"), log=print, build=False)


def test_offline_environment_defaults(tmp_path: Path) -> None:
    cli = PulumiCli(
        pulumi=tmp_path / "bin" / "pulumi",
        bin_dir=tmp_path / "bin",
        version="3.274.1",
        source="cache",
    )
    env = offline_environment(
        tmp_path / "state",
        "pass",
        cli=cli,
        environ={"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert env["PULUMI_BACKEND_URL"] == f"file://{(tmp_path / 'state').resolve()}"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "pass"
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PULUMI_HOME"] == str(
        tmp_path / "cache" / "pulumi-acumatica-datasource" / "pulumi-home"
    )
    assert env["PULUMI_PYTHON_CMD"] == sys.executable
    assert env["PATH"].split(os.pathsep) == [
        str(tmp_path / "bin"),
        str(Path(sys.executable).parent),
        "/usr/bin",
        "/bin",
    ]


def test_offline_environment_creates_the_state_directory_it_names(tmp_path: Path) -> None:
    """A fresh clone has no state directory; the engine refuses a file:// URL to none."""
    state = tmp_path / "fresh" / ".state"
    env = offline_environment(state, "pass", environ={"PATH": "/bin"})
    assert env["PULUMI_BACKEND_URL"] == f"file://{state.resolve()}"
    assert state.is_dir()
    other = offline_environment(
        tmp_path / "unused", "pass", environ={"PATH": "/bin", "PULUMI_BACKEND_URL": "s3://b"}
    )
    assert other["PULUMI_BACKEND_URL"] == "s3://b"
    assert not (tmp_path / "unused").exists()


def test_offline_environment_keeps_user_settings(tmp_path: Path) -> None:
    env = offline_environment(
        tmp_path / "state",
        "ignored",
        environ={
            "PATH": "/bin",
            "PULUMI_BACKEND_URL": "s3://bucket",
            "PULUMI_CONFIG_PASSPHRASE": "from-env",
            "PULUMI_HOME": "/somewhere",
        },
    )
    assert env["PULUMI_BACKEND_URL"] == "s3://bucket"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "from-env"
    assert env["PULUMI_HOME"] == "/somewhere"
    file_env = offline_environment(
        tmp_path, environ={"PATH": "/bin", "PULUMI_CONFIG_PASSPHRASE_FILE": "/run/pass"}
    )
    assert file_env["PULUMI_CONFIG_PASSPHRASE_FILE"] == "/run/pass"
    assert "PULUMI_CONFIG_PASSPHRASE" not in file_env


@pytest.mark.parametrize("empty", ["", "  ", "\n"])
def test_an_empty_passphrase_is_refused(tmp_path: Path, empty: str) -> None:
    """Issue 12, point 7: an empty passphrase makes every recorded secret decryptable with "",
    from the variable as from a passphrase file."""
    with pytest.raises(PassphraseMissingError, match="is empty") as info:
        offline_environment(tmp_path, environ={"PULUMI_CONFIG_PASSPHRASE": empty})
    assert "Fix:" in str(info.value)
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(empty)
    with pytest.raises(PassphraseMissingError, match="is empty"):
        offline_environment(
            tmp_path, environ={"PULUMI_CONFIG_PASSPHRASE_FILE": str(passphrase_file)}
        )


@pytest.mark.engine
def test_up_with_an_empty_passphrase_stops_before_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from acumatica_datasource import cli

    environment = tmp_path / "dev.yaml"
    environment.write_text("environment: dev\ndata_sources: []\n")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    code = cli.main(["up", "--env", str(environment), "--state", str(tmp_path / "state")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "PULUMI_CONFIG_PASSPHRASE is empty" in err
    assert not (tmp_path / "state" / ".pulumi").exists()


def test_offline_environment_requires_a_passphrase(tmp_path: Path) -> None:
    with pytest.raises(PassphraseMissingError, match="PULUMI_CONFIG_PASSPHRASE"):
        offline_environment(tmp_path, environ={"PATH": "/bin"})
