"""A stored file's bytes as a response: its type, its name as an attachment, its
SHA-256 as a strong ETag (304 for a client that has it), and one byte range on request
(206) whether the blob is on this disk or in a bucket."""

import re
from urllib.parse import quote

from fastapi import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from arqium.domain.files.domainmodel import FileNotFound
from arqium.infra.blobs import BlobNotFound, BlobStore

SINGLE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_BYTES = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
# A download route's `responses=`: the bytes, in the file's own Content-Type.
FILE_RESPONSES: dict[int | str, dict] = {
    200: {"content": _BYTES, "description": "The file's bytes, in its own type"},
    206: {"content": _BYTES, "description": "The bytes of the one Range asked for"},
    304: {"description": "If-None-Match named the file's ETag: the client has it"},
    416: {"description": "The Range lies beyond the file"}}


def file_response(request: Request, blobs: BlobStore, row: dict) -> Response:
    etag = f'"{row["sha256"]}"'
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": "private",
               "Content-Disposition": attachment(row["filename"])}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    path = blobs.local_path(row["sha256"])
    if path is not None:  # Starlette serves ranges (and If-Range) of files on disk
        if not path.is_file():
            raise bytes_missing(row)
        return FileResponse(path, media_type=row["content_type"], headers=headers)
    try:
        return streamed(request, blobs, row, headers)
    except BlobNotFound:
        raise bytes_missing(row) from None


def bytes_missing(row: dict) -> FileNotFound:
    """The face's 404 for a file whose bytes the store lost (removed by hand, a
    bucket emptied): the bytes cannot be served, and a 500 would blame the request."""
    return FileNotFound("this file's bytes are missing from the store",
                        file_id=str(row["id"]))


def streamed(request: Request, blobs: BlobStore, row: dict, headers: dict) -> Response:
    """From a blob store without local files: the whole blob, or its one range."""
    size = row["size"]
    wanted = byte_range(request.headers.get("range"), size)
    if request.headers.get("if-range") not in (None, headers["ETag"]):
        wanted = None  # the client's copy is another version: it gets all of this one
    if wanted == ():
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    if wanted is None:
        return StreamingResponse(blobs.read(row["sha256"]), media_type=row["content_type"],
                                 headers={**headers, "Content-Length": str(size)})
    start, end = wanted
    return StreamingResponse(
        blobs.read(row["sha256"], start, end), status_code=206,
        media_type=row["content_type"],
        headers={**headers, "Content-Length": str(end - start + 1),
                 "Content-Range": f"bytes {start}-{end}/{size}"})


def byte_range(header: str | None, size: int) -> tuple[int, int] | tuple[()] | None:
    """(first, last) byte of a single range; () when it cannot be satisfied; None for
    no range, or one this server answers with the whole file (several ranges)."""
    match = SINGLE_RANGE.fullmatch((header or "").replace(" ", ""))
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:  # the last N bytes
        return (max(0, size - int(last)), size - 1) if int(last) else ()
    start, end = int(first), min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else ()


def attachment(filename: str) -> str:
    """Content-Disposition naming the file, readable by old clients and new (RFC 6266)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'")
    return f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(filename)}'
