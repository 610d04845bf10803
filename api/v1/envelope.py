"""The ARQIUM success envelope (seed 000)."""

from typing import Any

from fastapi.responses import JSONResponse

from api.deps import POSITION_HEADER, position_token
from api.faces.shapes import meta


def ok(data: Any, status: int = 200, position: tuple[str, int] | None = None) -> JSONResponse:
    body = {"status": "success", "code": status, "data": data, "error": None, "meta": meta()}
    headers = {POSITION_HEADER: position_token(*position)} if position else None
    return JSONResponse(body, status_code=status, headers=headers)
