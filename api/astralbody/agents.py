"""AstralBody agents (seed 004): the built-in agents with their real status, a direct
invocation (recorded as an event whatever its outcome), and an invocation read back."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.astralbody.documents import (
    AstralAgentAnswer,
    AstralAgents,
    AstralInvocation,
)
from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import AgentInvocations, AgentsDep, Waits, caught_up
from arqium.api.common.documents import documented
from arqium.api.common.ledger import reader
from arqium.api.common.positions import with_position
from arqium.api.common.search import caught_up_search
from arqium.api.common.shapes import iso
from arqium.domain.agents.domainmodel import MAX_INPUT_LENGTH, InvocationNotFound
from arqium.projections.files import FilesProjection
from arqium.projections.ledger_objects import LedgerObjectsProjection
from arqium.system.agents import Ask, Sources

router = APIRouter(prefix="/agents", tags=["AstralBody"])


class Invocation(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    input: str = Field(default="", max_length=MAX_INPUT_LENGTH)
    parameters: dict[str, Any] = Field(default_factory=dict, description=(
        "the agent's options, at most 4 KB as JSON: memory-search {layer, limit}, "
        "file-analyst {file_id}"))


def invocation_view(row: dict) -> dict:
    return {"id": str(row["id"]), "agent_id": row["agent_id"], "input": row["input"],
            "parameters": row["parameters"], "outcome": row["outcome"],
            "output": row["output"], "error": row["error"],
            "duration_ms": row["duration_ms"], "invoked_at": iso(row["invoked_at"])}


@router.get("", summary="The agents, their status and response times (AstralBody)",
            responses=documented(200, AstralAgents))
def list_agents(caller: CurrentCaller, agents: AgentsDep, _timed: AgentInvocations):
    return {"agents": agents.listed()}


@router.post("/{agent_id}/invoke", summary="Invoke an agent directly (AstralBody)",
             responses=documented(200, AstralAgentAnswer))
def invoke(agent_id: str, body: Invocation, request: Request, caller: CurrentCaller,
           agents: AgentsDep, waits: Waits):
    """memory-search: your memories matching `input` (parameters layer, limit);
    file-analyst: `input` "summary" or a column's name, of parameters.file_id's analysis
    (409 until it is complete); ledger-auditor: verifies your ledger objects' hash chains
    (an auditor's or admin's: the whole ledger); general-assistant: the configured model
    answers `input` knowing your memories (503 without one). Every invocation is recorded,
    a failed one too."""
    ask = Ask(caller.user_id, reader(caller.principal) is None, body.input,
              body.parameters, caller.cause)
    sources = Sources(
        memory_search=lambda: caught_up_search(request, waits.system),
        files=lambda: caught_up(FilesProjection)(request, waits),
        ledger_objects=lambda: caught_up(LedgerObjectsProjection)(request, waits))
    answer, invocation, position = agents.invoke(agent_id, ask, sources)
    return with_position({
        "agent_id": agent_id, "output": answer.output, "data": answer.data,
        "duration_ms": invocation.duration_ms, "invocation_id": str(invocation.id)},
        agents.app.name, position)


@router.get("/invocations/{invocation_id}", summary="One of your invocations (AstralBody)",
            responses=documented(200, AstralInvocation))
def get_invocation(invocation_id: UUID, caller: CurrentCaller,
                   invocations: AgentInvocations):
    row = invocations.owned(caller.user_id, invocation_id)
    if row is None:
        raise InvocationNotFound(f"no invocation {invocation_id}",
                                 id=str(invocation_id))
    return invocation_view(row)
