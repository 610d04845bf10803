"""Requests and searches an API process answered, counted in memory per owner, hour and
face, and stored as one analytics event per owner and hour at each flush (so the figures
are event-sourced, never one write per request)."""

import logging
import threading
from datetime import datetime, timezone

import psycopg
from eventsourcing.persistence import PersistenceError

from arqium.domain.analytics.application import AnalyticsApplication
from arqium.domain.shared import Cause, Clock

log = logging.getLogger(__name__)
USAGE_CAUSE = Cause(actor="system:usage")
REQUESTS, SEARCHES = "requests", "searches"

Tallies = dict[tuple[str, datetime], dict[str, dict[str, int]]]


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


class UsageCounter:
    """Thread-safe counts; `flush` stores them, or keeps them for the next flush when the
    database refuses (at most `max_hours` hours of them: older ones are dropped)."""

    def __init__(self, analytics: AnalyticsApplication, clock: Clock, max_hours: int):
        self.analytics = analytics
        self.clock = clock
        self.max_hours = max_hours
        self._counts: Tallies = {}
        self._counting = threading.Lock()
        self._flushing = threading.Lock()  # the periodic flush and the last one in turn

    def add(self, owner_id: str, face: str, requests: int = 1, searches: int = 0) -> None:
        key = (owner_id, hour_of(self.clock()))
        with self._counting:
            counts = self._counts.setdefault(key, {}).setdefault(
                face, {REQUESTS: 0, SEARCHES: 0})
            counts[REQUESTS] += requests
            counts[SEARCHES] += searches

    def flush(self) -> bool:
        """Store what was counted; False (the counts kept) if the database refused."""
        with self._flushing:
            with self._counting:
                taken, self._counts = self._counts, {}
            if not taken:
                return True
            tallies = [(owner, hour, counts) for (owner, hour), counts in taken.items()]
            try:
                self.analytics.record_usage(tallies, cause=USAGE_CAUSE)
            except (PersistenceError, psycopg.Error) as error:
                log.warning("usage counts not stored, kept for the next flush: %s", error)
                self._keep(taken)
                return False
            return True

    def _keep(self, taken: Tallies) -> None:
        with self._counting:
            for key, counts in self._counts.items():  # counted during the failed flush
                for face, added in counts.items():
                    kept = taken.setdefault(key, {}).setdefault(
                        face, {REQUESTS: 0, SEARCHES: 0})
                    kept[REQUESTS] += added[REQUESTS]
                    kept[SEARCHES] += added[SEARCHES]
            self._counts = within_hours(taken, self.max_hours)


def within_hours(tallies: Tallies, max_hours: int) -> Tallies:
    """The tallies of the newest `max_hours` hours; how many were dropped is logged."""
    hours = sorted({hour for _, hour in tallies}, reverse=True)[:max_hours]
    kept = {key: counts for key, counts in tallies.items() if key[1] in hours}
    if len(kept) < len(tallies):
        log.warning("usage counts of %d owner-hours dropped: only the newest %d hours "
                    "are kept while the database refuses them",
                    len(tallies) - len(kept), max_hours)
    return kept
