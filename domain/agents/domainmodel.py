"""The built-in agents and their invocations: each invocation is recorded once it has
ended, with its outcome and how long it took."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from arqium.domain.shared import ArqiumAggregate, Conflict, Invalid, NotFound

MAX_INPUT_LENGTH = 10_000
MAX_PARAMETERS_BYTES = 4096
MAX_SUMMARY_LENGTH = 1000  # of an answer's text kept in the invocation's event
OK, FAILED = "ok", "failed"


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    description: str
    capabilities: tuple[str, ...]


MEMORY_SEARCH, FILE_ANALYST = "memory-search", "file-analyst"
LEDGER_AUDITOR, GENERAL_ASSISTANT = "ledger-auditor", "general-assistant"
AGENTS: dict[str, Agent] = {agent.id: agent for agent in (
    Agent(GENERAL_ASSISTANT, "General Assistant", "Answers with the configured language "
          "model, knowing your memories' working set", ("chat", "memory")),
    Agent(MEMORY_SEARCH, "Memory Search", "Searches your memories by words and meaning "
          "(parameters: layer, limit)", ("memory_search",)),
    Agent(FILE_ANALYST, "File Analyst", "Answers from an uploaded file's analysis "
          "(parameters: file_id; input: summary, or a column's name)",
          ("file_analysis",)),
    Agent(LEDGER_AUDITOR, "Ledger Auditor", "Verifies the hash chains of your ledger "
          "objects (an auditor's: the whole ledger) and reports what it checked",
          ("ledger_audit",)),
)}


class AgentNotFound(NotFound):
    pass


class InvocationNotFound(NotFound):
    pass


class FileNotAnalysed(Conflict):
    """The file's analysis has not ended, or it failed: there is nothing to answer from."""


def agent_named(agent_id: str) -> Agent:
    try:
        return AGENTS[agent_id]
    except KeyError:
        raise AgentNotFound(f"no agent {agent_id!r}; agents: {', '.join(AGENTS)}",
                            agent_id=agent_id) from None


def check_input(text: str) -> None:
    if len(text) > MAX_INPUT_LENGTH:
        raise Invalid(f"input must be at most {MAX_INPUT_LENGTH} characters",
                      field="input")


def check_parameters(parameters: dict) -> None:
    """At most MAX_PARAMETERS_BYTES once serialized as compact JSON."""
    size = len(json.dumps(parameters, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_PARAMETERS_BYTES:
        raise Invalid(f"parameters must be at most {MAX_PARAMETERS_BYTES} bytes as JSON",
                      field="parameters")


def summary(text: str) -> str:
    """What an invocation's event keeps of an answer's text."""
    if len(text) <= MAX_SUMMARY_LENGTH:
        return text
    return text[:MAX_SUMMARY_LENGTH - 1] + "…"


class Invoked(ArqiumAggregate.Created):
    """What both ends of an invocation record (never stored as such)."""

    owner_id: str
    agent_id: str
    input: str
    parameters: dict
    duration_ms: int
    at: datetime


class AgentInvocation(ArqiumAggregate):
    """One invocation of an agent by its owner: answered, or failed with an error."""

    class Answered(Invoked):
        output: str  # the answer's text, at most MAX_SUMMARY_LENGTH characters

    class Failed(Invoked):
        error: dict  # {code, message}

    def __init__(self, owner_id: str, agent_id: str, input: str, parameters: dict,
                 duration_ms: int, at: datetime, output: str | None = None,
                 error: dict | None = None):
        self.owner_id = owner_id
        self.agent_id = agent_id
        self.duration_ms = duration_ms
        self.outcome = FAILED if error is not None else OK

    @classmethod
    def answered(cls, id: UUID, owner_id: str, agent_id: str, request: dict,
                 duration_ms: int, output: str, at: datetime) -> "AgentInvocation":
        """`request`: {input, parameters}."""
        check_invocation(agent_id, request)
        return cls._create(cls.Answered, id=id, owner_id=owner_id, agent_id=agent_id,
                           **request, duration_ms=duration_ms, output=summary(output),
                           at=at)

    @classmethod
    def failed(cls, id: UUID, owner_id: str, agent_id: str, request: dict,
               duration_ms: int, error: dict, at: datetime) -> "AgentInvocation":
        check_invocation(agent_id, request)
        return cls._create(cls.Failed, id=id, owner_id=owner_id, agent_id=agent_id,
                           **request, duration_ms=duration_ms,
                           error={"code": error["code"],
                                  "message": summary(error["message"])}, at=at)


def check_invocation(agent_id: str, request: dict) -> None:
    agent_named(agent_id)
    check_input(request["input"])
    check_parameters(request["parameters"])


class AgentsOwner(ArqiumAggregate):
    """An owner's invocations as a whole: forgetting it removes them from every read
    model (the events stay in the history)."""

    @staticmethod
    def create_id(owner_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"arqium:agents-owner:{owner_id}")

    @event("Forgotten")
    def __init__(self, owner_id: str, at: datetime):
        self.owner_id = owner_id
