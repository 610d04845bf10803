"""The memory read model: one row per live memory item, newest first.

A `secret` or `pii` memory's content is kept sealed, as in its event: its row, search
text and vocabulary hold no word of it. The view opens it for its owner on read."""

import base64
import math
import re
from collections.abc import Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from psycopg import Cursor
from psycopg.sql import Composed
from psycopg.types.json import Jsonb

from arqium.domain.memory.application import MemoryApplication
from arqium.domain.memory.domainmodel import (
    SEALED_SENSITIVITIES,
    MemoryItem,
    MemoryOwner,
    searchable_text,
)
from arqium.domain.memory.moments import TELLS_TIME, TOLD_CHARACTERS, moment_of, tells_time
from arqium.domain.memory.workingset import prompt_text
from arqium.domain.shared import SEALED, is_sealed
from arqium.infra.json_reading import json_loads
from arqium.infra.keys import NONCE_BYTES, OwnerKeys
from arqium.infra.tokens import shared_token_counter
from arqium.projections.base import BatchProjection, ReadModel, applied_classes, topics_of
from arqium.projections.rows import Rows

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    key text NOT NULL,
    content jsonb NOT NULL,
    layer text NOT NULL,
    confidence double precision,
    sensitivity text NOT NULL,
    tags jsonb NOT NULL,
    metadata jsonb NOT NULL,
    session_id text,
    context_id text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    expires_at timestamptz,
    version bigint NOT NULL,
    position bigint NOT NULL,
    actor text NOT NULL,
    correlation_id text NOT NULL,
    gone_at timestamptz,
    search_text text NOT NULL DEFAULT '',
    tokens integer NOT NULL DEFAULT 0,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', search_text)) STORED
)"""
# When the memory happened (domain.memory.moments): what a question naming a time finds.
ADD_OCCURRED_AT = "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS occurred_at timestamptz"
# Whether the memory tells a time (domain.memory.moments), which a question asking when
# favours: kept with the row, since matching the pattern at every search cost ~10 µs a
# candidate. Adding it to an existing table rewrites the table once, filling it; then
# it is an ordinary column, which the projector writes (its pattern costs less there).
ADD_TELLS_TIME = ("""
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS tells_time boolean
GENERATED ALWAYS AS (left(search_text, %d) ~* '%s') STORED"""
                  % (TOLD_CHARACTERS, TELLS_TIME.replace("{", "{{").replace("}", "}}")))
TELLS_TIME_WRITTEN = """
ALTER TABLE {table} ALTER COLUMN tells_time DROP EXPRESSION IF EXISTS"""
# Whether the memory ends by asking: its content's last words a question (a question
# mark, then only quotes, brackets, spaces or emoji), which a hybrid search ranks lower.
# Read from the end of the content's JSON text (so an object's last value, in jsonb's
# order), not the search text, which ends with the tags. Added as ADD_TELLS_TIME is.
ADD_ASKS = r"""
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS asks boolean
GENERATED ALWAYS AS (right(content::text, 16) ~ '\?[^[:alnum:]]*$') STORED"""
# The owner's memories in the order they happened (a conversation's turns in order):
# for the time a question names, and for each memory's neighbours in its conversation.
CREATE_SEQUENCE_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, occurred_at, created_at, id)"""
DROP_INDEX = "DROP INDEX IF EXISTS {index}"
CREATE_RECENT_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, updated_at DESC, position DESC)"""
# Memories whose keys share a prefix (a v0 memory's entries: v0/<memory id>/...).
CREATE_KEY_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, key text_pattern_ops)"""
# The memories due to expire that are not gone yet, by owner and expiry.
CREATE_EXPIRING_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, expires_at)
WHERE gone_at IS NULL AND expires_at IS NOT NULL"""
# Keyword search is always within one owner: the index narrows by owner and words at once.
CREATE_TSV_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin (owner_id, tsv)"
# Each owner's vocabulary, which pg_trgm matches a misspelt query word against (the
# spelling-suggestion use of trigrams the pg_trgm docs describe for full-text search).
CREATE_WORDS_TABLE = """
CREATE TABLE IF NOT EXISTS {words} (
    owner_id text NOT NULL,
    word text NOT NULL,
    PRIMARY KEY (owner_id, word)
)"""
CREATE_WORDS_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {words} USING gin (owner_id, word gin_trgm_ops)"""
# How many live memories each owner has: the N of the search's BM25 (keyword ranking).
CREATE_OWNERS_TABLE = """
CREATE TABLE IF NOT EXISTS {owners} (
    owner_id text PRIMARY KEY,
    documents bigint NOT NULL
)"""
# Counts for a table an earlier version filled without them (owners not yet counted).
COUNT_OWNERS = """
INSERT INTO {owners} (owner_id, documents)
SELECT owner_id, count(*) FILTER (WHERE gone_at IS NULL) FROM {table} GROUP BY owner_id
ON CONFLICT (owner_id) DO NOTHING"""
TAG_BYTES = 16  # AES-GCM's tag, after the ciphertext
BYTES_PER_TOKEN = 3  # tokenizers average about 4: the estimate for sealed content errs high
LEARN_WORDS = """
INSERT INTO {words} (owner_id, word)
SELECT * FROM unnest(%(owner_ids)s::text[], %(words)s::text[])
ON CONFLICT DO NOTHING"""
# A vocabulary word: a run of letters, 3 to 40 of them (digits and marks split words).
WORD = re.compile(r"[^\W\d_]+")
# The same split for ASCII text (most of it), twice as fast as the expression: each byte
# that is not a letter as a space. A lowered ASCII letter is a-z.
NOT_A_LETTER_AS_SPACE = bytes(byte if 97 <= byte <= 122 else 32 for byte in range(256))
KNOWN_WORDS_KEPT = 200_000  # (owner, word) pairs the projector remembers having written
FORGET_WORDS = "DELETE FROM {words} WHERE owner_id = %(owner_id)s"


