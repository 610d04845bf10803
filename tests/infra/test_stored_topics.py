"""Events stored before the code was installed as `arqium` (topics such as
`domain.memory.domainmodel:MemoryItem.Upserted`) still load."""

import psycopg

from arqium.domain.memory.application import MemoryApplication, MemoryDraft
from arqium.domain.shared import Cause
from arqium.infra.eventstore import eventsourcing_env

ADA = Cause(actor="user:ada")

OLD_TOPICS = """
UPDATE memory_events SET topic = replace(topic, 'arqium.domain.', 'domain.'),
    state = convert_to(replace(convert_from(state, 'UTF8'), 'arqium.domain.', 'domain.'),
                       'UTF8')"""


def test_a_memory_stored_with_the_old_topics_loads(settings, system):
    item, _ = system.memory.upsert("ada", MemoryDraft(key="k", content="first"), cause=ADA)
    system.memory.upsert("ada", MemoryDraft(key="k", content="second"), cause=ADA)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(OLD_TOPICS)
        topics = {t for (t,) in conn.execute("SELECT DISTINCT topic FROM memory_events")}
    assert topics == {"domain.memory.domainmodel:MemoryItem.Upserted",
                      "domain.memory.domainmodel:MemoryItem.Revised"}
    fresh = MemoryApplication(eventsourcing_env(settings, pool_size=1))
    try:
        loaded = fresh.repository.get(item.id)
    finally:
        fresh.close()
    assert (type(loaded).__module__, loaded.content, loaded.version) == (
        "arqium.domain.memory.domainmodel", "second", 2)
