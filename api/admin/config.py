"""Admin API face (seed 003 §2): the system configuration and its profiles."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.admin.documents import (
    AdminSuccess,
    ConfigProfile,
    ConfigResponse,
    ProfileList,
)
from arqium.api.common.caller import CurrentCaller, require_admin
from arqium.api.common.deps import PlatformApp, Waits
from arqium.api.common.documents import documented
from arqium.api.common.positions import with_position
from arqium.api.common.shapes import iso
from arqium.api.errors import ReadModelBehind
from arqium.domain.shared import NotFound
from arqium.projections.platform_config import PlatformConfigProjection, PlatformConfigView
from arqium.projections.platform_modules import PlatformModulesProjection
from arqium.system.bootstrap import System

router = APIRouter(prefix="/api/config", tags=["Admin API"])
PATCH_HELP = ("A part of SystemConfig, merged into it (RFC 7396: objects merge key by "
              "key; null puts a setting back to its default)")


class ConfigUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    config: dict[str, Any] = Field(description=PATCH_HELP)


class ProfileCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    config: dict[str, Any] = Field(description="The settings the profile applies: "
                                   + PATCH_HELP)


class ProfileUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    config: dict[str, Any] | None = Field(default=None, description="Replaces the "
                                          "profile's settings: " + PATCH_HELP)


def config_body(system: System) -> dict:
    """The configuration; its `modules` lists are the modules' states."""
    config, last_updated = system.config.read()
    states = system.modules.refresh().values()
    modules = {"enabled": [state.module.id for state in states if state.on],
               "disabled": [state.module.id for state in states
                            if state.installed and not state.on]}
    return {"config": {**config, "modules": modules}, "last_updated": iso(last_updated)}


def profile_body(row: dict) -> dict:
    return {"id": str(row["id"]), "name": row["name"], "description": row["description"],
            "config": row["config"], "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"])}


def holding(waits: Waits, position: int) -> PlatformConfigView:
    """The read models once they hold the command's events (ReadModelBehind if not
    soon)."""
    if not all(waits.reached(projection, position)
               for projection in (PlatformConfigProjection, PlatformModulesProjection)):
        raise ReadModelBehind("the configuration's read model is catching up; retry shortly")
    return waits.system.read_models.platform_config


@router.get("", summary="The system configuration (SystemConfig)",
            responses=documented(200, ConfigResponse))
def get_config(caller: CurrentCaller, waits: Waits):
    waits.at_head(PlatformConfigProjection)
    waits.at_head(PlatformModulesProjection)
    return config_body(waits.system)


@router.put("", summary="Change settings (admin only): the body's config is merged in",
            responses=documented(200, ConfigResponse))
def put_config(body: ConfigUpdateRequest, caller: CurrentCaller, platform: PlatformApp,
               waits: Waits):
    require_admin(caller)
    position = platform.update_config(body.config, cause=caller.cause)
    holding(waits, position)
    return with_position(config_body(waits.system), platform.name, position)


@router.get("/profiles", summary="The configuration profiles",
            responses=documented(200, ProfileList))
def list_profiles(caller: CurrentCaller, waits: Waits):
    view = waits.at_head(PlatformConfigProjection)
    return {"profiles": [profile_body(row) for row in view.all_profiles()]}


@router.post("/profiles", status_code=201, summary="Save a profile (admin only)",
             responses=documented(201, ConfigProfile))
def create_profile(body: ProfileCreateRequest, caller: CurrentCaller,
                   platform: PlatformApp, waits: Waits):
    require_admin(caller)
    profile_id, position = platform.create_profile(body.name, body.description,
                                                   body.config, cause=caller.cause)
    row = holding(waits, position).profile(profile_id)
    return with_position(profile_body(row), platform.name, position, status=201)


@router.put("/profiles/{profile_id}", summary="Change a profile (admin only)",
            responses=documented(200, ConfigProfile))
def update_profile(profile_id: UUID, body: ProfileUpdateRequest, caller: CurrentCaller,
                   platform: PlatformApp, waits: Waits):
    require_admin(caller)
    position = platform.update_profile(str(profile_id), body.name, body.description,
                                       body.config, cause=caller.cause)
    row = holding(waits, position).profile(str(profile_id))
    if row is None:  # deleted by another request meanwhile
        raise NotFound("no such configuration profile", field="id")
    return with_position(profile_body(row), platform.name, position)


@router.delete("/profiles/{profile_id}", summary="Delete a profile (admin only)",
               responses=documented(200, AdminSuccess))
def delete_profile(profile_id: UUID, caller: CurrentCaller, platform: PlatformApp,
                   waits: Waits):
    require_admin(caller)
    position = platform.delete_profile(str(profile_id), cause=caller.cause)
    holding(waits, position)
    return with_position({"success": True}, platform.name, position)


@router.post("/profiles/{profile_id}/apply",
             summary="Apply a profile (admin only): its settings are merged in",
             responses=documented(200, ConfigResponse))
def apply_profile(profile_id: UUID, caller: CurrentCaller, platform: PlatformApp,
                  waits: Waits):
    require_admin(caller)
    position = platform.apply_profile(str(profile_id), cause=caller.cause)
    holding(waits, position)
    return with_position(config_body(waits.system), platform.name, position)
