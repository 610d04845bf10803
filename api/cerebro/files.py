"""CEREBRO files (seed 001): an upload answered with a link its client fetches without
credentials, so the link is signed and expires (ARQIUM_SIGNED_URL_SECONDS)."""

from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from arqium.api.cerebro.documents import CerebroUpload
from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import AppSettings, Blobs, DownloadLinks, Files, FilesApp
from arqium.api.common.documents import documented
from arqium.api.common.downloads import FILE_RESPONSES, file_response
from arqium.api.common.files import UPLOAD_BODY, store_upload
from arqium.api.ratelimit import limited
from arqium.domain.files.domainmodel import FileNotFound
from arqium.infra.settings import Settings
from arqium.infra.signed_urls import UrlSigner

router = APIRouter(tags=["CEREBRO: files"])
DOWNLOAD_ROUTE = "cerebro_signed_download"


@router.post("/api/files/upload", summary="Upload a file (CEREBRO)",
             dependencies=[Depends(limited("cerebro_general"))],
             responses=documented(200, CerebroUpload), openapi_extra=UPLOAD_BODY)
async def upload(request: Request, caller: CurrentCaller, files: FilesApp, blobs: Blobs,
                 links: DownloadLinks, settings: AppSettings):
    """Multipart `file`: at most 50 MB, PDF, images or text (told from its bytes)."""
    stored, _ = await store_upload(request, caller, files, blobs, settings.max_upload_bytes)
    return {"url": signed_url(request, links, settings, stored.id, stored.filename),
            "pathname": stored.filename, "contentType": stored.content_type,
            "size": stored.size}


def signed_url(request: Request, links: UrlSigner, settings: Settings, file_id: UUID,
               filename: str) -> str:
    """A link downloading the file from this server without credentials, until it
    expires."""
    expires, signature = links.sign(file_id, settings.signed_url_seconds)
    url = request.url_for(DOWNLOAD_ROUTE, file_id=str(file_id), filename=filename)
    return f"{url}?{urlencode({'expires': expires, 'signature': signature})}"


@router.get("/api/files/{file_id}/{filename}", name=DOWNLOAD_ROUTE,
            summary="Download a file by its signed link (CEREBRO)",
            dependencies=[Depends(limited("cerebro_general"))], response_class=Response,
            responses=FILE_RESPONSES)
def signed_download(file_id: UUID, filename: str, request: Request, links: DownloadLinks,
                    files: Files, blobs: Blobs,
                    expires: int = Query(ge=0, le=2**53),
                    signature: str = Query(min_length=1, max_length=128)):
    """No credentials: the link's signature is the right to the file, until `expires`
    (Unix seconds)."""
    links.check(file_id, expires, signature)
    row = files.one(file_id)
    if row is None:
        raise FileNotFound("no such file", file_id=str(file_id))
    return file_response(request, blobs, row)
