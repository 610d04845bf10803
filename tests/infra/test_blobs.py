"""The blob store's contract, passed by the filesystem and by a real S3-compatible server
(moto in server mode, started here as a process)."""

import hashlib
import time

import pytest

from arqium.infra.blobs import BlobNotFound, FileSystemBlobs, S3Blobs, open_s3_client


@pytest.fixture(params=["filesystem", "s3"])
def blobs(request, tmp_path):
    if request.param == "filesystem":
        return FileSystemBlobs(tmp_path / "blobs")
    client = open_s3_client(request.getfixturevalue("s3_endpoint"), "test", "test",
                            "us-east-1")
    bucket = f"blobs-{tmp_path.name.lower().replace('_', '-')}"[:60]
    client.create_bucket(Bucket=bucket)
    return S3Blobs(client, bucket, draft_dir=tmp_path / "drafts")


def store(blobs, *chunks: bytes) -> str:
    draft = blobs.draft()
    for chunk in chunks:
        draft.write(chunk)
    return blobs.commit(draft)


def read_all(blobs, address: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(blobs.read(address, start, end))


def test_a_blob_is_stored_at_the_sha256_of_its_bytes(blobs):
    address = store(blobs, b"hello ", b"world")
    assert address == hashlib.sha256(b"hello world").hexdigest()
    assert read_all(blobs, address) == b"hello world"
    assert blobs.size(address) == 11


def test_the_same_bytes_are_stored_once(blobs):
    first = store(blobs, b"same bytes")
    second = store(blobs, b"same ", b"bytes")
    assert first == second
    assert list(blobs.addresses()) == [first]


def test_a_range_reads_the_bytes_between_its_ends_inclusive(blobs):
    address = store(blobs, bytes(range(256)))
    assert read_all(blobs, address, 10, 19) == bytes(range(10, 20))
    assert read_all(blobs, address, 250) == bytes(range(250, 256))


def test_a_discarded_draft_leaves_no_blob(blobs):
    draft = blobs.draft()
    draft.write(b"refused")
    draft.discard()
    assert list(blobs.addresses()) == []
    assert not draft.path.exists()


def test_a_deleted_blob_is_gone(blobs):
    address = store(blobs, b"short-lived")
    blobs.delete(address)
    assert not blobs.exists(address)
    with pytest.raises(BlobNotFound):
        blobs.size(address)


def test_an_unknown_or_malformed_address_is_not_found(blobs):
    with pytest.raises(BlobNotFound):
        blobs.size("0" * 64)
    with pytest.raises(BlobNotFound):
        blobs.read("../etc/passwd")


def test_storing_the_same_bytes_again_makes_the_blob_fresh(blobs):
    address = store(blobs, b"kept")
    first = blobs.modified(address)
    time.sleep(1.01)  # S3 times have whole seconds: the second commit must be later
    store(blobs, b"kept")
    assert blobs.modified(address) > first