# Each statement that makes a memory live or gone counts it in its owner's documents,
# in the same statement (a CTE), only when it changed the row.
def counted(change: str, delta: int) -> str:
    """`change` (a statement returning the owner_id of each row it made live or gone,
    NULL for one it did not) and its owner's count moved by `delta`, in one statement."""
    return f"""
WITH changed AS ({change})
INSERT INTO {{owners}} AS o (owner_id, documents)
SELECT owner_id, count(*) * {delta} FROM changed WHERE owner_id IS NOT NULL
GROUP BY owner_id
ON CONFLICT (owner_id) DO UPDATE SET documents = o.documents + excluded.documents"""


# New memories, a run of them in one statement (most of what a rebuild, and a projector
# behind a busy write path, write), sent as JSON documents (projections/rows.py).
NEW_ITEMS = Rows(
    ("id", "uuid"), ("owner_id", "text"), ("key", "text"), ("content", "jsonb"),
    ("layer", "text"), ("confidence", "double precision"), ("sensitivity", "text"),
    ("tags", "jsonb"), ("metadata", "jsonb"), ("session_id", "text"),
    ("context_id", "text"), ("at", "timestamptz"), ("expires_at", "timestamptz"),
    ("version", "bigint"), ("position", "bigint"), ("actor", "text"),
    ("correlation_id", "text"), ("search_text", "text"), ("tokens", "integer"),
    ("occurred_at", "timestamptz"), ("tells_time", "boolean"))
INSERT_ITEMS = f"""
INSERT INTO {{table}} (id, owner_id, key, content, layer, confidence, sensitivity, tags,
    metadata, session_id, context_id, created_at, updated_at, expires_at, version,
    position, actor, correlation_id, search_text, tokens, occurred_at, tells_time)
SELECT id, owner_id, key, content, layer, confidence, sensitivity, tags, metadata,
    session_id, context_id, at, at, expires_at, version, position, actor, correlation_id,
    search_text, tokens, coalesce(occurred_at, at), tells_time
FROM {NEW_ITEMS.relation} AS new
ON CONFLICT (id) DO NOTHING
RETURNING owner_id"""
COUNTED_INSERT_ALL = counted(INSERT_ITEMS, 1)

