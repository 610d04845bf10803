"""Contexts through the memory application and the contexts read model: versions,
merge-on-sync and its conflicts, deletion."""

from uuid import uuid4

import pytest

from arqium.domain.memory.contexts import ContextNotFound, ContextSyncConflict, StaleVersion
from arqium.domain.shared import Invalid
from tests.conftest import SETUP

STATE = {"goal": "ship", "step": 1}


@pytest.fixture
def context(system):
    """Ada's context "planning" at version 1."""
    created, _ = system.memory.create_context("ada", "planning", STATE, None, cause=SETUP)
    return created


def replace(system, context, state, version=None):
    return system.memory.replace_context("ada", context.id, None, state, version,
                                         cause=SETUP)


def sync(system, context, state, base_version):
    return system.memory.sync_context("ada", context.id, state, base_version, cause=SETUP)


def test_a_replacement_at_the_current_version_makes_the_next_version(system, context):
    replaced, _ = replace(system, context, {"step": 2}, version=1)
    assert (replaced.state, replaced.version) == ({"step": 2}, 2)


def test_a_stale_version_is_refused_as_a_conflict(system, context):
    replace(system, context, {"step": 2}, version=1)
    with pytest.raises(StaleVersion) as refused:
        replace(system, context, {"goal": "other"}, version=1)
    assert refused.value.details == {"current_version": 2}


def test_a_sync_touching_other_keys_is_merged_onto_the_current_state(system, context):
    replace(system, context, {"goal": "ship", "step": 2})
    synced, _ = sync(system, context, {**STATE, "notes": "hi"}, base_version=1)
    assert synced.state == {"goal": "ship", "step": 2, "notes": "hi"}


def test_a_sync_touching_what_changed_meanwhile_is_a_conflict_with_the_current_state(
        system, context):
    replace(system, context, {"goal": "ship", "step": 2})
    with pytest.raises(ContextSyncConflict) as clash:
        sync(system, context, {"goal": "ship", "step": 5}, base_version=1)
    assert clash.value.details == {"state": {"goal": "ship", "step": 2}, "version": 2,
                                   "conflicts": ["step"]}


def test_nested_changes_conflict_only_where_both_touched_the_same_path(system):
    context, _ = system.memory.create_context("ada", "c", {"a": {"x": 1, "y": 1}}, None,
                                              cause=SETUP)
    replace(system, context, {"a": {"x": 2, "y": 1}})
    synced, _ = sync(system, context, {"a": {"x": 1, "y": 3}}, base_version=1)
    assert synced.state == {"a": {"x": 2, "y": 3}}
    with pytest.raises(ContextSyncConflict) as clash:
        sync(system, context, {"a": {"x": 5, "y": 1}}, base_version=1)
    assert clash.value.details["conflicts"] == ["a.x"]


@pytest.mark.parametrize("base_version", [0, 7])
def test_a_base_version_the_context_never_had_is_invalid(system, context, base_version):
    with pytest.raises(Invalid) as refused:
        sync(system, context, {}, base_version=base_version)
    assert refused.value.details == {"field": "base_version"}


def test_a_sync_reaches_the_read_model_merged(system, context, workers):
    workers("contexts")
    replace(system, context, {"goal": "ship", "step": 2})
    _, position = sync(system, context, {**STATE, "notes": "hi"}, base_version=1)
    system.read_models.contexts.wait("memory", position, timeout=5)
    row = system.read_models.contexts.get("ada", context.id)
    assert (row["state"], row["version"]) == ({"goal": "ship", "step": 2, "notes": "hi"}, 3)


def test_a_deleted_context_is_not_found_and_leaves_the_read_model(system, context, workers):
    workers("contexts")
    position = system.memory.delete_context("ada", context.id, cause=SETUP)
    with pytest.raises(ContextNotFound):
        replace(system, context, {})
    system.read_models.contexts.wait("memory", position, timeout=5)
    assert system.read_models.contexts.get("ada", context.id) is None


def test_an_unknown_context_is_not_found(system):
    with pytest.raises(ContextNotFound):
        system.memory.replace_context("ada", uuid4(), None, {}, None, cause=SETUP)


def test_another_owners_context_is_not_found(system, context):
    with pytest.raises(ContextNotFound):
        system.memory.replace_context("eve", context.id, None, {}, None, cause=SETUP)
