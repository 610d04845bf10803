"""The process's LISTEN connection: what wakes the threads waiting on a channel."""

import psycopg

from arqium.infra.listener import Listener


def test_a_waiter_is_woken_once_its_channel_is_listened_to_then_on_each_notify(database):
    listener = Listener(database)
    try:
        with listener.wakeups("arqium_test_channel") as wakeup:
            # Before any NOTIFY: a commit made while LISTEN was not yet in effect would
            # have been notified to no one, so the waiter must look once it is.
            assert wakeup.wait(5)
            wakeup.clear()
            with psycopg.connect(database, autocommit=True) as conn:
                conn.execute("NOTIFY arqium_test_channel")
            assert wakeup.wait(5)
    finally:
        listener.close()