REVISE_ITEM = """
UPDATE {table} SET content = %(content)s, confidence = %(confidence)s,
    sensitivity = %(sensitivity)s, tags = %(tags)s, metadata = %(metadata)s,
    updated_at = %(at)s, expires_at = %(expires_at)s, version = %(version)s,
    position = %(position)s, actor = %(actor)s, correlation_id = %(correlation_id)s,
    search_text = %(search_text)s, tokens = %(tokens)s, tells_time = %(tells_time)s,
    occurred_at = coalesce(%(occurred_at)s, created_at)
WHERE id = %(id)s AND version < %(version)s"""

# A memory deleted (or expired) comes back: it counts again if it was gone.
RECREATE_ITEM = """
UPDATE {table} AS m SET content = %(content)s, layer = %(layer)s,
    confidence = %(confidence)s,
    sensitivity = %(sensitivity)s, tags = %(tags)s, metadata = %(metadata)s,
    session_id = %(session_id)s, context_id = %(context_id)s, created_at = %(at)s,
    updated_at = %(at)s, expires_at = %(expires_at)s, version = %(version)s,
    position = %(position)s, actor = %(actor)s, correlation_id = %(correlation_id)s,
    gone_at = NULL, search_text = %(search_text)s, tokens = %(tokens)s,
    tells_time = %(tells_time)s, occurred_at = coalesce(%(occurred_at)s, %(at)s)
FROM (SELECT gone_at IS NOT NULL AS was_gone FROM {table} WHERE id = %(id)s) AS before
WHERE m.id = %(id)s AND m.version < %(version)s
RETURNING CASE WHEN before.was_gone THEN m.owner_id END AS owner_id"""
PROMOTE_ITEM = """
UPDATE {table} SET layer = %(layer)s, content = %(content)s, expires_at = %(expires_at)s,
    updated_at = %(at)s, version = %(version)s, position = %(position)s, actor = %(actor)s,
    correlation_id = %(correlation_id)s, search_text = %(search_text)s, tokens = %(tokens)s,
    tells_time = %(tells_time)s
WHERE id = %(id)s AND version < %(version)s"""
# Deleted and expired memories keep their row (owner and key) for a later new life.
MARK_GONE = """
UPDATE {table} SET gone_at = %(at)s, version = %(version)s
WHERE id = %(id)s AND gone_at IS NULL
RETURNING owner_id"""
COUNTED_RECREATE = counted(RECREATE_ITEM, 1)
COUNTED_GONE = counted(MARK_GONE, -1)
FORGET_OWNER = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"
FORGET_OWNER_COUNT = "DELETE FROM {owners} WHERE owner_id = %(owner_id)s"

SELECT_ROW = "SELECT owner_id, key, tags FROM {table} WHERE id = %(id)s"

LIVE = "gone_at IS NULL AND (expires_at IS NULL OR expires_at > %(now)s)"
SELECT_ONE = """
SELECT id, key, content, layer, confidence, sensitivity, tags, metadata, session_id,
    context_id, created_at, updated_at, expires_at
FROM {table} WHERE id = %(id)s AND owner_id = %(owner_id)s AND """ + LIVE
COUNT_BY_LAYER = "SELECT layer, count(*) AS n FROM {table} WHERE " + LIVE + " GROUP BY layer"
# An owner's live memories per layer, and the bytes of their content as stored (JSON
# text; a sealed memory's ciphertext).
SELECT_FOOTPRINT = """
SELECT layer, count(*) AS n, coalesce(sum(octet_length(content::text)), 0)::bigint AS bytes
FROM {table} WHERE owner_id = %(owner_id)s AND """ + LIVE + " GROUP BY layer"
SELECT_DUE = """
SELECT id FROM {table} WHERE gone_at IS NULL AND expires_at <= %(now)s
ORDER BY expires_at, id LIMIT %(limit)s"""
SELECT_CLEARABLE = """
SELECT id FROM {table}
WHERE owner_id = %(owner_id)s AND """ + LIVE + """
    AND (%(older_than)s::timestamptz IS NULL OR updated_at < %(older_than)s)
    AND (%(layer)s::text IS NULL OR layer = %(layer)s)
ORDER BY updated_at, id"""

