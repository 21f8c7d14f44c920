"""``acumatica-ds validate`` and ``schema``: exit codes, output formats, robustness."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.spec.support import basic_source, environment, oauth_source

from acumatica_datasource.cli import exit_code, main
from acumatica_datasource.errors import AcumaticaDataSourceError, UsageError
from acumatica_datasource.spec import SpecError, UnreadableFileError
from acumatica_datasource.tooling import PassphraseMissingError

ROOT = Path(__file__).parents[2]


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    return path


def test_valid_files_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "dev.yaml", environment(basic_source(), oauth_source()))
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{path}: valid (2 data sources)" in err


def test_invalid_files_exit_1_with_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "good.yaml", environment(basic_source()))
    bad = write(
        tmp_path,
        "bad.yaml",
        "environment: dev\ndata_sources:\n  - description: x\n    page_size: 0\n",
    )
    assert main(["validate", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{bad}:3: data_sources[0].url: required field is missing",
        f"{bad}:3: data_sources[0].company: required field is missing",
        f"{bad}:3: data_sources[0].authentication: required field is missing",
        f"{bad}:4: data_sources[0].page_size: must be at least 1",
    ]
    assert "1 of 2 files invalid, 4 problems" in err


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.yaml", "environment: PROD\n")
    assert main(["validate", "--format", "json", str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "version": 1,
        "command": "validate",
        "valid": False,
        "errors": [
            {
                "file": str(bad),
                "line": 1,
                "path": "environment",
                "message": "must be lower-case letters, digits and dashes, starting with a "
                "letter or digit (it names the Pulumi stack)",
                "rule": "invalid-value",
            }
        ],
    }
    good = write(tmp_path, "good.yaml", environment())
    assert main(["validate", str(good), "--format=json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "version": 1,
        "command": "validate",
        "valid": True,
        "errors": [],
    }


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["validate"], ["validate", "--format", "xml", "x"], ["nonsense"], []):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read the file" in capsys.readouterr().out


def test_exit_codes_come_from_error_types() -> None:
    assert exit_code(UsageError("no such data source")) == 2
    assert exit_code(UnreadableFileError([])) == 2
    assert exit_code(PassphraseMissingError("no passphrase")) == 2
    assert exit_code(SpecError([])) == 1
    assert exit_code(AcumaticaDataSourceError("PULUMI_CONFIG_PASSPHRASE: cannot read")) == 1


def test_schema_command_prints_schema_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == (ROOT / "environment.schema.json").read_text()


def test_console_script_does_not_import_pulumi_or_hvac(tmp_path: Path) -> None:
    path = write(tmp_path, "dev.yaml", environment())
    probe = (
        "import sys\nfrom acumatica_datasource.cli import main\n"
        f"code = main(['validate', {str(path)!r}])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pulumi', 'hvac', 'httpx', 'aiohttp', 'grpc', 'requests'))\n"
        "print(code, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0 []"


def test_installed_console_script_runs() -> None:
    script = Path(sys.executable).with_name("acumatica-ds")
    done = subprocess.run(
        [str(script), "validate", str(ROOT / "examples" / "basic.yaml")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


# --- robustness: arbitrary input never produces a traceback --------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.text(max_size=30),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
KEYS = [
    "environment",
    "data_sources",
    "defaults",
    "vault",
    "callback_base_url",
    "url",
    "company",
    "authentication",
    "strategy",
    "password",
    "vault",
    "env",
    "scope",
    "page_size",
    "verification",
    "mode",
    "login",
    "extra_connection_properties",
]


@st.composite
def mutated_environments(draw: st.DrawFn) -> Any:
    """A valid environment with random leaves replaced and random keys added."""
    document: Any = environment(basic_source(), oauth_source())
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        node = document
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            key = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
            if not isinstance(node[key], dict | list):
                break
            node = node[key]
        if isinstance(node, dict):
            node[draw(st.sampled_from(KEYS))] = draw(documents)
        elif isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(documents)
    return document


def run_validate(data: bytes) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "env.yaml"
        path.write_bytes(data)
        from contextlib import redirect_stderr, redirect_stdout
        from io import StringIO

        out, err = StringIO(), StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["validate", str(path)])
        return code, out.getvalue() + err.getvalue()


def assert_clean(code: int, output: str) -> None:
    assert code in (0, 1, 2)
    assert "Traceback" not in output
    assert "internal error" not in output


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_arbitrary_documents(document: Any) -> None:
    assert_clean(*run_validate(yaml.safe_dump(document).encode()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_environments())
def test_mutated_environments(document: Any) -> None:
    assert_clean(*run_validate(yaml.safe_dump(document, allow_unicode=True).encode()))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    assert_clean(*run_validate(data))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="{}[]:-,&*!|>'\"#%@` \n\tab01", max_size=80))
def test_yaml_punctuation_soup(text: str) -> None:
    assert_clean(*run_validate(text.encode()))
