"""The bodies the Admin API answers, as the OpenAPI document describes them (the routes
build them; these models only document them)."""

from typing import Any

from pydantic import BaseModel


class AuthToken(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str


class AdminSuccess(BaseModel):
    success: bool


class LoginSession(BaseModel):
    id: str
    user_id: str
    ip_address: str
    user_agent: str
    last_activity: str
    created_at: str


class LoginSessions(BaseModel):
    sessions: list[LoginSession]
    current_session_id: str | None  # null for an API key or an OIDC token: no session


class ActivityLog(BaseModel):
    id: str
    type: str
    user_id: str
    description: str
    metadata: dict[str, Any]
    created_at: str


class ActivityList(BaseModel):
    activities: list[ActivityLog]
    total: int
    page: int
    per_page: int


class GeneralSettings(BaseModel):
    site_name: str
    timezone: str  # an IANA time zone
    locale: str  # a BCP 47 language tag


class PasswordPolicy(BaseModel):
    min_length: int
    require_special: bool


class SecuritySettings(BaseModel):
    password_policy: PasswordPolicy
    session_timeout: int  # seconds a login session may go unused; 0: no limit


class ModuleSettings(BaseModel):
    enabled: list[str]
    disabled: list[str]


class SystemConfig(BaseModel):
    general: GeneralSettings
    security: SecuritySettings
    modules: ModuleSettings


class ConfigResponse(BaseModel):
    config: SystemConfig
    last_updated: str | None  # null until the configuration was first changed


class ConfigProfile(BaseModel):
    id: str
    name: str
    description: str
    config: dict  # the settings it sets (a part of SystemConfig)
    created_at: str
    updated_at: str


class ProfileList(BaseModel):
    profiles: list[ConfigProfile]


class Initialization(BaseModel):
    status: str  # in_progress | completed | failed (pending never: see the README)
    progress: float  # 0..1 of the events the read models had to catch up
    current_step: str  # "catch up <projection>", "rebuild <projection>" or "ready"


class ModuleCounts(BaseModel):
    total: int  # installed modules
    active: int  # installed, enabled and with their requirement met
    errors: int  # installed with an unmet requirement or a failing worker


class Performance(BaseModel):
    memory_usage: float  # MB resident, this API process
    cpu_usage: float  # % of one core over the last minute, this API process
    response_time: float  # mean ms over the last minute, this API process


class SystemStatus(BaseModel):
    initialization: Initialization
    modules: ModuleCounts
    performance: Performance


class StatusResponse(BaseModel):
    status: SystemStatus
    last_updated: str
