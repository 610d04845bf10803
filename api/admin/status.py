"""Admin API face (seed 003 §4): the system status, admin only."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from arqium.api.admin.documents import StatusResponse
from arqium.api.common.caller import CurrentCaller, require_admin
from arqium.api.common.documents import documented
from arqium.api.common.system_status import StatusReport

router = APIRouter(prefix="/api", tags=["Admin API"])


def status_report(request: Request) -> StatusReport:
    return request.app.state.status_report


Report = Annotated[StatusReport, Depends(status_report)]


@router.get("/status", summary="The system status, admin only (StatusResponse)",
            description="`initialization`: whether the read models hold every event "
                        "stored before this API process started (and every rebuilt one "
                        "is swapped in); `modules`: installed, active and failing "
                        "modules; `performance`: this API process's memory (MB), CPU "
                        "(% of one core) and mean response time (ms) over the last "
                        "minute. Computed at most once a second.",
            responses=documented(200, StatusResponse))
def status(caller: CurrentCaller, report: Report):
    require_admin(caller)
    return report.body()
