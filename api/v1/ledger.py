"""The ledger (ARQIUM face): create objects and transact on them, list them and their
transactions; for auditors every event with its hash, objects as they were, verification
of every chain, NDJSON export. Owners read their own objects; auditors and admins the
whole ledger (its history, states and transactions; the objects list is the caller's)."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from arqium.api.common.caller import Caller, CurrentCaller, role_of_keys
from arqium.api.common.deps import LedgerApp, LedgerObjects
from arqium.api.common.documents import enveloped
from arqium.api.common.envelope import Page, PageDep, envelope, whole_list_page
from arqium.api.common.exact_json import body_schema, exact_body, exact_response
from arqium.api.common.ledger import (
    CreateLedgerObject,
    TransactLedgerObject,
    object_view,
    reader,
    transaction_view,
)
from arqium.api.common.validation import MAX_INT64, UtcTime
from arqium.api.v1.documents import (
    LedgerHistory,
    LedgerObjectList,
    LedgerObjectView,
    LedgerTransactionList,
    LedgerTransactionView,
    LedgerVerification,
)
from arqium.domain.ledger.chain import verify
from arqium.domain.ledger.digest import sealed
from arqium.domain.ledger.domainmodel import LedgerObjectNotFound
from arqium.domain.shared import Forbidden, Invalid
from arqium.infra.ledger_audit import export_lines, recorded_between
from arqium.projections.ledger_objects import LedgerObjectsView, state_from

router = APIRouter(prefix="/api/v1/ledger", tags=["ARQIUM: ledger"])


def whole_ledger_reader(caller: CurrentCaller) -> Caller:
    """Verification and export cover everyone's objects: auditors and admins only."""
    if reader(caller.principal) is not None:
        raise Forbidden("verifying or exporting the ledger needs the auditor or admin role; "
                        "an administrator grants it with `arqium users grant-role --email "
                        "<e-mail> --role auditor`" + role_of_keys(caller.principal))
    return caller


Auditor = Annotated[Caller, Depends(whole_ledger_reader)]


def history_of(objects: LedgerObjectsView, caller: Caller, object_id: UUID,
               version: int | None = None, as_of: datetime | None = None) -> list[dict]:
    """The object's events the caller may read (404 when none)."""
    if objects.get(reader(caller.principal), object_id) is None:
        raise LedgerObjectNotFound("no such ledger object")
    return objects.history(reader(caller.principal), object_id, version, as_of)


@router.post("/objects", status_code=201, summary="Create a ledger object",
             openapi_extra=body_schema(CreateLedgerObject),
             responses=enveloped(201, LedgerObjectView))
def create_object(body: Annotated[CreateLedgerObject, Depends(exact_body(CreateLedgerObject))],
                  caller: CurrentCaller, ledger: LedgerApp):
    """Version 1 of a new object of yours; numbers in `data` are kept exactly as sent."""
    created, position = ledger.create_object(caller.user_id, body.type_name, body.data,
                                             cause=caller.cause)
    return exact_response(envelope(object_view(created), 201), status=201,
                          position=(ledger.name, position))


@router.get("/objects", summary="Your ledger objects, oldest first",
            responses=enveloped(200, LedgerObjectList))
def list_objects(caller: CurrentCaller, objects: LedgerObjects, page: PageDep):
    """The objects you own (auditors too: the whole ledger is in /export), in pages."""
    rows, total = objects.owned_page(caller.user_id, page.limit, page.offset)
    return exact_response(envelope({"items": rows}, pagination=page.meta(total)))


@router.post("/objects/{object_id}/transactions", status_code=201,
             summary="Record a transaction on one of your objects",
             openapi_extra=body_schema(TransactLedgerObject),
             responses=enveloped(201, LedgerTransactionView))
