"""Plugins through the client: listed by anyone, installed, switched and configured by
an admin (each test leaves them as it found them: the server is the session's)."""

import pytest

from arqium_client import Forbidden, ValidationFailed


def test_the_plugins_list_follows_the_pages(client):
    ids = [plugin.id for plugin in client.plugins.list(per_page=3)]
    assert len(ids) == len(set(ids)) > 3 and "graphql" in ids


def test_an_admin_disables_and_enables_a_plugin(admin):
    try:
        assert admin.plugins.disable("analytics").enabled is False
        listed = {plugin.id: plugin for plugin in admin.plugins.list()}
        assert listed["analytics"].enabled is False
    finally:
        assert admin.plugins.enable("analytics").enabled is True


def test_an_admin_uninstalls_and_installs_a_plugin(admin):
    try:
        removed = admin.plugins.uninstall("analytics")
        assert (removed.id, removed.uninstalled) == ("analytics", True)
    finally:
        assert admin.plugins.install("analytics").status == "installed"


def test_a_plugins_config_is_changed_and_checked_against_its_schema(admin):
    before = {plugin.id: plugin for plugin in admin.plugins.list()}["graphql"].settings
    try:
        changed = admin.plugins.config("graphql", {"max_fields": 50})
        assert changed.settings["max_fields"] == 50
        with pytest.raises(ValidationFailed):
            admin.plugins.config("graphql", {"colour": "red"})
    finally:
        assert admin.plugins.config("graphql", before).settings == before


def test_switching_a_plugin_takes_an_admin(client):
    with pytest.raises(Forbidden):
        client.plugins.disable("graphql")
