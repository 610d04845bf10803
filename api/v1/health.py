"""ARQIUM health: a check per dependency and per worker's lag."""

from fastapi import APIRouter

from arqium.api.common.deps import SystemDep
from arqium.api.common.envelope import ok
from arqium.api.common.health import health_report

router = APIRouter(prefix="/api/v1", tags=["ARQIUM: health"])


@router.get("/health", summary="Health of the API and every dependency")
def health(system: SystemDep):
    return ok(health_report(system))
