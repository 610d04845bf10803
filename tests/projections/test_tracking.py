"""A read model records its position in its batch's transaction however much the batch
sent through the pipeline before (psycopg 3.3 can hand a cursor that ran a big
executemany() that statement's result when it fetches a later one's)."""

import pytest
from eventsourcing.persistence import Tracking

from arqium.infra.listener import Listener
from arqium.projections.base import hurry_channel
from tests.conftest import eventually

ROWS = 500
TEXT = "x" * 1000


def test_positions_are_recorded_after_big_pipelined_writes(system):
    view = system.views["ledger_objects"]  # any read model
    with view.datastore.transaction(commit=True) as curs:
        curs.execute("CREATE TABLE scratch (id int PRIMARY KEY, v text)")
    for batch in range(12):
        with view.writing() as curs:
            first = batch * ROWS
            curs.executemany("INSERT INTO scratch VALUES (%s, %s)",
                             [(first + n, TEXT) for n in range(ROWS)])
            curs.executemany("UPDATE scratch SET v = %s WHERE id = %s",
                             [(TEXT.upper(), first + n) for n in range(ROWS)])
            view.track(curs, Tracking("scratch", batch + 1))
    assert view.position("scratch") == 12
    rows = view.query("SELECT count(*) AS n FROM scratch WHERE v = %(v)s", v=TEXT.upper())
    assert rows[0]["n"] == 12 * ROWS


def test_a_wait_hurries_the_projector_once_and_a_reached_position_not_at_all(system):
    """A wait that finds its read model behind asks its projector to read at once, by
    one NOTIFY however often it looks again; a read model already there is not asked."""
    view = system.views["memory_items"]
    channel, marker, heard = hurry_channel("memory_items"), "arqium_test_marker", []
    listener = Listener(system.settings.database_url)
    try:
        for name in (channel, marker):
            listener.on_notify(name, lambda name=name: heard.append(name))
        eventually(lambda: listener.listening(channel) and listener.listening(marker))
        heard.clear()  # LISTEN taking effect calls each once
        with pytest.raises(TimeoutError):
            view.wait("memory", 10**9, timeout=0.3)  # it looks again six times or so
        with view.datastore.transaction(commit=True) as curs:
            view.track(curs, Tracking("memory", 5))
        view.wait("memory", 5, timeout=0.3)
        view.wait("memory", None, timeout=0.3)
        with view.datastore.get_connection() as conn:  # heard after any of theirs
            conn.execute("NOTIFY " + marker)
        eventually(lambda: marker in heard)
        assert heard == [channel, marker]
    finally:
        listener.close()
