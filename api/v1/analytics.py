"""ARQIUM analytics: client-tracked events, the dashboard and the caller's usage. Every
figure comes from the activity read models (projections/activity.py), counted per hour."""

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import AnalyticsApp, Now, Waits, activity_figures
from arqium.api.common.documents import enveloped
from arqium.api.common.envelope import ok
from arqium.api.common.shapes import iso
from arqium.api.common.validation import AwareUtcTime, UtcTime
from arqium.api.ratelimit import recorded_verdict
from arqium.api.v1.documents import Dashboard, TrackedEventView, Usage
from arqium.domain.analytics.domainmodel import (
    MAX_NAME_LENGTH,
    MAX_SESSION_ID_LENGTH,
    TrackedEvent,
)
from arqium.domain.shared import Invalid
from arqium.projections.activity_figures import (
    EVENTS,
    PLATFORM,
    PLATFORM_FIGURES,
    USAGE,
    ActivityFigures,
    interval_starts,
    truncated,
    usage_name,
)
from arqium.projections.memory_items import MemoryItemsProjection

router = APIRouter(prefix="/api/v1/analytics", tags=["ARQIUM: analytics"])

Interval = Literal["hour", "day"]
DEFAULT_SPAN = {"hour": timedelta(hours=24), "day": timedelta(days=30)}
MOST_INTERVALS = {"hour": 31 * 24, "day": 366}
LAYERS = ("context", "temporary", "permanent")
EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


class TrackEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    properties: dict[str, Any] | None = None
    occurred_at: AwareUtcTime | None = Field(
        default=None, strict=False)
    session_id: str | None = Field(default=None, min_length=1,
                                   max_length=MAX_SESSION_ID_LENGTH)


def tracked_view(tracked: TrackedEvent) -> dict:
    return {"id": str(tracked.id), "name": tracked.name, "properties": tracked.properties,
            "occurred_at": iso(tracked.occurred_at), "session_id": tracked.session_id,
            "created_at": iso(tracked.tracked_at)}


@router.post("/event", status_code=201, summary="Track an event of your application",
             description="`name` 1 to 100 characters, `properties` at most 32 KB as JSON, "
                         "`occurred_at` (with a time zone) defaults to now.",
             responses=enveloped(201, TrackedEventView))
def track(body: TrackEvent, caller: CurrentCaller, analytics: AnalyticsApp):
    tracked, position = analytics.track(caller.user_id, body.name, body.properties,
                                        body.occurred_at, body.session_id,
                                        cause=caller.cause)
    return ok(tracked_view(tracked), status=201, position=(analytics.name, position))


@router.get("/dashboard",
            summary="Tracked events by name, active users and the platform's figures, "
                    "per hour or day",
            description="Yours; an admin's covers every user. Figures are counted per "
                        "whole hour (UTC): `from` is taken back to the start of its "
                        "interval. Defaults: `interval=day`, `to` now, `from` 30 days "
                        "(24 hours for `hour`) before `to`; at most 744 hours or 366 "
                        "days.",
            responses=enveloped(200, Dashboard))
def dashboard(caller: CurrentCaller, waits: Waits, now: Now,
              from_: UtcTime | None = Query(default=None, alias="from"),
              to: UtcTime | None = None, interval: Interval = "day"):
    start, end = time_range(from_, to, now, DEFAULT_SPAN[interval])
    starts = interval_starts(start, end, interval)
    if len(starts) > MOST_INTERVALS[interval]:
        wider = " or ask for interval=day" if interval == "hour" else ""
        raise Invalid(f"at most {MOST_INTERVALS[interval]} {interval}s from `from` to "
                      f"`to`: narrow the range{wider}", field="from")
    owner = None if caller.principal.is_admin else caller.user_id
    figures = activity_figures(waits)
    return ok({"scope": "all" if owner is None else "own", "interval": interval,
               "from": iso(starts[0]), "to": iso(end),
               "intervals": intervals(figures, owner, starts, end, interval),
               "totals": totals(figures, owner, starts[0], end)})


