"""AstralBody files (seed 004): upload, download, and (paths of this server's) a file's
metadata and its deletion."""

from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from arqium.api.astralbody.documents import AstralFile, AstralUpload
from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import AppSettings, Blobs, Files, FilesApp, Waits
from arqium.api.common.documents import documented
from arqium.api.common.downloads import FILE_RESPONSES, file_response
from arqium.api.common.files import UPLOAD_BODY, owned_file, store_upload
from arqium.api.common.positions import POSITION_HEADER, position_token
from arqium.api.common.shapes import iso
from arqium.api.ratelimit import limited
from arqium.projections.files import FilesProjection

router = APIRouter(tags=["AstralBody"])
per_user = [Depends(limited("astralbody_user"))]


def astral_upload(row: dict) -> dict:
    return {"file_id": str(row["id"]), "filename": row["filename"], "size": row["size"],
            "uploaded_at": iso(row["uploaded_at"]),
            "analysis_status": row["analysis_status"]}


def astral_file(row: dict) -> dict:
    return {**astral_upload(row), "content_type": row["content_type"],
            "sha256": row["sha256"], "session_id": row["session_id"],
            "analysis": row["analysis"], "error": row["analysis_error"],
            "analysed_at": iso(row["analysed_at"]) if row["analysed_at"] else None}


@router.post("/upload", summary="Upload a file for analysis (AstralBody)",
             dependencies=[Depends(limited("astralbody_upload"))],
             responses=documented(200, AstralUpload), openapi_extra=UPLOAD_BODY)
async def upload(request: Request, caller: CurrentCaller, files: FilesApp, blobs: Blobs,
                 settings: AppSettings):
    """Multipart `file` (at most ARQIUM_MAX_UPLOAD_BYTES, 50 MB; PDF, PNG, JPEG, GIF,
    WebP, or UTF-8 text, Markdown, CSV or JSON, told from its bytes) and optional
    `session_id`."""
    stored, position = await store_upload(request, caller, files, blobs,
                                          settings.max_upload_bytes)
    return JSONResponse(astral_upload({
        "id": stored.id, "filename": stored.filename, "size": stored.size,
        "uploaded_at": stored.uploaded_at, "analysis_status": "pending"}),
        headers={POSITION_HEADER: position_token(files.name, position)})


@router.get("/download/{file_id}", summary="Download a file you uploaded (AstralBody)",
            dependencies=per_user, response_class=Response,
            responses=FILE_RESPONSES)
def download(file_id: UUID, request: Request, caller: CurrentCaller, files: Files,
             blobs: Blobs):
    return file_response(request, blobs, owned_file(files, caller, file_id))


@router.get("/files/{file_id}", summary="A file's metadata and its analysis",
            dependencies=per_user, responses=documented(200, AstralFile))
def file_metadata(file_id: UUID, caller: CurrentCaller, files: Files):
    """`analysis_status` goes `pending` → `processing` → `complete` (with `analysis`)
    or `failed` (with `error`), as the file_analysis worker records it."""
    return astral_file(owned_file(files, caller, file_id))


@router.delete("/files/{file_id}", status_code=204, summary="Delete a file you uploaded",
               dependencies=per_user)
def delete(file_id: UUID, caller: CurrentCaller, files: FilesApp, waits: Waits):
    """Answers once the file is gone from reads too (bounded wait); its bytes go once
    no file holds them (see the README, "Files")."""
    position = files.delete_file(caller.user_id, file_id, cause=caller.cause)
    waits.reached(FilesProjection, position)
    return Response(status_code=204, headers={
        POSITION_HEADER: position_token(files.name, position)})
