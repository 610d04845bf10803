"""The pure parts of the Elasticsearch memory search: events to bulk actions, the
searches a query makes, fusion and snippets."""

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from arqium.domain.memory.domainmodel import MemoryItem, MemoryOwner, WorkingSet
from arqium.infra.settings import Settings
from arqium.projections.memory_search import MemoryQuery
from arqium.projections.memory_search_es import (
    MAPPING,
    bulk_errors,
    fold,
    metadata_terms,
    missing_fields,
    search_filters,
    rankings_of,
    searches_for,
    snippets_of,
    write_plan,
)
from arqium.workers.runner import worker_names

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
pytestmark = pytest.mark.usefixtures("cause")  # events made here, outside any command


def new_item(owner_id: str = "u1", key: str = "theme", **overrides) -> MemoryItem:
    fields = dict(owner_id=owner_id, key=key, content={"theme": "dark"}, layer="temporary",
                  confidence=0.9, sensitivity="public", tags=["ui"], metadata={},
                  session_id=None, context_id=None, expires_at=None, at=AT)
    return MemoryItem(**{**fields, **overrides})


def revise(item: MemoryItem, **overrides) -> None:
    fields = dict(content={"theme": "light"}, layer=item.layer, confidence=0.5,
                  sensitivity="public", tags=["look"], metadata={}, expires_at=None,
                  at=AT + timedelta(hours=1))
    item.revise(**{**fields, **overrides})


def positioned(*events, start: int = 11) -> list[tuple]:
    return [(event, position) for position, event in enumerate(events, start=start)]


def test_a_stored_memory_is_indexed_with_its_position_as_external_version():
    [upserted] = new_item().collect_events()
    memory_id = str(upserted.originator_id)
    action = {"index": {"_id": memory_id, "version": 11, "version_type": "external"}}
    doc = {"id": memory_id, "owner_id": "u1", "key": "theme", "layer": "temporary",
           "confidence": 0.9, "tags": ["ui"], "updated_at": AT, "expires_at": None,
           "metadata_terms": []}
    assert write_plan(fold(positioned(upserted), {})) == [("bulk", [action, doc])]


def test_a_revision_keeps_the_owner_key_and_layer_the_index_knows():
    item = new_item()
    revise(item)
    events = positioned(*item.collect_events())
    [(_, [first, _, second, doc])] = write_plan(fold(events, {}))
    assert (first["index"]["version"], second["index"]["version"]) == (11, 12)
    assert (doc["owner_id"], doc["key"], doc["layer"]) == ("u1", "theme", "temporary")
    assert (doc["confidence"], doc["tags"]) == (0.5, ["look"])


def test_a_revision_of_a_memory_known_from_an_earlier_batch_is_indexed():
    item = new_item()
    item.collect_events()  # indexed by an earlier batch
    revise(item)
    [revised] = item.collect_events()
    known = {item.id: {"owner_id": "u1", "key": "theme", "layer": "temporary",
                       "confidence": 0.9, "tags": ["ui"], "updated_at": AT,
                       "expires_at": None}}
    [change] = fold(positioned(revised, start=40), known)
    assert (change.kind, change.position, change.doc["key"]) == ("index", 40, "theme")
    assert known[item.id]["tags"] == ["look"]


def test_a_promotion_changes_the_layer_and_keeps_confidence_and_tags():
    item = new_item(layer="context")
    item.promote(threshold=0.8, force=False, reason="r", content={"theme": "dark"},
                 merged=False, expires_at=None, at=AT + timedelta(days=1))
    [_, promoted] = fold(positioned(*item.collect_events()), {})
    assert (promoted.doc["layer"], promoted.doc["confidence"]) == ("temporary", 0.9)
    assert promoted.doc["tags"] == ["ui"]
    assert promoted.doc["updated_at"] == AT + timedelta(days=1)


def test_deleted_and_expired_memories_are_deleted_at_their_position():
    deleted = new_item(key="a")
    deleted.delete(reason="asked", at=AT)
    expired = new_item(key="b", expires_at=AT + timedelta(minutes=1))
    expired.expire(at=AT + timedelta(minutes=2))
    events = [*deleted.collect_events(), *expired.collect_events()]
    [(request, actions)] = write_plan(fold(positioned(*events), {}))
    deletes = [action["delete"] for action in actions if "delete" in action]
    assert request == "bulk"
    assert deletes == [
        {"_id": str(deleted.id), "version": 12, "version_type": "external"},
        {"_id": str(expired.id), "version": 14, "version_type": "external"}]


