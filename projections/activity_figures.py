"""Reading every activity read model at once: the activity feed, per-interval figures
and totals (the tables are described in projections/activity.py)."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from psycopg.sql import SQL, Composed, Identifier, Literal

from arqium.projections.activity import (
    ActivityView,
    TrackedEventsProjection,
    UsageProjection,
)

EVENTS, PLATFORM, USAGE = "events", "platform", "usage"  # where a count comes from
# The figures of the platform itself, always answered (zero when nothing happened).
PLATFORM_FIGURES = ("registrations", "logins", "memories_stored", "memories_promoted",
                    "memories_deleted", "searches", "ledger_objects",
                    "ledger_transactions", "chat_sessions", "chat_messages", "chat_tokens")

OWNER = "(%(owner)s::text IS NULL OR owner_id = %(owner)s)"
IN_RANGE = "bucket >= %(from)s AND bucket < %(to)s"
SELECT_COUNTS = """
SELECT date_trunc(%(interval)s, bucket, 'UTC') AS start, source, name, sum(n)::bigint AS n
FROM ({counts}) AS counts WHERE """ + OWNER + " AND " + IN_RANGE + """
GROUP BY 1, 2, 3"""
# Active: did something the platform stored (requests and searches alone do not).
NOT_USAGE = f"source <> '{USAGE}'"
SELECT_ACTIVE = """
SELECT date_trunc(%(interval)s, bucket, 'UTC') AS start, count(DISTINCT owner_id) AS users
FROM ({counts}) AS counts WHERE """ + OWNER + " AND " + IN_RANGE + " AND " + NOT_USAGE + """
GROUP BY 1"""
SELECT_ACTIVE_TOTAL = """
SELECT count(DISTINCT owner_id) AS users
FROM ({counts}) AS counts WHERE """ + OWNER + " AND " + IN_RANGE + " AND " + NOT_USAGE
SELECT_TOTALS = """
SELECT source, name, sum(n)::bigint AS n
FROM ({counts}) AS counts WHERE """ + OWNER + " AND " + IN_RANGE + " GROUP BY 1, 2"

FEED_FILTER = """
(%(user_id)s::text IS NULL OR user_id = %(user_id)s)
AND (%(type)s::text IS NULL OR type = %(type)s)"""
SELECT_FEED = """
SELECT id, type, user_id, description, metadata, created_at
FROM ({logs}) AS logs WHERE """ + FEED_FILTER + """
ORDER BY created_at DESC, position DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s"""
COUNT_FEED = "SELECT count(*) AS n FROM ({logs}) AS logs WHERE " + FEED_FILTER

SOURCES = {TrackedEventsProjection.name: EVENTS, UsageProjection.name: USAGE}


def usage_name(name: str) -> tuple[str, str]:
    """(kind, face) of a usage count's name: `requests:cerebro` → (requests, cerebro)."""
    kind, _, face = name.partition(":")
    return kind, face
STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def truncated(moment: datetime, interval: str) -> datetime:
    """The start (UTC) of the hour or day `moment` falls in."""
    moment = moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if interval == "day" else moment


def interval_starts(start: datetime, end: datetime, interval: str) -> list[datetime]:
    """Every interval from the one `start` falls in up to (not including) `end`."""
    starts, moment = [], truncated(start, interval)
    while moment < end:
        starts.append(moment)
        if end - moment <= STEPS[interval]:
            break  # the last: the next start would be past `end` (and may be past 9999)
        moment += STEPS[interval]
    return starts


@dataclass(frozen=True)
class ActivityFigures:
    """Queries over the activity read models, all on the first one's connections."""

    views: tuple[ActivityView, ...]

    def per_interval(self, owner: str | None, start: datetime, end: datetime,
                     interval: str) -> tuple[list[dict], list[dict]]:
        """Counts by (start, source, name) and active users by start, for the owner
        (None: everyone's), within [start, end)."""
        params = {"owner": owner, "from": start, "to": end, "interval": interval}
        return (self._query(SELECT_COUNTS, params), self._query(SELECT_ACTIVE, params))

    def totals(self, owner: str | None, start: datetime, end: datetime
               ) -> tuple[dict[str, dict[str, int]], int]:
        """{source: {name: n}} (sources: events, platform, usage) and the number of
        active users within [start, end)."""
        params = {"owner": owner, "from": start, "to": end}
        totals: dict[str, dict[str, int]] = {EVENTS: {}, PLATFORM: {}, USAGE: {}}
        for row in self._query(SELECT_TOTALS, params):
            totals[row["source"]][row["name"]] = row["n"]
        return totals, self._query(SELECT_ACTIVE_TOTAL, params)[0]["users"]

    def feed(self, user_id: str | None, type: str | None, limit: int, offset: int
             ) -> tuple[list[dict], int]:
        """Activity newest first (a user's, or everyone's for None), and how many."""
        params = {"user_id": user_id, "type": type, "limit": limit, "offset": offset}
        return (self._query(SELECT_FEED, params),
                self._query(COUNT_FEED, params)[0]["n"])

    def _query(self, template: str, params: dict) -> list[dict]:
        statement = SQL(template).format(counts=self._counts(), logs=self._logs())
        with self.views[0].datastore.get_connection() as conn:
            return conn.execute(statement, params).fetchall()

    def _counts(self) -> Composed:
        """Every counts table, each row labelled events (client-tracked), usage
        (requests and searches by face) or platform."""
        return SQL(" UNION ALL ").join(
            SQL("SELECT owner_id, bucket, name, n, {source} AS source FROM {table}").format(
                source=Literal(SOURCES.get(view.name, PLATFORM)),
                table=Identifier(view.datastore.schema, view.counts))
            for view in self.views)

    def _logs(self) -> Composed:
        return SQL(" UNION ALL ").join(
            SQL("SELECT id, type, user_id, description, metadata, created_at, position "
                "FROM {table}").format(table=Identifier(view.datastore.schema, view.name))
            for view in self.views)
