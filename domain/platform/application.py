"""The platform context's service layer: the system configuration and its profiles,
the modules' states."""

from collections.abc import Callable, Collection
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application

from arqium.domain.journal import Saved, remember
from arqium.domain.platform.domainmodel import ConfigProfiles, PlatformConfig, check_patch
from arqium.domain.platform.modules import CATALOGUE, ModuleStates
from arqium.domain.shared import (
    Clock,
    Conflict,
    Invalid,
    KeyedLock,
    command,
    system_clock,
    until_saved,
)

Singleton = TypeVar("Singleton", PlatformConfig, ConfigProfiles, ModuleStates)
BUSY = "the configuration is being changed by many requests at once; retry"


def _profile_created(app: "PlatformApplication", saved: Saved) -> tuple[str, int]:
    """A retry's answer (domain/journal.py): the id the first attempt picked."""
    return saved.notes["profile_id"], saved.position


class PlatformApplication(Application):
    name = "platform"

    def __init__(self, env: Any = None, *, clock: Clock = system_clock,
                 new_id: Callable[[], UUID] = uuid4, configured: Collection[str] = ()):
        super().__init__(env)
        self.clock = clock
        self.new_id = new_id
        self.configured = frozenset(configured)  # the ARQIUM_* settings that are set
        self.turns = KeyedLock()

    @command
    def update_config(self, patch: dict[str, Any]) -> int:
        """One ConfigUpdated recording `patch`; its position. Its `modules` lists are
        the modules' states: they change those (each module event in one save)."""
        check_patch(patch)
        return self._update_config(patch)

    def _update_config(self, patch: dict[str, Any]) -> int:
        modules = patch.get("modules") or {}
        settings = {key: value for key, value in patch.items() if key != "modules"}
        check_module_lists(modules)
        position = 0
        if modules:
            position = self._change(ModuleStates, lambda states: states.mirror(
                modules.get("enabled") or [], modules.get("disabled") or [],
                self.configured, self.clock()))
        if settings or not modules:
            position = self._change(PlatformConfig,
                                    lambda config: config.update(settings, self.clock()))
        return position

    @command
    def install_module(self, module_id: str, version: str | None = None) -> int:
        return self._change(ModuleStates, lambda states: states.install(
            module_id, version, self.clock()))

    @command
    def uninstall_module(self, module_id: str) -> int:
        return self._change(ModuleStates,
                            lambda states: states.uninstall(module_id, self.clock()))

    @command
    def enable_module(self, module_id: str) -> int:
        return self._change(ModuleStates, lambda states: states.enable(
            module_id, self.configured, self.clock()))

    @command
    def disable_module(self, module_id: str) -> int:
        return self._change(ModuleStates,
                            lambda states: states.disable(module_id, self.clock()))

    @command
    def change_module(self, module_id: str, settings: dict[str, Any] | None,
                      enabled: bool | None) -> int:
        """Seed 003's PUT /api/modules/{id}: settings and the switch, in one save."""
        def decide(states: ModuleStates) -> None:
            states.check_known(module_id)
            if settings is not None:
                states.change_settings(module_id, settings, self.clock())
            if enabled is True:
                states.enable(module_id, self.configured, self.clock())
            elif enabled is False:
                states.disable(module_id, self.clock())

        return self._change(ModuleStates, decide)

    @command
    def change_module_settings(self, module_id: str, patch: dict[str, Any]) -> int:
        return self._change(ModuleStates, lambda states: states.change_settings(
            module_id, patch, self.clock()))

    @command
    def rate_module(self, module_id: str, user: str, stars: int) -> int:
        return self._change(ModuleStates, lambda states: states.rate(
            module_id, user, stars, self.clock()))

    @command(replay=_profile_created)
    def create_profile(self, name: str, description: str, config: dict[str, Any]
                       ) -> tuple[str, int]:
        check_patch(config)
        profile_id = remember("profile_id", str(self.new_id()))
        position = self._change(ConfigProfiles, lambda profiles: profiles.create(
            profile_id, name, description, config, self.clock()))
        return profile_id, position

    @command
    def update_profile(self, profile_id: str, name: str | None, description: str | None,
                       config: dict[str, Any] | None) -> int:
        if config is not None:
            check_patch(config)
        return self._change(ConfigProfiles, lambda profiles: profiles.revise(
            profile_id, name, description, config, self.clock()))

    @command
    def delete_profile(self, profile_id: str) -> int:
        return self._change(ConfigProfiles,
                            lambda profiles: profiles.delete(profile_id, self.clock()))

    @command
    def apply_profile(self, profile_id: str) -> int:
        """One ConfigUpdated whose patch is the profile's configuration."""
        return self._update_config(self._load(ConfigProfiles).config_of(profile_id))

    def _change(self, kind: type[Singleton], decide: Callable[[Singleton], None]) -> int:
        """Load the singleton, decide, save; again if another process saved first."""
        def attempt() -> int:
            aggregate = self._load(kind)
            decide(aggregate)
            recordings = self.save(aggregate)
            if not recordings:  # nothing to change: what is stored so far holds it
                return self.recorder.max_notification_id() or 0
            return recordings[-1].notification.id

        return until_saved(self.turns, kind.create_id(), attempt, Conflict(BUSY))

    def _load(self, kind: type[Singleton]) -> Singleton:
        try:
            return self.repository.get(kind.create_id())
        except AggregateNotFoundError:
            return kind()


def check_module_lists(modules: dict[str, Any]) -> None:
    """Invalid, naming the list, for an unknown module or one both enabled and disabled."""
    for path in ("enabled", "disabled"):
        for module_id in modules.get(path) or []:
            if module_id not in CATALOGUE:
                raise Invalid(f"modules.{path}: no module {module_id!r}; modules: "
                              f"{', '.join(CATALOGUE)}", field=f"modules.{path}")
    both = set(modules.get("enabled") or []) & set(modules.get("disabled") or [])
    if both:
        raise Invalid(f"modules.disabled: {', '.join(sorted(both))} cannot be both "
                      "enabled and disabled", field="modules.disabled")
