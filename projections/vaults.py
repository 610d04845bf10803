"""Vaults, their memories and those memories' contexts, as the v0 face reads them
(entries are memory items: see projections.memory_items)."""

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.types.json import Jsonb

from arqium.domain.memory.application import MemoryApplication
from arqium.domain.memory.domainmodel import MemoryOwner
from arqium.domain.memory.vaults import MemoryCollection, Vault
from arqium.projections.base import BatchProjection, ReadModel

CREATE_VAULTS = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    position bigint NOT NULL
)"""
CREATE_MEMORIES = """
CREATE TABLE IF NOT EXISTS {memories} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    vault_id uuid NOT NULL,
    title text NOT NULL,
    memory_type text NOT NULL,
    description text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    position bigint NOT NULL
)"""
CREATE_CONTEXTS = """
CREATE TABLE IF NOT EXISTS {contexts} (
    id uuid PRIMARY KEY,
    memory_id uuid NOT NULL,
    context jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    position bigint NOT NULL
)"""
CREATE_VAULTS_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, created_at)"
CREATE_MEMORIES_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {memories} (vault_id)"
CREATE_CONTEXTS_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {contexts} (memory_id, position DESC)"""

INSERT_VAULT = """
INSERT INTO {table} (id, owner_id, title, description, created_at, updated_at, position)
VALUES (%(id)s, %(owner_id)s, %(title)s, %(description)s, %(at)s, %(at)s, %(position)s)
ON CONFLICT (id) DO NOTHING"""
DELETE_VAULT = "DELETE FROM {table} WHERE id = %(id)s"
INSERT_MEMORY = """
INSERT INTO {memories} (id, owner_id, vault_id, title, memory_type, description,
    created_at, updated_at, position)
VALUES (%(id)s, %(owner_id)s, %(vault_id)s, %(title)s, %(memory_type)s, %(description)s,
    %(at)s, %(at)s, %(position)s)
ON CONFLICT (id) DO NOTHING"""
ATTACH_MEMORY = """
UPDATE {memories} SET vault_id = %(vault_id)s, updated_at = %(at)s WHERE id = %(id)s"""
DELETE_MEMORY = "DELETE FROM {memories} WHERE id = %(id)s"
INSERT_CONTEXT = """
INSERT INTO {contexts} (id, memory_id, context, created_at, position)
VALUES (%(id)s, %(memory_id)s, %(context)s, %(at)s, %(position)s)
ON CONFLICT (id) DO NOTHING"""
DELETE_CONTEXT = "DELETE FROM {contexts} WHERE id = %(id)s"
DELETE_CONTEXTS_OF = "DELETE FROM {contexts} WHERE memory_id = %(memory_id)s"
FORGET_CONTEXTS = """
DELETE FROM {contexts} WHERE memory_id IN (
    SELECT id FROM {memories} WHERE owner_id = %(owner_id)s)"""
FORGET_MEMORIES = "DELETE FROM {memories} WHERE owner_id = %(owner_id)s"
FORGET_VAULTS = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"

VAULT_COLUMNS = "id, owner_id, title, description, created_at, updated_at"
SELECT_VAULTS = f"""
SELECT {VAULT_COLUMNS} FROM {{table}} WHERE owner_id = %(owner_id)s
ORDER BY created_at, position"""
# A path segment is a vault's id or, failing that, its title (ids win: see the v0 face).
SELECT_VAULT = f"""
SELECT {VAULT_COLUMNS} FROM {{table}}
WHERE owner_id = %(owner_id)s AND (id::text = %(ref)s OR title = %(ref)s)
ORDER BY id::text = %(ref)s DESC LIMIT 1"""
MEMORY_COLUMNS = """id, owner_id, vault_id, title, memory_type, description, created_at,
    updated_at"""
SELECT_MEMORIES = f"""
SELECT {MEMORY_COLUMNS} FROM {{memories}}
WHERE owner_id = %(owner_id)s AND vault_id = %(vault_id)s ORDER BY created_at, position"""
SELECT_MEMORY = f"""
SELECT {MEMORY_COLUMNS} FROM {{memories}}
WHERE owner_id = %(owner_id)s AND vault_id = %(vault_id)s
    AND (id::text = %(ref)s OR title = %(ref)s)
ORDER BY id::text = %(ref)s DESC LIMIT 1"""
# Every memory of the owner with, for one of them, its latest context: one round trip
# for what a search answers besides its entries.
SELECT_OWNER_MEMORIES = """
SELECT m.id::text AS id, m.vault_id, c.context, c.created_at AS context_at
FROM {memories} m
LEFT JOIN LATERAL (
    SELECT context, created_at FROM {contexts} WHERE memory_id = m.id
    ORDER BY position DESC LIMIT 1) c ON m.id::text = %(with_context)s
WHERE m.owner_id = %(owner_id)s"""
SELECT_LATEST_CONTEXT = """
SELECT id, memory_id, context, created_at FROM {contexts}
WHERE memory_id = %(memory_id)s ORDER BY position DESC LIMIT 1"""

# The memory's context most like the query: trigram word similarity of the query to
# each context's text (a text context as it is, any other as its JSON text).
SELECT_BEST_CONTEXT = """
SELECT context, created_at, word_similarity(%(query)s, text) AS score
FROM (SELECT context, created_at, position, CASE jsonb_typeof(context)
          WHEN 'string' THEN context #>> '{{}}' ELSE context::text END AS text
      FROM {contexts} WHERE memory_id = %(memory_id)s) c
ORDER BY score DESC, position DESC LIMIT 1"""


