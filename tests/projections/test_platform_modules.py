"""The platform_modules read model: states, settings, install counts and ratings."""

import pytest

from arqium.domain.shared import Cause

ADMIN = Cause(actor="user:admin")


@pytest.fixture
def modules(system, workers):
    workers("platform_modules")
    return system.read_models.platform_modules


def projected(system, position: int) -> None:
    system.read_models.platform_modules.wait("platform", position, timeout=10)


def test_a_module_without_events_has_no_row(system, modules):
    projected(system, system.platform.disable_module("graphql", cause=ADMIN))
    assert set(modules.changed_modules()) == {"graphql"}


def test_states_and_settings_follow_the_events(system, modules):
    system.platform.change_module("graphql", {"max_depth": 4}, False, cause=ADMIN)
    position = system.platform.change_module_settings("graphql", {"max_fields": 9},
                                                      cause=ADMIN)
    projected(system, position)
    row = modules.changed_modules()["graphql"]
    assert (row["installed"], row["enabled"], row["settings"]) == (
        True, False, {"max_depth": 4, "max_fields": 9})


def test_downloads_count_the_install_events(system, modules):
    for _ in range(2):
        system.platform.uninstall_module("analytics", cause=ADMIN)
        position = system.platform.install_module("analytics", cause=ADMIN)
    projected(system, position)
    assert modules.changed_modules()["analytics"]["downloads"] == 2


def test_a_rating_is_one_per_user_and_changeable(system, modules):
    system.platform.rate_module("graphql", "u1", 5, cause=ADMIN)
    system.platform.rate_module("graphql", "u2", 2, cause=ADMIN)
    projected(system, system.platform.rate_module("graphql", "u1", 4, cause=ADMIN))
    assert modules.ratings_by_module()["graphql"] == {
        "module_id": "graphql", "rating": 3.0, "ratings": 2}
