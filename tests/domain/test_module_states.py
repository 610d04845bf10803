"""The modules' rules: dependencies, requirements, settings schemas, ratings."""

import pytest

from arqium.domain.platform.modules import (
    CATALOGUE,
    ModuleError,
    ModuleStates,
    UnknownModule,
)
from arqium.domain.shared import Invalid

LLM = "ARQIUM_LLM_BASE_URL"


def test_every_module_starts_installed_and_enabled_with_no_event():
    states = ModuleStates()
    assert all(states.is_on(module_id, {LLM, "ARQIUM_ELASTICSEARCH_URL"})
               for module_id in CATALOGUE)


def test_a_module_whose_requirement_is_missing_is_installed_but_not_on():
    states = ModuleStates()
    assert states.state_of("chat")["installed"] and not states.is_on("chat", set())


def test_uninstalling_a_module_another_installed_module_needs_is_refused_naming_it():
    with pytest.raises(ModuleError, match="needed by chat") as refused:
        ModuleStates().uninstall("cerebro", at=None)
    assert refused.value.code == "MODULE_ERROR"


def test_installing_a_module_whose_dependency_is_not_installed_is_refused_naming_it():
    states = ModuleStates()
    states.uninstall("chat", at=None)
    states.uninstall("cerebro", at=None)
    with pytest.raises(ModuleError, match="needs cerebro"):
        states.install("chat", None, at=None)


def test_a_module_installs_again_once_its_dependency_is_back():
    states = ModuleStates()
    states.uninstall("chat", at=None)
    states.uninstall("cerebro", at=None)
    states.install("cerebro", None, at=None)
    states.install("chat", "0.1.0", at=None)
    assert states.is_on("chat", {LLM})


def test_enabling_a_module_whose_requirement_is_missing_names_the_setting():
    with pytest.raises(ModuleError, match="ARQIUM_ELASTICSEARCH_URL"):
        ModuleStates().enable("elasticsearch-search", set(), at=None)


def test_a_disabled_module_is_installed_but_not_on():
    states = ModuleStates()
    states.disable("graphql", at=None)
    assert states.state_of("graphql")["installed"] and not states.is_on("graphql", set())


def test_an_unknown_module_is_not_found():
    with pytest.raises(UnknownModule):
        ModuleStates().enable("webhooks", set(), at=None)


def test_an_unknown_version_is_invalid_naming_the_field():
    states = ModuleStates()
    states.uninstall("analytics", at=None)
    with pytest.raises(Invalid) as refused:
        states.install("analytics", "9.9.9", at=None)
    assert refused.value.details == {"field": "version"}


def test_settings_are_merged_and_checked_against_the_module_schema():
    states = ModuleStates()
    states.change_settings("graphql", {"max_depth": 5}, at=None)
    states.change_settings("graphql", {"max_aliases": 3}, at=None)
    assert states.state_of("graphql")["settings"] == {"max_depth": 5, "max_aliases": 3}


@pytest.mark.parametrize("module_id, patch, path", [
    ("graphql", {"max_depth": 0}, "settings.max_depth"),
    ("graphql", {"max_depth": "5"}, "settings.max_depth"),
    ("graphql", {"colour": "red"}, "settings.colour"),
    ("analytics", {"anything": 1}, "settings.anything"),
])
def test_a_setting_outside_the_schema_is_invalid_naming_its_path(module_id, patch, path):
    with pytest.raises(Invalid) as refused:
        ModuleStates().change_settings(module_id, patch, at=None)
    assert refused.value.details == {"field": path}


@pytest.mark.parametrize("stars", [0, 6, True, 2.5])
def test_a_rating_is_one_to_five_stars(stars):
    with pytest.raises(Invalid):
        ModuleStates().rate("graphql", "user-1", stars, at=None)


def test_the_configuration_lists_change_only_what_differs():
    states = ModuleStates()
    states.mirror(["graphql"], ["analytics"], set(), at=None)
    assert [type(e).__name__ for e in states.collect_events()[1:]] == ["ModuleDisabled"]
