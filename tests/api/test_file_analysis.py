"""The seed's upload → analysis → download flow (seed 004, integration test 1) through
HTTP, with the real file_analysis worker: each kind of file ends `complete` with its
figures, or `failed` with a reason; a file left `processing` is finished by the next run."""

import hashlib
import json
import time
from collections.abc import Iterator
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from arqium.domain.shared import Cause
from tests.conftest import bearer, module_api, register
from tests.documents import image, pdf

WORKERS = ["users", "login_sessions", "api_keys", "files", "file_analysis"]
ENDED = ("complete", "failed")
POLLS = 600  # of 50 ms: the worker is woken by each upload, so it rarely takes 10

CSV = b"city,population\nLyon,522000\nNantes,320000\n"
JSON = json.dumps({"rows": [1, 2, 3], "name": "sample"}).encode()
PDF = pdf("Quarterly report", "Second page")
PNG = image(64, 48)


@pytest.fixture(scope="module")
def app(services, tmp_path_factory) -> Iterator[TestClient]:
    with module_api(services, tmp_path_factory.mktemp("analysis"), WORKERS,
                    rate_limits="off") as client:
        yield client


@pytest.fixture(scope="module")
def ada(app) -> dict:
    return bearer(register(app, email="ada@example.com")["access_token"])


def upload(client, headers, content: bytes, filename: str) -> str:
    answer = client.post("/upload", headers=headers,
                         files={"file": (filename, content, "application/octet-stream")})
    assert answer.status_code == 200, answer.text
    assert answer.json()["analysis_status"] == "pending"
    return answer.json()["file_id"]


def analysed(client, headers, file_id: str) -> dict:
    """The file's metadata once its analysis has ended."""
    for _ in range(POLLS):
        body = client.get(f"/files/{file_id}", headers=headers).json()
        if body["analysis_status"] in ENDED:
            return body
        time.sleep(0.05)
    pytest.fail(f"file {file_id} still {body['analysis_status']}")


@pytest.mark.parametrize("content, filename, figures", [
    (CSV, "data.csv", {
        "kind": "csv", "rows": 2, "delimiter": ",", "columns_total": 2,
        "columns_capped": False, "ragged_rows": 0, "columns": [
            {"name": "city", "type": "text", "count": 2, "nulls": 0, "min": "Lyon",
             "max": "Nantes", "mean": None, "distinct": 2, "distinct_capped": False},
            {"name": "population", "type": "integer", "count": 2, "nulls": 0,
             "min": 320000, "max": 522000, "mean": 421000.0, "distinct": 2,
             "distinct_capped": False}]}),
    (PDF, "report.pdf", {"kind": "pdf", "pages": 2, "text_characters": 27,
                         "pages_with_text": 2}),
    (PNG, "chart.png", {"kind": "image", "format": "PNG", "width": 64, "height": 48,
                        "mode": "RGB"}),
    (JSON, "sample.json", {
        "kind": "json", "type": "object", "keys": ["rows", "name"], "depth": 3,
        "depth_capped": False, "paths_capped": False, "paths": {
            "$": {"types": ["object"], "count": 1},
            "$.name": {"types": ["string"], "count": 1},
            "$.rows": {"types": ["array"], "count": 1, "lengths": {"min": 3, "max": 3}},
            "$.rows[]": {"types": ["integer"], "count": 3}}})])
def test_an_upload_is_analysed_then_downloads_as_the_same_bytes(app, ada, content,
                                                                 filename, figures):
    file_id = upload(app, ada, content, filename)
    body = analysed(app, ada, file_id)
    assert (body["analysis_status"], body["error"]) == ("complete", None)
    assert body["analysis"] == figures
    assert body["analysed_at"] is not None
    download = app.get(f"/download/{file_id}", headers=ada)
    assert download.status_code == 200 and download.content == content


@pytest.mark.parametrize("content, filename, reason", [
    (b"%PDF-1.7\n" + b"\x00garbage" * 50, "broken.pdf", "not a readable PDF"),
    (b'{"rows": [1, 2,', "broken.json", "not valid JSON")])
def test_a_file_that_cannot_be_parsed_ends_failed_with_the_reason(app, ada, content,
                                                                  filename, reason):
    body = analysed(app, ada, upload(app, ada, content, filename))
    assert (body["analysis_status"], body["analysis"]) == ("failed", None)
    assert body["error"].startswith(reason)


def test_a_file_whose_bytes_went_missing_downloads_as_404_not_found(app, ada):
    content = b"kept for a while\n" + hashlib.sha256(b"unique").hexdigest().encode()
    file_id = upload(app, ada, content, "notes.txt")
    analysed(app, ada, file_id)
    data_dir = app.app.state.system.settings.data_dir
    sha256 = hashlib.sha256(content).hexdigest()
    (data_dir / "blobs" / sha256[:2] / sha256).unlink()
    answer = app.get(f"/download/{file_id}", headers=ada)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_the_openapi_document_describes_the_analysis_of_a_file(app):
    schemas = app.get("/openapi.json").json()["components"]["schemas"]
    fields = schemas["AstralFile"]["properties"]
    assert {"analysis_status", "analysis", "error", "analysed_at"} <= set(fields)
    assert fields["analysis_status"]["enum"] == ["pending", "processing", "complete",
                                                 "failed"]


def test_a_file_left_processing_by_a_dead_worker_is_finished_by_the_next_run(
        client, user, workers, system):
    workers("files")
    file_id = upload(client, user["headers"], CSV, "data.csv")
    # What a worker killed during the analysis leaves: AnalysisStarted, nothing after.
    system.files.start_analysis(UUID(file_id), cause=Cause(actor="worker:file_analysis"))
    assert analysed_or_status(client, user["headers"], file_id) == "processing"
    workers("file_analysis")
    body = analysed(client, user["headers"], file_id)
    assert body["analysis_status"] == "complete" and body["analysis"]["rows"] == 2


def analysed_or_status(client, headers, file_id: str) -> str:
    return client.get(f"/files/{file_id}", headers=headers).json()["analysis_status"]
