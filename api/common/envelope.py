"""The ARQIUM success envelope (seed 000)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from arqium.api.common.json_response import FastJSONResponse
from arqium.api.common.positions import POSITION_HEADER, position_token
from arqium.api.common.shapes import meta
from arqium.domain.shared import Invalid

MAX_PAGE = 100_000
MAX_PER_PAGE = 100
# The `limit` query parameter the memory lists had before they paged.
LIMIT_ALIAS = ("Deprecated: the old name of per_page, kept for clients written before "
               "paging. Alone it answers page 1 of that size, as it always did; not "
               "together with per_page.")


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

    def of(self, items: list) -> list:
        """This page of a whole list already read."""
        return items[self.offset:self.offset + self.limit]


# The page dependencies are async: FastAPI runs a plain function in a worker thread, a
# hop that costs more than the function.
async def page_params(page: int = Query(default=1, ge=1, le=MAX_PAGE),
                      per_page: int = Query(default=20, ge=1, le=MAX_PER_PAGE)) -> Page:
    return Page(page, per_page)


PageDep = Annotated[Page, Depends(page_params)]


def page_or_limit(default: int) -> Callable[..., Page]:
    """Page parameters for a list that once took `limit` (its alias of per_page)."""
    async def params(page: int = Query(default=1, ge=1, le=MAX_PAGE),
                     per_page: int | None = Query(
                         default=None, ge=1, le=MAX_PER_PAGE,
                         description=f"Items per page (default {default})."),
                     limit: int | None = Query(default=None, ge=1, le=MAX_PER_PAGE,
                                               deprecated=True, description=LIMIT_ALIAS)
                     ) -> Page:
        if per_page is not None and limit is not None:
            raise Invalid("limit is the old name of per_page: give only one of them",
                          field="limit")
        return Page(page, per_page or limit or default)
    return params


def whole_list_page(default: int) -> Callable[..., Page]:
    """Page parameters for a list once answered whole, `default` items per page."""
    async def params(page: int = Query(default=1, ge=1, le=MAX_PAGE),
                     per_page: int = Query(default=default, ge=1, le=MAX_PER_PAGE)
                     ) -> Page:
        return Page(page, per_page)
    return params


def ok(data: Any, status: int = 200, position: tuple[str, int] | None = None,
       pagination: dict | None = None) -> FastJSONResponse:
    headers = {POSITION_HEADER: position_token(*position)} if position else None
    return FastJSONResponse(envelope(data, status, pagination), status_code=status,
                        headers=headers)


def envelope(data: Any, status: int = 200, pagination: dict | None = None) -> dict:
    return {"status": "success", "code": status, "data": data, "error": None,
            "meta": meta() if pagination is None else {**meta(), "pagination": pagination}}
