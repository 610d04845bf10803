"""The agents context's service layer: invocations are recorded once they have ended."""

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application

from arqium.domain.agents.domainmodel import AgentInvocation, AgentsOwner
from arqium.domain.shared import Clock, command, system_clock


class AgentsApplication(Application):
    name = "agents"

    def __init__(self, env: Any = None, *, clock: Clock = system_clock,
                 new_id: Callable[[], UUID] = uuid4):
        super().__init__(env)
        self.clock = clock
        self.new_id = new_id

    @command
    def record_answer(self, owner_id: str, agent_id: str, request: dict, duration_ms: int,
                      output: str) -> tuple[AgentInvocation, int]:
        """An invocation `request` ({input, parameters}) the agent answered."""
        invocation = AgentInvocation.answered(self.new_id(), owner_id, agent_id, request,
                                              duration_ms, output, self.clock())
        return invocation, self.save(invocation)[-1].notification.id

    @command
    def record_failure(self, owner_id: str, agent_id: str, request: dict,
                       duration_ms: int, error: dict) -> tuple[AgentInvocation, int]:
        """An invocation that failed with `error` ({code, message})."""
        invocation = AgentInvocation.failed(self.new_id(), owner_id, agent_id, request,
                                            duration_ms, error, self.clock())
        return invocation, self.save(invocation)[-1].notification.id

    @command
    def forget_owner(self, owner_id: str) -> int | None:
        """Remove the owner's invocations from every read model (their history stays)."""
        if AgentsOwner.create_id(owner_id) in self.repository:
            return None
        owner = AgentsOwner(owner_id=owner_id, at=self.clock())
        return self.save(owner)[-1].notification.id
