"""A read model records its position in its batch's transaction however much the batch
sent through the pipeline before (psycopg 3.3 can hand a cursor that ran a big
executemany() that statement's result when it fetches a later one's)."""

from eventsourcing.persistence import Tracking

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
