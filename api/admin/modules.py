"""Admin API face (seed 003 §3): the modules and their marketplace."""

from typing import Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.admin.documents import AdminSuccess
from arqium.api.common.caller import CurrentCaller, require_admin
from arqium.api.common.deps import PlatformApp, Waits
from arqium.api.common.documents import documented
from arqium.api.common.modules import (
    SETTINGS_HELP,
    InstallRequest,
    MarketplaceModuleView,
    ModuleView,
    current_states,
    marketplace,
    module_body,
    states_after,
)
from arqium.api.common.positions import with_position
from arqium.api.common.validation import WholeInt

router = APIRouter(prefix="/api/modules", tags=["Admin API"])
ModuleId = Path(min_length=1, max_length=100, description="a module id, e.g. graphql")


class ModuleList(BaseModel):
    modules: list[ModuleView]


class Marketplace(BaseModel):
    modules: list[MarketplaceModuleView]
    categories: list[str]
    tags: list[str]


class ModuleUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    settings: dict[str, Any] | None = Field(default=None, description=SETTINGS_HELP)
    enabled: bool | None = None


class RatingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    stars: WholeInt = Field(ge=1, le=5)


@router.get("", summary="The modules and their states",
            responses=documented(200, ModuleList))
def list_modules(caller: CurrentCaller, waits: Waits):
    return {"modules": [module_body(state) for state in current_states(waits).values()]}


@router.get("/marketplace", summary="Every module with its downloads and rating",
            responses=documented(200, Marketplace))
def get_marketplace(caller: CurrentCaller, waits: Waits):
    return marketplace(waits)


@router.post("/install", summary="Install a module (admin only)",
             responses=documented(200, ModuleView))
def install(body: InstallRequest, caller: CurrentCaller, platform: PlatformApp,
            waits: Waits):
    require_admin(caller)
    position = platform.install_module(body.module_id, body.version, cause=caller.cause)
    state = states_after(waits, position)[body.module_id]
    return with_position(module_body(state), platform.name, position)


@router.put("/{module_id}", summary="Change a module's settings or switch it on or off "
            "(admin only)", responses=documented(200, ModuleView))
def update(body: ModuleUpdateRequest, caller: CurrentCaller, platform: PlatformApp,
           waits: Waits, module_id: str = ModuleId):
    require_admin(caller)
    position = platform.change_module(module_id, body.settings, body.enabled,
                                      cause=caller.cause)
    state = states_after(waits, position)[module_id]
    return with_position(module_body(state), platform.name, position)


@router.delete("/{module_id}", summary="Uninstall a module (admin only)",
               responses=documented(200, AdminSuccess))
def uninstall(caller: CurrentCaller, platform: PlatformApp, waits: Waits,
              module_id: str = ModuleId):
    require_admin(caller)
    position = platform.uninstall_module(module_id, cause=caller.cause)
    states_after(waits, position)
    return with_position({"success": True}, platform.name, position)


@router.post("/{module_id}/rating", summary="Rate a module, 1 to 5 stars (one rating "
             "per user: a new one replaces yours)",
             responses=documented(200, MarketplaceModuleView))
def rate(body: RatingRequest, caller: CurrentCaller, platform: PlatformApp, waits: Waits,
         module_id: str = ModuleId):
    position = platform.rate_module(module_id, caller.user_id, body.stars,
                                    cause=caller.cause)
    states_after(waits, position)
    rated = next(module for module in marketplace(waits)["modules"]
                 if module["id"] == module_id)
    return with_position(rated, platform.name, position)
