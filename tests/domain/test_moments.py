"""When a memory happened (from its metadata) and the time a question names."""

from datetime import datetime, timezone

import pytest

from arqium.domain.memory.moments import asks_when, moment_of, time_named


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def present(*parts: int):
    return lambda: utc(*parts)


def unasked():
    raise AssertionError("a time with its year needs no present")


@pytest.mark.parametrize("metadata, moment", [
    ({"session_date": "2024-03-14T18:30:00Z"}, utc(2024, 3, 14, 18, 30)),
    ({"v0": {"metadata": {"sessionDate": "1:56 pm on 8 May, 2023"}}}, utc(2023, 5, 8, 13, 56)),
    ({"timestamp": "2024-03-14T20:30:00+02:00"}, utc(2024, 3, 14, 18, 30)),
    ({"events": [{"date": "2025-01-02"}]}, utc(2025, 1, 2)),
])
def test_a_memory_happened_when_a_time_key_of_its_metadata_says(metadata, moment):
    assert moment_of(metadata) == moment


@pytest.mark.parametrize("metadata", [
    {}, {"note": "2024-03-14"}, {"time": "soon"}, {"created_by": "alice"},
    {"date": "x" * 100 + "2024"}, None, "2024-03-14",
])
def test_no_time_without_a_time_key_holding_a_date(metadata):
    assert moment_of(metadata) is None


@pytest.mark.parametrize("question, span", [
    # a named day, from the day before to a week after (what was told of it later)
    ("Who did Maria have dinner with on May 3, 2023?", (utc(2023, 5, 2), utc(2023, 5, 11))),
    ("What did Tobi do on 15 July 2023?", (utc(2023, 7, 14), utc(2023, 7, 23))),
    ("the 2023-05-03 meeting", (utc(2023, 5, 2), utc(2023, 5, 11))),
    ("Where did they go in August 2023?", (utc(2023, 8, 1), utc(2023, 9, 1))),
    ("plans for summer 2024", (utc(2024, 6, 1), utc(2024, 9, 1))),
    ("Which trips did Tobi take in 2023?", (utc(2023, 1, 1), utc(2024, 1, 1))),
])
def test_a_question_naming_a_time_with_its_year_names_that_span(question, span):
    assert time_named(question, unasked) == span


def test_a_time_without_its_year_is_the_latest_such_before_the_present():
    assert time_named("What happened last June?", present(2024, 11, 24)) == (
        utc(2024, 6, 1), utc(2024, 7, 1))
    assert time_named("What happened on 3 December?", present(2024, 11, 24)) == (
        utc(2023, 12, 2), utc(2023, 12, 11))
    assert time_named("What did Rufus wear last November?", present(2024, 11, 24)) == (
        utc(2023, 11, 1), utc(2023, 12, 1))
    assert time_named("What happened this May?", present(2024, 11, 24)) == (
        utc(2024, 5, 1), utc(2024, 6, 1))
    assert time_named("where were we last may", present(2024, 11, 24)) == (
        utc(2024, 5, 1), utc(2024, 6, 1))


@pytest.mark.parametrize("question", [
    "May I ask what Ana likes?", "What may be the reason?", "Where is Priya's marathon?",
    "What this may mean for the launch?",
    "What happened on February 30, 2024?",
])
def test_no_time_in_a_question_that_names_none(question):
    assert time_named(question, present(2024, 11, 24)) is None


@pytest.mark.parametrize("question, span", [
    ("What did shifts look like in early 2024?", (utc(2024, 1, 1), utc(2024, 5, 1))),
    ("plans for mid-2024", (utc(2024, 5, 1), utc(2024, 9, 1))),
    ("What happened in late 2023?", (utc(2023, 9, 1), utc(2024, 1, 1))),
])
def test_a_part_of_a_year_names_its_third(question, span):
    assert time_named(question, unasked) == span


