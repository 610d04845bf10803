"""The files context's service layer."""

from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application

from arqium.domain.files.domainmodel import (
    FileNotFound,
    StoredFile,
    check_content_type,
    check_session_id,
    clean_filename,
)
from arqium.domain.shared import Clock, command, get_aggregate, system_clock


class FilesApplication(Application):
    name = "files"

    def __init__(self, env: Any = None, *, clock: Clock = system_clock):
        super().__init__(env)
        self.clock = clock

    @command
    def record_upload(self, owner_id: str, filename: str, content_type: str, size: int,
                      sha256: str, session_id: str | None = None
                      ) -> tuple[StoredFile, int]:
        """Record a file whose bytes the blob store holds at `sha256`."""
        check_content_type(content_type)
        check_session_id(session_id)
        stored = StoredFile(id=uuid4(), owner_id=owner_id,
                            filename=clean_filename(filename), content_type=content_type,
                            size=size, sha256=sha256, session_id=session_id,
                            at=self.clock())
        return stored, self.save(stored)[-1].notification.id

    @command
    def delete_file(self, owner_id: str, file_id: UUID) -> int:
        """Forget the owner's file (its blob goes once no file holds it)."""
        stored = self.owned_file(owner_id, file_id)
        stored.delete(at=self.clock())
        return self.save(stored)[-1].notification.id

    @command
    def start_analysis(self, file_id: UUID) -> int:
        stored = self.live_file(file_id)
        stored.start_analysis(at=self.clock())
        return self.save(stored)[-1].notification.id

    @command
    def complete_analysis(self, file_id: UUID, result: dict) -> int:
        stored = self.live_file(file_id)
        stored.complete_analysis(result, at=self.clock())
        return self.save(stored)[-1].notification.id

    @command
    def fail_analysis(self, file_id: UUID, reason: str) -> int:
        stored = self.live_file(file_id)
        stored.fail_analysis(reason, at=self.clock())
        return self.save(stored)[-1].notification.id

    def live_file(self, file_id: UUID) -> StoredFile:
        """Anyone's live file (for the workers that act on every upload)."""
        stored = get_aggregate(self.repository, file_id, StoredFile,
                               FileNotFound("no such file"))
        stored.check_not_deleted()
        return stored

    def owned_file(self, owner_id: str, file_id: UUID) -> StoredFile:
        """The owner's live file; FileNotFound for anyone else's, as for no file."""
        stored = self.live_file(file_id)
        if stored.owner_id != owner_id:
            raise FileNotFound("no such file")
        return stored
