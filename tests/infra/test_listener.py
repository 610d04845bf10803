"""The process's LISTEN connection: what wakes the threads waiting on a channel."""

import time

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


def test_close_ends_the_wait_for_notifications_at_once(database, monkeypatch):
    listener = Listener(database)
    with listener.wakeups("arqium_test_channel") as wakeup:
        assert wakeup.wait(5)  # listened to
    monkeypatch.setattr("arqium.infra.listener.CHECK_SECONDS", 60.0)
    time.sleep(0.5)  # its wait of 0.2 s is over: it now waits up to 60 s
    started = time.monotonic()
    listener.close()
    # Well short of that wait: close() ends it rather than waiting it out.
    assert time.monotonic() - started < 10
