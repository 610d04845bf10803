"""CEREBRO's RAG (seed 001): the caller's uploaded documents as a knowledge base."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from arqium.api.cerebro.documents import RagAnswer
from arqium.api.cerebro.files import signed_url
from arqium.api.cerebro.memory import EXPENSIVE
from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import AppSettings, DownloadLinks, Waits
from arqium.api.common.documents import documented
from arqium.api.common.positions import MIN_POSITION_HEADER
from arqium.api.common.search import relevance
from arqium.api.common.validation import WholeInt, not_blank
from arqium.infra.settings import Settings
from arqium.infra.signed_urls import UrlSigner
from arqium.projections.document_chunk_embeddings import DocumentChunkEmbeddingsProjection
from arqium.projections.document_chunks import DocumentChunksProjection
from arqium.system.knowledge_base import KnowledgeBase, Question

router = APIRouter(tags=["CEREBRO"])
MAX_HINTS_CHARACTERS = 2000  # the hints as JSON: words for the search, not documents
SOURCE = "vectorDB"  # the seed's name for hits of the knowledge base's hybrid search


class RagRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    query: str = Field(min_length=1, max_length=1000)
    hints: dict[str, Any] | None = None
    maxResults: WholeInt = Field(default=5, ge=1, le=20)

    _query_not_blank = field_validator("query")(not_blank)

    @field_validator("hints")
    @classmethod
    def _hints_short(cls, hints: dict[str, Any] | None) -> dict[str, Any] | None:
        if hints is not None and len(json.dumps(hints, ensure_ascii=False)) \
                > MAX_HINTS_CHARACTERS:
            raise ValueError(f"hints must be at most {MAX_HINTS_CHARACTERS} characters "
                             "as JSON")
        return hints


def caught_up_knowledge(request: Request, waits: Waits) -> KnowledgeBase:
    """The knowledge base, once it holds what the request must read (bounded wait): up
    to its X-Min-Position, by words and meaning; else every earlier write by its words
    (the vectors may lag: the answer then says `degraded`)."""
    projections = (DocumentChunksProjection,)
    if MIN_POSITION_HEADER in request.headers:
        projections += (DocumentChunkEmbeddingsProjection,)
    waits.for_request(request, *projections)
    return waits.system.knowledge_base


Knowledge = Annotated[KnowledgeBase, Depends(caught_up_knowledge)]


@router.post("/api/memory/rag", summary="Retrieve from your documents (CEREBRO RAG)",
             dependencies=EXPENSIVE, responses=documented(200, RagAnswer))
def rag(body: RagRequest, request: Request, caller: CurrentCaller, knowledge: Knowledge,
        links: DownloadLinks, settings: AppSettings):
    """The chunks of your analysed text documents (text, Markdown, CSV, JSON, PDF) that
    best answer `query`, by its words (and the `hints` values) and by its meaning;
    `degraded` when meaning was unavailable, `cached` when answered from the cache (it
    holds until your documents change). 503 while the circuit breaker is open."""
    answer = knowledge.answer(Question(caller.user_id, body.query, body.hints or {},
                                       body.maxResults))
    return {"results": [result(chunk, request, links, settings) for chunk in answer.chunks],
            "degraded": answer.degraded, "cached": answer.cached}


def result(chunk: dict, request: Request, links: UrlSigner, settings: Settings) -> dict:
    metadata = {"file_id": str(chunk["file_id"]), "title": chunk["title"],
                "url": signed_url(request, links, settings, chunk["file_id"],
                                  chunk["title"])}
    if chunk["page"] is not None:
        metadata["page"] = chunk["page"]
    return {"content": chunk["content"], "source": SOURCE,
            "confidence": relevance(chunk["score"]), "metadata": metadata}
