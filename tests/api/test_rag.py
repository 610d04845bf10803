"""CEREBRO's RAG (POST /api/memory/rag) through HTTP: the caller's uploaded documents
found by words and meaning, with their page and a download link; never another
user's; gone with the file; `degraded` while the vectors lag; `cached` until the
knowledge base changes; a circuit breaker; CEREBRO's 400, 429 and 503."""

import itertools
import math
import time
from collections.abc import Iterator
from urllib.parse import urlsplit
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import SETUP, bearer, eventually, module_api, register
from tests.documents import pdf

PROJECTORS = ["files", "document_chunks", "document_chunk_embeddings"]
MUSEUM = "The city museum opens at nine in the morning and closes at six."
SOLAR = "Solar panels on the roof convert sunlight into electricity for the house."
_users = itertools.count()


@pytest.fixture(scope="module")
def world(services, tmp_path_factory) -> Iterator[TestClient]:
    """One API and the knowledge base's projectors for the module's tests (each test
    has callers of its own)."""
    with module_api(services, tmp_path_factory.mktemp("rag"), PROJECTORS,
                    read_wait_seconds=5.0, usage_flush_seconds=3600) as client:
        yield client


def new_caller(client) -> dict:
    return bearer(register(client, email=f"reader{next(_users)}@example.com")
                  ["access_token"])


def upload(client, headers: dict, filename: str, content: bytes) -> tuple[str, int]:
    """A file uploaded, then analysed (as the analysis worker records it): its id and
    the position of its analysis."""
    answer = client.post("/upload", headers=headers,
                         files={"file": (filename, content, "application/octet-stream")})
    assert answer.status_code == 200, answer.text
    file_id = answer.json()["file_id"]
    files = client.app.state.system.files
    return file_id, files.complete_analysis(UUID(file_id), {}, cause=SETUP)


def embedded(client, position: int) -> None:
    """Wait until the chunks' vectors are there (else answers are degraded)."""
    client.app.state.system.views["document_chunk_embeddings"].wait("files", position,
                                                                    timeout=60)


def unsigned(results: list[dict]) -> list[dict]:
    """Results with each link's path only: a link is signed afresh on every answer, so its
    expiry (whole seconds) may differ between two answers a second apart."""
    return [{**result, "metadata": {**result["metadata"],
                                    "url": urlsplit(result["metadata"]["url"]).path}}
            for result in results]


def analysis_status(client, headers: dict, file_id: str) -> str:
    return client.get(f"/files/{file_id}", headers=headers).json()["analysis_status"]


def ask(client, headers: dict, query: str, **body):
    return client.post("/api/memory/rag", headers=headers, json={"query": query, **body})


def test_rag_finds_a_sentence_of_an_uploaded_pdf_with_its_page(world):
    caller = new_caller(world)
    file_id, analysed_at = upload(world, caller, "city.pdf", pdf(MUSEUM, SOLAR))
    embedded(world, analysed_at)
    answer = ask(world, caller, "how is electricity made from sunlight?", maxResults=1)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["degraded"], body["cached"]) == (False, False)
    [found] = body["results"]
    assert (found["content"], found["source"]) == (SOLAR, "vectorDB")
    assert 0 < found["confidence"] <= 1
    metadata = found["metadata"]
    assert (metadata["file_id"], metadata["title"], metadata["page"]) == (
        file_id, "city.pdf", 2)
    assert world.get(metadata["url"]).content == pdf(MUSEUM, SOLAR)  # no credentials


def test_a_text_document_s_results_have_no_page(world):
    caller = new_caller(world)
    _, analysed_at = upload(world, caller, "notes.md", f"# Notes\n\n{SOLAR}\n".encode())
    embedded(world, analysed_at)
    [found] = ask(world, caller, "solar panels", maxResults=1).json()["results"]
    assert "page" not in found["metadata"] and SOLAR in found["content"]


def test_another_user_s_documents_never_appear(world):
    owner, other = new_caller(world), new_caller(world)
    owned, _ = upload(world, owner, "city.pdf", pdf(MUSEUM, SOLAR))
    others, analysed_at = upload(world, other, "museum.txt", MUSEUM.encode())
    embedded(world, analysed_at)
    found = ask(world, other, "solar panels electricity").json()["results"]
    assert [result["metadata"]["file_id"] for result in found] == [others]


def test_deleting_the_file_removes_its_chunks_from_answers(world):
    caller = new_caller(world)
    file_id, analysed_at = upload(world, caller, "city.pdf", pdf(MUSEUM, SOLAR))
    embedded(world, analysed_at)
    assert ask(world, caller, "museum").json()["results"] != []
    assert world.delete(f"/files/{file_id}", headers=caller).status_code == 204
    assert ask(world, caller, "museum").json()["results"] == []


def test_the_same_request_is_answered_from_the_cache_until_an_upload(world):
    caller = new_caller(world)
    _, analysed_at = upload(world, caller, "city.pdf", pdf(MUSEUM, SOLAR))
    embedded(world, analysed_at)
    first = ask(world, caller, "museum hours").json()
    again = ask(world, caller, "museum hours").json()
    assert (first["cached"], again["cached"]) == (False, True)
    assert unsigned(again["results"]) == unsigned(first["results"])
    upload(world, caller, "more.txt", b"The library opens at ten.")
    assert ask(world, caller, "museum hours").json()["cached"] is False


