"""Memory Service v0 face (seed 002): bare bodies, errors {error, message, code}."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import SystemDep
from api.faces.shapes import now_iso
from api.health import check_postgres

router = APIRouter(prefix="/v0", tags=["Memory Service v0"])


@router.get("/health", summary="Service health (v0)")
def health(system: SystemDep):
    healthy = check_postgres(system)["status"] == "up"
    return JSONResponse({"status": "healthy" if healthy else "unhealthy",
                         "timestamp": now_iso()}, status_code=200 if healthy else 503)
