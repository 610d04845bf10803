"""Agents: an invocation is recorded once, answered or failed, with who asked, what, and
how long it took; the file analyst answers from an analysis."""

from datetime import datetime, timezone
from uuid import UUID

import pytest

from arqium.domain.agents import file_analyst
from arqium.domain.agents.application import AgentsApplication
from arqium.domain.agents.domainmodel import (
    MAX_INPUT_LENGTH,
    MAX_PARAMETERS_BYTES,
    MAX_SUMMARY_LENGTH,
    AgentInvocation,
    AgentNotFound,
    check_invocation,
)
from arqium.domain.shared import Cause, Invalid

AT = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
ID = UUID(int=7)
ASKED = {"input": "summary", "parameters": {"file_id": "f1"}}
CSV = {"kind": "csv", "rows": 2, "columns": [
    {"name": "city", "type": "string", "count": 2, "nulls": 0, "distinct": 2},
    {"name": "population", "type": "integer", "count": 2, "nulls": 0, "min": 320000,
     "max": 522000, "mean": 421000.0, "distinct": 2}]}


def test_an_answered_invocation_records_who_asked_what_and_how_long_it_took(cause):
    invocation = AgentInvocation.answered(ID, "u1", "file-analyst", ASKED, 42, "2 rows", AT)
    event = invocation.collect_events()[0]
    assert isinstance(event, AgentInvocation.Answered)
    assert (event.owner_id, event.agent_id, event.input, event.parameters) == (
        "u1", "file-analyst", "summary", {"file_id": "f1"})
    assert (event.output, event.duration_ms, event.at, event.actor) == (
        "2 rows", 42, AT, cause.actor)
    assert invocation.outcome == "ok"


def test_a_failed_invocation_records_its_error(cause):
    invocation = AgentInvocation.failed(ID, "u1", "file-analyst", ASKED, 5, {
        "code": "FileNotFound", "message": "no such file"}, AT)
    event = invocation.collect_events()[0]
    assert isinstance(event, AgentInvocation.Failed)
    assert event.error == {"code": "FileNotFound", "message": "no such file"}
    assert invocation.outcome == "failed"


def test_an_answer_keeps_only_a_summary_of_a_long_output(cause):
    invocation = AgentInvocation.answered(ID, "u1", "memory-search", ASKED, 1, "x" * 5000,
                                          AT)
    output = invocation.collect_events()[0].output
    assert len(output) == MAX_SUMMARY_LENGTH and output.endswith("…")


def test_an_unknown_agent_is_not_found_and_named():
    with pytest.raises(AgentNotFound) as missing:
        check_invocation("oracle", ASKED)
    assert "oracle" in missing.value.message
    assert missing.value.details == {"agent_id": "oracle"}


@pytest.mark.parametrize("request_, field", [
    ({"input": "x" * (MAX_INPUT_LENGTH + 1), "parameters": {}}, "input"),
    ({"input": "", "parameters": {"k": "x" * MAX_PARAMETERS_BYTES}}, "parameters")])
def test_an_input_or_parameters_over_their_limit_are_refused(request_, field):
    with pytest.raises(Invalid) as refused:
        check_invocation("memory-search", request_)
    assert refused.value.details == {"field": field}


def test_the_application_records_an_invocation_on_its_clock_and_returns_its_position():
    app = AgentsApplication(clock=lambda: AT, new_id=lambda: ID)
    invocation, position = app.record_answer("u1", "ledger-auditor", ASKED, 9, "intact",
                                             cause=Cause(actor="user:u1"))
    assert (invocation.id, position) == (ID, 1)
    stored = app.repository.get(ID)
    assert (stored.agent_id, stored.duration_ms, stored.outcome) == ("ledger-auditor", 9,
                                                                      "ok")


def test_the_file_analyst_summarises_a_table_by_its_columns():
    text, data = file_analyst.answer(CSV, "Summary")
    assert text == "A table of 2 rows and 2 columns: city (string), population (integer)"
    assert data == CSV


@pytest.mark.parametrize("question", ["population", "POPULATION",
                                      "what is the mean population?"])
def test_the_file_analyst_answers_a_column_s_figures(question):
    text, data = file_analyst.answer(CSV, question)
    assert data["name"] == "population"
    assert text == ("population (integer): count 2, nulls 0, min 320000, max 522000, "
                    "mean 421000.0, distinct 2")


def test_a_question_the_analysis_cannot_answer_names_what_can_be_asked():
    with pytest.raises(Invalid) as refused:
        file_analyst.answer(CSV, "altitude")
    assert "city, population" in refused.value.message


@pytest.mark.parametrize("analysis, summary", [
    ({"kind": "pdf", "pages": 3, "text_characters": 1200}, "A PDF of 3 pages, 1200 "
     "characters of text"),
    ({"kind": "image", "format": "PNG", "width": 640, "height": 480},
     "A PNG image of 640×480 pixels"),
    ({"kind": "text", "lines": 2, "words": 5, "characters": 30},
     "A text of 2 lines, 5 words, 30 characters"),
    ({"kind": "json", "type": "object", "keys": ["a", "b"], "depth": 2},
     "A JSON object with keys a, b, 2 levels deep")])
def test_the_file_analyst_summarises_each_kind_of_file(analysis, summary):
    assert file_analyst.answer(analysis, "summary")[0] == summary


def test_a_figure_of_the_analysis_is_answered_by_its_name():
    assert file_analyst.answer({"kind": "pdf", "pages": 3}, "pages") == ("pages: 3",
                                                                         {"pages": 3})
