"""Whether a memory tells a time (a weekday, a month, a feast, a day of the month, a
year, a time relative to when it was said): decided by the projector with Python's
reading of the PostgreSQL pattern, as PostgreSQL decided it before; a table whose
column PostgreSQL still computes is migrated to one the projector writes."""

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from arqium.domain.memory.application import MemoryDraft
from arqium.domain.memory.moments import TELLS_TIME, tells_time
from arqium.projections.memory_items import ADD_TELLS_TIME
from arqium.system.bootstrap import migrate
from tests.conftest import SETUP, memory_items_applied

# Words of the pattern, words it must not take (longer, joined, other cases), numbers
# that are and are not days or years, and other letters; joined by spaces, punctuation
# or underscores (a word character to both).
TOKENS = [
    "monday", "Saturday", "SUNDAY", "mondays", "xmonday", "monday2", "émonday", "may",
    "May", "last", "next", "this", "that", "week", "winter", "night", "yesterday",
    "ago", "Christmas", "easter", "december", "decembers", "today", "todays", "1st",
    "21st", "3rd", "2nd", "11th", "123rd", "1st2", "2024", "1999", "1899", "20245",
    "02024", "٢st", "tea", "weekend", "summer", "café", "brûlée", "x", "",
]
SEPARATORS = [" ", "  ", "\n", "\t", ", ", ".", "-", "_", "'", "?", "(", ")"]
texts = st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(SEPARATORS)),
                 max_size=12).map(lambda pairs: "".join(t + s for t, s in pairs))


def is_generated(conn: psycopg.Connection, column: str) -> bool:
    return conn.execute(
        "SELECT attgenerated <> '' FROM pg_attribute "
        "WHERE attrelid = 'memory_items'::regclass AND attname = %s", [column]
    ).fetchone()[0]


@examples(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, filler=st.sampled_from([0, 990, 995, 1000]))
def test_python_reads_the_pattern_as_postgresql_does(settings, text, filler):
    """Up to the 1,000th character, where both stop reading."""
    text = "x" * filler + " " + text if filler else text
    with psycopg.connect(settings.database_url) as conn:
        expected = conn.execute("SELECT left(%s, 1000) ~* %s",
                                [text, TELLS_TIME]).fetchone()[0]
    assert tells_time(text) is expected


def tells(system, owner_id: str) -> dict[str, bool]:
    rows = system.views["memory_items"].query(
        "SELECT key, tells_time FROM {table} WHERE owner_id = %(owner_id)s",
        owner_id=owner_id)
    return {row["key"]: row["tells_time"] for row in rows}


def stored(system, key: str, text: str) -> tuple:
    return system.memory.upsert("u1", MemoryDraft(key=key, content=text), cause=SETUP)


def test_each_write_of_a_memory_decides_again_whether_it_tells_a_time(system, workers):
    workers("memory_items")
    stored(system, "new", "We met on Saturday")
    stored(system, "revised", "We met")
    stored(system, "revised", "We met last week")
    stored(system, "untold", "Tea next summer")
    stored(system, "untold", "Tea")
    item, _ = stored(system, "back", "Tea")
    system.memory.delete("u1", item.id, cause=SETUP)
    memory_items_applied(system, stored(system, "back", "Tea in 1999")[1])
    assert tells(system, "u1") == {"new": True, "revised": True, "untold": False,
                                   "back": True}


def test_a_table_whose_column_postgresql_computed_keeps_its_values_and_is_written_on(
        system, settings, workers):
    workers("memory_items")
    stored(system, "yes", "We met on Saturday")
    memory_items_applied(system, stored(system, "no", "We met in the hall")[1])
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE memory_items DROP COLUMN tells_time")
        conn.execute(system.views["memory_items"].sql(ADD_TELLS_TIME))
        assert is_generated(conn, "tells_time")  # as an earlier version left it
        migrate(settings)
        assert not is_generated(conn, "tells_time")
    assert tells(system, "u1") == {"yes": True, "no": False}
    memory_items_applied(system, stored(system, "no", "We met in the hall in May 2023")[1])
    assert tells(system, "u1") == {"yes": True, "no": True}


@pytest.mark.parametrize("text", ["x" * 995 + " today", "x" * 990 + " today"])
def test_only_the_first_thousand_characters_are_read(text):
    assert tells_time(text) is (len(text) <= 1000)
