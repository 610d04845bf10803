"""The platform context's service layer: the system configuration and its profiles."""

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application

from arqium.domain.journal import Saved, remember
from arqium.domain.platform.domainmodel import ConfigProfiles, PlatformConfig, check_patch
from arqium.domain.shared import Clock, Conflict, KeyedLock, command, system_clock, until_saved

Singleton = TypeVar("Singleton", PlatformConfig, ConfigProfiles)
BUSY = "the configuration is being changed by many requests at once; retry"


def _profile_created(app: "PlatformApplication", saved: Saved) -> tuple[str, int]:
    """A retry's answer (domain/journal.py): the id the first attempt picked."""
    return saved.notes["profile_id"], saved.position


class PlatformApplication(Application):
    name = "platform"

    def __init__(self, env: Any = None, *, clock: Clock = system_clock,
                 new_id: Callable[[], UUID] = uuid4):
        super().__init__(env)
        self.clock = clock
        self.new_id = new_id
        self.turns = KeyedLock()

    @command
    def update_config(self, patch: dict[str, Any]) -> int:
        """One ConfigUpdated recording `patch`; its position."""
        check_patch(patch)
        return self._change(PlatformConfig, lambda config: config.update(patch, self.clock()))

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
        config = self._load(ConfigProfiles).config_of(profile_id)
        return self._change(PlatformConfig,
                            lambda settings: settings.update(config, self.clock()))

    def _change(self, kind: type[Singleton], decide: Callable[[Singleton], None]) -> int:
        """Load the singleton, decide, save; again if another process saved first."""
        def attempt() -> int:
            aggregate = self._load(kind)
            decide(aggregate)
            return self.save(aggregate)[-1].notification.id

        return until_saved(self.turns, kind.create_id(), attempt, Conflict(BUSY))

    def _load(self, kind: type[Singleton]) -> Singleton:
        try:
            return self.repository.get(kind.create_id())
        except AggregateNotFoundError:
            return kind()
