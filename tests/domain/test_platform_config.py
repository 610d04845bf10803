"""The platform's configuration rules: what a change may hold, unique profile names."""

import pytest

from arqium.domain.platform.domainmodel import ConfigProfiles, ProfileNameTaken, check_patch
from arqium.domain.shared import Invalid, NotFound


def test_a_known_setting_of_the_right_type_is_accepted():
    check_patch({"general": {"timezone": "America/New_York", "locale": "zh-Hant-TW"},
                 "security": {"session_timeout": 0}, "modules": {"enabled": ["graphql"]}})


def test_null_is_accepted_anywhere_as_back_to_the_default():
    check_patch({"general": None, "security": {"password_policy": {"min_length": None}}})


@pytest.mark.parametrize("patch, path", [
    ({"security": {"session_timeout": True}}, "security.session_timeout"),
    ({"security": {"session_timeout": -1}}, "security.session_timeout"),
    ({"security": {"password_policy": 8}}, "security.password_policy"),
    ({"general": {"locale": "en_US"}}, "general.locale"),
    ({"modules": {"disabled": [1]}}, "modules.disabled"),
])
def test_a_wrong_value_is_invalid_naming_its_path(patch, path):
    with pytest.raises(Invalid) as refused:
        check_patch(patch)
    assert refused.value.details == {"field": path}


def test_a_profile_name_is_taken_once_but_a_profile_keeps_its_own(cause):
    profiles = ConfigProfiles()
    profiles.create("p1", "strict", "", {}, at=None)
    profiles.revise("p1", "strict", "same name", None, at=None)
    with pytest.raises(ProfileNameTaken):
        profiles.create("p2", "strict", "", {}, at=None)


def test_a_deleted_profile_is_not_found(cause):
    profiles = ConfigProfiles()
    profiles.create("p1", "strict", "", {}, at=None)
    profiles.delete("p1", at=None)
    with pytest.raises(NotFound):
        profiles.config_of("p1")
