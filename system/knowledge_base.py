"""Answers from the caller's knowledge base (CEREBRO's RAG): hybrid search over their
documents' chunks, by words alone when meaning is unavailable (`degraded`), cached per
knowledge-base version, behind a circuit breaker that stops asking a failing
database for a cool-down."""

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pybreaker
from cachetools import TTLCache
from eventsourcing.persistence import OperationalError, PersistenceError
from psycopg.errors import QueryCanceled

from arqium.domain.shared import DomainError, Unavailable
from arqium.infra.settings import Settings
from arqium.projections.document_search import DocumentSearch

log = logging.getLogger("arqium.knowledge_base")
CACHED_ANSWERS = 1024  # answers of up to 20 chunks each: at most some 25 MB


class RetrievalOpen(Unavailable):
    code = "circuit_open"


class RetrievalTimedOut(Unavailable):
    code = "retrieval_timeout"


@dataclass(frozen=True)
class Question:
    owner_id: str
    query: str
    hints: dict[str, Any] = field(default_factory=dict)
    max_results: int = 5

    def words(self) -> str:
        """The keyword side's words: the query's and every value of the hints."""
        return " ".join([self.query, *hint_values(self.hints)])

    def key(self, version: int) -> str:
        """The question at a version of the owner's knowledge base."""
        return json.dumps([self.owner_id, version, self.query, self.hints,
                           self.max_results], sort_keys=True)


@dataclass(frozen=True)
class Answer:
    chunks: list[dict]  # each with its fused `score` (0..1)
    degraded: bool
    cached: bool = False


class KnowledgeBase:
    def __init__(self, search: DocumentSearch, embed: Callable[[str], Sequence[float]],
                 settings: Settings):
        self.search, self.embed = search, embed
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=settings.rag_breaker_failures,
            reset_timeout=settings.rag_breaker_cooldown_seconds,
            exclude=[DomainError], name="rag-retrieval")
        self.timeout = settings.rag_timeout_seconds
        self._cache: TTLCache | None = (
            TTLCache(CACHED_ANSWERS, settings.rag_cache_seconds)
            if settings.rag_cache_seconds > 0 else None)
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe

    def answer(self, question: Question) -> Answer:
        """RetrievalOpen while the breaker is open; RetrievalTimedOut for a statement
        that ran out of time (counted by the breaker, as every database failure is)."""
        try:
            return self.breaker.call(self._answer, question)
        except pybreaker.CircuitBreakerError:
            raise RetrievalOpen(
                "the knowledge base failed repeatedly and is given a rest; retry in "
                f"{self.breaker.reset_timeout:g} seconds",
                retry_after_seconds=self.breaker.reset_timeout) from None
        except (QueryCanceled, OperationalError) as error:
            if not timed_out(error):
                raise
            raise RetrievalTimedOut(
                f"the knowledge base did not answer within {self.timeout:g} seconds; "
                "retry shortly") from None

    def _answer(self, question: Question) -> Answer:
        state = self.search.state(question.owner_id)
        if state.version == 0:  # no documents: nothing to embed the query for
            return Answer([], degraded=False)
        key = question.key(state.version)
        if (answer := self._cached(key)) is not None:
            return answer
        vector = self._meaning(question.query) if state.embedded else None
        chunks = self.search.search(question.owner_id, question.words(), vector,
                                    question.max_results)
        answer = Answer(chunks, degraded=vector is None)
        if not answer.degraded:  # once the vectors are there, ask again in full
            self._remember(key, answer)
        return answer

    def _meaning(self, text: str) -> Sequence[float] | None:
        """The query's vector; None when the model cannot give one (search by words)."""
        try:
            return self.embed(text)
        except (psycopg.Error, PersistenceError):
            raise  # the database's failure (its query-embedding cache), not the model's
        except Exception as error:  # the model failed to load or to run
            log.warning("knowledge base searches by words alone: the embedding model "
                        "failed (%s: %s)", type(error).__name__, error)
            return None

    def _cached(self, key: str) -> Answer | None:
        if self._cache is None:
            return None
        with self._lock:
            answer = self._cache.get(key)
        return None if answer is None else Answer(answer.chunks, answer.degraded,
                                                  cached=True)

    def _remember(self, key: str, answer: Answer) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache[key] = answer


def timed_out(error: BaseException) -> bool:
    """A statement cancelled by its time limit (as psycopg raises it, or wrapped by the
    eventsourcing library)."""
    return isinstance(error, QueryCanceled) or isinstance(error.__cause__, QueryCanceled)


def hint_values(value: Any) -> list[str]:
    """The scalar values of a JSON value, at any depth, as text."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in hint_values(item)]
    if isinstance(value, list):
        return [text for item in value for text in hint_values(item)]
    return [] if value is None else [str(value)]
