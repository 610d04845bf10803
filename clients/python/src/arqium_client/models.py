"""What the server answers, typed: the `data` of ARQIUM's routes (mirroring the server's
OpenAPI components) and the bodies of the CEREBRO ledger routes the client uses.
Unknown fields are kept, so a newer server does not break an older client."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class User(Model):
    id: str
    email: str
    name: str
    roles: list[str]
    created_at: str | None = None


class TokenPair(Model):
    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    expires_in: int
    token_type: str


class Login(TokenPair):
    user: User


class LoggedOut(Model):
    logged_out: bool


class Profile(Model):
    id: str
    email: str
    name: str
    roles: list[str]
    preferences: dict[str, Any]
    created_at: str | None = None
    last_login: str | None = None


class ApiKey(Model):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: str | None = None


class IssuedApiKey(ApiKey):
    key: str = Field(repr=False)  # shown once: keep it somewhere safe


class Revoked(Model):
    id: str
    revoked: bool


class Deleted(Model):
    id: str
    deleted: bool


class Memory(Model):
    id: str
    key: str
    content: Any  # None when a sealed memory's content cannot be shown
    layer: str
    tags: list[str]
    metadata: dict[str, Any]
    confidence: float | None = None
    session_id: str | None = None
    context_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    expires_at: str | None = None


class ScoredMemory(Memory):
    score: float


class Promoted(Model):
    id: str
    key: str
    layer: str
    promoted_at: str | None = Field(default=None, alias="promotedAt")


class MemoryDeleted(Deleted):
    key: str


class Cleared(Model):
    cleared: int


class MemoryVersion(Model):
    version: int
    type: str
    layer: str | None = None
    content: Any = None  # None once crypto-shredded
    confidence: float | None = None
    actor: str
    correlation_id: str | None = None
    at: str | None = None


class Context(Model):
    id: str
    name: str
    state: Any
    session_id: str | None = None
    version: int
    created_at: str | None = None
    updated_at: str | None = None


class Session(Model):
    id: str
    title: str | None = None
    status: str
    metadata: dict[str, Any]
    message_count: int
    created_at: str | None = None
    updated_at: str | None = None


class Message(Model):
    id: str
    session_id: str
    seq: int
    role: str
    content: str
    components: list[Any] | dict[str, Any] | None = None
    incomplete: bool = False
    abandoned: bool = False
    created_at: str | None = None


class Checkpoint(Model):
    checkpoint_id: str
    session_id: str
    label: str | None = None
    message_count: int
    position: int
    created_at: str | None = None


class SessionWithCheckpoints(Session):
    checkpoints: list[Checkpoint]


class ResumedSession(Session):
    checkpoint_id: str | None = None
    context: dict[str, Any]
    messages: list[Message]


class LedgerObject(Model):
    id: str
    type_name: str
    data: Any
    version: int
    updated_at: str
    created_at: str
    hash: str


class LedgerTransaction(Model):
    """A transaction on an object: the patch merged into its data, and its hash."""
    id: str
    object_id: str
    version: int
    action: str
    data: Any
    metadata: Any
    actor: str
    recorded_at: str
    hash: str


class LedgerEvent(Model):
    """One event of the ledger, hashed: in an object's history and in an export."""
    object_id: str
    version: int
    type_name: str
    type: str
    transaction_id: str | None = None
    action: str
    data: Any
    metadata: Any
    actor: str
    recorded_at: str
    hash: str
    prev_hash: str
    position: int | None = None


class LedgerFailure(Model):
    object_id: str | None = None
    version: int | None = None
    reason: str


class LedgerVerification(Model):
    ok: bool
    checked_events: int
    checked_seals: int | None = None
    digest: str | None = None
    first_failure: LedgerFailure | None = None


class Plugin(Model):
    """One of ARQIUM's modules: installed or available, switched on or off."""
    id: str
    name: str
    description: str
    version: str
    author: str
    dependencies: list[str]
    status: Literal["installed", "available"]
    settings: dict[str, Any]
    enabled: bool
    category: str
    tags: list[str]
    requires: str | None = None
    errors: list[str]


class PluginUninstalled(Model):
    id: str
    uninstalled: bool


class Health(Model):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    checks: dict[str, Any]


class TrackedEvent(Model):
    id: str
    name: str
    properties: dict[str, Any] | None = None
    occurred_at: str
    session_id: str | None = None
    created_at: str


class DashboardInterval(Model):
    start: str
    events: dict[str, int]
    platform: dict[str, int]
    active_users: int


class DashboardTotals(Model):
    events: dict[str, int]
    platform: dict[str, int]
    active_users: int


class Dashboard(Model):
    scope: Literal["own", "all"]
    interval: Literal["hour", "day"]
    from_: str = Field(alias="from")
    to: str
    intervals: list[DashboardInterval]
    totals: DashboardTotals


class Usage(Model):
    from_: str = Field(alias="from")
    to: str
    memories: dict[str, Any]
    ledger: dict[str, int]
    chat: dict[str, int]
    events: dict[str, int]
    rate_limit: dict[str, Any] | None = None
