"""A check deferred to the next connection runs once, before that connection is taken,
in the context that asked for it and in the threads that copy it (as a route's worker
thread copies its request's), and nowhere else."""

import contextvars
import threading

import pytest

from arqium.infra.eventstore import check_before_connecting, open_pool


@pytest.fixture
def pool(settings):
    pool = open_pool(settings)
    yield pool
    pool.close()


def test_a_deferred_check_runs_once_before_the_next_connection(pool):
    ran = []

    def in_context():
        check_before_connecting(lambda: ran.append("check"))
        assert ran == []  # deferred: nothing ran yet
        with pool.get_connection() as conn:
            ran.append(conn.execute("SELECT 'query'").fetchone()["?column?"])
        with pool.get_connection():
            pass

    contextvars.copy_context().run(in_context)
    assert ran == ["check", "query"]


def test_a_check_may_query_itself(pool):
    seen = []

    def check():
        with pool.get_connection() as conn:  # not checked again: no recursion
            seen.append(conn.execute("SELECT 1 AS one").fetchone()["one"])

    def in_context():
        check_before_connecting(check)
        with pool.get_connection():
            pass

    contextvars.copy_context().run(in_context)
    assert seen == [1]


def test_a_failed_check_is_the_connections_error_and_nothing_runs(pool):
    class Behind(Exception):
        pass

    def refuse():
        raise Behind("not caught up")

    def in_context():
        check_before_connecting(refuse)
        with pytest.raises(Behind):
            with pool.get_connection():
                pytest.fail("the connection was handed out after a failed check")

    contextvars.copy_context().run(in_context)


def test_a_thread_copying_the_context_runs_the_checks_once_for_it(pool):
    ran, elsewhere = [], []

    def in_context():
        check_before_connecting(lambda: ran.append(1))
        check_before_connecting(lambda: ran.append(2))
        other = threading.Thread(target=connect_once)  # a context of its own
        other.start(), other.join()
        assert ran == []
        worker = threading.Thread(target=contextvars.copy_context().run,
                                  args=(connect_once,))
        worker.start(), worker.join()
        assert ran == [1, 2]
        connect_once()  # as a streamed response's thread, after the route's: not again

    def connect_once():
        with pool.get_connection():
            elsewhere.append(threading.current_thread().name)

    contextvars.copy_context().run(in_context)
    assert ran == [1, 2]
    assert len(elsewhere) == 3


def test_each_context_has_checks_of_its_own(pool):
    ran = []

    def request(name):
        check_before_connecting(lambda: ran.append(name))
        with pool.get_connection():
            pass

    contextvars.copy_context().run(request, "first")
    contextvars.copy_context().run(request, "second")
    with pool.get_connection():
        pass
    assert ran == ["first", "second"]
