"""What the Admin API's /api/modules and ARQIUM's /api/v1/plugins share: the module
bodies and the module states once a command's event is in the read model."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.deps import ReadModelWaits
from arqium.api.errors import ReadModelBehind
from arqium.domain.platform.modules import CATALOGUE
from arqium.projections.platform_modules import PlatformModulesProjection
from arqium.system.modules import ModuleState

MODULE_ID = Field(min_length=1, max_length=100, description="e.g. graphql")
SETTINGS_HELP = ("Merged into the module's settings (RFC 7396: null puts one back to "
                 "its default); checked against the module's own schema")


class ModuleView(BaseModel):
    """Seed 003's Module, with what else decides whether it runs."""

    id: str
    name: str
    description: str
    version: str
    author: str
    dependencies: list[str]
    status: str = Field(description="installed | available (updating never: an install "
                        "takes effect at once)")
    settings: dict[str, Any]
    enabled: bool = Field(description="its routes answer and its workers run")
    category: str
    tags: list[str]
    requires: str | None = Field(description="the setting it cannot run without")
    errors: list[str] = Field(description="what keeps an installed module from running")


class MarketplaceModuleView(BaseModel):
    id: str
    name: str
    description: str
    latest_version: str
    author: str
    downloads: int = Field(description="how many times it was installed")
    rating: float | None = Field(description="the mean of users' stars; null: unrated")
    ratings: int
    dependencies: list[str]
    tags: list[str]
    category: str
    status: str


class InstallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    module_id: str = MODULE_ID
    version: str | None = Field(default=None, max_length=50)


def module_body(state: ModuleState) -> dict:
    module = state.module
    return {"id": module.id, "name": module.name, "description": module.description,
            "version": module.version, "author": module.author,
            "dependencies": list(module.dependencies),
            "status": "installed" if state.installed else "available",
            "settings": state.settings, "enabled": state.on, "category": module.category,
            "tags": list(module.tags), "requires": module.requires, "errors": state.errors}


def marketplace_body(state: ModuleState, rating: dict | None) -> dict:
    module = state.module
    return {"id": module.id, "name": module.name, "description": module.description,
            "latest_version": module.version, "author": module.author,
            "downloads": state.downloads, "rating": rating and rating["rating"],
            "ratings": rating["ratings"] if rating else 0,
            "dependencies": list(module.dependencies), "tags": list(module.tags),
            "category": module.category,
            "status": "installed" if state.installed else "available"}


def marketplace(waits: ReadModelWaits) -> dict:
    """Every module with its downloads and rating, the categories and tags."""
    states = current_states(waits)
    ratings = waits.system.read_models.platform_modules.ratings_by_module()
    return {"modules": [marketplace_body(state, ratings.get(module_id))
                        for module_id, state in states.items()],
            "categories": sorted({module.category for module in CATALOGUE.values()}),
            "tags": sorted({tag for module in CATALOGUE.values() for tag in module.tags})}


def current_states(waits: ReadModelWaits) -> dict[str, ModuleState]:
    """The states once the read model holds every module event stored so far."""
    waits.at_head(PlatformModulesProjection)
    return waits.system.modules.refresh()


def states_after(waits: ReadModelWaits, position: int) -> dict[str, ModuleState]:
    """The states once the read model holds the command's events; this process's gates
    and workers follow them at once (other processes within a second)."""
    if not waits.reached(PlatformModulesProjection, position):
        raise ReadModelBehind("the modules' read model is catching up; retry shortly")
    return waits.system.modules.refresh()
