"""The memory resource against a real server: each call's round trip, and a search that
finds what the client just stored without waiting."""

from arqium_client import NotFound


def test_a_stored_memory_is_found_by_the_next_search_at_once(client):
    client.memory.store("Hiking in the Alps in June", key="trip", tags=["travel"])
    hits = client.memory.search("hiking alps")
    assert [hit.key for hit in hits] == ["trip"]
    assert hits[0].score > 0


def test_search_takes_a_mode(client):
    client.memory.store("The cat sleeps on the sofa", key="cat")
    assert [hit.key for hit in client.memory.search("sofa", mode="keyword")] == ["cat"]


def test_a_memory_is_read_back_by_its_id(client):
    stored = client.memory.store({"theme": "dark"}, key="ui", layer="permanent")
    memory = client.memory.get(stored.id)
    assert (memory.key, memory.content, memory.layer) == ("ui", {"theme": "dark"}, "permanent")


def test_history_lists_every_version_of_a_memory(client):
    client.memory.store("light", key="theme")
    stored = client.memory.store("dark", key="theme")
    versions = client.memory.history(stored.id, per_page=1)  # one version per page
    assert [version.content for version in versions] == ["light", "dark"]


def test_recent_iterates_the_newest_memories_first(client):
    for number in range(3):
        client.memory.store(f"note {number}", key=f"note-{number}")
    assert [memory.key for memory in client.memory.recent()] == ["note-2", "note-1", "note-0"]


def test_recent_follows_the_pages_to_the_end(client):
    for number in range(250):
        client.memory.store(f"note {number}", key=f"page-{number:03}")
    keys = [memory.key for memory in client.memory.recent(per_page=100)]
    assert keys == [f"page-{number:03}" for number in reversed(range(250))]


def test_a_deleted_memory_is_gone(client):
    stored = client.memory.store("temporary thought", key="thought")
    assert client.memory.delete(stored.id).deleted
    try:
        client.memory.get(stored.id)
        raise AssertionError("the memory was still there")
    except NotFound as error:
        assert error.code == "NOT_FOUND"


def test_clear_deletes_the_memories_of_a_layer(client):
    client.memory.store("scratch", key="a", layer="context")
    client.memory.store("keep", key="b", layer="permanent")
    assert client.memory.clear(layer="context").cleared == 1
    assert [memory.key for memory in client.memory.recent()] == ["b"]


def test_a_promoted_memory_moves_one_layer_up(client):
    stored = client.memory.store("Allergic to penicillin", key="allergy", confidence=0.95)
    promoted = client.memory.promote("allergy", force=True)
    assert (promoted.id, promoted.layer) == (stored.id, "permanent")
    assert client.memory.get(stored.id).layer == "permanent"
