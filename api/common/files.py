"""What the faces share about files: storing an upload and finding the caller's file."""

from uuid import UUID

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from arqium.api.common.caller import Caller
from arqium.api.common.uploads import read_upload
from arqium.domain.files.application import FilesApplication
from arqium.domain.files.domainmodel import FileNotFound, StoredFile
from arqium.infra.blobs import BlobStore
from arqium.projections.files import FilesView

# The multipart body of an upload route, for the OpenAPI document (the route reads the
# body as it streams, so FastAPI cannot describe it).
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "session_id": {"type": "string", "maxLength": 255}}}}}}}


async def store_upload(request: Request, caller: Caller, files: FilesApplication,
                       blobs: BlobStore, max_bytes: int) -> tuple[StoredFile, int]:
    """The request's file in the blob store, recorded as the caller's (the blob of an
    upload refused on the way is never stored)."""
    upload = await read_upload(request, blobs, max_bytes)
    return await run_in_threadpool(
        files.record_upload, caller.user_id, upload.filename, upload.content_type,
        upload.size, upload.sha256, upload.session_id, cause=caller.cause)


def owned_file(view: FilesView, caller: Caller, file_id: UUID) -> dict:
    """The caller's file; not found for anyone else's."""
    row = view.owned(caller.user_id, file_id)
    if row is None:
        raise FileNotFound("no such file", file_id=str(file_id))
    return row
