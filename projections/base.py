"""What every Postgres read model shares: tables named after its tracking table,
batches written with their tracking position in one transaction, a prompt wait."""

import inspect
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any, ClassVar

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.utils import Environment
from psycopg import Cursor
from psycopg.sql import SQL, Composed, Identifier

from arqium.domain.shared import stored_topics
from arqium.infra.settings import Settings
from arqium.projections.storable import hold_only_storable

TRACKING_SUFFIX = "_tracking"
SHADOW_SUFFIX = "__rebuild"  # a read model rebuilt beside the live one (workers/rebuild.py)
HEAD_AND_POSITION = """
SELECT (SELECT max(notification_id) FROM {head_table}) AS head,
       (SELECT max(notification_id) FROM {position_table}
        WHERE application_name = %(application)s) AS position"""
# Whether the read model holds the position; if not, and if asked, a NOTIFY that asks its
# projector to read at once rather than gather more commits first (workers/feed.py); and
# if not, whether the database takes no writes (a standby, default_transaction_read_only),
# so that its projector cannot catch up before it does again.
REACHED_OR_HURRY = """
SELECT reached, CASE WHEN NOT reached AND %(hurry)s THEN pg_notify(%(channel)s, '') END,
       NOT reached AND (current_setting('transaction_read_only')::boolean
                        OR pg_is_in_recovery()) AS stuck
FROM (SELECT coalesce(max(notification_id) >= %(position)s, false) AS reached
      FROM {tracking} WHERE application_name = %(application)s) AS tracking"""
HURRY_PREFIX = "arqium_awaited_"
# A position recorded alone, in one statement: the library's single-row tracking upsert
# (moving forward only), committed without waiting for the disk as `writing()` does
# (set_config(..., true) holds for the statement's own transaction).
TRACK_ALONE = """
INSERT INTO {tracking} (application_name, notification_id)
SELECT %(application)s, %(position)s
FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous_commit
ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id
WHERE {tracking}.notification_id < excluded.notification_id
RETURNING notification_id"""


class ReadModelStuck(TimeoutError):
    """A read model behind that cannot catch up for now: the database takes no writes.
    A TimeoutError, so that a wait for it fails as one that ran out, only at once."""


