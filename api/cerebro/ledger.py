"""CEREBRO's Ledger API (seed 001): objects, transactions, aggregates. Numbers in `data`
are kept exactly as sent."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from arqium.api.cerebro.documents import (
    LedgerAggregates,
    ObjectCreatedOrPage,
    ObjectPage,
    OneObject,
    TransactionRecorded,
)
from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import LedgerApp, LedgerObjects, Waits, caught_up
from arqium.api.common.documents import documented
from arqium.api.common.exact_json import (
    body_schema,
    exact_body,
    exact_body_of,
    exact_response,
    within_limit,
)
from arqium.api.common.ledger import reader
from arqium.api.common.shapes import iso
from arqium.api.common.validation import MAX_INT64, UtcTime, Version, WholeInt
from arqium.api.ratelimit import limited
from arqium.domain.ledger.domainmodel import (
    MAX_ACTION_LENGTH,
    MAX_TYPE_NAME_LENGTH,
    LedgerObjectNotFound,
)
from arqium.infra.security import Principal
from arqium.projections.ledger_objects import LedgerObjectsProjection, LedgerObjectsView

router = APIRouter(prefix="/api/ledger", tags=["CEREBRO: ledger"],
                   dependencies=[Depends(limited("cerebro_general"))])

MAX_QUERIED_IDS = 1000


class CreateObject(BaseModel):
    model_config = ConfigDict(extra="ignore")
    typeName: str = Field(min_length=1, max_length=MAX_TYPE_NAME_LENGTH)
    data: dict[str, Any]

    _data_limit = field_validator("data")(lambda value: within_limit(value, "data"))


class QueryObjects(BaseModel):
    """Seed 001's POST /api/ledger/objects "create or query": a body without `data`
    queries, as GET /api/ledger/objects does (and by `ids` too)."""

    model_config = ConfigDict(extra="ignore")
    typeName: str | None = Field(default=None, min_length=1, max_length=MAX_TYPE_NAME_LENGTH)
    limit: WholeInt = Field(default=50, ge=1, le=100)
    offset: WholeInt = Field(default=0, ge=0, le=MAX_INT64)
    ids: list[UUID] | None = Field(default=None, max_length=MAX_QUERIED_IDS)


def create_or_query(body: Any) -> type[CreateObject] | type[QueryObjects]:
    """A body with `data` creates an object; any other queries them."""
    return CreateObject if isinstance(body, dict) and "data" in body else QueryObjects


class CreateTransaction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    objectId: UUID
    action: str = Field(min_length=1, max_length=MAX_ACTION_LENGTH)
    data: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    expectedVersion: Version | None = None

    _data_limit = field_validator("data", "metadata")(
        lambda value, info: within_limit(value, info.field_name))


def object_body(row: dict) -> dict:
    return {"id": str(row["id"]), "typeName": row["type_name"], "data": row["data"],
            "createdAt": iso(row["created_at"]), "createdBy": row["created_by"],
            "version": row["version"], "updatedAt": iso(row["updated_at"])}


def objects_page(objects: LedgerObjectsView, principal: Principal, type_name: str | None,
                 limit: int, offset: int, ids: list[UUID] | None = None) -> Response:
    rows, total = objects.page(reader(principal), type_name, limit, offset, ids)
    return exact_response({"objects": [object_body(row) for row in rows], "total": total,
                           "limit": limit, "offset": offset})


@router.post("/objects", summary="Create a ledger object, or query them (CEREBRO)",
             openapi_extra=body_schema(CreateObject, QueryObjects),
             responses=documented(200, ObjectCreatedOrPage))
def create_or_query_objects(
        body: Annotated[CreateObject | QueryObjects, Depends(exact_body_of(create_or_query))],
        caller: CurrentCaller, ledger: LedgerApp, request: Request, waits: Waits):
    """With `data`: create an object (`{object}`). Without: the objects of `typeName`
    and/or `ids`, paged by `limit` and `offset`, as GET /objects answers them
    (`{objects, total, limit, offset}`)."""
    if isinstance(body, QueryObjects):
        # The read model only for a query: a create must not wait for it.
        objects = caught_up(LedgerObjectsProjection)(request, waits)
        return objects_page(objects, caller.principal, body.typeName, body.limit,
                            body.offset, body.ids)
    created, position = ledger.create_object(caller.user_id, body.typeName, body.data,
                                             cause=caller.cause)
    return exact_response({"object": {
        "id": str(created.id), "typeName": created.type_name, "data": created.data,
        "createdAt": iso(created.created_at), "createdBy": caller.user_id}},
        position=(ledger.name, position))


@router.get("/objects", summary="Ledger objects, oldest first (CEREBRO)",
            responses=documented(200, ObjectPage))
def list_objects(caller: CurrentCaller, objects: LedgerObjects,
                 typeName: str | None = None, limit: int = Query(50, ge=1, le=100),
                 offset: int = Query(0, ge=0, le=MAX_INT64)):
    return objects_page(objects, caller.principal, typeName, limit, offset)


@router.get("/objects/{object_id}", summary="One ledger object (CEREBRO)",
            responses=documented(200, OneObject))
def get_object(object_id: UUID, caller: CurrentCaller, objects: LedgerObjects):
    row = objects.get(reader(caller.principal), object_id)
    if row is None:
        raise LedgerObjectNotFound("no such ledger object")
    return exact_response({"object": object_body(row)})


@router.post("/transactions", summary="Record a transaction on an object (CEREBRO)",
             openapi_extra=body_schema(CreateTransaction),
             responses=documented(200, TransactionRecorded))
def create_transaction(
        body: Annotated[CreateTransaction, Depends(exact_body(CreateTransaction))],
        caller: CurrentCaller, ledger: LedgerApp):
    """`data` is merged into the object's data (JSON merge patch: null removes a key);
    `expectedVersion` makes a concurrent change a 409."""
    transacted, transaction_id, position = ledger.transact(
        caller.user_id, body.objectId, body.action, body.data, body.metadata,
        body.expectedVersion, cause=caller.cause)
    return exact_response({"transaction": {
        "id": str(transaction_id), "objectId": str(body.objectId), "action": body.action,
        "createdAt": iso(transacted.updated_at), "createdBy": caller.user_id}},
        position=(ledger.name, position))


@router.get("/aggregates", summary="Ledger statistics from the read model (CEREBRO)",
            responses=documented(200, LedgerAggregates))
def aggregates(caller: CurrentCaller, objects: LedgerObjects, typeName: str | None = None,
               since: Annotated[UtcTime | None, Query(alias="from")] = None,
               until: Annotated[UtcTime | None, Query(alias="to")] = None):
    """Objects created between `from` and `to`, by type and by current `data.status`
    (`none` when absent), and the transactions recorded in that window."""
    return exact_response({"aggregates": objects.aggregates(
        reader(caller.principal), typeName, since, until)})
