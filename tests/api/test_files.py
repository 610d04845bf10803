"""Files (seed 004 /upload, /download; seed 001 /api/files/upload): bytes in the blob
store, a FileUploaded event, read back with type, name, ETag and ranges."""

import hashlib
import json
import struct
import zlib
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from arqium.api.common.uploads import UploadParser
from arqium.domain.files.domainmodel import FileTooLarge
from arqium.infra.blobs import FileSystemBlobs
from tests.conftest import bearer, register

CSV = b"city,population\nLyon,522000\nNantes,320000\n"
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"trailer << /Root 1 0 R >>\n%%EOF\n")
JSON = json.dumps({"rows": [1, 2, 3], "name": "sample"}).encode()


def png(width: int = 2, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * width
                                    for _ in range(height)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("files")


def upload(client, user, content: bytes, filename: str = "data.csv", **fields):
    return client.post("/upload", headers=user["headers"], data=fields,
                       files={"file": (filename, content, "application/octet-stream")})


def blob_files(settings) -> list:
    """Every file under the blob store's root, drafts included."""
    return [path for path in (settings.data_dir / "blobs").rglob("*") if path.is_file()]


def stored_file_events(client) -> int:
    return client.app.state.system.files.recorder.max_notification_id() or 0


@pytest.mark.parametrize("content, filename, content_type", [
    (CSV, "data.csv", "text/csv"), (PDF, "report.pdf", "application/pdf"),
    (png(), "pixel.png", "image/png"), (JSON, "sample.json", "application/json")])
def test_an_upload_downloads_as_the_same_bytes_with_its_type(client, user, content,
                                                               filename, content_type):
    answer = upload(client, user, content, filename, session_id="chat-1")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"file_id", "filename", "size", "uploaded_at", "analysis_status"}
    assert (body["filename"], body["size"], body["analysis_status"]) == (
        filename, len(content), "pending")
    download = client.get(f"/download/{body['file_id']}", headers=user["headers"])
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"].startswith(content_type)
    assert f'filename="{filename}"' in download.headers["content-disposition"]
    assert download.headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'


def test_a_file_s_metadata_names_its_detected_type_and_pending_analysis(client, user):
    file_id = upload(client, user, CSV, "notes.txt", session_id="chat-9").json()["file_id"]
    body = client.get(f"/files/{file_id}", headers=user["headers"]).json()
    assert body["content_type"] == "text/plain"  # the name, not the bytes, said .txt
    assert (body["analysis_status"], body["session_id"], body["sha256"]) == (
        "pending", "chat-9", hashlib.sha256(CSV).hexdigest())


def test_a_range_request_gets_those_bytes_with_206(client, user):
    file_id = upload(client, user, CSV).json()["file_id"]
    part = client.get(f"/download/{file_id}", headers={**user["headers"],
                                                      "Range": "bytes=5-14"})
    assert part.status_code == 206
    assert part.content == CSV[5:15]
    assert part.headers["content-range"] == f"bytes 5-14/{len(CSV)}"


