"""The analytics context's service layer."""

from datetime import datetime
from typing import Any

from eventsourcing.application import Application

from arqium.domain.analytics.domainmodel import (
    AnalyticsOwner,
    TrackedEvent,
    Usage,
    check_name,
    check_properties,
    check_session_id,
)
from arqium.domain.shared import Clock, command, system_clock


class AnalyticsApplication(Application):
    name = "analytics"

    def __init__(self, env: Any = None, *, clock: Clock = system_clock):
        super().__init__(env)
        self.clock = clock

    @command
    def track(self, owner_id: str, name: str, properties: dict[str, Any] | None = None,
              occurred_at: datetime | None = None, session_id: str | None = None
              ) -> tuple[TrackedEvent, int]:
        """Record a client's event; when it happened defaults to now."""
        properties = properties or {}
        check_name(name)
        check_properties(properties)
        check_session_id(session_id)
        now = self.clock()
        tracked = TrackedEvent(owner_id=owner_id, name=name, properties=properties,
                               occurred_at=occurred_at or now, session_id=session_id,
                               at=now)
        recordings = self.save(tracked)
        return tracked, recordings[-1].notification.id

    @command
    def record_usage(self, tallies: list[tuple[str, datetime, dict[str, dict[str, int]]]]
                     ) -> int | None:
        """Store (owner, hour, counts) tallies, one event each, in one transaction."""
        now = self.clock()
        usages = [Usage(owner_id=owner_id, hour=hour, counts=counts, at=now)
                  for owner_id, hour, counts in tallies]
        return self.save(*usages)[-1].notification.id if usages else None

    @command
    def forget_owner(self, owner_id: str) -> int | None:
        """Remove the owner's figures from every read model; None if already done."""
        if AnalyticsOwner.create_id(owner_id) in self.repository:
            return None
        owner = AnalyticsOwner(owner_id=owner_id, at=self.clock())
        return self.save(owner)[-1].notification.id