def test_a_memory_recreated_after_deletion_is_indexed_again_with_its_new_layer():
    item = new_item()
    item.delete(reason="asked", at=AT)
    item.recreate(content="again", layer="permanent", confidence=None, sensitivity="public",
                  tags=[], metadata={}, session_id=None, context_id=None, expires_at=None,
                  at=AT + timedelta(hours=2))
    changes = fold(positioned(*item.collect_events()), {})
    assert [change.kind for change in changes] == ["index", "delete", "index"]
    assert (changes[-1].doc["layer"], changes[-1].content) == ("permanent", "again")


def test_forgetting_an_owner_separates_the_bulks_so_order_is_kept():
    [before] = new_item(key="a").collect_events()
    [forgotten] = MemoryOwner(owner_id="u1", at=AT).collect_events()
    [after] = new_item(key="b").collect_events()
    plan = write_plan(fold(positioned(before, forgotten, after), {}))
    assert [request for request, _ in plan] == ["bulk", "forget", "bulk"]
    assert plan[1] == ("forget", "u1")


def test_a_forgotten_owners_memory_is_not_indexed_again_by_a_later_revision():
    item = new_item()
    [upserted] = item.collect_events()
    [forgotten] = MemoryOwner(owner_id="u1", at=AT).collect_events()
    revise(item)
    [revised] = item.collect_events()
    known: dict = {}
    changes = fold(positioned(upserted, forgotten, revised), known)
    assert [change.kind for change in changes] == ["index", "forget"]
    assert known == {}


def test_events_that_do_not_touch_a_memorys_document_change_nothing():
    [assembled] = WorkingSet(owner_id="u1", chat_id="c", memory_ids=[], memory_versions=[],
                             total_tokens=0, max_tokens=10, at=AT).collect_events()
    assert write_plan(fold(positioned(assembled), {})) == []


def test_version_conflicts_and_deletes_that_find_nothing_are_not_failures():
    response = {"errors": True, "items": [
        {"index": {"_id": "a", "status": 409,
                   "error": {"type": "version_conflict_engine_exception"}}},
        {"delete": {"_id": "b", "status": 404, "result": "not_found"}},
        {"index": {"_id": "c", "status": 201, "result": "created"}}]}
    assert bulk_errors(response) == []


def test_any_other_bulk_item_error_is_a_failure():
    failed = {"_id": "a", "status": 400, "error": {"type": "document_parsing_exception"}}
    response = {"errors": True, "items": [{"index": failed}]}
    assert bulk_errors(response) == [failed]


def test_rankings_are_read_with_the_scores_the_postgres_search_gives():
    answers = {"keyword": {"hits": {"hits": [{"_id": "a", "_score": 7.5}]}},
               "meaning": {"hits": {"hits": [{"_id": "b", "_score": 0.9}]}}}
    keyword, meaning = rankings_of(answers)
    assert keyword == [("a", 7.5)]
    assert meaning == [("b", pytest.approx(0.8))]  # knn's (1 + cosine) / 2 back to cosine
    assert rankings_of({"keyword": answers["keyword"]})[1] == []


def test_the_owner_and_expiry_always_filter_and_the_rest_only_when_asked():
    assert len(search_filters(MemoryQuery("u1", "q"), AT)) == 2
    filters = search_filters(MemoryQuery("u1", "q", layer="permanent", tags=["a"],
                                         min_confidence=0.5), AT)
    assert {"term": {"owner_id": "u1"}} in filters
    assert {"term": {"layer": "permanent"}} in filters
    assert {"terms": {"tags": ["a"]}} in filters
    assert {"range": {"confidence": {"gte": 0.5}}} in filters


def test_a_key_prefix_filters_by_the_start_of_the_key():
    filters = search_filters(MemoryQuery("u1", "q", key_prefix="v0/m1/"), AT)
    assert {"prefix": {"key": "v0/m1/"}} in filters


def test_metadata_becomes_one_term_per_value_with_its_path():
    metadata = {"v0": {"memoryType": "notes"}, "n": 1, "tags": ["a", "b"], "gone": None}
    assert metadata_terms(metadata) == ['["v0","memoryType","notes"]', '["n",1]',
                                        '["tags","a"]', '["tags","b"]', '["gone",null]']


def test_metadata_terms_keep_any_key_and_the_type_of_the_value():
    assert metadata_terms({"a.b": "1", "": 1}) == ['["a.b","1"]', '["",1]']


def test_metadata_objects_inside_a_list_become_terms_of_their_values():
    assert metadata_terms({"people": [{"name": "Ada"}]}) == ['["people","name","Ada"]']


