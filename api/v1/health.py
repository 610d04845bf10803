"""ARQIUM health: a check per dependency and per worker's lag."""

from fastapi import APIRouter

from api.deps import SystemDep
from api.health import health_report
from api.v1.envelope import ok

router = APIRouter(prefix="/api/v1", tags=["ARQIUM: health"])


@router.get("/health", summary="Health of the API and every dependency")
def health(system: SystemDep):
    return ok(health_report(system))