SELECT_RECENT = """
SELECT id, key, content, layer, confidence, sensitivity, tags, metadata, session_id,
    context_id, created_at, updated_at, expires_at
FROM {table}
WHERE owner_id = %(owner_id)s AND gone_at IS NULL
    AND (expires_at IS NULL OR expires_at > %(now)s)
ORDER BY updated_at DESC, position DESC
LIMIT %(limit)s"""


def iso_sql(column: str) -> str:
    """SQL writing a timestamptz column as the faces write times: ISO 8601 in UTC with
    a Z, its microseconds only when there are some (as Python's isoformat)."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (f"CASE WHEN {column} IS NOT NULL THEN "
            f"""to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS')"""
            f" || CASE WHEN to_char({utc}, 'US') = '000000' THEN ''"
            f" ELSE to_char({utc}, '.US') END || 'Z' END")


def sealed_sql(content: str = "content") -> str:
    """SQL true where the jsonb `content` is sealed, as `is_sealed` tells: an object
    with the key. (An array may hold that string in clear.)"""
    return f"(jsonb_typeof({content}) = 'object' AND {content} ? '{SEALED}')"


def memory_shown(row: str = "") -> str:
    """SQL writing a memory as the native face shows it (api/common/memory.py,
    memory_view), the JSON text to send, from the columns of `row` (an alias and a dot,
    or none): building it in Python from the row's values took a third of the API's
    processor time for a page of recent memories. Sealed content is null here: the
    API's process opens it (`sealed_content_if_any`)."""
    sealed = sealed_sql(f"{row}content")
    return f"""json_build_object(
    'id', {row}id, 'key', {row}key,
    'content', CASE WHEN {sealed} THEN NULL ELSE {row}content END,
    'layer', {row}layer, 'tags', {row}tags, 'metadata', {row}metadata,
    'confidence', {row}confidence, 'session_id', {row}session_id,
    'context_id', {row}context_id, 'created_at', {iso_sql(f"{row}created_at")},
    'updated_at', {iso_sql(f"{row}updated_at")},
    'expires_at', {iso_sql(f"{row}expires_at")})::text"""


def sealed_content_if_any(row: str = "") -> str:
    """SQL: the content of `row` if it is sealed, else null."""
    return f"CASE WHEN {sealed_sql(f'{row}content')} THEN {row}content END"


SEALED_CONTENT = sealed_sql()
# A page of the owner's live memories, newest first (positions are unique: the order is
# the same on every page), with how many there are in all, in one statement (one
# snapshot): a page past the end is one row of NULLs that still carries the total.
# The count is the owner's memories not gone, which the projection keeps ({owners}),
# less those past their expiry and not yet marked gone (few, found by their own index):
# counting the live ones would read every memory of the owner.
SELECT_RECENT_PAGE = """
SELECT page.shown, page.sealed, counted.total
FROM (
    SELECT coalesce((SELECT documents FROM {owners} WHERE owner_id = %(owner_id)s), 0)
        - (SELECT count(*) FROM {table} WHERE owner_id = %(owner_id)s
           AND gone_at IS NULL AND expires_at <= %(now)s) AS total
) AS counted
LEFT JOIN LATERAL (
    SELECT """ + memory_shown() + " AS shown, " + sealed_content_if_any() + """ AS sealed,
        updated_at, position
    FROM {table}
    WHERE owner_id = %(owner_id)s AND """ + LIVE + """
    ORDER BY updated_at DESC, position DESC
    LIMIT %(limit)s OFFSET %(offset)s
) AS page ON true
ORDER BY page.updated_at DESC, page.position DESC"""
SELECT_WITH_PREFIX = """
SELECT id, key, content, tags, metadata, created_at, updated_at, expires_at
FROM {table}
WHERE owner_id = %(owner_id)s AND key LIKE %(pattern)s AND """ + LIVE + """
    AND (%(before)s::timestamptz IS NULL OR created_at < %(before)s)
    AND (%(after)s::timestamptz IS NULL OR created_at > %(after)s)
ORDER BY created_at DESC, position DESC
LIMIT %(limit)s OFFSET %(offset)s"""
# Rows an earlier version wrote with a sensitive memory's content opened.
COUNT_OPENED_SENSITIVE = """
SELECT count(*) AS n FROM {table}
WHERE sensitivity = ANY(%(sealed)s) AND NOT """ + SEALED_CONTENT + """
    AND content <> 'null'"""
