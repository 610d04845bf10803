"""ARQIUM plugins (seed 000): the modules, through the same commands as the Admin API's
/api/modules, in the ARQIUM envelope."""

from typing import Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.caller import CurrentCaller, require_admin
from arqium.api.common.deps import PlatformApp, Waits
from arqium.api.common.documents import enveloped
from arqium.api.common.envelope import PageDep, ok
from arqium.api.common.modules import (
    SETTINGS_HELP,
    InstallRequest,
    ModuleView,
    current_states,
    module_body,
    states_after,
)

router = APIRouter(prefix="/api/v1/plugins", tags=["ARQIUM: plugins"])
PluginId = Path(min_length=1, max_length=100, description="a plugin id, e.g. graphql")


class PluginList(BaseModel):
    items: list[ModuleView]


class Uninstalled(BaseModel):
    id: str
    uninstalled: bool


class PluginConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    config: dict[str, Any] = Field(description=SETTINGS_HELP)


@router.get("", summary="The plugins (ARQIUM's modules) and their states",
            responses=enveloped(200, PluginList))
def list_plugins(caller: CurrentCaller, waits: Waits, page: PageDep):
    plugins = [module_body(state) for state in current_states(waits).values()]
    return ok({"items": page.of(plugins)}, pagination=page.meta(len(plugins)))


@router.post("/install", status_code=201, summary="Install a plugin (admin only)",
             responses=enveloped(201, ModuleView))
def install(body: InstallRequest, caller: CurrentCaller, platform: PlatformApp,
            waits: Waits):
    require_admin(caller)
    position = platform.install_module(body.module_id, body.version, cause=caller.cause)
    state = states_after(waits, position)[body.module_id]
    return ok(module_body(state), status=201, position=(platform.name, position))


@router.delete("/{plugin_id}", summary="Uninstall a plugin (admin only)",
               responses=enveloped(200, Uninstalled))
def uninstall(caller: CurrentCaller, platform: PlatformApp, waits: Waits,
              plugin_id: str = PluginId):
    require_admin(caller)
    position = platform.uninstall_module(plugin_id, cause=caller.cause)
    states_after(waits, position)
    return ok({"id": plugin_id, "uninstalled": True}, position=(platform.name, position))


@router.post("/{plugin_id}/enable", summary="Switch a plugin on (admin only)",
             responses=enveloped(200, ModuleView))
def enable(caller: CurrentCaller, platform: PlatformApp, waits: Waits,
           plugin_id: str = PluginId):
    require_admin(caller)
    position = platform.enable_module(plugin_id, cause=caller.cause)
    state = states_after(waits, position)[plugin_id]
    return ok(module_body(state), position=(platform.name, position))


@router.post("/{plugin_id}/disable", summary="Switch a plugin off (admin only)",
             responses=enveloped(200, ModuleView))
def disable(caller: CurrentCaller, platform: PlatformApp, waits: Waits,
            plugin_id: str = PluginId):
    require_admin(caller)
    position = platform.disable_module(plugin_id, cause=caller.cause)
    state = states_after(waits, position)[plugin_id]
    return ok(module_body(state), position=(platform.name, position))


@router.post("/{plugin_id}/config", summary="Change a plugin's settings (admin only)",
             responses=enveloped(200, ModuleView))
def configure(body: PluginConfig, caller: CurrentCaller, platform: PlatformApp,
              waits: Waits, plugin_id: str = PluginId):
    require_admin(caller)
    position = platform.change_module_settings(plugin_id, body.config, cause=caller.cause)
    state = states_after(waits, position)[plugin_id]
    return ok(module_body(state), position=(platform.name, position))
