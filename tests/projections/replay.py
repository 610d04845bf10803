"""A fresh copy of a read model fed an application's whole history, as a rebuild or a
projector does: what the tests comparing batch sizes share."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from arqium.infra.eventstore import open_pool, shared_env
from arqium.projections.base import ReadModel, open_view
from arqium.workers.feed import EventFeed


@contextmanager
def fed_copy(settings, projection_class, application, name: str, batch_size: int,
             prepared_ahead: bool = False, topics: Sequence[str] = ()
             ) -> Iterator[ReadModel]:
    """The copy `name` of the projection's read model, fed every event of the
    application (or of its `topics`) in batches of `batch_size` (with `prepared_ahead`,
    each batch prepared before the one before it is written, as a rebuild does); its
    pool closes when the block ends."""
    pool = open_pool(settings)
    try:
        view = open_view(projection_class, shared_env(settings, pool, create_tables=True),
                         name=name)
        projection = projection_class(view)
        feed = EventFeed(application, 0, lambda: False, batch_size=batch_size,
                         topics=topics)
        batch = feed.next_batch()
        while batch:
            upcoming = feed.next_batch()
            if prepared_ahead:
                projection.prepare(upcoming)
            projection.process_batch(batch)
            batch = upcoming
        yield view
    finally:
        pool.close()