SELECT_IDS_WITH_PREFIX = """
SELECT id FROM {table}
WHERE owner_id = %(owner_id)s AND key LIKE %(pattern)s AND """ + LIVE


class MemoryItemsView(ReadModel):
    index_after_load = True  # its writes find rows by id, and words by (owner, word)
    # Opens sealed content on read (the composition root gives it the owners' keys);
    # without keys, e.g. in the projection worker, content is read as stored.
    keys: OwnerKeys | None = None

    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.words = f"{self.name}_words"
        self.owners = f"{self.name}_owners"
        self.sql_create_statements.extend([
            self.sql(CREATE_TABLE), self.sql(ADD_OCCURRED_AT), self.sql(ADD_TELLS_TIME),
            self.sql(TELLS_TIME_WRITTEN), self.sql(ADD_ASKS),
            self.sql(CREATE_SEQUENCE_INDEX, index=f"{self.name}_sequence_idx"),
            self.sql(DROP_INDEX, index=f"{self.name}_occurred_idx"),  # the one it replaces
            self.sql(CREATE_RECENT_INDEX, index=f"{self.name}_recent_idx"),
            self.sql(CREATE_KEY_INDEX, index=f"{self.name}_key_idx"),
            self.sql(CREATE_EXPIRING_INDEX, index=f"{self.name}_expiring_idx"),
            self.sql(CREATE_TSV_INDEX, index=f"{self.name}_owner_tsv_idx"),
            self.sql(CREATE_WORDS_TABLE),
            self.sql(CREATE_WORDS_INDEX, index=f"{self.words}_trgm_idx"),
            self.sql(CREATE_OWNERS_TABLE), self.sql(COUNT_OWNERS)])

    def sql(self, template: str, **names: str) -> Composed:
        """Its templates may also name {words}, the owners' vocabularies, and {owners},
        their counts of live memories."""
        return super().sql(template, words=self.words, owners=self.owners, **names)

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.words, self.owners]

    def owner_of(self, item_id: Any) -> dict | None:
        """Whose memory it is and its key, live or gone (None if unknown)."""
        rows = self.query(SELECT_ROW, id=item_id)
        return rows[0] if rows else None

    def recent(self, owner_id: str, limit: int, now: datetime) -> list[dict]:
        return self.opened(owner_id, self.query(SELECT_RECENT, owner_id=owner_id,
                                                limit=limit, now=now))

    def recent_page_shown(self, owner_id: str, limit: int, offset: int, now: datetime
                          ) -> tuple[list[str | dict], int]:
        """A page of the owner's live memories, newest first, as the native face shows
        them (`shown_of`), and how many they are."""
        rows = self.query(SELECT_RECENT_PAGE, owner_id=owner_id, limit=limit,
                          offset=offset, now=now)
        page = [self.shown_of(owner_id, row) for row in rows if row["shown"] is not None]
        return page, rows[0]["total"]

    def shown_of(self, owner_id: str, row: dict) -> str | dict:
        """A row's memory as the native face shows it: its JSON text (`shown`, from
        `memory_shown`), or, where its content is sealed (`sealed`), that JSON read with
        the content opened."""
        if row["sealed"] is None:
            return row["shown"]
        [opened] = self.opened(owner_id, [{"content": row["sealed"]}])
        return {**json_loads(row["shown"].encode()), "content": opened["content"]}

    def get(self, owner_id: str, item_id: Any, now: datetime) -> dict | None:
        """The owner's live memory with that id (None for anyone else's)."""
        row = self.get_as_stored(owner_id, item_id, now)
        return self.opened(owner_id, [row])[0] if row else None

    def get_as_stored(self, owner_id: str, item_id: Any, now: datetime) -> dict | None:
        """As `get`, but a sensitive memory's content left sealed."""
        rows = self.query(SELECT_ONE, owner_id=owner_id, id=item_id, now=now)
        return rows[0] if rows else None

    def opened(self, owner_id: str, rows: list[dict]) -> list[dict]:
        """The owner's rows with their content as written: sealed content opened
        (None once the owner's key was destroyed)."""
        if self.keys is None:
            return rows
        for row in rows:
            if is_sealed(row.get("content")):
                row["content"] = self.keys.readable(owner_id, row["content"])
        return rows

    def with_key_prefix(self, owner_id: str, prefix: str, now: datetime, *,
                        limit: int, offset: int = 0, before: datetime | None = None,
                        after: datetime | None = None) -> list[dict]:
        """The owner's live memories whose keys start with `prefix`, newest first
        (created before `before`, after `after`)."""
        return self.opened(owner_id, self.query(
            SELECT_WITH_PREFIX, owner_id=owner_id, pattern=f"{prefix}%", now=now,
            limit=limit, offset=offset, before=before, after=after))

    def ids_with_key_prefix(self, owner_id: str, prefix: str, now: datetime) -> list[Any]:
        rows = self.query(SELECT_IDS_WITH_PREFIX, owner_id=owner_id, pattern=f"{prefix}%",
                          now=now)
        return [row["id"] for row in rows]

    def opened_sensitive(self) -> int:
        """How many sensitive memories this table holds in clear (written by an
        earlier version: a rebuild seals them)."""
        rows = self.query(COUNT_OPENED_SENSITIVE, sealed=list(SEALED_SENSITIVITIES))
        return rows[0]["n"]

    def count_by_layer(self, now: datetime) -> dict[str, int]:
        """Live memories of all owners per layer (for operators)."""
        return {row["layer"]: row["n"] for row in self.query(COUNT_BY_LAYER, now=now)}

    def footprint(self, owner_id: str, now: datetime) -> list[dict]:
        """{layer, n, bytes} of the owner's live memories, per layer that has any."""
        return self.query(SELECT_FOOTPRINT, owner_id=owner_id, now=now)

    def due(self, now: datetime, limit: int) -> list[Any]:
        """Ids of memories whose expiry is due and not yet recorded."""
        return [row["id"] for row in self.query(SELECT_DUE, now=now, limit=limit)]

    def clearable(self, owner_id: str, older_than: datetime | None, layer: str | None,
                  now: datetime) -> list[Any]:
        """Ids of the owner's live memories last changed before `older_than` (in `layer`)."""
        rows = self.query(SELECT_CLEARABLE, owner_id=owner_id, older_than=older_than,
                          layer=layer, now=now)
        return [row["id"] for row in rows]