def transact(object_id: UUID, body: Annotated[
        TransactLedgerObject, Depends(exact_body(TransactLedgerObject))],
             caller: CurrentCaller, ledger: LedgerApp):
    """`data` is merged into the object's data (JSON merge patch: null removes a key);
    with `expected_version`, a concurrent change is a 409."""
    transacted, transaction_id, position = ledger.transact(
        caller.user_id, object_id, body.action, body.data, body.metadata,
        body.expected_version, cause=caller.cause)
    shown = transaction_view(transacted, transaction_id, body, caller.cause.actor)
    return exact_response(envelope(shown, 201), status=201, position=(ledger.name, position))


@router.get("/objects/{object_id}/transactions", summary="An object's transactions, oldest first",
            responses=enveloped(200, LedgerTransactionList))
def list_transactions(object_id: UUID, caller: CurrentCaller, objects: LedgerObjects,
                      page: PageDep):
    """Every transaction after the object's creation, in pages (its whole history,
    creation and hashes included, is /history)."""
    listed = objects.transactions_page(reader(caller.principal), object_id, page.limit,
                                       page.offset)
    if listed is None:
        raise LedgerObjectNotFound("no such ledger object")
    rows, total = listed
    return exact_response(envelope({"items": rows}, pagination=page.meta(total)))


@router.get("/objects/{object_id}/history", summary="Every event of an object, hashed",
            responses=enveloped(200, LedgerHistory))
def history(object_id: UUID, caller: CurrentCaller, objects: LedgerObjects,
            page: Annotated[Page, Depends(whole_list_page(default=100))]):
    """In order: version, position, type, action, data, metadata, actor, recorded_at,
    hash, prev_hash; 100 events a page unless per_page says otherwise."""
    events = history_of(objects, caller, object_id)
    return exact_response(envelope({"items": page.of(events)},
                                   pagination=page.meta(len(events))))


@router.get("/objects/{object_id}", summary="An object now, or as it was",
            responses=enveloped(200, LedgerObjectView))
def get_object(object_id: UUID, caller: CurrentCaller, objects: LedgerObjects,
               as_of: UtcTime | None = None,
               version: int | None = Query(default=None, ge=1, le=MAX_INT64)):
    """With `as_of` (ISO 8601) or `version`, the object exactly as it was then, rebuilt
    from its events; 404 if it did not exist yet."""
    if as_of is not None and version is not None:
        raise Invalid("give as_of or version, not both", field="as_of")
    events = history_of(objects, caller, object_id, version, as_of)
    if not events:
        raise LedgerObjectNotFound("the object did not exist at that time")
    if version is not None and events[-1]["version"] != version:
        raise Invalid(f"the object has no version {version} (latest: "
                      f"{events[-1]['version']})", field="version")
    last = events[-1]
    return exact_response(envelope({
        "id": str(object_id), "type_name": last["type_name"], "data": state_from(events),
        "version": last["version"], "updated_at": last["recorded_at"],
        "created_at": events[0]["recorded_at"], "hash": last["hash"]}))


@router.get("/verify", summary="Recompute every hash of the ledger from the event store",
            responses=enveloped(200, LedgerVerification))
def verify_ledger(caller: Auditor, ledger: LedgerApp):
    """Every object's chain and every sealed digest: `{ok, checked_events, checked_seals,
    digest}`, or `{ok: false, checked_events, first_failure: {object_id, version,
    reason}}` (object and version are null when a sealed digest is what fails)."""
    return exact_response(envelope(verify(ledger.entries(), sealed(ledger))))


@router.get("/export", summary="The ledger's events with their hashes, as NDJSON",
            responses={200: {"content": {"application/x-ndjson": {
                "schema": {"type": "string"}}}}})
def export(caller: Auditor, ledger: LedgerApp, since: Annotated[
        UtcTime | None, Query(alias="from")] = None, until: Annotated[
        UtcTime | None, Query(alias="to")] = None):
    """One event per line, in position order, between `from` and `to` (recorded_at);
    `arqium ledger verify --file` checks a whole export offline."""
    return StreamingResponse(
        export_lines(recorded_between(ledger.entries(), since, until)),
        media_type="application/x-ndjson")
