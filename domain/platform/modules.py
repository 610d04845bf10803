"""The module catalogue: ARQIUM's real optional capabilities, what each needs and may be
set to. A module's state (installed, enabled, settings) lives in ModuleStates."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arqium.domain.shared import ArqiumAggregate, Conflict, Invalid, NotFound, merge_patch

VERSION = "0.1.0"  # ARQIUM's: every module ships with it, so there is one version
AUTHOR = "ARQIUM"


class NoSettings(BaseModel):
    """A module with nothing to set."""

    model_config = ConfigDict(extra="forbid", strict=True)


class GraphqlSettings(NoSettings):
    """What one GraphQL document may ask for; unset: the ARQIUM_GRAPHQL_MAX_* setting."""

    max_depth: int | None = Field(default=None, gt=0, le=1000)
    max_aliases: int | None = Field(default=None, ge=0, le=100_000)
    max_fields: int | None = Field(default=None, gt=0, le=1_000_000)
    max_tokens: int | None = Field(default=None, gt=0, le=1_000_000)


@dataclass(frozen=True)
class Module:
    id: str
    name: str
    description: str
    category: str
    tags: tuple[str, ...]
    dependencies: tuple[str, ...] = ()
    requires: str | None = None  # the environment setting it cannot run without
    settings: type[NoSettings] = NoSettings
    version: str = VERSION
    author: str = AUTHOR


CATALOGUE: dict[str, Module] = {module.id: module for module in (
    Module("graphql", "GraphQL", "The /graphql endpoint: queries and mutations over "
           "users, contexts, memories and sessions", "api", ("graphql", "api"),
           settings=GraphqlSettings),
    Module("realtime-sync", "Real-time sync", "Pushes over WebSocket: /ws/sync and "
           "GraphQL subscriptions", "realtime", ("websocket", "sync", "push")),
    Module("chat", "Chat", "CEREBRO's model chat: /api/chat (streamed replies with "
           "memory) and /api/history", "ai", ("chat", "llm", "cerebro"),
           dependencies=("cerebro",), requires="ARQIUM_LLM_BASE_URL"),
    Module("elasticsearch-search", "Elasticsearch search", "Memory search ranked in "
           "Elasticsearch, kept up to date by its indexer; without it PostgreSQL ranks",
           "search", ("search", "elasticsearch"), requires="ARQIUM_ELASTICSEARCH_URL"),
    Module("memory-service-v0", "Memory Service v0", "The /v0 face (users, vaults, "
           "memories, entries, contexts) in both its dialects", "faces",
           ("memory", "compatibility", "v0")),
    Module("cerebro", "CEREBRO", "CEREBRO's face: /api/memory, /api/ledger (its chat, "
           "files and RAG are the chat, files and rag modules)", "faces", ("memory", "ledger", "compatibility")),
    Module("astralbody", "AstralBody", "AstralBody's face: /auth/config, /sessions, "
           "/components, /user (its files and agents are the files and agents modules)",
           "faces",
           ("agents", "files", "compatibility")),
    Module("files", "Files", "Uploads, downloads and their analysis: AstralBody's "
           "/upload, /download and /files, CEREBRO's /api/files", "files",
           ("files", "upload", "analysis")),
    Module("rag", "Knowledge base", "CEREBRO's /api/memory/rag over the caller's "
           "uploaded documents, chunked and embedded by its projections", "ai",
           ("rag", "retrieval", "documents"), dependencies=("files",)),
    Module("agents", "Agents", "AstralBody's /agents: built-in agents over memories, "
           "files and the ledger, and a model-backed assistant", "ai",
           ("agents", "astralbody")),
    Module("analytics", "Analytics", "/api/v1/analytics: tracked events, the dashboard "
           "and usage figures", "analytics", ("analytics", "telemetry")),
)}


def dependents_of(module_id: str) -> list[str]:
    """The modules that need `module_id`."""
    return [module.id for module in CATALOGUE.values() if module_id in module.dependencies]


class UnknownModule(NotFound):
    pass


class ModuleError(Conflict):
    """A module operation the modules' states refuse (seed 003's MODULE_ERROR)."""

    code = "MODULE_ERROR"


def module_named(module_id: str) -> Module:
    try:
        return CATALOGUE[module_id]
    except KeyError:
        raise UnknownModule(f"no module {module_id!r}; modules: "
                            f"{', '.join(CATALOGUE)}", field="id") from None


def checked_settings(module: Module, settings: dict[str, Any]) -> None:
    """Invalid, naming the path (settings.<name>), unless the module's schema takes them."""
    try:
        module.settings.model_validate(settings)
    except ValidationError as error:
        problem = error.errors()[0]
        path = ".".join(["settings", *map(str, problem["loc"])])
        raise Invalid(f"{path}: {problem['msg']}", field=path) from None


# What a module is before any event: installed and enabled (today's behaviour).
DEFAULT_STATE = {"installed": True, "enabled": True, "settings": {}}


