"""Agent invocations: one row per invocation for its owner, and per agent how many
invocations there were and how long they took in all (its average response time)."""

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.sql import Composed
from psycopg.types.json import Jsonb

from arqium.domain.agents.application import AgentsApplication
from arqium.domain.agents.domainmodel import (
    FAILED,
    OK,
    AgentInvocation,
    AgentsOwner,
    Invoked,
)
from arqium.projections.base import BatchProjection, ReadModel

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    agent_id text NOT NULL,
    input text NOT NULL,
    parameters jsonb NOT NULL,
    outcome text NOT NULL,
    output text,
    error jsonb,
    duration_ms bigint NOT NULL,
    invoked_at timestamptz NOT NULL,
    position bigint NOT NULL
)"""
CREATE_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, invoked_at)"
# Every invocation counts, whoever made it and whatever its outcome; forgetting an owner
# removes their rows, not their share of these anonymous figures.
CREATE_TIMES_TABLE = """
CREATE TABLE IF NOT EXISTS {times} (
    agent_id text PRIMARY KEY,
    invocations bigint NOT NULL,
    total_ms bigint NOT NULL
)"""

INSERT = """
INSERT INTO {table} (id, owner_id, agent_id, input, parameters, outcome, output, error,
    duration_ms, invoked_at, position)
VALUES (%(id)s, %(owner_id)s, %(agent_id)s, %(input)s, %(parameters)s, %(outcome)s,
    %(output)s, %(error)s, %(duration_ms)s, %(at)s, %(position)s)
ON CONFLICT (id) DO NOTHING"""
ADD_TIME = """
INSERT INTO {times} (agent_id, invocations, total_ms) VALUES (%(agent_id)s, 1, %(ms)s)
ON CONFLICT (agent_id) DO UPDATE SET invocations = {times}.invocations + 1,
    total_ms = {times}.total_ms + EXCLUDED.total_ms"""
FORGET = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"

SELECT_OWNED = "SELECT * FROM {table} WHERE id = %(id)s AND owner_id = %(owner_id)s"
SELECT_AVERAGES = """
SELECT agent_id, total_ms::float8 / invocations / 1000 AS seconds FROM {times}"""


class AgentInvocationsView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.times = f"{self.name}_times"
        self.sql_create_statements.extend([
            self.sql(CREATE_TABLE),
            self.sql(CREATE_OWNER_INDEX, index=f"{self.name}_owner_idx"),
            self.sql(CREATE_TIMES_TABLE)])

    def sql(self, template: str, **names: str) -> Composed:
        """Its templates may also name {times}, the per-agent totals."""
        return super().sql(template, times=self.times, **names)

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.times]

    def owned(self, owner_id: str, invocation_id: Any) -> dict | None:
        rows = self.query(SELECT_OWNED, id=invocation_id, owner_id=owner_id)
        return rows[0] if rows else None

    def average_seconds(self) -> dict[str, float]:
        """Each invoked agent's mean duration, in seconds."""
        return {row["agent_id"]: float(row["seconds"])
                for row in self.query(SELECT_AVERAGES)}


class AgentInvocationsProjection(BatchProjection):
    name = "agent_invocations"
    application = AgentsApplication
    view_class = AgentInvocationsView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other agents events do not change this read model."""

    @apply.register
    def _(self, domain_event: Invoked, position: int, curs: Cursor) -> None:
        """Answered or Failed."""
        failed = isinstance(domain_event, AgentInvocation.Failed)
        curs.execute(self.view.sql(INSERT), {
            "id": domain_event.originator_id, "owner_id": domain_event.owner_id,
            "agent_id": domain_event.agent_id, "input": domain_event.input,
            "parameters": Jsonb(domain_event.parameters),
            "outcome": FAILED if failed else OK,
            "output": getattr(domain_event, "output", None),
            "error": Jsonb(domain_event.error) if failed else None,
            "duration_ms": domain_event.duration_ms, "at": domain_event.at,
            "position": position})
        curs.execute(self.view.sql(ADD_TIME), {"agent_id": domain_event.agent_id,
                                               "ms": domain_event.duration_ms})

    @apply.register
    def _(self, domain_event: AgentsOwner.Forgotten, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(FORGET), {"owner_id": domain_event.owner_id})
