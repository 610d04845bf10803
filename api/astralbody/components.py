"""AstralBody saved components (seed 004): save, list, read, delete, combine, condense."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.astralbody.documents import (
    AstralCombinedComponent,
    AstralComponent,
    AstralComponents,
    AstralCondensedComponents,
)
from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import Components, ComponentsApp, Waits
from arqium.api.common.documents import documented
from arqium.api.common.positions import POSITION_HEADER, position_token, with_position
from arqium.api.common.shapes import iso
from arqium.api.common.validation import MAX_INT64
from arqium.domain.components.domainmodel import (
    MAX_SOURCES,
    MAX_TAG_LENGTH,
    MIN_SOURCES,
    STRATEGIES,
    TYPES,
    Component,
    ComponentNotFound,
)
from arqium.projections.components import ComponentsProjection

router = APIRouter(prefix="/components", tags=["AstralBody"])

# Rules the domain checks (each refusal saying which), stated in the document only, so
# that a client keeping to it is not refused
SOURCES = {"minItems": MIN_SOURCES, "uniqueItems": True}


class ComponentDraft(BaseModel):
    """The domain checks type, sizes and tags, so each refusal says which limit."""

    model_config = ConfigDict(extra="ignore", strict=True)
    title: str = Field(min_length=1)
    type: str = Field(description=f"one of {', '.join(TYPES)}",
                      json_schema_extra={"enum": list(TYPES)})
    data: Any = Field(default_factory=dict, description="any JSON, at most 1 MB")
    preview: str | None = Field(default=None, description=(
        "an HTML string or a data:image/... URI, at most 256 KB"))
    tags: list[str] = Field(default_factory=list, description="at most 20, each 1 to 50 "
                            "characters")


class Combination(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    component_ids: list[str] = Field(min_length=1, max_length=MAX_SOURCES, description=(
        "2 to 20 distinct ids of your components, in the order to combine them"),
        json_schema_extra=SOURCES)
    strategy: str = Field(description=f"one of {', '.join(STRATEGIES)}",
                          json_schema_extra={"enum": list(STRATEGIES)})


class Condensation(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    component_ids: list[str] = Field(min_length=1, max_length=MAX_SOURCES, description=(
        "2 to 20 distinct ids of your components"), json_schema_extra=SOURCES)
    target_count: int = Field(description="1 to one less than the ids named")


def listed(row: dict) -> dict:
    return {"id": str(row["id"]), "title": row["title"], "type": row["type"],
            "preview": row["preview"], "saved_at": iso(row["saved_at"]),
            "tags": list(row["tags"])}


def stored(component: Component) -> dict:
    """A component as the command left it (the read model may not hold it yet)."""
    return {"id": str(component.id), "title": component.title, "type": component.type,
            "preview": component.preview, "saved_at": iso(component.saved_at),
            "tags": component.tags, "data": component.data,
            "source_ids": [str(source) for source in component.sources]}


@router.get("", summary="Your saved components, newest first (AstralBody)",
            responses=documented(200, AstralComponents))
def list_components(caller: CurrentCaller, components: Components,
                    tag: str | None = Query(default=None, min_length=1,
                                            max_length=MAX_TAG_LENGTH),
                    limit: int = Query(default=50, ge=1, le=200),
                    offset: int = Query(default=0, ge=0, le=MAX_INT64)):
    rows, total = components.page(caller.user_id, tag, limit, offset)
    return {"components": [listed(row) for row in rows], "total": total}


@router.post("", status_code=201, summary="Save a component (AstralBody)",
             responses=documented(201, AstralComponent))
def save_component(body: ComponentDraft, caller: CurrentCaller, app: ComponentsApp):
    component, position = app.save_component(caller.user_id, body.model_dump(),
                                             cause=caller.cause)
    return with_position(stored(component), app.name, position, status=201)


@router.post("/combine", summary="Combine components into a new one (AstralBody)",
             responses=documented(200, AstralCombinedComponent))
def combine(body: Combination, caller: CurrentCaller, app: ComponentsApp):
    """merge: one grid whose children are the components' contents in order (a grid's
    own children spliced in); stack: one list holding them. The sources stay."""
    combined, position = app.combine(caller.user_id, body.component_ids, body.strategy,
                                     cause=caller.cause)
    return with_position({"combined_component": {
        "id": str(combined.id), "title": combined.title, "type": combined.type}},
        app.name, position)


@router.post("/condense", summary="Condense components into fewer (AstralBody)",
             responses=documented(200, AstralCondensedComponents))
def condense(body: Condensation, caller: CurrentCaller, app: ComponentsApp):
    """Merges them pair by pair, the same type first, then the most shared tags, then in
    the given order, until target_count remain; each merged one is saved."""
    results, position = app.condense(caller.user_id, body.component_ids,
                                     body.target_count, cause=caller.cause)
    return with_position({"components": [
        {**stored(component), "source_ids": [str(source) for source in sources]}
        for component, sources in results]}, app.name, position)


@router.get("/{component_id}", summary="One of your components (AstralBody)",
            responses=documented(200, AstralComponent))
def get_component(component_id: UUID, caller: CurrentCaller, components: Components):
    row = components.get(caller.user_id, component_id)
    if row is None:
        raise ComponentNotFound(f"no component {component_id}", id=str(component_id))
    return {**listed(row), "data": row["data"],
            "source_ids": [str(source) for source in row["sources"]]}


@router.delete("/{component_id}", status_code=204,
               summary="Delete one of your components (AstralBody)")
def delete_component(component_id: UUID, caller: CurrentCaller, app: ComponentsApp,
                     waits: Waits):
    """Answers once the component is gone from the list too (bounded wait), as
    DELETE /sessions/{id} does."""
    position = app.delete_component(caller.user_id, component_id, cause=caller.cause)
    waits.reached(ComponentsProjection, position)
    return Response(status_code=204, headers={
        POSITION_HEADER: position_token(app.name, position)})
