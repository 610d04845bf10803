"""A projection serving a module pauses while the module is off and resumes from its
tracking position once it is on again: nothing lost."""

import threading

import pytest

from arqium.domain.memory.application import MemoryDraft
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.workers.projector import Projector
from arqium.workers.resources import WorkerResources
from tests.conftest import SETUP, eventually


class AnalyticsMemoryItems(MemoryItemsProjection):
    """memory_items, as if it served the analytics module."""

    name = "memory_items"
    module = "analytics"


@pytest.fixture
def projector(settings, system, workers):
    workers("platform_modules")
    stopping, shared = threading.Event(), WorkerResources(settings)
    projector = Projector(AnalyticsMemoryItems, stopping)
    thread = threading.Thread(target=projector.run, args=(shared,))
    thread.start()
    yield projector
    stopping.set(), thread.join(), shared.close()


def switched(system, on: bool) -> None:
    command = system.platform.enable_module if on else system.platform.disable_module
    system.read_models.platform_modules.wait("platform", command("analytics", cause=SETUP),
                                             timeout=10)


def test_the_elasticsearch_indexer_serves_the_elasticsearch_search_module():
    from arqium.projections.memory_search_es import EsMemorySearchProjection
    assert EsMemorySearchProjection.module == "elasticsearch-search"


def test_a_paused_projection_resumes_from_its_position_once_its_module_is_on(
        system, projector):
    switched(system, on=False)
    assert eventually(lambda: projector.paused)
    _, position = system.memory.upsert("u1", MemoryDraft(key="k", content=1), cause=SETUP)
    view = system.views["memory_items"]
    assert view.position("memory") < position  # paused before the write: not projected
    switched(system, on=True)
    view.wait("memory", position, timeout=10)
    assert not projector.paused
