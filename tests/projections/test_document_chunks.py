"""The knowledge base's read models: an analysed text document cut into chunks of
tokens with their pages, each owner's version, the chunks' vectors; a deleted file's
chunks gone."""

import hashlib

import pytest

from arqium.infra.embeddings import plain_tokenizer
from arqium.projections.document_chunks import DocumentChunksProjection
from arqium.workers.rebuild import rebuild
from tests.conftest import SETUP
from tests.documents import pdf

CHUNKS = """SELECT chunk_no, page, title, content FROM document_chunks
WHERE file_id = %(id)s ORDER BY chunk_no"""
VECTORS = "SELECT chunk_no FROM document_chunk_embeddings WHERE file_id = %(id)s"
VERSION = "SELECT version, chunked_at FROM document_chunks_owners WHERE owner_id = 'u1'"


@pytest.fixture
def settings(settings):
    """Small chunks, so that short documents make several."""
    return settings.model_copy(update={"rag_chunk_tokens": 16, "rag_chunk_overlap": 4,
                                       "rag_max_chunks_per_file": 6})


def store(system, data: bytes, filename: str, content_type: str, owner: str = "u1"):
    """A file uploaded and analysed: its id and the position of its analysis."""
    draft = system.blobs.draft()
    draft.write(data)
    address = system.blobs.commit(draft)
    stored, _ = system.files.record_upload(owner, filename, content_type, len(data),
                                           address, cause=SETUP)
    return stored.id, system.files.complete_analysis(stored.id, {}, cause=SETUP)


def chunks_of(system, file_id) -> list[dict]:
    return system.views["document_chunks"].query(CHUNKS, id=file_id)


def test_a_pdf_is_chunked_page_by_page_with_its_page_numbers(system, workers):
    file_id, analysed_at = store(system, pdf("Lyon lies on the Rhone.",
                                             "Nantes lies on the Loire."),
                                 "rivers.pdf", "application/pdf")
    workers("document_chunks")
    system.views["document_chunks"].wait("files", analysed_at, timeout=30)
    assert chunks_of(system, file_id) == [
        {"chunk_no": 0, "page": 1, "title": "rivers.pdf",
         "content": "Lyon lies on the Rhone."},
        {"chunk_no": 1, "page": 2, "title": "rivers.pdf",
         "content": "Nantes lies on the Loire."}]


def test_a_text_is_cut_into_chunks_of_tokens_that_overlap(system, workers):
    text = " ".join(f"alpha{n}" for n in range(20))
    file_id, analysed_at = store(system, text.encode(), "notes.txt", "text/plain")
    workers("document_chunks")
    system.views["document_chunks"].wait("files", analysed_at, timeout=30)
    contents = [row["content"] for row in chunks_of(system, file_id)]
    tokens = [plain_tokenizer().encode(c, add_special_tokens=False).ids for c in contents]
    assert [len(t) for t in tokens[:-1]] == [16] * (len(tokens) - 1)
    assert len(tokens) > 2 and len(tokens[-1]) <= 16
    assert all(before[-4:] == after[:4] for before, after in zip(tokens, tokens[1:]))
    assert contents[0].startswith("alpha0 ") and contents[-1].endswith("alpha19")


def test_no_more_chunks_than_the_setting_are_kept_of_one_file(system, workers):
    text = " ".join(f"beta{n}" for n in range(400))
    file_id, analysed_at = store(system, text.encode(), "long.md", "text/markdown")
    workers("document_chunks")
    system.views["document_chunks"].wait("files", analysed_at, timeout=30)
    assert [row["chunk_no"] for row in chunks_of(system, file_id)] == [0, 1, 2, 3, 4, 5]


def test_an_upload_and_its_chunks_move_the_owner_s_version(system, workers):
    draft = system.blobs.draft()
    draft.write(b"plain words")
    stored, uploaded_at = system.files.record_upload(
        "u1", "a.txt", "text/plain", 11, system.blobs.commit(draft), cause=SETUP)
    workers("document_chunks")
    view = system.views["document_chunks"]
    view.wait("files", uploaded_at, timeout=30)
    assert view.query(VERSION) == [{"version": uploaded_at, "chunked_at": 0}]
    analysed_at = system.files.complete_analysis(stored.id, {}, cause=SETUP)
    view.wait("files", analysed_at, timeout=30)
    assert view.query(VERSION) == [{"version": analysed_at, "chunked_at": analysed_at}]


def test_an_image_has_no_chunks_and_leaves_the_knowledge_base_as_it_was(system, workers):
    draft = system.blobs.draft()
    draft.write(b"\x89PNG not really")
    stored, _ = system.files.record_upload("u1", "a.png", "image/png", 15,
                                           system.blobs.commit(draft), cause=SETUP)
    analysed_at = system.files.complete_analysis(stored.id, {}, cause=SETUP)
    workers("document_chunks")
    view = system.views["document_chunks"]
    view.wait("files", analysed_at, timeout=30)
    assert chunks_of(system, stored.id) == [] and view.query(VERSION) == []


def test_deleting_a_file_removes_its_chunks_and_their_vectors(system, workers):
    file_id, _ = store(system, b"Grenoble sits below the Alps.", "alps.txt", "text/plain")
    deleted_at = system.files.delete_file("u1", file_id, cause=SETUP)
    workers("document_chunks", "document_chunk_embeddings")
    for name in ("document_chunks", "document_chunk_embeddings"):
        system.views[name].wait("files", deleted_at, timeout=60)
    assert chunks_of(system, file_id) == []
    assert system.views["document_chunk_embeddings"].query(VECTORS, id=file_id) == []
    assert system.views["document_chunks"].query(VERSION)[0]["version"] == deleted_at


def test_every_chunk_gets_a_vector(system, workers):
    file_id, analysed_at = store(system, pdf("Lyon lies on the Rhone.", "Nantes too."),
                                 "rivers.pdf", "application/pdf")
    workers("document_chunk_embeddings")
    view = system.views["document_chunk_embeddings"]
    view.wait("files", analysed_at, timeout=60)
    assert sorted(row["chunk_no"] for row in view.query(VECTORS, id=file_id)) == [0, 1]


def test_a_file_whose_bytes_are_gone_has_no_chunks_and_the_projection_goes_on(system,
                                                                             workers):
    file_id, _ = store(system, b"soon gone", "gone.txt", "text/plain")
    system.blobs.delete(hashlib.sha256(b"soon gone").hexdigest())
    later_id, later_at = store(system, b"still here", "here.txt", "text/plain")
    workers("document_chunks")
    system.views["document_chunks"].wait("files", later_at, timeout=30)
    assert chunks_of(system, file_id) == []
    assert [row["content"] for row in chunks_of(system, later_id)] == ["still here"]


def test_a_rebuild_cuts_the_same_chunks_again(system, settings, workers):
    file_id, analysed_at = store(system, pdf("Lyon lies on the Rhone.", "Nantes too."),
                                 "rivers.pdf", "application/pdf")
    workers("document_chunks")
    view = system.views["document_chunks"]
    view.wait("files", analysed_at, timeout=30)
    before = chunks_of(system, file_id), view.query(VERSION)
    assert rebuild(DocumentChunksProjection, settings, show_progress=False) == analysed_at
    assert (chunks_of(system, file_id), view.query(VERSION)) == before
