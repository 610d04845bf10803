"""The platform's configuration (seed 003's SystemConfig) and its named profiles."""

import re
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import event

from arqium.domain.shared import ArqiumAggregate, Conflict, Invalid, NotFound

MIN_PASSWORD_LENGTH = 8
# A BCP 47 language tag: language, then optional script, region and variants.
LOCALE_PATTERN = re.compile(
    r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$")
MAX_TEXT = 200
MAX_MODULES = 100

# Each leaf's type: what a value at that path must be (None always resets to default).
SCHEMA: dict[str, Any] = {
    "general": {"site_name": str, "timezone": str, "locale": str},
    "security": {"password_policy": {"min_length": int, "require_special": bool},
                 "session_timeout": int},
    "modules": {"enabled": list, "disabled": list},
}


class ProfileNameTaken(Conflict):
    pass


def default_config(min_password_length: int = MIN_PASSWORD_LENGTH) -> dict[str, Any]:
    """Today's behaviour: what the configuration is before anyone changed it."""
    return {"general": {"site_name": "ARQIUM", "timezone": "UTC", "locale": "en-US"},
            "security": {"password_policy": {"min_length": min_password_length,
                                             "require_special": False},
                         "session_timeout": 0},  # 0: idle sessions never time out
            "modules": {"enabled": [], "disabled": []}}


def check_patch(patch: Any, schema: dict[str, Any] = SCHEMA, path: str = "") -> None:
    """Invalid, naming the path, unless `patch` is a part of SystemConfig (a merge patch:
    null resets a setting to its default)."""
    if not isinstance(patch, dict):
        raise Invalid(f"{path or 'config'} must be an object", field=path or "config")
    for key, value in patch.items():
        where = f"{path}.{key}" if path else key
        if key not in schema:
            raise Invalid(f"{where} is not a setting", field=where)
        if value is None:
            continue
        if isinstance(schema[key], dict):
            check_patch(value, schema[key], where)
        else:
            check_value(where, value, schema[key])


def check_value(path: str, value: Any, kind: type) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Invalid(f"{path} must be {TYPE_NAMES[kind]}", field=path)
    VALUE_CHECKS.get(path, lambda p, v: None)(path, value)


TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean",
              list: "a list of module ids"}


def _text(path: str, value: str) -> None:
    if not 1 <= len(value) <= MAX_TEXT:
        raise Invalid(f"{path} must have 1 to {MAX_TEXT} characters", field=path)


def _timezone(path: str, value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"{path} must be an IANA time zone such as Europe/Paris",
                      field=path) from None


def _locale(path: str, value: str) -> None:
    if not LOCALE_PATTERN.match(value):
        raise Invalid(f"{path} must be a BCP 47 language tag such as en-US", field=path)


def _min_length(path: str, value: int) -> None:
    if not MIN_PASSWORD_LENGTH <= value <= 1024:
        raise Invalid(f"{path} must be between {MIN_PASSWORD_LENGTH} and 1024", field=path)


def _seconds(path: str, value: int) -> None:
    if not 0 <= value <= 366 * 86400:
        raise Invalid(f"{path} must be 0 (no limit) to a year, in seconds", field=path)


def _module_ids(path: str, value: list) -> None:
    if len(value) > MAX_MODULES or not all(
            isinstance(item, str) and 1 <= len(item) <= 100 for item in value):
        raise Invalid(f"{path} must be a list of at most {MAX_MODULES} module ids",
                      field=path)


VALUE_CHECKS = {
    "general.site_name": _text, "general.timezone": _timezone, "general.locale": _locale,
    "security.password_policy.min_length": _min_length,
    "security.session_timeout": _seconds,
    "modules.enabled": _module_ids, "modules.disabled": _module_ids,
}


class PlatformConfig(ArqiumAggregate):
    """The one system configuration: each change records its merge patch."""

    @staticmethod
    def create_id() -> UUID:
        return uuid5(NAMESPACE_URL, "arqium:platform:config")

    @event("Started")
    def __init__(self) -> None:
        pass

    @event("ConfigUpdated")
    def update(self, patch: dict[str, Any], at: datetime) -> None:
        """`patch` (RFC 7396) merged onto the configuration; who made it is the actor."""


class ConfigProfiles(ArqiumAggregate):
    """Every named configuration profile: one aggregate, so names stay unique."""

    @staticmethod
    def create_id() -> UUID:
        return uuid5(NAMESPACE_URL, "arqium:platform:config-profiles")

    @event("Started")
    def __init__(self) -> None:
        self.profiles: dict[str, dict[str, Any]] = {}

    def create(self, profile_id: str, name: str, description: str,
               config: dict[str, Any], at: datetime) -> None:
        self.check_name_free(name, profile_id)
        self._profile_created(profile_id=profile_id, name=name, description=description,
                              config=config, at=at)

    @event("ProfileCreated")
    def _profile_created(self, profile_id: str, name: str, description: str,
                         config: dict[str, Any], at: datetime) -> None:
        self.profiles[profile_id] = {"name": name, "config": config}

    def revise(self, profile_id: str, name: str | None, description: str | None,
               config: dict[str, Any] | None, at: datetime) -> None:
        self.check_exists(profile_id)
        if name is not None:
            self.check_name_free(name, profile_id)
        self._profile_updated(profile_id=profile_id, name=name, description=description,
                              config=config, at=at)

    @event("ProfileUpdated")
    def _profile_updated(self, profile_id: str, name: str | None,
                         description: str | None, config: dict[str, Any] | None,
                         at: datetime) -> None:
        """Only the fields given change (None: unchanged); `config` replaces the old."""
        profile = self.profiles[profile_id]
        profile["name"] = profile["name"] if name is None else name
        profile["config"] = profile["config"] if config is None else config

    def delete(self, profile_id: str, at: datetime) -> None:
        self.check_exists(profile_id)
        self._profile_deleted(profile_id=profile_id, at=at)

    @event("ProfileDeleted")
    def _profile_deleted(self, profile_id: str, at: datetime) -> None:
        del self.profiles[profile_id]

    def config_of(self, profile_id: str) -> dict[str, Any]:
        self.check_exists(profile_id)
        return self.profiles[profile_id]["config"]

    def check_exists(self, profile_id: str) -> None:
        if profile_id not in self.profiles:
            raise NotFound("no such configuration profile", field="id")

    def check_name_free(self, name: str, profile_id: str) -> None:
        if any(profile["name"] == name and other != profile_id
               for other, profile in self.profiles.items()):
            raise ProfileNameTaken(f"a profile named {name!r} already exists",
                                   field="name")