class ModuleStates(ArqiumAggregate):
    """Every module's state in one aggregate: a dependency check reads the state of the
    other modules, and one aggregate version makes it race-free (an install and the
    uninstall of its dependency cannot both pass)."""

    @staticmethod
    def create_id() -> UUID:
        return uuid5(NAMESPACE_URL, "arqium:platform:modules")

    @event("Started")
    def __init__(self) -> None:
        self.changed: dict[str, dict[str, Any]] = {}  # only modules with events

    def state_of(self, module_id: str) -> dict[str, Any]:
        return self.changed.get(module_id, DEFAULT_STATE)

    def _changing(self, module_id: str) -> dict[str, Any]:
        return self.changed.setdefault(module_id, {**DEFAULT_STATE, "settings": {}})

    def install(self, module_id: str, version: str | None, at: datetime) -> None:
        module = module_named(module_id)
        if version is not None and version != module.version:
            raise Invalid(f"version {version!r} of {module_id!r} does not exist; the "
                          f"available version is {module.version}", field="version")
        if self.state_of(module_id)["installed"]:
            raise ModuleError(f"module {module_id!r} is already installed",
                              module=module_id)
        self.check_dependencies_installed(module)
        self._installed(module_id=module_id, version=module.version, at=at)

    @event("ModuleInstalled")
    def _installed(self, module_id: str, version: str, at: datetime) -> None:
        self.changed[module_id] = {"installed": True, "enabled": True, "settings": {}}

    def uninstall(self, module_id: str, at: datetime) -> None:
        self.check_installed(module_named(module_id))
        needing = [other for other in dependents_of(module_id)
                   if self.state_of(other)["installed"]]
        if needing:
            raise ModuleError(f"module {module_id!r} is needed by {', '.join(needing)}: "
                              f"uninstall {' and '.join(needing)} first",
                              module=module_id, needed_by=needing)
        self._uninstalled(module_id=module_id, at=at)

    @event("ModuleUninstalled")
    def _uninstalled(self, module_id: str, at: datetime) -> None:
        """Its settings go with it."""
        self.changed[module_id] = {"installed": False, "enabled": False, "settings": {}}

    def enable(self, module_id: str, configured: Collection[str], at: datetime) -> None:
        module = module_named(module_id)
        self.check_installed(module)
        if module.requires and module.requires not in configured:
            raise ModuleError(f"module {module_id!r} cannot be enabled: set "
                              f"{module.requires} and restart ARQIUM",
                              module=module_id, requires=module.requires)
        self._enabled(module_id=module_id, at=at)

    @event("ModuleEnabled")
    def _enabled(self, module_id: str, at: datetime) -> None:
        self._changing(module_id)["enabled"] = True

    def disable(self, module_id: str, at: datetime) -> None:
        self.check_installed(module_named(module_id))
        self._disabled(module_id=module_id, at=at)

    @event("ModuleDisabled")
    def _disabled(self, module_id: str, at: datetime) -> None:
        self._changing(module_id)["enabled"] = False

    def change_settings(self, module_id: str, patch: dict[str, Any], at: datetime) -> None:
        """`patch` merged onto the settings (RFC 7396: null puts one back to default)."""
        module = module_named(module_id)
        self.check_installed(module)
        checked_settings(module, merge_patch(self.state_of(module_id)["settings"], patch))
        self._settings_changed(module_id=module_id, patch=patch, at=at)

    @event("ModuleSettingsChanged")
    def _settings_changed(self, module_id: str, patch: dict[str, Any], at: datetime) -> None:
        state = self._changing(module_id)
        state["settings"] = merge_patch(state["settings"], patch)

    def rate(self, module_id: str, user: str, stars: int, at: datetime) -> None:
        """One rating per user: a new one replaces theirs."""
        module_named(module_id)
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
            raise Invalid("stars must be a whole number from 1 to 5", field="stars")
        self._rated(module_id=module_id, user=user, stars=stars, at=at)

    @event("ModuleRated")
    def _rated(self, module_id: str, user: str, stars: int, at: datetime) -> None:
        """Ratings decide nothing: the read model keeps them."""

    def mirror(self, enabled: list[str], disabled: list[str], configured: Collection[str],
               at: datetime) -> None:
        """The configuration's modules lists: enable and disable those not so already."""
        for module_id in enabled:
            if not self.is_on(module_id, configured):
                self.enable(module_id, configured, at)
        for module_id in disabled:
            if self.state_of(module_id)["enabled"] or not self.state_of(module_id)["installed"]:
                self.disable(module_id, at)

    def is_on(self, module_id: str, configured: Collection[str]) -> bool:
        """Installed, enabled and with what it needs configured: its routes answer."""
        state, module = self.state_of(module_id), CATALOGUE[module_id]
        return (state["installed"] and state["enabled"]
                and (module.requires is None or module.requires in configured))

    def check_known(self, module_id: str) -> None:
        module_named(module_id)

    def check_installed(self, module: Module) -> None:
        if not self.state_of(module.id)["installed"]:
            raise ModuleError(f"module {module.id!r} is not installed: install it with "
                              f"POST /api/modules/install {{\"module_id\": \"{module.id}\"}}",
                              module=module.id)

    def check_dependencies_installed(self, module: Module) -> None:
        missing = [needed for needed in module.dependencies
                   if not self.state_of(needed)["installed"]]
        if missing:
            raise ModuleError(f"module {module.id!r} needs {', '.join(missing)}: install "
                              f"{' and '.join(missing)} first", module=module.id,
                              missing=missing)