# 2024-11-24 is a Sunday: its week began on Monday the 18th.
@pytest.mark.parametrize("question, span", [
    ("What did I eat yesterday?", (utc(2024, 11, 22), utc(2024, 11, 25))),
    ("What is Priya doing today?", (utc(2024, 11, 23), utc(2024, 11, 26))),
    ("Who called 3 days ago?", (utc(2024, 11, 20), utc(2024, 11, 23))),
    ("What did we discuss last week?", (utc(2024, 11, 10), utc(2024, 11, 19))),
    ("Where was Tobi two weeks ago?", (utc(2024, 11, 3), utc(2024, 11, 12))),
    ("What did they do last weekend?", (utc(2024, 11, 15), utc(2024, 11, 19))),
    ("What happened this week?", (utc(2024, 11, 17), utc(2024, 11, 26))),
    ("What did Tobi buy last month?", (utc(2024, 10, 1), utc(2024, 11, 1))),
    ("What broke a couple of months ago?", (utc(2024, 9, 1), utc(2024, 10, 1))),
    ("Which trips did Tobi take last year?", (utc(2023, 1, 1), utc(2024, 1, 1))),
    ("Which carrot is Derek trying this year?", (utc(2024, 1, 1), utc(2025, 1, 1))),
    ("How has she slept over the past week?", (utc(2024, 11, 17), utc(2024, 11, 25))),
    ("What changed in the last year?", (utc(2023, 11, 24), utc(2024, 11, 25))),
    ("Where did Megan go last summer?", (utc(2024, 6, 1), utc(2024, 9, 1))),
    ("What did she plant last winter?", (utc(2023, 12, 1), utc(2024, 3, 1))),
    ("Where is the family going this winter?", (utc(2024, 12, 1), utc(2025, 3, 1))),
])
def test_a_time_named_relative_to_the_present_is_read_against_it(question, span):
    assert time_named(question, present(2024, 11, 24, 15, 30)) == span


def test_last_summer_has_ended_and_this_winter_began_in_the_december_before():
    assert time_named("Where did they go last summer?", present(2024, 7, 10)) == (
        utc(2023, 6, 1), utc(2023, 9, 1))
    assert time_named("What is planned this winter?", present(2025, 1, 15)) == (
        utc(2024, 12, 1), utc(2025, 3, 1))


@pytest.mark.parametrize("question", [
    "What happened on the last day of school?", "Who won the last year of the cup?",
    "What is planned for next week?", "When is the wedding next summer?",
    "What does she do every day?",
])
def test_no_relative_time_where_the_words_name_none_of_the_past(question):
    assert time_named(question, present(2024, 11, 24)) is None


def test_since_a_time_names_the_span_from_it_to_the_present():
    assert time_named("How has his audience changed since early 2024?",
                      present(2024, 11, 24, 15)) == (utc(2024, 1, 1), utc(2024, 11, 25))
    assert time_named("What changed since the 3 March 2024 meeting?",
                      present(2024, 11, 24)) == (utc(2024, 3, 2), utc(2024, 11, 25))
    assert time_named("What has she cooked since last week?", present(2024, 11, 24)) == (
        utc(2024, 11, 10), utc(2024, 11, 25))


@pytest.mark.parametrize("question", [
    "What happened 3 years ago?", "Where were they last summer?",
    "What was said last week?",
])
def test_a_relative_time_before_the_year_1_is_no_time(question):
    assert time_named(question, present(1, 1, 2)) is None


@pytest.mark.parametrize("question", [
    "When did Leo move onto the boat?", "when is the housewarming", "  When was it?",
    "On what date did Maya climb outside?", "Which weekend did they go to Wales?",
    "How long ago did Tessa start at Kestrel?", "What day was the concert?",
])
def test_a_question_asking_when_is_told_apart(question):
    assert asks_when(question)


@pytest.mark.parametrize("question", [
    "What did Maya do when her mother was ill?", "Whenever Leo cooks, what does he make?",
    "What year-end plans does Ana have?", "Where did Tobi go in May?",
])
def test_a_question_not_asking_when_is_not_taken_for_one(question):
    assert not asks_when(question)
