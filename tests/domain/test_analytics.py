"""Tracked events: what a client may track, and what the event records."""

from datetime import datetime, timezone

import pytest

from arqium.domain.analytics.domainmodel import (
    MAX_PROPERTIES_BYTES,
    TrackedEvent,
    check_name,
    check_properties,
    check_session_id,
)
from arqium.domain.shared import Invalid

AT = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


def test_a_tracked_event_records_what_happened_and_who_acted(cause):
    tracked = TrackedEvent(owner_id="u1", name="clicked", properties={"button": "buy"},
                           occurred_at=AT, session_id=None, at=AT)
    event = tracked.collect_events()[0]
    assert (event.name, event.properties, event.occurred_at) == ("clicked",
                                                                 {"button": "buy"}, AT)
    assert (event.actor, event.correlation_id) == (cause.actor, cause.correlation_id)


@pytest.mark.parametrize("name", ["", "  ", "x" * 101])
def test_a_name_blank_or_over_100_characters_is_refused(name):
    with pytest.raises(Invalid) as refused:
        check_name(name)
    assert refused.value.details == {"field": "name"}


def test_a_name_of_100_characters_is_accepted():
    check_name("é" * 100)


def test_properties_are_measured_as_compact_utf8_json():
    check_properties({"a": "x" * (MAX_PROPERTIES_BYTES - len('{"a":""}'))})
    with pytest.raises(Invalid) as refused:
        check_properties({"a": "é" * (MAX_PROPERTIES_BYTES // 2)})
    assert refused.value.details == {"field": "properties"}


def test_a_session_id_may_be_left_out_but_not_empty():
    check_session_id(None)
    with pytest.raises(Invalid):
        check_session_id("")
