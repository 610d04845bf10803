"""What ARQIUM's routes answer in `data` (documentation only)."""

from typing import Any

from pydantic import BaseModel


class UserView(BaseModel):
    id: str
    email: str
    name: str
    roles: list[str]
    created_at: str | None


class TokenPairView(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str


class LoginView(TokenPairView):
    user: UserView


class LoggedOut(BaseModel):
    logged_out: bool


class TokenValidity(BaseModel):
    valid: bool
    user_id: str | None
    roles: list[str]
    expires_at: str | None


class ApiKeyView(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: str | None


class IssuedApiKey(ApiKeyView):
    key: str


class ApiKeyList(BaseModel):
    items: list[ApiKeyView]


class Revoked(BaseModel):
    id: str
    revoked: bool


class ProfileView(BaseModel):
    id: str
    email: str
    name: str
    roles: list[str]
    preferences: dict[str, Any]
    created_at: str | None
    last_login: str | None = None  # absent right after a change: read the profile again


class PasswordChanged(BaseModel):
    password_changed: bool


class Deleted(BaseModel):
    id: str
    deleted: bool


class MemoryView(BaseModel):
    id: str
    key: str
    content: Any  # null when a sealed memory's content cannot be shown
    layer: str
    tags: list[str]
    metadata: dict[str, Any]
    confidence: float | None
    session_id: str | None
    context_id: str | None
    created_at: str | None
    updated_at: str | None
    expires_at: str | None


class ScoredMemory(MemoryView):
    score: float


class MemoryList(BaseModel):
    items: list[MemoryView]


class MemoryHits(BaseModel):
    items: list[ScoredMemory]


class MemoryDeleted(Deleted):
    key: str


class Cleared(BaseModel):
    cleared: int


class ContextView(BaseModel):
    id: str
    name: str
    state: Any
    session_id: str | None
    version: int
    created_at: str | None
    updated_at: str | None


class ContextList(BaseModel):
    items: list[ContextView]