class VaultsView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.memories, self.contexts = f"{self.name}_memories", f"{self.name}_contexts"
        self.sql_create_statements.extend([
            self.sql(CREATE_VAULTS), self.sql(CREATE_MEMORIES), self.sql(CREATE_CONTEXTS),
            self.sql(CREATE_VAULTS_INDEX, index=f"{self.name}_owner_idx"),
            self.sql(CREATE_MEMORIES_INDEX, index=f"{self.memories}_vault_idx"),
            self.sql(CREATE_CONTEXTS_INDEX, index=f"{self.contexts}_memory_idx")])

    def sql(self, template: str, **names: str) -> Any:
        """Its templates may also name {memories} and {contexts}."""
        return super().sql(template, memories=self.memories, contexts=self.contexts,
                           **names)

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.memories, self.contexts]

    def vaults(self, owner_id: str) -> list[dict]:
        return self.query(SELECT_VAULTS, owner_id=owner_id)

    def vault(self, owner_id: str, ref: str) -> dict | None:
        """The owner's vault with that id or, failing that, that title."""
        return _first(self.query(SELECT_VAULT, owner_id=owner_id, ref=ref))

    def memories_in(self, owner_id: str, vault_id: Any) -> list[dict]:
        return self.query(SELECT_MEMORIES, owner_id=owner_id, vault_id=vault_id)

    def memory(self, owner_id: str, vault_id: Any, ref: str) -> dict | None:
        """The vault's memory with that id or, failing that, that title."""
        return _first(self.query(SELECT_MEMORY, owner_id=owner_id, vault_id=vault_id,
                                 ref=ref))

    def memories_of(self, owner_id: str, with_context: str | None = None
                    ) -> dict[str, dict]:
        """The owner's memories by id (`vault_id`), the one `with_context` also with
        its latest `context` and `context_at`."""
        rows = self.query(SELECT_OWNER_MEMORIES, owner_id=owner_id,
                          with_context=with_context)
        return {row["id"]: row for row in rows}

    def latest_context(self, memory_id: Any) -> dict | None:
        return _first(self.query(SELECT_LATEST_CONTEXT, memory_id=memory_id))

    def best_context(self, memory_id: Any, query: str) -> dict | None:
        """The memory's context most like `query` (`context`, `created_at`, `score`
        0..1); the latest of equally good ones."""
        return _first(self.query(SELECT_BEST_CONTEXT, memory_id=memory_id, query=query))


def _first(rows: list[dict]) -> dict | None:
    return rows[0] if rows else None


class VaultsProjection(BatchProjection):
    name = "vaults"
    application = MemoryApplication
    view_class = VaultsView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other memory events do not change this read model."""

    @apply.register
    def _(self, domain_event: Vault.Created, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_VAULT), {
            "id": domain_event.originator_id, "owner_id": domain_event.owner_id,
            "title": domain_event.title, "description": domain_event.description,
            "at": domain_event.at, "position": position})

    @apply.register
    def _(self, domain_event: Vault.Deleted, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(DELETE_VAULT), {"id": domain_event.originator_id})

    @apply.register
    def _(self, domain_event: MemoryCollection.Created, position: int, curs: Cursor
          ) -> None:
        curs.execute(self.view.sql(INSERT_MEMORY), {
            "id": domain_event.originator_id, "owner_id": domain_event.owner_id,
            "vault_id": domain_event.vault_id, "title": domain_event.title,
            "memory_type": domain_event.memory_type,
            "description": domain_event.description, "at": domain_event.at,
            "position": position})
        self._insert_context(domain_event, position, curs)

    @apply.register
    def _(self, domain_event: MemoryCollection.Attached, position: int, curs: Cursor
          ) -> None:
        curs.execute(self.view.sql(ATTACH_MEMORY), {
            "id": domain_event.originator_id, "vault_id": domain_event.vault_id,
            "at": domain_event.at})

    @apply.register
    def _(self, domain_event: MemoryCollection.ContextPut, position: int, curs: Cursor
          ) -> None:
        self._insert_context(domain_event, position, curs)

    @apply.register
    def _(self, domain_event: MemoryCollection.ContextDeleted, position: int,
          curs: Cursor) -> None:
        curs.execute(self.view.sql(DELETE_CONTEXT), {"id": domain_event.context_id})

    @apply.register
    def _(self, domain_event: MemoryCollection.Deleted, position: int, curs: Cursor
          ) -> None:
        curs.execute(self.view.sql(DELETE_CONTEXTS_OF),
                     {"memory_id": domain_event.originator_id})
        curs.execute(self.view.sql(DELETE_MEMORY), {"id": domain_event.originator_id})

    @apply.register
    def _(self, domain_event: MemoryOwner.Forgotten, position: int, curs: Cursor) -> None:
        owner = {"owner_id": domain_event.owner_id}
        for statement in (FORGET_CONTEXTS, FORGET_MEMORIES, FORGET_VAULTS):
            curs.execute(self.view.sql(statement), owner)

    def _insert_context(self, domain_event: Any, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_CONTEXT), {
            "id": domain_event.context_id, "memory_id": domain_event.originator_id,
            "context": Jsonb(domain_event.context), "at": domain_event.at,
            "position": position})
