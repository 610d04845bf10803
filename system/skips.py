"""`arqium projections skip`: an operator steps a projection over an event it can never
apply. Recorded in the `projection_skips` table with who, when, why and the error it
failed with, in the transaction that moves the projection's tracking past the event."""

from datetime import UTC, datetime

from eventsourcing.persistence import IntegrityError, Tracking

from arqium.infra.worker_failures import Skip, WorkerFailures
from arqium.projections import projection_named
from arqium.system.bootstrap import System


class SkipRefused(Exception):
    """The skip asked for would not step over exactly the event the projection is
    stuck on."""


def skip_event(system: System, name: str, position: int, reason: str, actor: str,
               force: bool = False) -> Skip:
    """Move projection `name` past the event at `position` (which must be the next one it
    has to apply, unless `force`: then every event up to it is skipped)."""
    projection = projection_named(name)
    app_name = projection.application.name
    view = system.views[name]
    current = view.position(app_name)
    stuck_on = _next_position(system, app_name, current)
    _check(name, position, current, stuck_on, force)
    if force and _next_position(system, app_name, position - 1) != position:
        raise SkipRefused(f"there is no {app_name} event at position {position}")
    failure = system.worker_failures.failures().get((name, app_name))
    skip = Skip(name, app_name, position, reason, actor, failure.error if failure else None,
                datetime.now(UTC))
    try:
        with view.datastore.transaction(commit=True) as curs:
            view._insert_tracking(curs, Tracking(app_name, position))
            WorkerFailures.record_skip(curs, skip)
    except IntegrityError:  # the projection got there meanwhile
        raise SkipRefused(f"{name} moved on meanwhile (now at position "
                          f"{view.position(app_name)}); nothing was skipped") from None
    return skip


def _next_position(system: System, app_name: str, after: int) -> int | None:
    app = next(app for app in system.applications() if app.name == app_name)
    following = app.recorder.select_notifications(start=after, limit=1,
                                                  inclusive_of_start=False)
    return following[0].id if following else None


def _check(name: str, position: int, current: int, stuck_on: int | None,
           force: bool) -> None:
    if position <= current:
        raise SkipRefused(f"{name} is past position {position} already (at {current})")
    if stuck_on is None:
        raise SkipRefused(f"{name} has no event after position {current} to skip")
    if position != stuck_on and not force:
        raise SkipRefused(f"{name} is at position {current}: the event it has to apply "
                          f"next is at {stuck_on}, not {position}. Skip {stuck_on}, or pass "
                          f"--force to skip every event from {stuck_on} to {position}")