def test_a_client_holding_the_etag_gets_304(client, user):
    file_id = upload(client, user, CSV).json()["file_id"]
    etag = f'"{hashlib.sha256(CSV).hexdigest()}"'
    again = client.get(f"/download/{file_id}",
                       headers={**user["headers"], "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_a_file_over_50_mb_is_refused_and_nothing_is_stored(client, user, settings):
    refused = upload(client, user, b"a" * (60 * 1024 * 1024), "big.txt")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "file_too_large"
    assert blob_files(settings) == []
    assert stored_file_events(client) == 0


def test_a_file_growing_past_the_limit_while_it_streams_leaves_no_draft(tmp_path):
    blobs = FileSystemBlobs(tmp_path)
    parser = UploadParser(b"edge", blobs, max_bytes=3 * 1024 * 1024)
    parser.write(b'--edge\r\nContent-Disposition: form-data; name="file"; '
                 b'filename="big.txt"\r\n\r\n')
    with pytest.raises(FileTooLarge):
        for _ in range(4):
            parser.write(b"a" * 1024 * 1024)
    parser.discard()
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_the_same_bytes_uploaded_twice_keep_one_blob(client, user, settings):
    first = upload(client, user, PDF, "a.pdf").json()["file_id"]
    second = upload(client, user, PDF, "b.pdf").json()["file_id"]
    assert first != second
    assert [path.name for path in blob_files(settings)] == [hashlib.sha256(PDF).hexdigest()]


@pytest.mark.parametrize("content", [b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200),
                                     b"PK\x03\x04" + bytes(100), b"\xff\xfe\x00bad"])
def test_a_file_of_another_kind_is_refused_whatever_its_name(client, user, settings,
                                                               content):
    refused = upload(client, user, content, "innocent.csv")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_file_type"
    assert blob_files(settings) == [] and stored_file_events(client) == 0


def test_an_upload_of_two_files_is_refused_and_nothing_is_stored(client, user, settings):
    answer = client.post("/upload", headers=user["headers"], files=[
        ("file", ("a.csv", CSV, "text/csv")), ("file", ("b.csv", CSV, "text/csv"))])
    assert answer.status_code == 400
    assert blob_files(settings) == [] and stored_file_events(client) == 0


def test_another_user_s_file_is_not_found(client, user):
    file_id = upload(client, user, CSV).json()["file_id"]
    other = bearer(register(client, "eve@example.com")["access_token"])
    for path in (f"/download/{file_id}", f"/files/{file_id}"):
        answer = client.get(path, headers=other)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    assert client.delete(f"/files/{file_id}", headers=other).status_code == 404


def test_a_deleted_file_is_not_found(client, user):
    file_id = upload(client, user, CSV).json()["file_id"]
    assert client.delete(f"/files/{file_id}", headers=user["headers"]).status_code == 204
    assert client.get(f"/files/{file_id}", headers=user["headers"]).status_code == 404


def test_an_upload_without_credentials_is_refused(client):
    answer = client.post("/upload", files={"file": ("a.csv", CSV, "text/csv")})
    assert answer.status_code == 401


def test_uploads_carry_the_rate_limit_headers_of_ten_an_hour(client, user):
    answer = upload(client, user, CSV)
    assert answer.headers["X-RateLimit-Limit"] == "10"
    assert answer.headers["X-RateLimit-Remaining"] == "9"


def test_cerebro_upload_answers_a_signed_url_that_works_without_headers(client, user):
    answer = client.post("/api/files/upload", headers=user["headers"],
                         files={"file": ("report.pdf", PDF, "application/pdf")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["pathname"], body["contentType"], body["size"]) == (
        "report.pdf", "application/pdf", len(PDF))
    url = urlsplit(body["url"])
    fetched = client.get(f"{url.path}?{url.query}")
    assert fetched.status_code == 200 and fetched.content == PDF


def test_a_signed_url_stops_working_when_it_expires(client, user, clock, settings):
    body = client.post("/api/files/upload", headers=user["headers"],
                       files={"file": ("a.csv", CSV, "text/csv")}).json()
    url = urlsplit(body["url"])
    clock.advance(seconds=settings.signed_url_seconds + 1)
    expired = client.get(f"{url.path}?{url.query}")
    assert expired.status_code == 401
    assert expired.json()["error"] == "authentication_error"


def test_a_tampered_signed_url_is_refused(client, user):
    body = client.post("/api/files/upload", headers=user["headers"],
                       files={"file": ("a.csv", CSV, "text/csv")}).json()
    url = urlsplit(body["url"])
    tampered = url.query.replace("expires=", "expires=9")
    assert client.get(f"{url.path}?{tampered}").status_code == 401


@pytest.fixture
def s3_client(settings, clock, s3_endpoint, tmp_path):
    """A client of an app whose blob store is a bucket of moto's S3 server."""
    from fastapi.testclient import TestClient

    from arqium.api.app import create_app
    from arqium.infra.blobs import open_s3_client
    from arqium.system.bootstrap import open_system

    bucket = f"files-{tmp_path.name.lower().replace('_', '-')}"[:60]
    open_s3_client(s3_endpoint, "test", "test", "us-east-1").create_bucket(Bucket=bucket)
    settings.s3_endpoint, settings.s3_bucket = s3_endpoint, bucket
    settings.s3_access_key_id, settings.s3_secret_access_key = "test", SecretStr("test")
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_files_in_an_s3_bucket_download_whole_and_by_range(s3_client, settings):
    ada = {"headers": bearer(register(s3_client)["access_token"])}
    file_id = upload(s3_client, ada, PDF, "report.pdf").json()["file_id"]
    whole = s3_client.get(f"/download/{file_id}", headers=ada["headers"])
    assert whole.content == PDF and whole.headers["content-type"] == "application/pdf"
    part = s3_client.get(f"/download/{file_id}", headers={**ada["headers"],
                                                         "Range": "bytes=-6"})
    assert part.status_code == 206 and part.content == PDF[-6:]
    size = len(PDF)
    assert part.headers["content-range"] == f"bytes {size - 6}-{size - 1}/{size}"
    assert blob_files(settings) == []  # nothing on this machine's disk


def test_a_file_whose_object_left_the_bucket_downloads_as_404_not_found(s3_client,
                                                                        settings):
    from arqium.infra.blobs import open_s3_client

    ada = {"headers": bearer(register(s3_client)["access_token"])}
    file_id = upload(s3_client, ada, CSV).json()["file_id"]
    bucket = open_s3_client(settings.s3_endpoint, "test", "test", "us-east-1")
    bucket.delete_object(Bucket=settings.s3_bucket,
                         Key=settings.s3_prefix + hashlib.sha256(CSV).hexdigest())
    answer = s3_client.get(f"/download/{file_id}", headers=ada["headers"])
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_a_range_beyond_the_file_is_416(s3_client):
    ada = {"headers": bearer(register(s3_client)["access_token"])}
    file_id = upload(s3_client, ada, CSV).json()["file_id"]
    answer = s3_client.get(f"/download/{file_id}", headers={**ada["headers"],
                                                           "Range": "bytes=9999-"})
    assert answer.status_code == 416
    assert answer.headers["content-range"] == f"bytes */{len(CSV)}"


def test_the_eleventh_upload_within_an_hour_is_refused_429(client, user):
    statuses = [upload(client, user, CSV).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    refused = upload(client, user, CSV)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0


def test_an_upload_with_an_idempotency_key_is_stored_as_it_streams(client, user, settings):
    headers = {**user["headers"], "Idempotency-Key": "upload-1"}
    answers = [client.post("/upload", headers=headers, files={"file": ("a.csv", CSV)})
               for _ in range(2)]
    assert [answer.status_code for answer in answers] == [200, 200]
    assert "idempotent-replayed" not in answers[1].headers  # uploads are not replayed
    assert len(blob_files(settings)) == 1  # the same bytes, stored once
