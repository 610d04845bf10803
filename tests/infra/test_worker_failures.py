"""How a worker's failure is told apart from a lost database, and how it is described
to operators."""

import time

import psycopg
import psycopg.errors
from eventsourcing.persistence import IntegrityError, OperationalError
from psycopg_pool import PoolTimeout

from arqium.infra.connections import connection_lost
from arqium.infra.worker_failures import describe


def raised_from(error: Exception, cause: Exception) -> Exception:
    """`error` as the library raises it: `from` the driver's error."""
    error.__cause__ = cause
    return error


def test_an_error_is_described_by_its_type_and_first_line_without_credentials():
    error = psycopg.OperationalError(
        "connection to postgresql://ada:s3cret@db:5432/arqium failed\nDETAIL: more")
    assert describe(error) == ("OperationalError: connection to "
                               "postgresql://ada:***@db:5432/arqium failed")
    assert describe(ValueError("password=s3cret host=db")) == (
        "ValueError: password=*** host=db")


def test_a_lost_or_refused_connection_is_no_workers_failure():
    assert connection_lost(raised_from(OperationalError("x"), psycopg.errors.AdminShutdown()))
    assert connection_lost(raised_from(OperationalError("x"),
                                       psycopg.OperationalError("server closed")))
    assert connection_lost(PoolTimeout("no connection"))


def test_a_session_the_server_ended_as_idle_in_a_transaction_is_a_lost_connection(
        database):
    with psycopg.connect(database) as conn:
        conn.execute("SET idle_in_transaction_session_timeout = '100ms'")
        conn.execute("SELECT 1")  # a transaction now open (psycopg's default)
        time.sleep(0.5)
        try:
            conn.execute("SELECT 1")
        except psycopg.Error as error:
            ended = error
    assert ended.sqlstate == "25P03" and not isinstance(ended, psycopg.OperationalError)
    assert connection_lost(raised_from(OperationalError("x"), ended))


def test_what_the_database_refuses_to_do_is_the_workers_failure():
    assert not connection_lost(raised_from(IntegrityError("x"),
                                           psycopg.errors.CheckViolation()))
    assert not connection_lost(raised_from(OperationalError("x"),
                                           psycopg.errors.LockNotAvailable()))
    assert not connection_lost(ValueError("bad data"))
