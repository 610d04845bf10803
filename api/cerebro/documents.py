"""The bodies CEREBRO answers, as the OpenAPI document describes them (the routes build
them; these models only document them). A memory's content is any JSON value: every face
writes the same memories, and ARQIUM's may hold a string."""

from typing import Any, Literal

from pydantic import BaseModel, RootModel


class CerebroPing(BaseModel):
    status: str
    timestamp: str
    version: str


class UpsertedMemory(BaseModel):
    id: str
    key: str
    content: dict[str, Any]
    layer: str
    confidence: float | None
    sensitivity: str
    tags: list[str]
    createdAt: str
    updatedAt: str
    expiresAt: str | None


class Upserted(BaseModel):
    memory: UpsertedMemory


class PromotedMemory(BaseModel):
    id: str
    key: str
    layer: str
    promotedAt: str


class Promoted(BaseModel):
    memory: PromotedMemory


class FoundMemory(BaseModel):
    id: str
    key: str
    content: Any
    confidence: float | None
    layer: str
    relevanceScore: float


class CerebroSearchResult(BaseModel):
    memories: list[FoundMemory]
    total: int


class ShownMemory(BaseModel):
    id: str
    key: str
    content: Any
    layer: str
    confidence: float | None
    createdAt: str
    tokens: int


class WorkingSet(BaseModel):
    memories: list[ShownMemory]
    items: list[ShownMemory]  # the same list, under the name some clients read
    totalTokens: int
    count: int
    budget: int


class LatencyPercentiles(BaseModel):
    p95: float | None  # null until a request was timed
    p99: float | None


class MemoryCounts(BaseModel):
    context: int
    temporary: int
    permanent: int


class MemoryMetrics(BaseModel):
    cacheHitRatioL1: float
    cacheHitRatioL2: float
    avgLatencyMs: LatencyPercentiles
    totalMemories: MemoryCounts


class LatencyAlert(BaseModel):
    type: str
    threshold: int
    current: float


class LayerTtls(BaseModel):
    context: int
    temporary: int


class MemoryConfig(BaseModel):
    tokenBudget: int
    ttls: LayerTtls
    promotionThreshold: float


class CerebroMetrics(BaseModel):
    metrics: MemoryMetrics
    alerts: list[LatencyAlert]
    config: MemoryConfig


class CerebroDeleted(BaseModel):
    deleted: bool
    key: str


class CerebroChat(BaseModel):
    id: str
    title: str
    createdAt: str
    messageCount: int
    visibility: Literal["private"]


class ChatHistory(BaseModel):
    chats: list[CerebroChat]
    total: int
    hasMore: bool


class CreatedObject(BaseModel):
    id: str
    typeName: str
    data: dict[str, Any]
    createdAt: str
    createdBy: str


class ObjectCreated(BaseModel):
    object: CreatedObject


class LedgerObject(CreatedObject):
    version: int
    updatedAt: str


class ObjectPage(BaseModel):
    objects: list[LedgerObject]
    total: int
    limit: int
    offset: int


class OneObject(BaseModel):
    object: LedgerObject


class LedgerTransaction(BaseModel):
    id: str
    objectId: str
    action: str
    createdAt: str
    createdBy: str


class TransactionRecorded(BaseModel):
    transaction: LedgerTransaction


class LedgerStatistics(BaseModel):
    totalObjects: int
    totalTransactions: int
    byType: dict[str, int]
    byStatus: dict[str, int]  # "none" counts objects without data.status


class LedgerAggregates(BaseModel):
    aggregates: LedgerStatistics


class ObjectCreatedOrPage(RootModel[ObjectCreated | ObjectPage]):
    """POST /api/ledger/objects: the created object (a body with `data`), else a page."""


class CerebroUpload(BaseModel):
    url: str  # downloads the file without credentials until it expires (a signed link)
    pathname: str
    contentType: str
    size: int


class KnowledgeMetadata(BaseModel):
    file_id: str
    title: str  # the file's name
    page: int | None = None  # a PDF's page, from 1 (absent for other documents)
    url: str  # downloads the file without credentials until it expires (a signed link)


class KnowledgeResult(BaseModel):
    content: str
    source: str  # "vectorDB": the knowledge base's hybrid search
    confidence: float
    metadata: KnowledgeMetadata


class RagAnswer(BaseModel):
    results: list[KnowledgeResult]
    degraded: bool  # meaning unavailable: the words alone answered
    cached: bool  # answered from this process's cache
