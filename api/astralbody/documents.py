"""The bodies AstralBody answers, as the OpenAPI document describes them (the routes
build them; these models only document them)."""

from typing import Any, Literal

from pydantic import BaseModel, Field


class AstralHealth(BaseModel):
    status: str  # "healthy", or "unhealthy" with a 503
    version: str
    timestamp: str


class OidcClientConfig(BaseModel):
    """The OIDC client's settings; null where the server configures none."""

    issuer: str | None
    client_id: str | None
    scope: str
    redirect_uri: str | None


class AstralProfile(BaseModel):
    id: str
    email: str
    name: str
    roles: list[str]
    created_at: str
    last_login: str | None


class AstralSession(BaseModel):
    id: str
    title: str
    created_at: str
    updated_at: str
    message_count: int
    is_archived: bool


class AstralSessions(BaseModel):
    sessions: list[AstralSession]
    total: int


class AstralMessage(BaseModel):
    id: str
    role: str
    content: str
    timestamp: str
    components: list[Any] | dict[str, Any]  # as the message was written; [] if none


class AstralMessages(BaseModel):
    session_id: str
    messages: list[AstralMessage]
    has_more: bool


AnalysisStatus = Literal["pending", "processing", "complete", "failed"]


class AstralUpload(BaseModel):
    file_id: str
    filename: str
    size: int
    uploaded_at: str
    analysis_status: AnalysisStatus  # "pending" until the analysis worker takes it


class AstralFile(AstralUpload):
    """A file's metadata and its analysis (GET /files/{file_id}, a path of this
    server's: the seed names none)."""

    content_type: str  # detected from the bytes, not the name
    sha256: str
    session_id: str | None
    analysis: dict[str, Any] | None = Field(description=(
        "The figures once `analysis_status` is `complete`, else null. Always `kind` "
        "(csv, json, text, markdown, pdf, image), then per kind: csv `rows`, "
        "`delimiter`, `columns_total`, `columns_capped`, `ragged_rows`, `columns` "
        "[{name, type (integer, number, boolean, date, text; null without values), "
        "count, nulls, min, max, mean, distinct, distinct_capped}]; json `type`, `keys` "
        "or `length`, `depth`, `depth_capped`, `paths` {path: {types, count, lengths?}}, "
        "`paths_capped`; text and markdown `lines`, `words`, `characters`, "
        "`invalid_bytes` (markdown also `headings`); pdf `pages`, `text_characters`, "
        "`pages_with_text`; image `format`, `width`, `height`, `mode`."))
    error: str | None = Field(description="Why the analysis failed, when "
                                          "`analysis_status` is `failed`; else null.")
    analysed_at: str | None = Field(description="When the analysis ended (complete or "
                                                "failed); null before.")


class AstralComponentListed(BaseModel):
    id: str
    title: str
    type: str
    preview: str | None
    saved_at: str
    tags: list[str]


class AstralComponents(BaseModel):
    components: list[AstralComponentListed]
    total: int  # the caller's components (with that tag), all pages


class AstralComponent(AstralComponentListed):
    data: Any
    source_ids: list[str]  # what a combined component was made of; [] if saved


class AstralCombined(BaseModel):
    id: str
    title: str
    type: str


class AstralCombinedComponent(BaseModel):
    combined_component: AstralCombined


class AstralCondensed(AstralComponentListed):
    source_ids: list[str]  # the components it came from (itself, if left alone)


class AstralCondensedComponents(BaseModel):
    components: list[AstralCondensed]


class AstralAgent(BaseModel):
    id: str  # memory-search, file-analyst, ledger-auditor, general-assistant
    name: str
    description: str
    status: str  # "online" when what it needs is configured and working, else "offline"
    capabilities: list[str]
    average_response_time: float  # seconds, the mean of its invocations' (0: none yet)


class AstralAgents(BaseModel):
    agents: list[AstralAgent]


class AstralAgentAnswer(BaseModel):
    agent_id: str
    output: str  # the answer, in words
    data: Any  # the answer's figures, as the agent found them
    duration_ms: int
    invocation_id: str  # GET /agents/invocations/{invocation_id} reads it back


class AstralAgentError(BaseModel):
    code: str  # the kind of error the invocation failed with
    message: str


class AstralInvocation(BaseModel):
    id: str
    agent_id: str
    input: str
    parameters: dict[str, Any]
    outcome: str  # "ok" or "failed"
    output: str | None  # of an answer (at most 1000 characters of it)
    error: AstralAgentError | None  # of a failure
    duration_ms: int
    invoked_at: str
