"""The sessions context's service layer."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from arqium.domain.journal import Saved, remember
from arqium.domain.sessions.domainmodel import (
    DEFAULT_TITLE,
    ChatSession,
    CheckpointNotFound,
    SessionConflict,
    SessionNotFound,
    SessionsOwner,
    check_title,
)
from arqium.domain.shared import (
    Clock,
    KeyedLock,
    command,
    get_aggregate,
    system_clock,
    until_saved,
)

# What `append_message` and `checkpoint` returned, for a retry after a crash
# (domain/journal.py).

def _appended(app: Any, saved: Saved) -> tuple[dict, int]:
    message_id = UUID(saved.notes["message_id"])
    return saved.last(ChatSession).message(message_id), saved.position


def _checkpointed(app: Any, saved: Saved) -> tuple[dict, int]:
    checkpoint_id = UUID(saved.notes["checkpoint_id"])
    return saved.last(ChatSession).checkpoints[checkpoint_id], saved.position


@dataclass
class MessageDraft:
    """What a caller asks to append to a session."""

    role: str
    content: str
    components: Any = None
    incomplete: bool = False
    id: UUID | None = None


class SessionsApplication(Application):
    name = "sessions"

    def __init__(self, env: Any = None, *, clock: Clock = system_clock,
                 new_id: Callable[[], UUID] = uuid4):
        super().__init__(env)
        self.clock = clock
        self.new_id = new_id
        self.aggregate_locks = KeyedLock()  # commands on one session take turns

    @command
    def create_session(self, owner_id: str, title: str | None = None,
                       metadata: dict | None = None, session_id: UUID | None = None
                       ) -> tuple[ChatSession, int]:
        """A new session; `session_id` picks its id (a chat id, see session_id_for),
        which must not be in use by anyone, this owner included."""
        check_title(title)
        if session_id is not None and session_id in self.repository:
            raise _id_in_use()
        session = ChatSession(id=session_id or self.new_id(), owner_id=owner_id,
                              title=title or DEFAULT_TITLE, metadata=metadata or {},
                              at=self.clock())
        try:
            recordings = self.save(session)
        except IntegrityError:  # a concurrent request created it first
            raise _id_in_use() from None
        return session, recordings[-1].notification.id

    @command(replay=_appended)
    def append_message(self, owner_id: str, session_id: UUID, draft: MessageDraft
                       ) -> tuple[dict, int]:
        message_id = draft.id or self.new_id()
        remember("message_id", str(message_id))
        session, position = self._decide(owner_id, session_id, lambda s: s.append(
            message_id, draft.role, draft.content, draft.components, draft.incomplete,
            self.clock()))
        return session.message(message_id), position

    @command(replay=_checkpointed)
    def checkpoint(self, owner_id: str, session_id: UUID, label: str | None,
                   context: dict) -> tuple[dict, int]:
        checkpoint_id = self.new_id()
        remember("checkpoint_id", str(checkpoint_id))
        session, position = self._decide(owner_id, session_id, lambda s: s.checkpoint(
            checkpoint_id, label, context, self.clock()))
        return session.checkpoints[checkpoint_id], position

    @command
    def resume(self, owner_id: str, session_id: UUID, checkpoint_id: str | None
               ) -> tuple[ChatSession, int | None]:
        """The session continued from the checkpoint (None: reopened if archived); the
        position is None when nothing changed."""
        checkpoint = None if checkpoint_id is None else checkpoint_uuid(checkpoint_id)
        return self._decide(owner_id, session_id,
                            lambda s: s.resume(checkpoint, self.clock()))

    @command
    def archive(self, owner_id: str, session_id: UUID) -> tuple[ChatSession, int | None]:
        return self._decide(owner_id, session_id, lambda s: s.archive(self.clock()))

    @command
    def delete_session(self, owner_id: str, session_id: UUID) -> int:
        _, position = self._decide(owner_id, session_id, lambda s: s.delete(self.clock()))
        return position

    def owned_session(self, owner_id: str, session_id: Any) -> ChatSession:
        """The owner's session; anyone else's, or a deleted one, is not found."""
        session = get_aggregate(self.repository, session_id, ChatSession,
                                SessionNotFound("no such session"))
        if session.owner_id != owner_id or session.deleted:
            raise SessionNotFound("no such session")
        return session

    @command
    def forget_owner(self, owner_id: str) -> int | None:
        """Remove the owner's sessions from every read model (their history stays)."""
        if SessionsOwner.create_id(owner_id) in self.repository:
            return None
        owner = SessionsOwner(owner_id=owner_id, at=self.clock())
        return self.save(owner)[-1].notification.id

    def _decide(self, owner_id: str, session_id: Any, decide: Callable[[ChatSession], Any]
                ) -> tuple[ChatSession, int | None]:
        """Load the session, decide, save, in turn with the other commands on it. No
        client sent an expected version, so appends at once must all land, in order,
        rather than one failing."""

        def attempt() -> tuple[ChatSession, int | None]:
            session = self.owned_session(owner_id, session_id)
            decide(session)
            if not session.pending_events:
                return session, None
            return session, self.save(session)[-1].notification.id

        return until_saved(self.aggregate_locks, session_id, attempt, SessionConflict(
            "this session is too busy right now; retry the request"))

def checkpoint_uuid(checkpoint_id: str) -> UUID:
    try:
        return UUID(checkpoint_id)
    except ValueError:
        raise CheckpointNotFound("checkpoint_id is not a checkpoint of this session",
                                 field="checkpoint_id") from None


def _id_in_use() -> SessionConflict:
    return SessionConflict("a session with this id already exists", field="id")
