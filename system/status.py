"""Each worker's position in its application's log, and how far behind it is."""

from arqium.infra.locks import active_worker_ids, lock_id, worker_lock_name
from arqium.projections import PROJECTIONS
from arqium.system.bootstrap import APPLICATIONS, RELAY_NAME, System


def worker_positions(system: System) -> list[dict]:
    heads = {app.name: app.recorder.max_notification_id() or 0
             for app in system.applications()}
    with system.memory.recorder.datastore.transaction(commit=False) as curs:
        active = active_worker_ids(curs)
    rows = []
    for projection in PROJECTIONS:
        app_name = projection.application.name
        position = system.views[projection.name].position(app_name)
        rows.append(_row(projection.name, app_name, position, heads[app_name], active))
    for application in APPLICATIONS:
        position = system.relay_tracking.max_tracking_id(application.name) or 0
        rows.append(_row(RELAY_NAME, application.name, position, heads[application.name],
                         active))
    return rows


def _row(worker: str, application: str, position: int, head: int, active: set[int]) -> dict:
    running = lock_id(worker_lock_name(worker, application)) in active
    return {"worker": worker, "application": application, "running": running,
            "position": position, "head": head, "lag": max(head - position, 0)}
