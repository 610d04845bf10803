"""A projection that applies a few of its application's events reads only those
(`BatchProjection.topics`): fed that way, it builds the same read model as fed every
event, and it is tracked to the head all the same, so reads waiting for the head do not
wait for it in vain."""

import pytest

from arqium.domain.memory.application import MemoryDraft
from arqium.projections.catalog import PROJECTIONS
from arqium.projections.memory_items import MemoryItemsProjection
from tests.conftest import SETUP
from tests.projections.replay import fed_copy
from tests.projections.test_any_accepted_value import write_everything

READING_TOPICS = [projection for projection in PROJECTIONS if projection.topics()]


def test_the_projections_writing_through_apply_alone_read_only_their_topics():
    names = {projection.name for projection in READING_TOPICS}
    assert {"contexts", "vaults", "users", "chat_sessions", "components"} <= names
    assert not names & {"memory_activity", "ledger_objects"}


def test_the_memory_read_model_reads_its_memories_events_alone():
    """It writes new memories in `apply_all`, so its topics are declared, not found:
    every memory event but a working set's record, which it never applies."""
    topics = {topic.rpartition(":")[2] for topic in MemoryItemsProjection.topics()}
    assert topics == {"MemoryItem.Upserted", "MemoryItem.Revised", "MemoryItem.Recreated",
                      "MemoryItem.Promoted", "MemoryItem.Deleted", "MemoryItem.Expired",
                      "MemoryOwner.Forgotten"}


@pytest.mark.parametrize("projection_class", READING_TOPICS, ids=lambda p: p.name)
def test_other_events_change_nothing_in_a_projection_reading_only_its_topics(
        projection_class):
    """What a topic filter leaves out must be what its `apply` would have ignored: the
    fallback touches neither a cursor nor the read model."""
    bare = projection_class.__new__(projection_class)  # no read model at all
    assert projection_class.apply(bare, object(), 1, None) is None


def write_history(system) -> None:
    write_everything(system, {"n": 1, "tags": ["a"]}, "first")
    write_everything(system, {}, "")
    owner = system.identity.register("gone@example.com", "gone", "correct horse",
                                     cause=SETUP)[0]
    gone = str(owner.id)
    system.memory.create_context(gone, "soon gone", {}, None, cause=SETUP)
    system.memory.forget_owner(gone, cause=SETUP)
    parts = [system.components.save_component(owner_id, {
        "title": title, "type": "text", "data": {"text": title}, "preview": None,
        "tags": []}, cause=SETUP)[0] for owner_id, title in
        (("u1", "one"), ("u1", "two"), (gone, "gone"))]
    system.components.combine("u1", [str(part.id) for part in parts[:2]], "merge",
                              cause=SETUP)
    system.components.forget_owner(gone, cause=SETUP)
    system.platform.uninstall_module("analytics", cause=SETUP)
    system.platform.install_module("analytics", cause=SETUP)
    system.platform.rate_module("graphql", "u1", 5, cause=SETUP)
    for key in "abc":  # events most topic-reading projections do not apply, last
        system.memory.upsert("u1", MemoryDraft(key=key, content=key), cause=SETUP)
    system.memory.record_working_set("u1", "chat", [], 100, cause=SETUP)  # nor this


def every_row(view) -> dict[str, list]:
    tables = [table for table in view.table_names() if table != view.tracking_table_name]
    return {table.removeprefix(view.name): sorted(
        (repr(row) for row in view.query("SELECT * FROM {t}", identifiers={"t": table})))
        for table in tables}


def test_a_projection_fed_only_its_topics_builds_the_same_read_model_up_to_the_head(
        system, settings, workers):
    workers("platform_config")  # a registration reads the password policy from it
    write_history(system)
    for projection_class in READING_TOPICS:
        application = next(app for app in system.applications()
                           if isinstance(app, projection_class.application))
        name = projection_class.name
        with fed_copy(settings, projection_class, application, f"{name}_every",
                      batch_size=3) as every_event:
            expected = every_row(every_event)
        assert any(expected.values()), name  # the history gave it something to hold
        with fed_copy(settings, projection_class, application, f"{name}_topics",
                      batch_size=3, topics=projection_class.topics()) as of_topics:
            assert every_row(of_topics) == expected, name
            assert of_topics.position(application.name) == (
                application.recorder.max_notification_id()), name