class MemoryItemsProjection(BatchProjection):
    name = "memory_items"
    application = MemoryApplication
    view_class = MemoryItemsView

    def __init__(self, view: MemoryItemsView):
        super().__init__(view)
        self.tokens = shared_token_counter()  # what each memory costs in a prompt
        # Words this projector wrote to the vocabulary (it is its only writer), so that a
        # word already there costs no statement; a batch's join once it has committed.
        self.known_words: dict[tuple[str, str], None] = {}
        self.batch_words: set[tuple[str, str]] = set()
        # New memories' rows and words, by position, that `prepare` worked out ahead in
        # another thread; each is taken once, by the batch that writes it.
        self.ahead: dict[int, tuple[dict, set[tuple[str, str]]]] = {}

    @classmethod
    def topics(cls) -> tuple[str, ...]:
        """Those of the events `apply` takes, and of new memories, which `apply_all`
        writes itself: a working set's record, a context's or a vault's events are
        neither read nor decoded here, and a batch of none of these only moves its
        position (`BatchProjection.process_batch`)."""
        return topics_of(MemoryItem.Upserted, *applied_classes(cls))

    def prepare(self, batch: Sequence[tuple[Any, Tracking]]) -> None:
        new = [(event, tracking.notification_id) for event, tracking in batch
               if isinstance(event, MemoryItem.Upserted)]
        self.ahead.update(zip([position for _, position in new], self._new_rows(new),
                              strict=True))

    def process_batch(self, batch: Sequence[tuple[Any, Tracking]]) -> None:
        self.batch_words = set()
        super().process_batch(batch)
        self.known_words.update(dict.fromkeys(self.batch_words))
        while len(self.known_words) > KNOWN_WORDS_KEPT:
            del self.known_words[next(iter(self.known_words))]  # the oldest first

    def apply_all(self, events: Sequence[tuple[Any, int]], curs: Cursor) -> None:
        """Each run of new memories (Upserted) in one statement; other events one by one,
        in order."""
        for new, run in groupby(events, key=lambda pair: isinstance(pair[0],
                                                                     MemoryItem.Upserted)):
            if new:
                self._insert_all(list(run), curs)
            else:
                super().apply_all(list(run), curs)

    def _insert_all(self, events: list[tuple[Any, int]], curs: Cursor) -> None:
        prepared = [self.ahead.pop(position, None) for _, position in events]
        if None in prepared:
            prepared = self._new_rows(events)
        self._learn_words(set().union(*(words for _, words in prepared)), curs)
        NEW_ITEMS.write(curs, self.view.sql(COUNTED_INSERT_ALL),
                        [row for row, _ in prepared])

    def _new_rows(self, events: list[tuple[Any, int]]
                  ) -> list[tuple[dict, set[tuple[str, str]]]]:
        """Each new memory's (Upserted) row, and the words of its search text."""
        tokens = self._prompt_tokens_of([(e.key, e.content) for e, _ in events])
        rows = [{**_as_json(_event_fields(e, position)), "owner_id": e.owner_id,
                 "key": e.key, "content": e.content, "layer": e.layer,
                 "session_id": e.session_id, "context_id": e.context_id,
                 **_searched(e.key, e.content, e.tags), "tokens": count}
                for (e, position), count in zip(events, tokens, strict=True)]
        return [(row, _words_of(row["owner_id"], row["search_text"])) for row in rows]

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other memory events do not change this read model."""

    @apply.register
    def _(self, domain_event: MemoryItem.Revised, position: int, curs: Cursor) -> None:
        row = self._row(domain_event.originator_id, curs)
        curs.execute(self.view.sql(REVISE_ITEM),
                     self._revision(domain_event, position, row, domain_event.tags, curs))

    @apply.register
    def _(self, domain_event: MemoryItem.Recreated, position: int, curs: Cursor) -> None:
        row = self._row(domain_event.originator_id, curs)
        curs.execute(self.view.sql(COUNTED_RECREATE), {
            **self._revision(domain_event, position, row, domain_event.tags, curs),
            "layer": domain_event.layer, "session_id": domain_event.session_id,
            "context_id": domain_event.context_id})

    @apply.register
    def _(self, domain_event: MemoryItem.Promoted, position: int, curs: Cursor) -> None:
        row = self._row(domain_event.originator_id, curs)
        curs.execute(self.view.sql(PROMOTE_ITEM), {
            "id": domain_event.originator_id, "layer": domain_event.to_layer,
            "expires_at": domain_event.expires_at, "at": domain_event.at,
            "version": domain_event.originator_version, "position": position,
            "actor": domain_event.actor, "correlation_id": domain_event.correlation_id,
            **self._content_fields(domain_event.content, row, row["tags"], curs)})

    @apply.register
    def _(self, domain_event: MemoryItem.Deleted, position: int, curs: Cursor) -> None:
        self._mark_gone(domain_event, curs)

    @apply.register
    def _(self, domain_event: MemoryItem.Expired, position: int, curs: Cursor) -> None:
        self._mark_gone(domain_event, curs)

    def _mark_gone(self, domain_event: Any, curs: Cursor) -> None:
        curs.execute(self.view.sql(COUNTED_GONE), {
            "id": domain_event.originator_id, "at": domain_event.at,
            "version": domain_event.originator_version})

    @apply.register
    def _(self, domain_event: MemoryOwner.Forgotten, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(FORGET_OWNER), {"owner_id": domain_event.owner_id})
        curs.execute(self.view.sql(FORGET_WORDS), {"owner_id": domain_event.owner_id})
        curs.execute(self.view.sql(FORGET_OWNER_COUNT), {"owner_id": domain_event.owner_id})
        self.known_words = {pair: None for pair in self.known_words
                            if pair[0] != domain_event.owner_id}
        self.batch_words = {pair for pair in self.batch_words
                            if pair[0] != domain_event.owner_id}

    def _revision(self, domain_event: Any, position: int, row: dict,
                  tags: list[str], curs: Cursor) -> dict:
        fields = _event_fields(domain_event, position)
        return {**fields, "tags": Jsonb(fields["tags"]),
                "metadata": Jsonb(fields["metadata"]),
                **self._content_fields(domain_event.content, row, tags, curs)}

    def _content_fields(self, content: Any, row: dict, tags: list[str],
                        curs: Cursor) -> dict:
        """Content (sealed content as sealed), its search text and its prompt tokens;
        the words of the text join the owner's vocabulary."""
        searched = _searched(row["key"], content, tags)
        if row["owner_id"] is not None:
            self._learn_words(_words_of(row["owner_id"], searched["search_text"]), curs)
        return {"content": Jsonb(content), **searched,
                "tokens": self._prompt_tokens_of([(row["key"], content)])[0]}

    def _learn_words(self, words: set[tuple[str, str]], curs: Cursor) -> None:
        """The (owner, word) pairs that the owners' vocabularies lack join them."""
        new = words - self.batch_words
        new = {pair for pair in new if pair not in self.known_words}
        if new:
            pairs = sorted(new)
            curs.execute(self.view.sql(LEARN_WORDS), {
                "owner_ids": [owner_id for owner_id, _ in pairs],
                "words": [word for _, word in pairs]})
            self.batch_words |= new

    def _prompt_tokens_of(self, memories: list[tuple[str, Any]]) -> list[int]:
        """What each (key, content) costs in a prompt: counted, or for sealed content
        (which is not opened here) estimated from its length."""
        counted = self.tokens.count_many([
            prompt_text(key, "" if is_sealed(content) else content)
            for key, content in memories])
        return [count + _sealed_tokens(content) for count, (_, content)
                in zip(counted, memories, strict=True)]

    def _row(self, item_id: Any, curs: Cursor) -> dict:
        """Owner, key and tags of a memory already in the read model."""
        curs.execute(self.view.sql(SELECT_ROW), {"id": item_id})
        return curs.fetchone() or {"owner_id": None, "key": "", "tags": []}