class ReadModel(PostgresTrackingRecorder):
    """A read model's tables are `<name>...`, its tracking table `<name>_tracking`,
    where name is the projection's name (or a shadow name while rebuilding)."""

    # Whether a rebuild builds its secondary indexes after the load rather than keeping
    # them up row by row: only for a read model whose writes look nothing up by them.
    index_after_load: ClassVar[bool] = False

    def __init__(self, datastore: Any, *, tracking_table_name: str, **kwargs: Any):
        super().__init__(datastore, tracking_table_name=tracking_table_name, **kwargs)
        self.name = tracking_table_name.removesuffix(TRACKING_SUFFIX)

    def sql(self, template: str, **names: str) -> Composed:
        """SQL with {table} and any other named identifiers filled in."""
        return filled_sql(template, self.datastore.schema, self.name,
                          tuple(sorted(names.items())))

    def query(self, template: str, /, identifiers: dict[str, str] | None = None,
              **params: Any) -> list[dict]:
        """Rows of a read-only query on this read model's table (and the tables named
        in `identifiers`)."""
        # One statement needs no BEGIN and ROLLBACK around it: on the pool's autocommit
        # connections it runs in its own snapshot, in one round trip instead of three.
        with self.datastore.get_connection() as conn:
            return conn.execute(self.sql(template, **(identifiers or {})), params).fetchall()

    @contextmanager
    def writing(self) -> Iterator[Cursor]:
        """A transaction whose writes keep only what PostgreSQL can hold (storable.py):
        an event the write side accepted can never stop the projection. Its statements
        are pipelined: a batch's writes go in a few round trips, not one each."""
        with self.datastore.transaction(commit=True) as curs, curs.connection.pipeline():
            hold_only_storable(curs)
            # Its commit need not wait for the disk: should PostgreSQL crash before the
            # write is flushed, the batch and its tracking position are lost together,
            # and the projector applies the batch again from the events, which are.
            curs.execute("SET LOCAL synchronous_commit = off")
            yield curs

    def track(self, curs: Cursor, tracking: Tracking) -> None:
        """Record the position in the transaction of `curs`, on a cursor of its own:
        in a pipeline, a cursor that ran a big executemany() can fetch that statement's
        result instead of the tracking's (psycopg 3.3), which stopped rebuilds."""
        with curs.connection.cursor(row_factory=curs.row_factory) as own:
            self._insert_tracking(own, tracking)

    def track_alone(self, tracking: Tracking) -> None:
        """Record the position in a transaction of its own, one round trip: what a
        projector reading only its topics writes at most commits (none of them its
        topics), where a batch's transaction took four (and most of its processor)."""
        recorded = self.query(TRACK_ALONE, {"tracking": self.tracking_table_name},
                              application=tracking.application_name,
                              position=tracking.notification_id)
        if not recorded:  # as the library's tracking: never back, nor in place
            raise IntegrityError(f"Failed to record tracking for "
                                 f"{tracking.application_name} {tracking.notification_id}")

    def head_and_position(self, application_name: str, events_table: str
                          ) -> tuple[int | None, int | None]:
        """The application's last stored position and this read model's, in one round
        trip (a read's check that it holds every earlier write)."""
        row = self.query(HEAD_AND_POSITION, {"head_table": events_table,
                                             "position_table": self.tracking_table_name},
                         application=application_name)[0]
        return row["head"], row["position"]

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0

    def wait(self, application_name: str, notification_id: int | None,
             timeout: float = 1.0, interrupt: Any = None) -> None:
        """Block until the read model has reached `notification_id`; TimeoutError if not
        (at once while the database takes no writes: ReadModelStuck). Polls briskly:
        read-your-writes waits are usually a few milliseconds. The first look that finds
        it behind hurries its projector: one NOTIFY a wait, as PostgreSQL commits the
        transactions that notify one at a time."""
        if notification_id is None:
            return
        deadline = time.monotonic() + timeout
        pause, hurry = 0.002, True
        while not self.reached_or_hurry(application_name, notification_id, hurry):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"read model {self.name!r} has not reached "
                                   f"{application_name} position {notification_id}")
            time.sleep(pause)
            pause, hurry = min(pause * 2, 0.05), False

    def reached_or_hurry(self, application_name: str, notification_id: int,
                         hurry: bool = True) -> bool:
        """Whether the read model holds `notification_id`; if not (and if `hurry`), its
        projector is asked, in the same round trip, to read the log now. ReadModelStuck
        if it does not while the database takes no writes: waiting would be in vain."""
        row = self.query(REACHED_OR_HURRY, {"tracking": self.tracking_table_name},
                         application=application_name, position=notification_id,
                         hurry=hurry, channel=hurry_channel(self.name))[0]
        if row["stuck"]:
            raise ReadModelStuck(f"read model {self.name!r} cannot reach {application_name}"
                                 f" position {notification_id} while the database takes "
                                 "no writes")
        return row["reached"]

    def table_names(self) -> list[str]:
        """Every table this read model owns, tracking included (for drop and swap)."""
        return [self.name, self.tracking_table_name]


def hurry_channel(read_model_name: str) -> str:
    """The NOTIFY channel on which reads waiting for the read model hurry its projector."""
    return HURRY_PREFIX + read_model_name


@lru_cache(maxsize=1024)
def filled_sql(template: str, schema: str, table: str,
               names: tuple[tuple[str, str], ...] = ()) -> Composed:
    """The template with {table} and the other identifiers quoted in, rendered once: a
    projector runs the same few statements for every event, and composing them again
    cost more than some of the statements."""
    identifiers = {key: Identifier(value) for key, value in names}
    filled = SQL(template).format(table=Identifier(schema, table), **identifiers)
    return Composed([SQL(filled.as_string())])


