"""AstralBody face (seed 004): bare bodies, errors {error{code,message,details,timestamp}}."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import SystemDep
from api.faces.shapes import now_iso
from api.health import VERSION, check_postgres

router = APIRouter(tags=["AstralBody"])


@router.get("/health", summary="Backend health (AstralBody)")
def health(system: SystemDep):
    healthy = check_postgres(system)["status"] == "up"
    return JSONResponse({"status": "healthy" if healthy else "unhealthy",
                         "version": VERSION, "timestamp": now_iso()},
                        status_code=200 if healthy else 503)
