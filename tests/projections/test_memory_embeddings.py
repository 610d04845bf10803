"""The embeddings projection: a batch is embedded first, then written in event order."""

from arqium.domain.memory.application import MemoryDraft
from tests.conftest import SETUP

SELECT = "SELECT position FROM memory_embeddings WHERE id = %(id)s AND NOT gone"


def test_a_revision_in_the_same_batch_as_its_creation_is_embedded(system, workers):
    system.memory.upsert("u1", MemoryDraft(key="plan", content="fly to Rome"), cause=SETUP)
    item, revised_at = system.memory.upsert("u1", MemoryDraft(key="plan",
                                                              content="sail to Oslo"),
                                            cause=SETUP)
    workers("memory_embeddings")  # started after both: they arrive in one batch
    view = system.views["memory_embeddings"]
    view.wait("memory", revised_at, timeout=60)
    assert view.query(SELECT, id=item.id) == [{"position": revised_at}]


def test_a_forgotten_owner_loses_the_embeddings_written_before_in_the_batch(system,
                                                                             workers):
    item, _ = system.memory.upsert("u1", MemoryDraft(key="plan", content="fly to Rome"),
                                   cause=SETUP)
    forgotten_at = system.memory.forget_owner("u1", cause=SETUP)
    workers("memory_embeddings")
    view = system.views["memory_embeddings"]
    view.wait("memory", forgotten_at, timeout=60)
    assert view.query(SELECT, id=item.id) == []


def test_a_deleted_memory_is_marked_gone_and_a_new_life_embeds_again(system, workers):
    item, _ = system.memory.upsert("u1", MemoryDraft(key="plan", content="fly to Rome"),
                                   cause=SETUP)
    _, deleted_at = system.memory.delete("u1", item.id, cause=SETUP)
    workers("memory_embeddings")
    view = system.views["memory_embeddings"]
    view.wait("memory", deleted_at, timeout=60)
    assert view.query(SELECT, id=item.id) == []
    _, again_at = system.memory.upsert("u1", MemoryDraft(key="plan", content="sail"),
                                       cause=SETUP)
    view.wait("memory", again_at, timeout=60)
    assert view.query(SELECT, id=item.id) == [{"position": again_at}]


INDEXES = """SELECT indexname, indexdef FROM pg_indexes
WHERE tablename = 'memory_embeddings' ORDER BY indexname"""


def test_an_earlier_versions_owner_index_gives_way_to_the_owners_vectors_index(system):
    view = system.views["memory_embeddings"]
    with view.datastore.get_connection() as conn:  # the table as an earlier version left it
        conn.execute("DROP INDEX memory_embeddings_owner_vectors_idx")
        conn.execute("CREATE INDEX memory_embeddings_owner_idx ON memory_embeddings "
                     "(owner_id)")
    view.create_table()  # as this version's start-up does
    indexes = {row["indexname"]: row["indexdef"] for row in view.query(INDEXES)}
    assert sorted(indexes) == ["memory_embeddings_owner_vectors_idx",
                               "memory_embeddings_pkey"]
    # Whatever the search reads of an owner's vectors is in the index: no table page.
    assert indexes["memory_embeddings_owner_vectors_idx"].endswith(
        "(owner_id) INCLUDE (gone, id, embedding)")