def test_another_request_is_not_answered_from_the_cache(world):
    caller = new_caller(world)
    _, analysed_at = upload(world, caller, "city.pdf", pdf(MUSEUM, SOLAR))
    embedded(world, analysed_at)
    ask(world, caller, "museum hours")
    assert ask(world, caller, "museum hours", maxResults=1).json()["cached"] is False


def test_hints_values_count_as_words_of_the_query(world):
    caller = new_caller(world)
    _, analysed_at = upload(world, caller, "trips.txt", b"Zanzibar sells cloves.")
    embedded(world, analysed_at)
    without = ask(world, caller, "what to buy").json()["results"][0]["confidence"]
    hinted = ask(world, caller, "what to buy", hints={"place": {"island": "Zanzibar"}})
    assert hinted.json()["results"][0]["confidence"] > without


@pytest.mark.parametrize("body", [
    {}, {"query": ""}, {"query": "   "}, {"query": 42}, {"query": "x", "maxResults": 0},
    {"query": "x", "maxResults": 21}, {"query": "x", "maxResults": "5"},
    {"query": "x", "hints": ["not", "an", "object"]}])
def test_bad_input_is_a_400_in_cerebro_s_shape(world, body):
    answer = world.post("/api/memory/rag", headers=new_caller(world), json=body)
    assert answer.status_code == 400, answer.text
    assert set(answer.json()) == {"error", "message", "details"}


@pytest.mark.parametrize("body", [
    {"query": "q" * 1001}, {"query": "x", "hints": {"context": "h" * 2000}}])
def test_an_over_long_query_or_hints_is_refused(world, body):
    answer = world.post("/api/memory/rag", headers=new_caller(world), json=body)
    assert answer.status_code == 400, answer.text
    assert set(answer.json()) == {"error", "message", "details"}


def test_a_caller_s_21st_request_within_a_minute_is_a_429(world):
    caller = new_caller(world)
    for _ in range(20):
        assert ask(world, caller, "anything").status_code == 200
    refused = ask(world, caller, "anything")
    assert refused.status_code == 429
    assert set(refused.json()) == {"error", "message", "details"}
    assert refused.headers["X-RateLimit-Limit"] == "20" and "Retry-After" in refused.headers


def test_rag_without_credentials_is_a_401(world):
    assert world.post("/api/memory/rag", json={"query": "x"}).status_code == 401


# Tests of their own system: the vectors' projector stopped, a breaker quick to open.

@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"rag_breaker_failures": 2,
                                       "rag_breaker_cooldown_seconds": 1.0,
                                       "rag_timeout_seconds": 0.3})


def test_answers_are_degraded_to_words_while_the_vectors_lag(client, workers):
    workers("files", "document_chunks")  # not document_chunk_embeddings
    caller = new_caller(client)
    file_id, _ = upload(client, caller, "city.pdf", pdf(MUSEUM, SOLAR))
    first = ask(client, caller, "when does the museum open").json()
    assert first["degraded"] is True
    assert [r["metadata"]["file_id"] for r in first["results"]] == [file_id]
    assert first["results"][0]["metadata"]["page"] == 1  # the only page with its words
    # A degraded answer is not cached: once the vectors are there, it is answered whole.
    assert ask(client, caller, "when does the museum open").json()["cached"] is False


def test_a_pdf_uploaded_through_cerebro_is_found_once_the_worker_analysed_it(client,
                                                                           workers):
    workers("files", "file_analysis", "document_chunks", "document_chunk_embeddings")
    caller = new_caller(client)
    document = pdf(MUSEUM, SOLAR)
    stored = client.post("/api/files/upload", headers=caller,
                         files={"file": ("city.pdf", document, "application/pdf")})
    file_id = urlsplit(stored.json()["url"]).path.split("/")[3]
    assert eventually(lambda: analysis_status(client, caller, file_id) == "complete", 30,
                      every=0.05), analysis_status(client, caller, file_id)
    system = client.app.state.system
    embedded(client, system.files.recorder.max_notification_id())
    [found] = ask(client, caller, "sunlight into electricity", maxResults=1).json()[
        "results"]
    assert (found["content"], found["metadata"]["page"]) == (SOLAR, 2)
    assert found["metadata"]["file_id"] == file_id


def test_the_breaker_opens_after_repeated_timeouts_and_closes_after_a_trial(
        client, workers, settings):
    workers("files", "document_chunks", "document_chunk_embeddings")
    caller = new_caller(client)
    with psycopg.connect(settings.database_url) as blocker:
        # A lock holds every read of the knowledge base past its time limit.
        blocker.execute("LOCK TABLE document_chunks_owners IN ACCESS EXCLUSIVE MODE")
        timed_out = ask(client, caller, "museum")
        tripped = ask(client, caller, "museum")
        refused = ask(client, caller, "museum")
        blocker.rollback()
    assert [r.status_code for r in (timed_out, tripped, refused)] == [503, 503, 503]
    assert [r.json()["error"] for r in (timed_out, tripped, refused)] == [
        "retrieval_timeout", "circuit_open", "circuit_open"]
    assert set(refused.json()) == {"error", "message", "details"}
    # When to retry, as the message says: the breaker's rest, in whole seconds.
    assert refused.headers["Retry-After"] == str(
        max(1, math.ceil(refused.json()["details"]["retry_after_seconds"])))
    assert "Retry-After" not in timed_out.headers  # no time is known for that one
    time.sleep(1.0)  # the cool-down: the next request is the trial
    assert ask(client, caller, "museum").status_code == 200
    assert ask(client, caller, "museum").status_code == 200  # closed again
