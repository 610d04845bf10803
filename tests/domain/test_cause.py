"""Who acted is explicit: every command takes its cause, and no event is recorded
without one."""

import contextvars
from datetime import datetime, timezone
from uuid import uuid4

import pytest

from arqium.domain.sessions.application import MessageDraft, SessionsApplication
from arqium.domain.sessions.domainmodel import ChatSession
from arqium.domain.shared import Cause, NoCause

WORKER = Cause(actor="worker:test", correlation_id="req-2", causation_id="memory:7")
AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_a_command_called_without_its_cause_is_refused():
    with pytest.raises(TypeError, match="cause"):
        SessionsApplication().create_session("u1")


def test_a_cause_that_is_not_a_cause_is_refused():
    with pytest.raises(TypeError, match="Cause"):
        SessionsApplication().create_session("u1", cause="user:u1")


def test_every_event_of_a_command_records_the_cause_it_was_given():
    app = SessionsApplication()
    session, _ = app.create_session("u1", cause=WORKER)
    app.append_message("u1", session.id, MessageDraft(role="user", content="hi"),
                       cause=WORKER)
    events = list(app.events.get(session.id))
    assert len(events) == 2
    assert {(e.actor, e.correlation_id, e.causation_id) for e in events} == {
        ("worker:test", "req-2", "memory:7")}


def test_an_event_outside_any_command_is_refused_not_recorded_as_the_system():
    outside = contextvars.Context()  # as a caller that never went through a command
    with pytest.raises(NoCause):
        outside.run(ChatSession, id=uuid4(), owner_id="u1", title="t", metadata={}, at=AT)


def test_the_cause_ends_with_its_command():
    app = SessionsApplication()
    outside = contextvars.Context()
    session, _ = outside.run(app.create_session, "u1", cause=WORKER)
    with pytest.raises(NoCause):
        outside.run(session.archive, AT)

