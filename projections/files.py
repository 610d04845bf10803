"""Uploaded files: their metadata and analysis status per owner, and which blobs live
files still hold (a blob no row names can go)."""

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.types.json import Jsonb

from arqium.domain.files.application import FilesApplication
from arqium.domain.files.domainmodel import (
    COMPLETE,
    FAILED,
    PENDING,
    PROCESSING,
    StoredFile,
)
from arqium.projections.base import BatchProjection, ReadModel

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    filename text NOT NULL,
    content_type text NOT NULL,
    size bigint NOT NULL,
    sha256 text NOT NULL,
    session_id text,
    uploaded_at timestamptz NOT NULL,
    analysis_status text NOT NULL
)"""
ADD_ANALYSIS = """
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS analysis jsonb,
    ADD COLUMN IF NOT EXISTS analysis_error text,
    ADD COLUMN IF NOT EXISTS analysed_at timestamptz"""
CREATE_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, uploaded_at)"
CREATE_BLOB_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (sha256)"
CREATE_OPEN_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (uploaded_at)
WHERE analysis_status IN ('pending', 'processing')"""

INSERT_FILE = """
INSERT INTO {table} (id, owner_id, filename, content_type, size, sha256, session_id,
                     uploaded_at, analysis_status)
VALUES (%(id)s, %(owner_id)s, %(filename)s, %(content_type)s, %(size)s, %(sha256)s,
        %(session_id)s, %(at)s, %(status)s)
ON CONFLICT (id) DO NOTHING"""
SET_STATUS = """
UPDATE {table} SET analysis_status = %(status)s, analysis = %(analysis)s,
    analysis_error = %(error)s, analysed_at = %(at)s
WHERE id = %(id)s"""
DELETE_FILE = "DELETE FROM {table} WHERE id = %(id)s"

SELECT_OWNED = "SELECT * FROM {table} WHERE id = %(id)s AND owner_id = %(owner_id)s"
SELECT_ONE = "SELECT * FROM {table} WHERE id = %(id)s"
SELECT_UNANALYSED = """
SELECT * FROM {table} WHERE analysis_status IN ('pending', 'processing')
ORDER BY uploaded_at LIMIT %(limit)s"""
SELECT_REFERENCED = "SELECT DISTINCT sha256 FROM {table} WHERE sha256 = ANY(%(addresses)s)"


class FilesView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(self.sql(CREATE_TABLE))
        self.sql_create_statements.append(
            self.sql(CREATE_OWNER_INDEX, index=f"{self.name}_owner_idx"))
        self.sql_create_statements.append(
            self.sql(CREATE_BLOB_INDEX, index=f"{self.name}_blob_idx"))
        self.sql_create_statements.append(self.sql(ADD_ANALYSIS))
        self.sql_create_statements.append(
            self.sql(CREATE_OPEN_INDEX, index=f"{self.name}_unanalysed_idx"))

    def owned(self, owner_id: str, file_id: Any) -> dict | None:
        rows = self.query(SELECT_OWNED, id=str(file_id), owner_id=owner_id)
        return rows[0] if rows else None

    def one(self, file_id: Any) -> dict | None:
        """Anyone's file: for a caller who proved the right to it otherwise (a signed
        link)."""
        rows = self.query(SELECT_ONE, id=str(file_id))
        return rows[0] if rows else None

    def unanalysed(self, limit: int) -> list[dict]:
        """The oldest files whose analysis has not ended (pending, or processing when a
        worker stopped during it)."""
        return self.query(SELECT_UNANALYSED, limit=limit)

    def referenced(self, addresses: list[str]) -> set[str]:
        """Those of the blob addresses some live file holds."""
        return {row["sha256"] for row in self.query(SELECT_REFERENCED,
                                                    addresses=addresses)}


class FilesProjection(BatchProjection):
    name = "files"
    application = FilesApplication
    view_class = FilesView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other files events do not change this read model."""

    @apply.register
    def _(self, domain_event: StoredFile.Uploaded, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_FILE), {
            "id": domain_event.originator_id, "owner_id": domain_event.owner_id,
            "filename": domain_event.filename, "content_type": domain_event.content_type,
            "size": domain_event.size, "sha256": domain_event.sha256,
            "session_id": domain_event.session_id, "at": domain_event.at,
            "status": PENDING})

    @apply.register
    def _(self, domain_event: StoredFile.AnalysisStarted, position: int,
          curs: Cursor) -> None:
        self._set_status(curs, domain_event, PROCESSING)

    @apply.register
    def _(self, domain_event: StoredFile.Analysed, position: int, curs: Cursor) -> None:
        self._set_status(curs, domain_event, COMPLETE, analysis=Jsonb(domain_event.result))

    @apply.register
    def _(self, domain_event: StoredFile.AnalysisFailed, position: int,
          curs: Cursor) -> None:
        self._set_status(curs, domain_event, FAILED, error=domain_event.reason)

    def _set_status(self, curs: Cursor, domain_event: Any, status: str,
                    analysis: Jsonb | None = None, error: str | None = None) -> None:
        curs.execute(self.view.sql(SET_STATUS), {
            "id": domain_event.originator_id, "status": status, "analysis": analysis,
            "error": error, "at": domain_event.at if status != PROCESSING else None})

    @apply.register
    def _(self, domain_event: StoredFile.Deleted, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(DELETE_FILE), {"id": domain_event.originator_id})