def test_a_metadata_filter_asks_for_every_term_of_the_contained_metadata():
    query = MemoryQuery("u1", "q", metadata={"v0": {"memoryType": "x"}, "n": 2})
    filters = search_filters(query, AT)
    assert {"term": {"metadata_terms": '["v0","memoryType","x"]'}} in filters
    assert {"term": {"metadata_terms": '["n",2]'}} in filters


def test_empty_metadata_filters_nothing():
    assert len(search_filters(MemoryQuery("u1", "q", metadata={}), AT)) == 2


def test_hybrid_mode_ranks_by_keyword_and_by_meaning():
    searches = searches_for(MemoryQuery("u1", "dark theme"), [0.1, 0.2], AT)
    keyword, meaning = searches["keyword"], searches["meaning"]
    exact, fuzzy = keyword["query"]["bool"]["should"]
    assert exact == {"match": {"text": "dark theme"}}
    assert fuzzy["match"]["text"]["boost"] < 1  # look-alikes never outweigh exact words
    assert meaning["knn"]["query_vector"] == [0.1, 0.2]
    assert keyword["query"]["bool"]["filter"] == meaning["knn"]["filter"]


def test_keyword_mode_ranks_by_keyword_only():
    assert list(searches_for(MemoryQuery("u1", "dark", mode="keyword"), None, AT)) == [
        "keyword"]


def test_semantic_mode_ranks_by_meaning_only_with_no_similarity_floor_unless_asked():
    searches = searches_for(MemoryQuery("u1", "dark", mode="semantic"), [0.1], AT)
    assert list(searches) == ["meaning"] and "similarity" not in searches["meaning"]["knn"]
    [search] = searches_for(MemoryQuery("u1", "dark", mode="semantic", min_similarity=0.4),
                            [0.1], AT).values()
    assert search["knn"]["similarity"] == 0.4


def test_snippets_highlight_the_query_words_with_mark_in_every_search():
    searches = searches_for(MemoryQuery("u1", "budget", snippets=True), [0.1], AT)
    for search in searches.values():
        highlight = search["highlight"]
        assert (highlight["pre_tags"], highlight["post_tags"]) == (["<mark>"], ["</mark>"])
        text = highlight["fields"]["text"]
        assert text["highlight_query"]["match"]["text"]["query"] == "budget"
        assert text["no_match_size"] > 0  # a meaning match shows its beginning


def test_no_highlight_is_asked_without_snippets():
    assert all("highlight" not in search
               for search in searches_for(MemoryQuery("u1", "budget"), [0.1], AT).values())


def test_a_snippet_joins_a_hits_highlighted_fragments():
    fragments = ["the <mark>budget</mark>", "a <mark>budget</mark>"]
    answers = [{"hits": {"hits": [{"_id": "a", "highlight": {"text": fragments}},
                                  {"_id": "b"}]}}]
    assert snippets_of(answers) == {"a": " ... ".join(fragments)}


def test_metadata_is_indexed_as_terms_and_kept_through_a_promotion():
    item = new_item(layer="context", metadata={"v0": {"memoryType": "notes"}})
    item.promote(threshold=0.8, force=False, reason="r", content={"theme": "dark"},
                 merged=False, expires_at=None, at=AT + timedelta(days=1))
    stored, promoted = fold(positioned(*item.collect_events()), {})
    assert stored.doc["metadata_terms"] == promoted.doc["metadata_terms"] == [
        '["v0","memoryType","notes"]']
    assert "metadata" not in stored.doc


def test_an_index_of_an_older_version_gets_only_the_fields_it_lacks():
    fields = MAPPING["properties"]
    older = {"properties": {k: v for k, v in fields.items() if k != "metadata_terms"}}
    assert missing_fields(older) == {"metadata_terms": fields["metadata_terms"]}
    assert missing_fields(MAPPING) == {}


def test_the_indexer_is_a_worker_only_when_a_cluster_is_configured():
    assert "memory_search_es" not in worker_names(Settings(elasticsearch_url=None))
    assert "memory_search_es" in worker_names(
        Settings(elasticsearch_url="http://localhost:9200"))


def test_without_a_cluster_nothing_imports_the_elasticsearch_client():
    script = ("import sys, arqium.api.app, arqium.workers.runner, arqium.cli.main; "
              "sys.exit('elasticsearch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "ARQIUM_ELASTICSEARCH_URL"}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert subprocess.run([sys.executable, "-c", script], env=env, cwd=root).returncode == 0
