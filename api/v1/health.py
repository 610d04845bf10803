"""ARQIUM health: a check per dependency and per worker's lag."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from arqium.api.common.deps import SystemDep
from arqium.api.common.documents import enveloped
from arqium.api.common.envelope import ok
from arqium.api.common.health import health_report
from arqium.api.common.shapes import ARQIUM
from arqium.api.errors import RETRY_AFTER
from arqium.api.v1.documents import HealthReport

router = APIRouter(prefix="/api/v1", tags=["ARQIUM: health"])


@router.get("/health", summary="Health of the API and every dependency",
            description="200 `healthy`, or `degraded` when NATS or a worker is down; 503 "
                        "`unhealthy` without PostgreSQL, the error naming it and `data` "
                        "holding the report all the same.",
            responses=enveloped(200, HealthReport))
def health(system: SystemDep):
    report = health_report(system)
    if report["status"] != "unhealthy":
        return ok(report)
    body = ARQIUM.body(503, "unavailable",
                       f"postgres is down: {report['checks']['postgres']['error']}",
                       {"unhealthy": ["postgres"]})
    return JSONResponse({**body, "data": report}, status_code=503, headers=RETRY_AFTER)
