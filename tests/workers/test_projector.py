import os
import threading
import time

import pytest

from arqium.domain.memory.application import MemoryDraft
from arqium.infra.embeddings import FLOAT_MODEL, Embedder, shared_embedder, worker_embedder
from arqium.infra.settings import Settings
from arqium.projections.memory_embeddings import MemoryEmbeddingsProjection
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.workers.projector import Projector
from arqium.workers.resources import WorkerResources
from tests.conftest import SETUP, eventually


def write(system, count: int, prefix: str = "k") -> int:
    position = 0
    for n in range(count):
        _, position = system.memory.upsert("u1", MemoryDraft(key=f"{prefix}{n}", content=n),
                                           cause=SETUP)
    return position


@pytest.fixture
def run_projector(settings):
    """Starts a projector as in a worker process of its own; stops them after the test."""
    started = []

    def start(projection=MemoryItemsProjection, **changed: object
              ) -> tuple[threading.Event, threading.Thread]:
        stopping = threading.Event()
        shared = WorkerResources(settings.model_copy(update=changed))
        thread = threading.Thread(target=Projector(projection, stopping).run,
                                  args=(shared,))
        thread.start()
        started.append((stopping, thread, shared))
        return stopping, thread

    yield start
    for stopping, thread, shared in started:
        # As a worker group stops its workers: the waits of their feeds end at once,
        # a gather's too (one test's lasts 60 s).
        stopping.set(), shared.listener.wake_all()
        thread.join(), shared.close()


def test_write_is_invisible_until_the_projector_has_run(system, run_projector, clock):
    position = write(system, 1)
    view = system.views["memory_items"]
    assert view.recent("u1", 10, clock()) == []
    stopping, thread = run_projector()
    view.wait("memory", position, timeout=5)
    stopping.set(), thread.join()
    assert [row["key"] for row in view.recent("u1", 10, clock())] == ["k0"]


def test_a_stopped_projector_resumes_from_its_position_without_duplicates(
        system, run_projector, clock):
    view = system.views["memory_items"]
    stopping, thread = run_projector()
    view.wait("memory", write(system, 30, "a"), timeout=5)
    stopping.set(), thread.join()
    position = write(system, 30, "b")
    stopping, thread = run_projector()
    view.wait("memory", position, timeout=5)
    stopping.set(), thread.join()
    rows = view.recent("u1", 100, clock())
    assert len(rows) == len({row["key"] for row in rows}) == 60
    assert view.position("memory") == position


def test_a_second_projector_is_a_hot_standby(system, run_projector):
    first_stop, first = run_projector()
    view = system.views["memory_items"]
    view.wait("memory", write(system, 1, "a"), timeout=5)
    second_stop, second = run_projector()
    first_stop.set(), first.join()
    view.wait("memory", write(system, 1, "b"), timeout=5)
    second_stop.set(), second.join()
    assert view.position("memory") == system.memory.recorder.max_notification_id()


def test_a_read_waiting_for_a_write_hurries_a_gathering_projector(system, run_projector):
    """Gathering commits saves work only while no read waits for them: a read waiting
    for a write asks the projector to read it at once."""
    view = system.views["memory_items"]
    run_projector(worker_gather_seconds=60.0)
    view.wait("memory", write(system, 1, "a"), timeout=5)
    time.sleep(0.5)  # its LISTENs take effect, which wakes it once: it now idles
    view.wait("memory", write(system, 1, "b"), timeout=5)  # then it gathers, for 60 s
    view.wait("memory", write(system, 1, "c"), timeout=5)


def worker_model(threads: int) -> Embedder | None:
    """The embedding workers' model, once this process has made it."""
    if not worker_embedder.cache_info().currsize:
        return None
    return worker_embedder(threads, FLOAT_MODEL)


def test_the_embeddings_worker_loads_the_model_as_it_starts_not_on_its_first_memory(
        settings, workers):
    worker_embedder.cache_clear()
    workers("memory_embeddings")  # no memory stored: nothing to embed yet
    assert eventually(lambda: worker_model(settings.embedding_threads), every=0.05), \
        "the worker did not load the model"


def test_the_embeddings_workers_model_runs_on_the_threads_set_at_the_lower_priority(
        settings, run_projector):
    assert settings.embedding_threads == 1  # the suite's (TEST_SCALE): queries' model
    assert Settings.model_fields["embedding_threads"].default == 2
    queries = shared_embedder(FLOAT_MODEL)  # the runtime's own threads, if any, start now
    worker_embedder.cache_clear()
    run_projector(MemoryEmbeddingsProjection, embedding_threads=2)
    model = eventually(lambda: worker_model(2), every=0.05)
    assert model is not None, "the worker did not load the model"
    assert model.threads == 2
    before = set(threading.enumerate())  # with any other model's, on their way out
    # Embedded from this thread, at its priority: five groups (the short texts, then each
    # long one alone), up to two at once (the second thread starts unless the first is
    # done with its group by then).
    model.embed(["a short text"] * 8 + ["a text too long to share a group " * 40] * 4)
    inferring = [thread for thread in set(threading.enumerate()) - before
                 if thread.name.startswith("embedding")]
    assert 1 <= len(inferring) <= model.threads, inferring
    assert {niceness(thread) for thread in inferring} == {settings.embedding_niceness}
    assert model is not queries and queries.threads == 1  # a query's inference: one thread


def niceness(thread: threading.Thread) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread.native_id)


def test_the_embeddings_projector_yields_the_processor_and_the_others_do_not(
        settings, run_projector):
    assert settings.embedding_niceness == 10
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert own < settings.embedding_niceness  # else the test could not tell
    _, embeddings = run_projector(MemoryEmbeddingsProjection)
    _, items = run_projector(MemoryItemsProjection)
    assert eventually(lambda: niceness(embeddings) == settings.embedding_niceness,
                      every=0.02), f"nice {niceness(embeddings)}"
    assert niceness(items) == own
