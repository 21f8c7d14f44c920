"""The YAML reader: core-schema scalars, lines, and hostile input."""

from __future__ import annotations

import pytest

from acumatica_datasource.spec import yamlfile
from acumatica_datasource.spec.yamlfile import LineDict, LineList, YamlProblem


def test_core_schema_keeps_words_and_dates_as_text() -> None:
    data = yamlfile.parse(
        "a: off\nb: yes\nc: 2024-01-01\nd: true\ne: 010\nf: 1_000\ng: ~\nh: 1.5\n"
    )
    assert data == {
        "a": "off",
        "b": "yes",
        "c": "2024-01-01",
        "d": True,
        "e": 10,
        "f": "1_000",
        "g": None,
        "h": 1.5,
    }


def test_lines_of_keys_and_items() -> None:
    data = yamlfile.parse("top: 1\nitems:\n  - a: 1\n    b: 2\n  - x\n")
    assert isinstance(data, LineDict)
    assert data.key_lines == {"top": 1, "items": 2}
    items = data["items"]
    assert isinstance(items, LineList)
    assert items.item_lines == [3, 5]
    assert items[0].key_lines == {"a": 3, "b": 4}


def test_merge_keys_follow_yaml_rules() -> None:
    data = yamlfile.parse(
        "base: &b {url: u1, company: C}\nother: &o {url: u2, page_size: 5}\n"
        "src:\n  <<: [*b, *o]\n  company: mine\n"
    )
    assert data["src"] == {"url": "u1", "company": "mine", "page_size": 5}
    assert data["src"].key_lines["url"] == 1


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: 1\na: 2\n", 2, "duplicate key 'a' (first at line 1)"),
        ("1: x\n", 1, "keys must be plain text"),
        ("[a]: x\n", 1, "keys must be plain text"),
        ("a: *nope\n", 1, "the alias *nope has no anchor"),
        ("a: !!binary aGVsbG8=\n", 1, "tag:yaml.org,2002:binary is not supported"),
        ("a: !vault x\n", 1, "tag !vault is not supported"),
        ("a: [1, 2\n", 2, "not valid YAML"),
        ("a: b: c\n", 1, "not valid YAML"),
        ("---\na: 1\n---\nb: 2\n", 3, "the file holds several YAML documents"),
        ("", 1, "the file is empty"),
        ("# only a comment\n", 1, "the file is empty"),
        ("a: \x07\n", 1, "not valid YAML"),
        ("<<: 1\n", 1, "merge key '<<' must refer to mappings"),
    ],
)
def test_broken_documents_give_one_clear_problem(text: str, line: int, fragment: str) -> None:
    with pytest.raises(YamlProblem) as info:
        yamlfile.parse(text)
    assert info.value.line == line
    assert fragment in info.value.message


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    for depth in (40, 5000):
        with pytest.raises(YamlProblem, match="nested more than 32 levels"):
            yamlfile.parse("a: " + "[" * depth + "]" * depth)


def test_alias_bomb_is_refused() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 10):
        refs = ", ".join(f"*a{i - 1}" for _ in range(10))
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(YamlProblem, match="expands to more than"):
        yamlfile.parse("\n".join(lines) + "\n")


def test_decode_rules() -> None:
    assert yamlfile.decode("\ufeffa: é\n".encode()) == "a: é\n"
    with pytest.raises(YamlProblem) as info:
        yamlfile.decode(b"a: 1\nb: \xff\xfe\n")
    assert info.value.line == 2
    assert "not UTF-8" in info.value.message
    with pytest.raises(YamlProblem, match="limited to"):
        yamlfile.decode(b"#" * (yamlfile.MAX_FILE_BYTES + 1))