class BatchProjection(Projection[Any]):
    """A projection that writes a batch of events and its tracking in one transaction."""

    application: ClassVar[type]
    view_class: ClassVar[type[ReadModel]]
    # The module whose capability the projection serves: its worker pauses while the
    # module is off and resumes from its tracking position once it is on again.
    module: ClassVar[str | None] = None
    # Whether it embeds texts: its worker's thread runs at ARQIUM_EMBEDDING_NICENESS.
    embeds: ClassVar[bool] = False

    @classmethod
    def for_worker(cls, view: ReadModel, settings: Settings) -> "BatchProjection":
        """The projection a worker runs on `view` (one that reads more than events, such
        as stored documents, opens what it reads from the settings)."""
        return cls(view=view)

    @classmethod
    def topics(cls) -> tuple[str, ...]:
        """The stored topics of the events the projection applies, so that its feed reads
        only those; () for every event. Known for a projection that writes through
        `apply` alone, a singledispatchmethod whose fallback does nothing."""
        return _applied_topics(cls)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_batch([(domain_event, tracking)])

    def prepare(self, batch: Sequence[tuple[Any, Tracking]]) -> None:
        """Work out ahead what the batch's writes need from its events alone (neither the
        read model nor an earlier batch): a rebuild prepares the next batch in its reader
        thread while this one is written. It may run beside `process_batch` (default:
        nothing to prepare)."""

    def process_batch(self, batch: Sequence[tuple[Any, Tracking]]) -> None:
        """Apply events in order; record the last one's position in the same transaction.
        A None event stands for positions passed over, none of which the projection
        applies (see `topics`): only its tracking is recorded."""
        if all(domain_event is None for domain_event, _ in batch):
            self.view.track_alone(batch[-1][1])
            return
        with self.view.writing() as curs:
            self.apply_all([(domain_event, tracking.notification_id)
                            for domain_event, tracking in batch
                            if domain_event is not None], curs)
            self.view.track(curs, batch[-1][1])

    def apply_all(self, events: Sequence[tuple[Any, int]], curs: Cursor) -> None:
        """Write the effect of the batch's (event, position) pairs, in order (default:
        one by one)."""
        for domain_event, position in events:
            self.apply(domain_event, position, curs)

    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Write one event's effect on the read model (default: none)."""


@cache
def _applied_topics(projection_class: type[BatchProjection]) -> tuple[str, ...]:
    apply = inspect.getattr_static(projection_class, "apply")
    if (projection_class.apply_all is not BatchProjection.apply_all
            or projection_class.process_batch is not BatchProjection.process_batch
            or not isinstance(apply, singledispatchmethod)):
        return ()
    return topics_of(*applied_classes(projection_class))


def applied_classes(projection_class: type[BatchProjection]) -> list[type]:
    """The event classes its `apply` singledispatchmethod was registered for."""
    apply = inspect.getattr_static(projection_class, "apply")
    return [event_class for event_class in apply.dispatcher.registry
            if event_class is not object]


def topics_of(*event_classes: type) -> tuple[str, ...]:
    """The stored topics of those events, and of every class they dispatch."""
    return tuple(sorted({topic for event_class in event_classes
                         for dispatched in _and_subclasses(event_class)
                         for topic in stored_topics(dispatched)}))


def _and_subclasses(event_class: type) -> Iterator[type]:
    """The class and every class a singledispatch on it also takes."""
    yield event_class
    for subclass in event_class.__subclasses__():
        yield from _and_subclasses(subclass)


def open_view(projection_class: type[BatchProjection], env: dict[str, str],
              name: str | None = None) -> ReadModel:
    """The projection's read model (created if the env says so); `name` picks a shadow
    copy. It uses the env's pool: the process's shared one, or a pool of its own."""
    factory = InfrastructureFactory.construct(env=Environment(name or projection_class.name,
                                                              env))
    return factory.tracking_recorder(projection_class.view_class)
