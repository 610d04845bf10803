"""What ARQIUM's routes answer in `data` (documentation only)."""

from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel


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


class MemoryVersion(BaseModel):
    version: int
    type: str
    layer: str | None
    content: Any  # null once crypto-shredded
    confidence: float | None
    actor: str
    correlation_id: str | None
    at: str | None


class MemoryHistory(BaseModel):
    items: list[MemoryVersion]


class SessionView(BaseModel):
    id: str
    title: str | None
    status: str
    metadata: dict[str, Any]
    message_count: int
    created_at: str | None
    updated_at: str | None


class SessionList(BaseModel):
    items: list[SessionView]


class MessageView(BaseModel):
    id: str
    session_id: str
    seq: int
    role: str
    content: str
    components: list[Any] | dict[str, Any] | None
    incomplete: bool
    abandoned: bool
    created_at: str | None


class MessageList(BaseModel):
    items: list[MessageView]


class CheckpointView(BaseModel):
    checkpoint_id: str
    session_id: str
    label: str | None
    message_count: int
    position: int
    created_at: str | None


class SessionWithCheckpoints(SessionView):
    checkpoints: list[CheckpointView]


class ResumedSession(SessionView):
    checkpoint_id: str | None  # null when an archived session was reopened
    context: dict[str, Any]  # context id -> {name, state, version}
    messages: list[MessageView]


class LedgerEvent(BaseModel):
    object_id: str
    version: int
    position: int
    type_name: str
    type: str
    transaction_id: str | None
    action: str
    data: Any
    metadata: Any
    actor: str
    recorded_at: str
    hash: str
    prev_hash: str


class LedgerHistory(BaseModel):
    items: list[LedgerEvent]


class LedgerObjectView(BaseModel):
    id: str
    type_name: str
    data: Any
    version: int
    updated_at: str
    created_at: str
    hash: str


class LedgerObjectList(BaseModel):
    items: list[LedgerObjectView]


class LedgerTransactionView(BaseModel):
    id: str
    object_id: str
    version: int
    action: str
    data: Any
    metadata: Any
    actor: str
    recorded_at: str
    hash: str


class LedgerTransactionList(BaseModel):
    items: list[LedgerTransactionView]


class LedgerVerified(BaseModel):
    ok: Literal[True]
    checked_events: int
    checked_seals: int
    digest: str


class LedgerFailure(BaseModel):
    object_id: str | None  # null when a sealed digest is what fails
    version: int | None
    reason: str


class LedgerBroken(BaseModel):
    ok: Literal[False]
    checked_events: int
    first_failure: LedgerFailure


class LedgerVerification(RootModel[LedgerVerified | LedgerBroken]):
    pass


class DependencyCheck(BaseModel):
    """PostgreSQL and NATS: up (PostgreSQL with its latency) or down with the error;
    a worker: up, down or failed, with its position and lag."""
    status: str
    latency_ms: float | None = None
    error: str | None = None
    position: int | None = None
    lag: int | None = None
    failure: dict[str, Any] | None = None
    skipped: list[dict[str, Any]] | None = None


class HealthReport(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    checks: dict[str, DependencyCheck]


class TrackedEventView(BaseModel):
    id: str
    name: str
    properties: dict[str, Any]
    occurred_at: str
    session_id: str | None
    created_at: str


class DashboardInterval(BaseModel):
    start: str
    events: dict[str, int]  # client-tracked events by name
    platform: dict[str, int]  # the platform's own figures, every one named
    active_users: int


class DashboardTotals(BaseModel):
    events: dict[str, int]
    platform: dict[str, int]
    active_users: int


class Dashboard(BaseModel):
    scope: Literal["own", "all"]
    interval: Literal["hour", "day"]
    from_: str = Field(alias="from")
    to: str
    intervals: list[DashboardInterval]
    totals: DashboardTotals


class LayerUsage(BaseModel):
    count: int
    bytes: int


class MemoryUsage(BaseModel):
    by_layer: dict[str, LayerUsage]
    total: int
    storage_bytes: int


class RateLimitBudget(BaseModel):
    limit: str  # e.g. "1000/minute"
    remaining: int
    reset: int  # when the window frees a request (Unix time)


class Usage(BaseModel):
    from_: str = Field(alias="from")
    to: str
    memories: MemoryUsage
    ledger: dict[str, int]  # objects, transactions
    chat: dict[str, int]  # sessions, messages, tokens
    events: dict[str, int]  # tracked
    requests_by_face: dict[str, int]  # face: requests answered
    rate_limit: RateLimitBudget | None  # null when rate limits are off
