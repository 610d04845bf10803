"""Analytics: events a client tracks (a click, a page view) and the usage API processes
count (requests and searches per face), each recorded once, never changed."""

import json
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from arqium.domain.shared import ArqiumAggregate, Invalid

MAX_NAME_LENGTH = 100
MAX_PROPERTIES_BYTES = 32 * 1024
MAX_SESSION_ID_LENGTH = 255


class TrackedEvent(ArqiumAggregate):
    """One client-tracked event: who tracked it, what happened and when."""

    @event("Tracked")
    def __init__(self, owner_id: str, name: str, properties: dict[str, Any],
                 occurred_at: datetime, session_id: str | None, at: datetime):
        self.owner_id = owner_id
        self.name = name
        self.properties = properties
        self.occurred_at = occurred_at
        self.session_id = session_id
        self.tracked_at = at


class AnalyticsOwner(ArqiumAggregate):
    """An owner's tracked events as a whole: forgetting it removes their figures from
    every read model (the events stay in the history)."""

    @staticmethod
    def create_id(owner_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"arqium:analytics-owner:{owner_id}")

    @event("Forgotten")
    def __init__(self, owner_id: str, at: datetime):
        self.owner_id = owner_id


class Usage(ArqiumAggregate):
    """What one API process answered one owner within one hour, since its last flush:
    `counts` is {face: {"requests": n, "searches": n}}."""

    @event("Recorded")
    def __init__(self, owner_id: str, hour: datetime, counts: dict[str, dict[str, int]],
                 at: datetime):
        self.owner_id = owner_id


def check_name(name: str) -> None:
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise Invalid(f"name must be 1 to {MAX_NAME_LENGTH} characters, not all blank",
                      field="name")


def check_properties(properties: dict[str, Any]) -> None:
    """At most MAX_PROPERTIES_BYTES once serialized as compact JSON."""
    size = len(json.dumps(properties, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_PROPERTIES_BYTES:
        raise Invalid(f"properties must be at most {MAX_PROPERTIES_BYTES} bytes as JSON "
                      f"(these are {size})", field="properties")


def check_session_id(session_id: str | None) -> None:
    if session_id is not None and not 1 <= len(session_id) <= MAX_SESSION_ID_LENGTH:
        raise Invalid(f"session_id must be 1 to {MAX_SESSION_ID_LENGTH} characters",
                      field="session_id")
