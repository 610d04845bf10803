"""Chat sessions: a thread of messages, checkpoints in it, and resuming from one."""

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from arqium.domain.shared import ArqiumAggregate, Conflict, Invalid, NotFound

ROLES = ("user", "assistant", "system", "tool")
ACTIVE, ARCHIVED = "active", "archived"
DEFAULT_TITLE = "New session"
MAX_TITLE_LENGTH = 200
MAX_LABEL_LENGTH = 200
MAX_MESSAGE_BYTES = 1024 * 1024


class SessionNotFound(NotFound):
    pass


class SessionConflict(Conflict):
    pass


class SessionArchived(Conflict):
    pass


class CheckpointNotFound(Invalid):
    """A checkpoint id that is not one of this session's (a client error, hence 400)."""


class ChatSession(ArqiumAggregate):
    """A session's messages stay in its history for good; its active thread is the
    part a resume has not abandoned."""

    @event("Created")
    def __init__(self, id: UUID, owner_id: str, title: str, metadata: dict,
                 at: datetime):
        self.owner_id = owner_id
        self.title = title
        self.metadata = metadata
        self.status = ACTIVE
        self.deleted = False
        self.created_at = self.updated_at = at
        self.messages: dict[UUID, dict] = {}
        self.thread: list[UUID] = []  # the active thread, oldest first
        self.checkpoints: dict[UUID, dict] = {}
        self.last_seq = 0

    @property
    def message_count(self) -> int:
        """Messages in the active thread."""
        return len(self.thread)

    def append(self, message_id: UUID, role: str, content: str, components: Any,
               incomplete: bool, at: datetime) -> dict:
        self.check_open()
        check_role(role)
        check_content(content)
        if message_id in self.messages:
            raise SessionConflict(f"message {message_id} is already in this session",
                                  field="id")
        self._message_appended(message_id=message_id, seq=self.last_seq + 1, role=role,
                               content=content, components=components,
                               incomplete=incomplete, at=at)
        return self.message(message_id)

    @event("MessageAppended")
    def _message_appended(self, message_id: UUID, seq: int, role: str, content: str,
                          components: Any, incomplete: bool, at: datetime) -> None:
        self.messages[message_id] = {
            "id": message_id, "session_id": self.id, "seq": seq, "role": role,
            "content": content, "components": components, "incomplete": incomplete,
            "created_at": at}
        self.thread.append(message_id)
        self.last_seq = seq
        self.updated_at = at

    def checkpoint(self, checkpoint_id: UUID, label: str | None, context: dict,
                   at: datetime) -> dict:
        """Name the current point of the active thread, with the session's context."""
        self.check_not_deleted()
        check_label(label)
        position = self.messages[self.thread[-1]]["seq"] if self.thread else 0
        self._checkpointed(checkpoint_id=checkpoint_id, label=label,
                           message_count=self.message_count, position=position,
                           context=context, at=at)
        return self.checkpoints[checkpoint_id]

    @event("Checkpointed")
    def _checkpointed(self, checkpoint_id: UUID, label: str | None, message_count: int,
                      position: int, context: dict, at: datetime) -> None:
        self.checkpoints[checkpoint_id] = {
            "checkpoint_id": checkpoint_id, "session_id": self.id, "label": label,
            "message_count": message_count, "position": position, "context": context,
            "thread": list(self.thread), "created_at": at}
        self.updated_at = at

    def resume(self, checkpoint_id: UUID | None, at: datetime) -> bool:
        """Continue from the checkpoint (abandoning what came after it), or without
        one reopen an archived session; False when there is nothing to do."""
        self.check_not_deleted()
        if checkpoint_id is None:
            if self.status != ARCHIVED:
                return False
            kept = self.thread
        else:
            kept = self.check_checkpoint(checkpoint_id)["thread"]
        kept_ids, active_ids = set(kept), set(self.thread)
        self._resumed(checkpoint_id=checkpoint_id,
                      abandoned=[m for m in self.thread if m not in kept_ids],
                      restored=[m for m in kept if m not in active_ids],
                      message_count=len(kept), at=at)
        return True

    @event("Resumed")
    def _resumed(self, checkpoint_id: UUID | None, abandoned: list[UUID],
                 restored: list[UUID], message_count: int, at: datetime) -> None:
        if checkpoint_id is not None:
            self.thread = list(self.checkpoints[checkpoint_id]["thread"])
        self.status = ACTIVE
        self.updated_at = at

    def archive(self, at: datetime) -> bool:
        """False if it already is archived."""
        self.check_not_deleted()
        if self.status == ARCHIVED:
            return False
        self._archived(at=at)
        return True

    @event("Archived")
    def _archived(self, at: datetime) -> None:
        self.status = ARCHIVED
        self.updated_at = at

    def delete(self, at: datetime) -> None:
        self.check_not_deleted()
        self._deleted(at=at)

    @event("Deleted")
    def _deleted(self, at: datetime) -> None:
        self.deleted = True

    def message(self, message_id: UUID) -> dict:
        """One message, with whether a resume has abandoned it."""
        return {**self.messages[message_id], "abandoned": message_id not in self.thread}

    def active_messages(self) -> list[dict]:
        """The active thread's messages, oldest first."""
        return [{**self.messages[message_id], "abandoned": False}
                for message_id in self.thread]

    def check_not_deleted(self) -> None:
        if self.deleted:
            raise SessionNotFound("no such session")

    def check_open(self) -> None:
        """Messages go to sessions that are neither deleted nor archived."""
        self.check_not_deleted()
        if self.status == ARCHIVED:
            raise SessionArchived("this session is archived; resume it to add messages")

    def check_checkpoint(self, checkpoint_id: UUID) -> dict:
        if checkpoint_id not in self.checkpoints:
            raise CheckpointNotFound("checkpoint_id is not a checkpoint of this session",
                                     field="checkpoint_id")
        return self.checkpoints[checkpoint_id]


class SessionsOwner(ArqiumAggregate):
    """An owner's sessions as a whole: forgetting it removes them from every read model."""

    @staticmethod
    def create_id(owner_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"arqium:sessions-owner:{owner_id}")

    @event("Forgotten")
    def __init__(self, owner_id: str, at: datetime):
        self.owner_id = owner_id


def session_id_for(owner_id: str, chat_id: str) -> UUID:
    """A client-chosen chat id as a session id: the id itself when it is a UUID, else
    one derived from owner and chat id (so two owners' "chat-1" never meet)."""
    try:
        return UUID(chat_id)
    except ValueError:
        return uuid5(NAMESPACE_URL, f"arqium:session:{owner_id}:{chat_id}")


def check_title(title: str | None) -> None:
    if title is not None and not 1 <= len(title) <= MAX_TITLE_LENGTH:
        raise Invalid(f"title must be 1 to {MAX_TITLE_LENGTH} characters", field="title")


def check_label(label: str | None) -> None:
    if label is not None and not 1 <= len(label) <= MAX_LABEL_LENGTH:
        raise Invalid(f"label must be 1 to {MAX_LABEL_LENGTH} characters", field="label")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")


def check_content(content: Any) -> None:
    if not isinstance(content, str):
        raise Invalid("content must be a string", field="content")
    if len(content.encode()) > MAX_MESSAGE_BYTES:
        raise Invalid(f"content must be at most {MAX_MESSAGE_BYTES} bytes",
                      field="content")
