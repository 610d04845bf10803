"""CEREBRO's Ledger API (seed 001): objects, transactions, aggregates. Numbers in `data`
are kept exactly as sent."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from arqium.api.cerebro.documents import (
    LedgerAggregates,
    ObjectCreated,
    ObjectPage,
    OneObject,
    TransactionRecorded,
)
from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import LedgerApp, LedgerObjects
from arqium.api.common.documents import documented
from arqium.api.common.exact_json import (
    body_schema,
    exact_body,
    exact_response,
    within_limit,
)
from arqium.api.common.ledger import reader
from arqium.api.common.shapes import iso
from arqium.api.common.validation import MAX_INT64
from arqium.api.ratelimit import limited
from arqium.domain.ledger.domainmodel import (
    MAX_ACTION_LENGTH,
    MAX_TYPE_NAME_LENGTH,
    LedgerObjectNotFound,
)

router = APIRouter(prefix="/api/ledger", tags=["CEREBRO: ledger"],
                   dependencies=[Depends(limited("cerebro_general"))])


class CreateObject(BaseModel):
    model_config = ConfigDict(extra="ignore")
    typeName: str = Field(min_length=1, max_length=MAX_TYPE_NAME_LENGTH)
    data: dict[str, Any]

    _data_limit = field_validator("data")(lambda value: within_limit(value, "data"))


class CreateTransaction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    objectId: UUID
    action: str = Field(min_length=1, max_length=MAX_ACTION_LENGTH)
    data: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    expectedVersion: StrictInt | None = Field(default=None, ge=1, le=MAX_INT64)

    _data_limit = field_validator("data", "metadata")(
        lambda value, info: within_limit(value, info.field_name))


def object_body(row: dict) -> dict:
    return {"id": str(row["id"]), "typeName": row["type_name"], "data": row["data"],
            "createdAt": iso(row["created_at"]), "createdBy": row["created_by"],
            "version": row["version"], "updatedAt": iso(row["updated_at"])}


@router.post("/objects", summary="Create a ledger object (CEREBRO)",
             openapi_extra=body_schema(CreateObject),
             responses=documented(200, ObjectCreated))
def create_object(body: Annotated[CreateObject, Depends(exact_body(CreateObject))],
                  caller: CurrentCaller, ledger: LedgerApp):
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
    rows, total = objects.page(reader(caller.principal), typeName, limit, offset)
    return exact_response({"objects": [object_body(row) for row in rows], "total": total,
                           "limit": limit, "offset": offset})


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
               since: Annotated[datetime | None, Query(alias="from")] = None,
               until: Annotated[datetime | None, Query(alias="to")] = None):
    """Objects created between `from` and `to`, by type and by current `data.status`
    (`none` when absent), and the transactions recorded in that window."""
    return exact_response({"aggregates": objects.aggregates(
        reader(caller.principal), typeName, since, until)})
