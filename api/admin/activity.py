"""Admin API face (seed 003 §4): the activity log, in the Admin error shape."""

from fastapi import APIRouter, Query

from arqium.api.admin.documents import ActivityList
from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import Waits, activity_figures
from arqium.api.common.documents import documented
from arqium.api.common.shapes import activity_view
from arqium.domain.shared import Forbidden

router = APIRouter(prefix="/api", tags=["Admin API"])


@router.get("/activity", summary="Activity log, newest first (ActivityListResponse)",
            description="Yours; an admin's covers every user, or the one `user_id` "
                        "names. A user naming another user's id is refused (403).",
            responses=documented(200, ActivityList))
def activity(caller: CurrentCaller, waits: Waits,
             page: int = Query(default=1, ge=1, le=100_000),
             per_page: int = Query(default=20, ge=1, le=100),
             type: str | None = Query(default=None, min_length=1, max_length=100),
             user_id: str | None = Query(default=None, min_length=1, max_length=100)):
    if not caller.principal.is_admin:
        if user_id not in (None, caller.user_id):
            raise Forbidden("only admins see another user's activity", field="user_id")
        user_id = caller.user_id
    rows, total = activity_figures(waits).feed(user_id, type, per_page, (page - 1) * per_page)
    return {"activities": [activity_view(row) for row in rows], "total": total,
            "page": page, "per_page": per_page}
