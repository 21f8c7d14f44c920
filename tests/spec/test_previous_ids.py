"""``previous_ids``: the ids a data source had before, declared as Pulumi aliases."""

from __future__ import annotations

from tests.spec.support import basic_source, check, environment, messages, only_problem


def test_previous_ids_are_kept() -> None:
    result = check(environment(basic_source(previous_ids=["old-name", "older-name"])))
    assert result.valid, [str(p) for p in result.problems]
    assert result.environment is not None
    assert result.environment.data_sources[0].previous_ids == ["old-name", "older-name"]


def test_previous_ids_default_to_none() -> None:
    result = check(environment(basic_source()))
    assert result.environment is not None
    assert result.environment.data_sources[0].previous_ids == []


def test_a_previous_id_has_the_form_of_an_id() -> None:
    path, message = only_problem(check(environment(basic_source(previous_ids=["Old Name"]))))
    assert path == "data_sources[0].previous_ids[0]"
    assert message.startswith("must be 1-63 lower-case letters")


def test_a_previous_id_is_not_the_current_one() -> None:
    result = check(environment(basic_source(previous_ids=["acumatica-data-source"])))
    assert messages(result) == {
        "data_sources[0].previous_ids[0]": "is the data source's current id"
    }


def test_a_previous_id_is_listed_once() -> None:
    result = check(environment(basic_source(previous_ids=["old", "old"])))
    assert messages(result) == {"data_sources[0].previous_ids[1]": "'old' is listed twice"}


def test_a_previous_id_is_nobody_elses_id() -> None:
    result = check(
        environment(
            basic_source(id="erp"),
            basic_source(description="Other", id="other", previous_ids=["erp", "gone"]),
            basic_source(description="Third", id="third", previous_ids=["gone"]),
        )
    )
    assert messages(result) == {
        "data_sources[1].previous_ids[0]": "'erp' is the id of data_sources[0]",
        "data_sources[2].previous_ids[0]": "'gone' is also a previous id of data_sources[1]",
    }


def test_previous_ids_are_not_a_default() -> None:
    result = check(environment(basic_source(), defaults={"previous_ids": ["old"]}))
    assert not result.valid
    assert "defaults.previous_ids" in messages(result)
