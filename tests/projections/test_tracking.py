"""A read model records its position in its batch's transaction however much the batch
sent through the pipeline before (psycopg 3.3 can hand a cursor that ran a big
executemany() that statement's result when it fetches a later one's)."""

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from arqium.infra.listener import Listener
from arqium.projections import projection_named
from arqium.projections.base import TRACK_ALONE, hurry_channel
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


def test_positions_passed_over_alone_are_recorded_forward_only(system):
    """A batch of positions passed over (a projector reading only its topics, woken by
    commits of other events) records its last one by itself, and, as the library's
    tracking does, never back and never the same one twice (a second writer)."""
    view = system.views["contexts"]
    projection = projection_named("contexts").for_worker(view, system.settings)
    projection.process_batch([(None, Tracking("scratch", 3)),
                              (None, Tracking("scratch", 7))])
    assert view.position("scratch") == 7
    for behind in (5, 7):
        with pytest.raises(IntegrityError):
            projection.process_batch([(None, Tracking("scratch", behind))])
    assert view.position("scratch") == 7
    projection.process_batch([(None, Tracking("scratch", 9))])
    assert view.position("scratch") == 9


def test_recording_a_position_alone_leaves_its_connection_committing_durably(system):
    """Its commit skips the wait for the disk for that statement alone: the pooled
    connection, which other writes use next, commits durably again."""
    view = system.views["contexts"]
    with view.datastore.get_connection() as conn:
        conn.execute(view.sql(TRACK_ALONE, tracking=view.tracking_table_name),
                     {"application": "scratch", "position": 1})
        setting = conn.execute("SHOW synchronous_commit").fetchone()
        assert setting["synchronous_commit"] == "on"
    assert view.position("scratch") == 1