def _searched(key: str, content: Any, tags: list[str]) -> dict:
    """A memory's search text, and whether it tells a time."""
    search_text = searchable_text(key, content, tags)
    return {"search_text": search_text, "tells_time": tells_time(search_text)}


def _words_of(owner_id: str, text: str) -> set[tuple[str, str]]:
    """The (owner, word) pairs of a text, for the owner's vocabulary."""
    lowered = text.lower()
    words = (lowered.encode().translate(NOT_A_LETTER_AS_SPACE).decode().split()
             if lowered.isascii() else WORD.findall(lowered))
    return {(owner_id, word) for word in words if 3 <= len(word) <= 40}


def _as_json(fields: dict) -> dict:
    """Event fields as a JSON document carries them: the id and the times as text."""
    times = {name: None if fields[name] is None else fields[name].isoformat()
             for name in ("at", "expires_at", "occurred_at")}
    return {**fields, "id": str(fields["id"]), **times}


def _sealed_tokens(content: Any) -> int:
    """The estimated prompt tokens of sealed content (0 for content in clear)."""
    if not is_sealed(content):
        return 0
    sealed_bytes = len(base64.b64decode(content[SEALED])) - NONCE_BYTES - TAG_BYTES
    return math.ceil(max(sealed_bytes, 0) / BYTES_PER_TOKEN)


def _event_fields(domain_event: Any, position: int) -> dict:
    """The columns every content-setting event writes, apart from content and text
    (tags and metadata as the event holds them)."""
    return {
        "id": domain_event.originator_id,
        "confidence": domain_event.confidence, "sensitivity": domain_event.sensitivity,
        "tags": domain_event.tags, "metadata": domain_event.metadata,
        "occurred_at": moment_of(domain_event.metadata),
        "at": domain_event.at, "expires_at": domain_event.expires_at,
        "version": domain_event.originator_version,
        "position": position, "actor": domain_event.actor,
        "correlation_id": domain_event.correlation_id,
    }
