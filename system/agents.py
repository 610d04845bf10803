"""The built-in agents at work: what each one reads, whether it can work now (its
status), and one invocation run, timed, and recorded as an event whatever its outcome."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

from arqium.domain.agents import file_analyst
from arqium.domain.agents.application import AgentsApplication
from arqium.domain.agents.domainmodel import (
    AGENTS,
    FILE_ANALYST,
    GENERAL_ASSISTANT,
    LEDGER_AUDITOR,
    MEMORY_SEARCH,
    AgentInvocation,
    FileNotAnalysed,
    check_invocation,
)
from arqium.domain.files.domainmodel import COMPLETE, FAILED, FileNotFound
from arqium.domain.ledger.application import LedgerApplication
from arqium.domain.ledger.chain import verify
from arqium.domain.ledger.digest import sealed
from arqium.domain.memory.domainmodel import LAYERS
from arqium.domain.memory.workingset import prompt_text
from arqium.domain.shared import Cause, Clock, DomainError, Invalid
from arqium.infra.llm import ModelProbe, chat_model
from arqium.infra.settings import Settings
from arqium.infra.worker_failures import WorkerFailures
from arqium.projections.agent_invocations import AgentInvocationsView
from arqium.projections.files import FilesProjection, FilesView
from arqium.projections.ledger_objects import LedgerObjectsProjection, LedgerObjectsView
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.projections.memory_search import MemoryQuery, MemorySearch

DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT = 10, 100
WORKING_SET_CANDIDATES = 1000  # as CEREBRO's chat ranks them
AUDIT_PAGE = 200  # of a user's ledger objects read at a time
ANALYSIS_WORKER = ("file_analysis", "files")
# The workers (name, application) whose failure leaves an agent without what it reads.
NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    MEMORY_SEARCH: ((MemoryItemsProjection.name, "memory"),),
    FILE_ANALYST: ((FilesProjection.name, "files"), ANALYSIS_WORKER),
    LEDGER_AUDITOR: ((LedgerObjectsProjection.name, "ledger"),),
    GENERAL_ASSISTANT: ((MemoryItemsProjection.name, "memory"),),
}


@dataclass(frozen=True)
class Ask:
    """One invocation as its caller sent it."""

    owner_id: str
    whole_ledger: bool  # an auditor's or an admin's: the ledger auditor checks it all
    input: str
    parameters: dict
    cause: Cause

    @property
    def request(self) -> dict:
        return {"input": self.input, "parameters": self.parameters}


@dataclass(frozen=True)
class Sources:
    """What agents read, each once it holds what the request must see (the face knows
    how long to wait)."""

    memory_search: Callable[[], MemorySearch]
    files: Callable[[], FilesView]
    ledger_objects: Callable[[], LedgerObjectsView]


class Answer(NamedTuple):
    output: str
    data: Any


class Invoked(NamedTuple):
    answer: Answer
    invocation: AgentInvocation
    position: int


@dataclass(frozen=True)
class Agents:
    app: AgentsApplication
    invocations: AgentInvocationsView
    ledger: LedgerApplication
    settings: Settings
    worker_failures: WorkerFailures
    model_probe: ModelProbe
    clock: Clock

    def listed(self) -> list[dict]:
        """Every agent with its status and average response time (seconds; 0 if never
        invoked)."""
        averages = self.invocations.average_seconds()
        failing = set(self.worker_failures.failures())
        return [{"id": agent.id, "name": agent.name, "description": agent.description,
                 "status": "online" if self.online(agent.id, failing) else "offline",
                 "capabilities": list(agent.capabilities),
                 "average_response_time": round(averages.get(agent.id, 0.0), 3)}
                for agent in AGENTS.values()]

    def online(self, agent_id: str, failing: set[tuple[str, str]]) -> bool:
        """Its read models' workers are not failing, and a model answers if it needs
        one."""
        if failing & set(NEEDS[agent_id]):
            return False
        return agent_id != GENERAL_ASSISTANT or self.model_probe.online(self.settings)

    def invoke(self, agent_id: str, ask: Ask, sources: Sources) -> Invoked:
        """Run the agent; its answer, or its failure, is recorded with the time it took
        (an unknown agent or a malformed request is refused before anything runs)."""
        check_invocation(agent_id, ask.request)
        started = time.perf_counter()
        try:
            answer = RUNNERS[agent_id](self, ask, sources)
        except Exception as error:
            failed, _ = self.app.record_failure(ask.owner_id, agent_id, ask.request,
                                                elapsed_ms(started), failure_of(error),
                                                cause=ask.cause)
            if isinstance(error, DomainError):  # the face's error names the invocation
                error.details = {**error.details, "invocation_id": str(failed.id)}
            raise
        invocation, position = self.app.record_answer(
            ask.owner_id, agent_id, ask.request, elapsed_ms(started), answer.output,
            cause=ask.cause)
        return Invoked(answer, invocation, position)


def elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def failure_of(error: Exception) -> dict:
    """What an invocation's event says of its failure: a domain error's kind and
    message; of anything else, only that it was internal."""
    if isinstance(error, DomainError):
        return {"code": type(error).__name__, "message": error.message}
    return {"code": "InternalError", "message": "the agent failed unexpectedly"}


def search_memories(agents: Agents, ask: Ask, sources: Sources) -> Answer:
    query = required_input(ask)
    layer = ask.parameters.get("layer")
    if layer is not None and layer not in LAYERS:
        raise Invalid(f"parameters.layer must be one of {', '.join(LAYERS)}",
                      field="parameters.layer")
    limit = ask.parameters.get("limit", DEFAULT_SEARCH_LIMIT)
    if type(limit) is not int or not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise Invalid(f"parameters.limit must be an integer from 1 to {MAX_SEARCH_LIMIT}",
                      field="parameters.limit")
    rows, total = sources.memory_search().search(
        MemoryQuery(ask.owner_id, query, layer=layer, limit=limit), agents.clock())
    found = [{"id": str(row["id"]), "key": row["key"], "content": row["content"],
              "layer": row["layer"], "confidence": row["confidence"],
              "score": round(min(max(float(row["score"]), 0.0), 1.0), 4)} for row in rows]
    keys = ", ".join(memory["key"] for memory in found)
    output = f"Found {total} memories" + (f"; the best: {keys}" if found else "")
    return Answer(output, {"memories": found, "total": total})


def analyse_file(agents: Agents, ask: Ask, sources: Sources) -> Answer:
    row = sources.files().owned(ask.owner_id, file_id_of(ask.parameters))
    if row is None:
        raise FileNotFound("no such file", file_id=str(ask.parameters["file_id"]))
    if row["analysis_status"] == FAILED:
        raise FileNotAnalysed(f"the analysis of {row['filename']} failed: "
                              f"{row['analysis_error']}", file_id=str(row["id"]),
                              analysis_status=FAILED)
    if row["analysis_status"] != COMPLETE:
        raise FileNotAnalysed(f"{row['filename']} has not been analysed yet (its analysis "
                              f"is {row['analysis_status']}); ask again shortly",
                              file_id=str(row["id"]),
                              analysis_status=row["analysis_status"])
    output, data = file_analyst.answer(row["analysis"], ask.input)
    return Answer(output, {"file_id": str(row["id"]), "filename": row["filename"],
                           "answer": data})


def file_id_of(parameters: dict) -> UUID:
    try:
        return UUID(str(parameters["file_id"]))
    except (KeyError, ValueError):
        raise Invalid("parameters.file_id must name one of your files",
                      field="parameters.file_id") from None


def audit_ledger(agents: Agents, ask: Ask, sources: Sources) -> Answer:
    if ask.whole_ledger:
        objects: set[str] = set()
        result = verify(counted(agents.ledger.entries(), objects), sealed(agents.ledger))
        scope = "ledger"
    else:
        objects = set(owned_object_ids(sources.ledger_objects(), ask.owner_id))
        result = verify(entry for object_id in sorted(objects)
                        for entry in agents.ledger.object_entries(UUID(object_id)))
        scope = "own"
    data = {"scope": scope, "checked_objects": len(objects), **result}
    return Answer(audit_text(data), data)


def counted(entries: Iterator[dict], objects: set[str]) -> Iterator[dict]:
    """The entries, noting each object they belong to."""
    for entry in entries:
        objects.add(str(entry["object_id"]))
        yield entry


def owned_object_ids(view: LedgerObjectsView, owner_id: str) -> Iterator[str]:
    offset = 0
    while True:
        rows, total = view.owned_page(owner_id, AUDIT_PAGE, offset)
        yield from (row["id"] for row in rows)
        offset += AUDIT_PAGE
        if offset >= total:
            return


def audit_text(data: dict) -> str:
    whose = "the whole ledger" if data["scope"] == "ledger" else "your ledger objects"
    checked = (f"Checked {many(data['checked_objects'], 'object')} ({whose}), "
               f"{many(data['checked_events'], 'event')}")
    if data["ok"]:
        return f"{checked}: every hash chain is intact"
    failure = data["first_failure"]
    return (f"{checked}: object {failure['object_id']} version {failure['version']} "
            f"fails: {failure['reason']}")


def many(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def assist(agents: Agents, ask: Ask, sources: Sources) -> Answer:
    question = required_input(ask)
    model = chat_model(agents.settings)  # ModelUnavailable (503) without one
    shown = sources.memory_search().working_set(
        ask.owner_id, agents.clock(), agents.settings.chat_memory_tokens,
        WORKING_SET_CANDIDATES, question)
    reply = model.complete(assistant_prompt(shown, question))
    return Answer(reply, {"memories_used": [str(memory["id"]) for memory in shown]})


def assistant_prompt(shown: list[dict], question: str) -> list[dict]:
    """The user's working set as a system message, then the question."""
    asked = [{"role": "user", "content": question}]
    if not shown:
        return asked
    known = "\n".join(prompt_text(m["key"], m["content"]) for m in shown)
    return [{"role": "system", "content": f"What you know about the user:\n{known}"},
            *asked]


def required_input(ask: Ask) -> str:
    if not ask.input.strip():
        raise Invalid("input must say what to do", field="input")
    return ask.input


RUNNERS: dict[str, Callable[[Agents, Ask, Sources], Answer]] = {
    MEMORY_SEARCH: search_memories, FILE_ANALYST: analyse_file,
    LEDGER_AUDITOR: audit_ledger, GENERAL_ASSISTANT: assist}
