"""How a worker's failure is told apart from a lost database, and how it is described
to operators."""

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


def test_what_the_database_refuses_to_do_is_the_workers_failure():
    assert not connection_lost(raised_from(IntegrityError("x"),
                                           psycopg.errors.CheckViolation()))
    assert not connection_lost(raised_from(OperationalError("x"),
                                           psycopg.errors.LockNotAvailable()))
    assert not connection_lost(ValueError("bad data"))
