"""The ARQIUM success envelope (seed 000)."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.responses import JSONResponse

from arqium.api.common.positions import POSITION_HEADER, position_token
from arqium.api.common.shapes import meta


@dataclass(frozen=True)
class Page:
    """ARQIUM list paging: ?page=1&per_page=20, answered in meta.pagination."""

    page: int
    per_page: int

    @property
    def limit(self) -> int:
        return self.per_page

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def meta(self, total: int) -> dict:
        return {"page": self.page, "per_page": self.per_page, "total": total}


def page_params(page: int = Query(default=1, ge=1, le=100_000),
                per_page: int = Query(default=20, ge=1, le=100)) -> Page:
    return Page(page, per_page)


PageDep = Annotated[Page, Depends(page_params)]


def ok(data: Any, status: int = 200, position: tuple[str, int] | None = None,
       pagination: dict | None = None) -> JSONResponse:
    headers = {POSITION_HEADER: position_token(*position)} if position else None
    return JSONResponse(envelope(data, status, pagination), status_code=status,
                        headers=headers)


def envelope(data: Any, status: int = 200, pagination: dict | None = None) -> dict:
    return {"status": "success", "code": status, "data": data, "error": None,
            "meta": meta() if pagination is None else {**meta(), "pagination": pagination}}
