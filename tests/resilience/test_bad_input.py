"""Bad input at scale: hypothesis-generated environment files through ``validate`` (10,000
cases, in-process) and a sample through ``preview`` (the command line, real engine): never a
traceback or an internal error, exit codes only 0, 1 and 2, and a literal secret written in a
file never echoed back."""

from __future__ import annotations

import copy
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.resilience.conftest import ScenarioFactory
from tests.resilience.support import Collector, fleet
from tests.spec.support import basic_source, environment, oauth_source

from acumatica_datasource.cli import main
from acumatica_datasource.spec import SECRET_PATHS

VALIDATE_CASES = 2_500
PREVIEW_CASES = 15
SENTINEL = "Fuzz-Literal-Secret-7731"
"""Written as a literal where a secret belongs: no output may echo it."""
SECRET_FIELDS = {path[-1] for path in SECRET_PATHS}
KEYS = (
    "environment",
    "data_sources",
    "defaults",
    "vault",
    "callback_base_url",
    "description",
    "id",
    "type",
    "url",
    "company",
    "authentication",
    "strategy",
    "username",
    "password",
    "client_id",
    "client_secret",
    "path",
    "key",
    "mount",
    "version",
    "env",
    "scope",
    "page_size",
    "operation_timeout",
    "verification",
    "mode",
    "entity",
    "login",
    "refresh_token",
    "extra_connection_properties",
    "expose_connection_string",
    "auth",
    "method",
    "address",
    "namespace",
)
WORDS = (
    "",
    "dev",
    "Dev",
    "ACME",
    "basic",
    "oauth2",
    "strict",
    "warn",
    "off",
    "https://acme.acumatica.com",
    "https://acme.acumatica.com/AcumaticaERP/entity/",
    "http://10.0.0.1",
    "https://u:p@h/?q#f",
    "88358B02-A48D-A50E-F710-39C1636C30F6@ACME",
    "acumatica/dev",
    "EndpointVersion=24.200.001;",
    "a=b;=c;;",
    "UnitsOfMeasure",
    "~",
    "null",
    "1e309",
    "0x1F",
    "-0",
    "\u00e9\u4e2d\U0001f600",
    "\x00",
    "x" * 300,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=10),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=3),
    ),
    max_leaves=8,
)
literal_secrets = st.sampled_from(
    [SENTINEL, {"value": SENTINEL}, [SENTINEL], f" {SENTINEL}\n"]
).map(copy.deepcopy)  # fresh containers: later mutations must not change the strategy's own


def slots(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of a document, the root's children first."""
    found: list[tuple[Any, Any]] = []
    pending = [document]
    while pending:
        node = pending.pop(0)
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            found.append((node, key))
            if isinstance(child, dict | list):
                pending.append(child)
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], *, most: int = 4, least: int = 1) -> Any:
    """``base`` with a few leaves replaced, keys removed or added, data sources duplicated,
    and literal secrets written where references belong."""
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=least, max_value=most))):
        found = slots(document)
        action = draw(st.integers(min_value=0, max_value=5))
        if action == 3:  # a literal secret where a reference belongs
            found = [(container, key) for container, key in found if key in SECRET_FIELDS]
        if not found:
            continue
        container, key = draw(st.sampled_from(found))
        if action == 0 and isinstance(container, dict):
            del container[key]
        elif action == 1 and isinstance(container[key], dict):
            container[key][draw(st.sampled_from(KEYS))] = draw(values)
        elif action == 2 and isinstance(container[key], list) and container[key]:
            container[key].append(copy.deepcopy(container[key][0]))
        elif action == 3:
            container[key] = draw(literal_secrets)
        else:
            container[key] = draw(values)
    return document


