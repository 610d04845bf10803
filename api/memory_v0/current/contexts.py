"""The current dialect's contexts: plain text (`PUT` a UTF-8 body, `GET` the latest as
text/plain). A text context is an event carrying a string, so the seed's paths show it
as a JSON string, and a context stored as JSON there is served here as its JSON text."""

import re
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse

from arqium.api.common.deps import MemoryApp
from arqium.api.common.documents import documented
from arqium.api.common.positions import with_position
from arqium.api.memory_v0.access import VaultsAtHead, check_uuid, memory_row
from arqium.api.memory_v0.current.auth import AccountDep
from arqium.api.memory_v0.current.bodies import context_body, context_text
from arqium.api.memory_v0.current.vaults import MEMORY
from arqium.api.memory_v0.documents import CurrentContext, current_errors
from arqium.api.memory_v0.vaults import CREATED, NO_CONTENT
from arqium.domain.memory.vaults import ContextNotFound
from arqium.domain.shared import Invalid

router = APIRouter(prefix="/v0", tags=["Memory Service v0 (current)"])
CONTEXTS = MEMORY + "/contexts"
MAX_CONTEXT_CHARACTERS = 65_536
TEXT_TYPES = {"", "text/plain", "text/plain; charset=utf-8"}
# Control characters (Unicode Cc) but tab, line feed and carriage return.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
TEXT_BODY = {"requestBody": {"required": True, "content": {"text/plain": {"schema": {
    "type": "string", "minLength": 1, "maxLength": MAX_CONTEXT_CHARACTERS}}}}}


async def text_context(request: Request) -> str:
    """The body as a context: UTF-8 text of 1 to 65,536 characters without control
    characters other than tab, line feed and carriage return."""
    media_type = ";".join(part.strip() for part in
                          request.headers.get("content-type", "").lower().split(";"))
    if media_type.replace(";", "; ") not in TEXT_TYPES:
        raise HTTPException(415, "a context is plain text: send it as text/plain "
                                 "(UTF-8)")
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("the context is not valid UTF-8", field="context") from None
    if len(text) > MAX_CONTEXT_CHARACTERS:
        raise HTTPException(413, f"a context holds at most {MAX_CONTEXT_CHARACTERS} "
                                 "characters")
    if not text:
        raise Invalid("the context is empty", field="context")
    if CONTROL.search(text):
        raise Invalid("the context holds control characters (only tab, line feed and "
                      "carriage return are allowed)", field="context")
    return text


ContextText = Annotated[str, Depends(text_context)]


@router.put(CONTEXTS, status_code=201, openapi_extra=TEXT_BODY,
            summary="Store a memory's new latest context, as plain text (v0, current)",
            responses={**documented(201, CurrentContext), **current_errors(413, 415)})
def put_context(vaultId: str, memoryId: str, context: ContextText, caller: AccountDep,
                vaults: VaultsAtHead, memory: MemoryApp):
    row = memory_row(vaults, caller, vaultId, memoryId)
    context_id, at, position = memory.put_memory_context(
        caller.owner_id, str(row["vault_id"]), str(row["id"]), context, cause=caller.cause)
    return with_position(context_body(caller, row["vault_id"], row["id"], context_id,
                                      context, at), memory.name, position, CREATED)


@router.get(CONTEXTS, summary="A memory's latest context, as plain text (v0, current)",
            response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def get_context(vaultId: str, memoryId: str, caller: AccountDep, vaults: VaultsAtHead):
    row = memory_row(vaults, caller, vaultId, memoryId)
    latest = vaults.latest_context(row["id"])
    if latest is None:
        raise ContextNotFound("this memory has no context", field="memoryId")
    return PlainTextResponse(context_text(latest["context"]),
                             media_type="text/plain; charset=utf-8")


@router.delete(CONTEXTS + "/{contextId}", status_code=204,
               summary="Delete one of a memory's contexts (v0, current)")
def delete_context(vaultId: str, memoryId: str, contextId: str, caller: AccountDep,
                   vaults: VaultsAtHead, memory: MemoryApp):
    row = memory_row(vaults, caller, vaultId, memoryId)
    memory.delete_memory_context(caller.owner_id, str(row["vault_id"]), str(row["id"]),
                                 check_uuid(contextId, "contextId"), cause=caller.cause)
    return Response(status_code=NO_CONTENT)
