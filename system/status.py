"""Each worker's position in its application's log, how far behind it is, whether it is
failing (and on what) and which events an operator had it skip."""

from dataclasses import asdict

from arqium.infra.locks import active_worker_ids, lock_id, worker_lock_name
from arqium.infra.worker_failures import Failure, Skip
from arqium.projections import PROJECTIONS
from arqium.system.bootstrap import APPLICATIONS, RELAY_NAME, System


def worker_positions(system: System) -> list[dict]:
    """One row per projection and relay, then one per other worker that is failing."""
    heads = {app.name: app.recorder.max_notification_id() or 0
             for app in system.applications()}
    with system.memory.recorder.datastore.transaction(commit=False) as curs:
        active = active_worker_ids(curs)
    failures = system.worker_failures.failures()
    skips = system.worker_failures.skips()
    rows = []
    for projection in PROJECTIONS:
        app_name = projection.application.name
        position = system.views[projection.name].position(app_name)
        rows.append(_row(projection.name, app_name, position, heads[app_name], active))
    for application in APPLICATIONS:
        position = system.relay_tracking.max_tracking_id(application.name) or 0
        rows.append(_row(RELAY_NAME, application.name, position, heads[application.name],
                         active))
    listed = {(row["worker"], row["application"]) for row in rows}
    rows += [{"worker": worker, "application": app_name, "running": True,
              "position": None, "head": heads.get(app_name), "lag": None}
             for worker, app_name in failures if (worker, app_name) not in listed]
    return [_with_failure_and_skips(row, failures, skips) for row in rows]


def _row(worker: str, application: str, position: int, head: int, active: set[int]) -> dict:
    running = lock_id(worker_lock_name(worker, application)) in active
    return {"worker": worker, "application": application, "running": running,
            "position": position, "head": head, "lag": max(head - position, 0)}


def _with_failure_and_skips(row: dict, failures: dict[tuple[str, str], Failure],
                            skips: list[Skip]) -> dict:
    """`state`: failed (with `failure`: the event it is stuck on, the error, attempts
    and times), running or stopped; `skipped`: the events an operator had it skip."""
    key = (row["worker"], row["application"])
    failure = failures.get(key)
    state = "failed" if failure else "running" if row["running"] else "stopped"
    return {**row, "state": state,
            "failure": _plain(asdict(failure), "worker", "application") if failure else None,
            "skipped": [_plain(asdict(skip), "worker", "application") for skip in skips
                        if (skip.worker, skip.application) == key]}


def _plain(fields: dict, *leave_out: str) -> dict:
    """JSON-ready: times as ISO 8601 text, without the fields the row already has."""
    return {name: value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in fields.items() if name not in leave_out}