@router.get("/usage", summary="Your usage: requests by face, memories, storage, ledger, "
                              "chat, rate limit",
            description="Memories by layer and their storage bytes as they are now; "
                        "requests by face (each API process stores its counts every "
                        "ARQIUM_USAGE_FLUSH_SECONDS), ledger, chat and tracked-event "
                        "figures within [from, to) "
                        "(default: the last 30 days), counted per whole hour; the rate "
                        "limit this request was counted against and what is left of it.",
            responses=enveloped(200, Usage))
def usage(request: Request, caller: CurrentCaller, waits: Waits, now: Now,
          from_: UtcTime | None = Query(default=None, alias="from"),
          to: UtcTime | None = None):
    start, end = time_range(from_, to, now, DEFAULT_SPAN["day"])
    start = truncated(start, "hour")
    counted, _ = activity_figures(waits).totals(caller.user_id, start, end)
    platform = {name: counted[PLATFORM].get(name, 0) for name in PLATFORM_FIGURES}
    memory_items = waits.at_head(MemoryItemsProjection)
    return ok({"from": iso(start), "to": iso(end),
               "memories": memory_usage(memory_items.footprint(caller.user_id, now)),
               "ledger": {"objects": platform["ledger_objects"],
                          "transactions": platform["ledger_transactions"]},
               "chat": {"sessions": platform["chat_sessions"],
                        "messages": platform["chat_messages"],
                        "tokens": platform["chat_tokens"]},
               "events": {"tracked": sum(counted[EVENTS].values())},
               "requests_by_face": by_face(counted[USAGE], "requests"),
               "rate_limit": rate_limit_budget(request)})


def time_range(start: datetime | None, end: datetime | None, now: datetime,
               span: timedelta) -> tuple[datetime, datetime]:
    """[start, end) (in UTC: UtcTime); `from` must come first. By default `span`
    before the end, or from the first moment there is."""
    end = end or now
    start = start or (end - span if end - EARLIEST > span else EARLIEST)
    if start >= end:
        raise Invalid("from must be before to", field="from")
    return start, end


def intervals(figures: ActivityFigures, owner: str | None, starts: list[datetime],
              end: datetime, interval: str) -> list[dict]:
    counts, active = figures.per_interval(owner, starts[0], end, interval)
    by_start = {start: {"start": iso(start), EVENTS: {},
                        PLATFORM: dict.fromkeys(PLATFORM_FIGURES, 0), "active_users": 0}
                for start in starts}
    for row in counts:
        figures = by_start[row["start"]]
        if row["source"] == USAGE:  # searches summed over faces; requests not shown here
            if usage_name(row["name"])[0] == "searches":
                figures[PLATFORM]["searches"] += row["n"]
        else:
            figures[row["source"]][row["name"]] = row["n"]
    for row in active:
        by_start[row["start"]]["active_users"] = row["users"]
    return list(by_start.values())


def totals(figures: ActivityFigures, owner: str | None, start: datetime, end: datetime
           ) -> dict:
    counted, active_users = figures.totals(owner, start, end)
    platform = {name: counted[PLATFORM].get(name, 0) for name in PLATFORM_FIGURES}
    platform["searches"] = sum(by_face(counted[USAGE], "searches").values())
    return {EVENTS: counted[EVENTS], PLATFORM: platform, "active_users": active_users}


def by_face(usage: dict[str, int], kind: str) -> dict[str, int]:
    """{face: n} of one kind (requests, searches) from the usage counts' names
    (`<kind>:<face>`)."""
    return {usage_name(name)[1]: n for name, n in usage.items()
            if usage_name(name)[0] == kind}


def memory_usage(footprint: list[dict]) -> dict:
    by_layer = {layer: {"count": 0, "bytes": 0} for layer in LAYERS}
    for row in footprint:
        by_layer[row["layer"]] = {"count": row["n"], "bytes": row["bytes"]}
    return {"by_layer": by_layer, "total": sum(v["count"] for v in by_layer.values()),
            "storage_bytes": sum(v["bytes"] for v in by_layer.values())}


def rate_limit_budget(request: Request) -> dict | None:
    verdict = recorded_verdict(request)
    if verdict is None:
        return None
    return {"limit": verdict.window, "remaining": verdict.remaining,
            "reset": verdict.reset}