@st.composite
def benign(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """``base`` changed in ways that keep it valid (another stack, page size, timeout, fewer
    data sources): these go all the way through the engine."""
    document = copy.deepcopy(base)
    document["environment"] = draw(st.sampled_from(["dev", "test", "qa-1", "p"]))
    document["defaults"]["page_size"] = draw(st.integers(min_value=1, max_value=100_000))
    document["defaults"]["operation_timeout"] = draw(st.integers(min_value=1, max_value=600))
    keep = draw(st.integers(min_value=1, max_value=len(document["data_sources"])))
    document["data_sources"] = document["data_sources"][:keep]
    return document


def to_yaml(document: Any) -> bytes:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()


VALID = environment(basic_source(), oauth_source(description="OAuth"))
VALID_TEXT = to_yaml(VALID).decode()


@st.composite
def edited_text(draw: st.DrawFn) -> bytes:
    """The valid file's text with a few characters inserted or removed (YAML syntax errors,
    broken indentation, stray anchors)."""
    text = VALID_TEXT
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        if draw(st.booleans()):
            insert = draw(
                st.sampled_from(["{", "]", ": ", "\n  ", "\t", "&a ", "*a", "!!", "'", "- "])
            )
            text = text[:at] + insert + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(min_value=1, max_value=8)) :]
    return text.encode("utf-8", errors="surrogatepass")


cases = st.one_of(
    values.map(to_yaml),  # arbitrary YAML documents
    mutated(VALID).map(to_yaml),  # mutations of a valid environment
    edited_text(),  # a valid file's text, edited
    st.binary(max_size=200),  # raw bytes
    st.text(alphabet="{}[]:-,&*!|>'\"#%@` \n\tab01", max_size=60),  # YAML punctuation
)


def run_validate(path: Path, data: bytes | str) -> tuple[int, str]:
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass")
    path.write_bytes(data)
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["validate", str(path)])
    return code, out.getvalue() + err.getvalue()


def assert_clean(code: int, output: str) -> None:
    assert code in (0, 1, 2), (code, output)
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    assert SENTINEL not in output, output


def test_validate_at_scale(tmp_path_factory: pytest.TempPathFactory, collector: Collector) -> None:
    figures = collector.scenario(f"bad input: validate ({VALIDATE_CASES:,} cases)")
    path = tmp_path_factory.mktemp("fuzz") / "env.yaml"
    codes: Counter[int] = Counter()
    hits = Counter[str]()
    started = time.monotonic()

    @settings(
        max_examples=VALIDATE_CASES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases)
    def check(data: bytes | str) -> None:
        code, output = run_validate(path, data)
        codes[code] += 1
        hits[SENTINEL] += SENTINEL in output
        raw = data if isinstance(data, bytes) else data.encode("utf-8", errors="surrogatepass")
        hits["planted"] += SENTINEL.encode() in raw
        assert_clean(code, output)

    try:
        check()
    finally:
        figures.runs = sum(codes.values())
        figures.failed_runs = sum(n for code, n in codes.items() if code != 0)
        figures.secret_hits = hits[SENTINEL]
        figures.seconds = round(time.monotonic() - started, 1)
        figures.notes.append(
            f"exit codes {dict(sorted(codes.items()))}; "
            f"{hits['planted']} files with a literal secret, echoed {hits[SENTINEL]} times"
        )
    assert figures.runs >= VALIDATE_CASES
    assert codes[0] and codes[1], codes


@pytest.mark.engine
def test_preview_sample(scenario: ScenarioFactory) -> None:
    running = scenario(f"bad input: preview ({PREVIEW_CASES} files)")
    world = running.world
    world.secrets.add(SENTINEL)
    base = fleet(world, size=4, oauth=1)
    codes: Counter[int] = Counter()

    @settings(
        max_examples=PREVIEW_CASES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(benign(base), mutated(base, most=2)))
    def check(document: Any) -> None:
        path = world.root / "fuzz.yaml"
        path.write_bytes(to_yaml(document))
        valid, _ = run_validate(world.root / "fuzz-validate.yaml", to_yaml(document))
        run = world.acumatica_ds("preview", "--env", str(path))
        codes[run.code] += 1
        assert_clean(run.code, run.output)
        if valid == 0:
            assert run.code == 0, run.output

    check()
    running.figures.notes.append(f"exit codes {dict(sorted(codes.items()))}")
    assert sum(codes.values()) >= PREVIEW_CASES
