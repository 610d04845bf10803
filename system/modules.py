"""The modules as they are in force: the catalogue, their states from the
platform_modules read model, and whether what each needs is configured. Cached per
process and read again at most once a second, so gating every request costs a clock
reading; the process that changed a state reads it again at once."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from arqium.domain.platform.modules import CATALOGUE, Module
from arqium.infra.connections import connection_lost
from arqium.infra.settings import Settings
from arqium.projections.platform_modules import PlatformModulesView

log = logging.getLogger(__name__)
REFRESH_SECONDS = 1.0  # how stale a process's view of the modules may be (README)


def configured_requirements(settings: Settings) -> frozenset[str]:
    """The modules' requirements (ARQIUM_* settings) that are set."""
    return frozenset(module.requires for module in CATALOGUE.values()
                     if module.requires and getattr(
                         settings, module.requires.lower().removeprefix("arqium_")))


def module_defaults(settings: Settings) -> dict[str, dict[str, Any]]:
    """Each module's settings before an admin changed them: the ARQIUM_<MODULE>_<NAME>
    settings (e.g. graphql's max_depth is ARQIUM_GRAPHQL_MAX_DEPTH)."""
    return {module.id: {name: getattr(settings, f"{module.id}_{name}".replace("-", "_"))
                        for name in module.settings.model_fields}
            for module in CATALOGUE.values()}


@dataclass(frozen=True)
class ModuleState:
    module: Module
    installed: bool = True
    enabled: bool = True  # what an admin wants (on only if its requirement is met too)
    settings: dict[str, Any] = field(default_factory=dict)
    downloads: int = 0
    requirement_met: bool = True

    @property
    def on(self) -> bool:
        """Its routes answer and its workers run."""
        return self.installed and self.enabled and self.requirement_met

    @property
    def errors(self) -> list[str]:
        if self.installed and not self.requirement_met:
            return [(f"{self.module.requires} is not set: configure it and restart "
                     f"ARQIUM to enable {self.module.id}")]
        return []

    def why_off(self) -> str | None:
        """What a gated route answers while the module is off by an admin's choice
        (a missing requirement is left to the route, which says what to configure)."""
        module_id = self.module.id
        if not self.installed:
            return (f"module {module_id!r} is not installed: install it with POST "
                    f"/api/modules/install {{\"module_id\": \"{module_id}\"}}")
        if not self.enabled:
            return (f"module {module_id!r} is disabled: enable it with PUT "
                    f"/api/modules/{module_id} {{\"enabled\": true}}")
        return None


def module_states(view: PlatformModulesView, configured: frozenset[str],
                  defaults: dict[str, dict[str, Any]]) -> dict[str, ModuleState]:
    """Every module of the catalogue, in the order of the catalogue."""
    rows = view.changed_modules()
    return {module_id: _state(module, rows.get(module_id), configured,
                              defaults.get(module_id, {}))
            for module_id, module in CATALOGUE.items()}


def _state(module: Module, row: dict | None, configured: frozenset[str],
           defaults: dict[str, Any]) -> ModuleState:
    met = module.requires is None or module.requires in configured
    if row is None:
        return ModuleState(module, settings=defaults, requirement_met=met)
    return ModuleState(module, row["installed"], row["enabled"],
                       {**defaults, **row["settings"]}, row["downloads"], met)


class CachedModules:
    """The module states this process acts on (gates, workers), at most
    REFRESH_SECONDS old."""

    def __init__(self, view: PlatformModulesView, configured: frozenset[str],
                 defaults: dict[str, dict[str, Any]] | None = None,
                 refresh_seconds: float = REFRESH_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic):
        self.view, self.configured, self.defaults = view, configured, defaults or {}
        self.refresh_seconds, self.monotonic = refresh_seconds, monotonic
        self._lock = threading.Lock()
        self._states: dict[str, ModuleState] = {}
        self._read_at = float("-inf")

    def stale(self) -> bool:
        return self.monotonic() - self._read_at >= self.refresh_seconds

    def states(self) -> dict[str, ModuleState]:
        if self.stale():
            with self._lock:
                if self.stale():  # not read meanwhile by another thread
                    self._read(tolerant=True)
        return self._states

    def last_read(self) -> dict[str, ModuleState]:
        """The states as last read, never reading (for the event loop)."""
        return self._states

    def refresh(self) -> dict[str, ModuleState]:
        """Read the states now (after a change this process made, or for a list)."""
        with self._lock:
            self._read(tolerant=False)
            return self._states

    def _read(self, tolerant: bool) -> None:
        # Whether it answers or not, the read model is asked again only a second later:
        # while the database is out of reach, requests meet that, not this.
        self._read_at = self.monotonic()
        try:
            self._states = module_states(self.view, self.configured, self.defaults)
        except Exception as error:
            if not (tolerant and connection_lost(error)):
                raise
            # The routes meet the outage themselves and answer it in their own shape.
            log.warning("the module states could not be read (%s); %s", error,
                        "the last ones hold" if self._states else "none known yet")

    def state_of(self, module_id: str) -> ModuleState:
        """Its state (the default one while none could be read yet)."""
        return self.states().get(module_id) or _state(
            CATALOGUE[module_id], None, self.configured, self.defaults.get(module_id, {}))

    def is_on(self, module_id: str) -> bool:
        return self.state_of(module_id).on


ELASTICSEARCH_MODULE = "elasticsearch-search"
