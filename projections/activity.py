"""What people did: an activity log and hourly counters, one projection per application.

Each projection follows one application (so each can be rebuilt alone) and owns three
tables of the same shape as its siblings': `<name>` (the activity log: one row per event
that matters to people), `<name>_counts` (how many of what, per owner and hour) and
`<name>_owners` (whose aggregate an event is about, for events that do not say). The
dashboard, usage and activity feed read them all at once (projections/activity_figures.py).

Descriptions and metadata name no memory key, content, title or ledger data: nothing
personal, so nothing sealed either."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.sql import Composed

from arqium.domain.analytics.application import AnalyticsApplication
from arqium.domain.analytics.domainmodel import AnalyticsOwner, TrackedEvent, Usage
from arqium.domain.identity.application import IdentityApplication
from arqium.domain.identity.domainmodel import LoginSession, User
from arqium.domain.ledger.application import LedgerApplication
from arqium.domain.ledger.domainmodel import LedgerObject
from arqium.domain.memory.application import MemoryApplication
from arqium.domain.memory.domainmodel import MemoryItem, MemoryOwner
from arqium.domain.platform.application import PlatformApplication
from arqium.domain.platform.domainmodel import ConfigProfiles, PlatformConfig
from arqium.domain.platform.modules import ModuleStates
from arqium.domain.sessions.application import SessionsApplication
from arqium.domain.sessions.domainmodel import ChatSession, SessionsOwner
from arqium.infra.tokens import shared_token_counter
from arqium.projections.base import BatchProjection, ReadModel
from arqium.projections.rows import Rows

CREATE_LOG = """
CREATE TABLE IF NOT EXISTS {table} (
    id text PRIMARY KEY,
    user_id text NOT NULL,
    type text NOT NULL,
    description text NOT NULL,
    metadata jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    position bigint NOT NULL
)"""
CREATE_LOG_USER_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (user_id, created_at DESC, position DESC)"""
CREATE_LOG_TIME_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (created_at DESC, position DESC)"""
CREATE_COUNTS = """
CREATE TABLE IF NOT EXISTS {counts} (
    owner_id text NOT NULL,
    bucket timestamptz NOT NULL,
    name text NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (owner_id, bucket, name)
)"""
CREATE_COUNTS_BUCKET_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {counts} (bucket)"
CREATE_OWNERS = """
CREATE TABLE IF NOT EXISTS {owners} (id uuid PRIMARY KEY, owner_id text NOT NULL)"""

# A batch's writes, one statement per table: its log entries, owners and counts, each
# sent as JSON documents of rows (projections/rows.py).
ENTRIES = Rows(("id", "text"), ("user_id", "text"), ("type", "text"),
               ("description", "text"), ("metadata", "jsonb"), ("at", "timestamptz"),
               ("position", "bigint"))
INSERT_ACTIVITY = f"""
INSERT INTO {{table}} (id, user_id, type, description, metadata, created_at, position)
SELECT id, user_id, type, description, metadata, at, position
FROM {ENTRIES.relation} AS new
ON CONFLICT (id) DO NOTHING"""
COUNTS = Rows(("owner_id", "text"), ("at", "timestamptz"), ("name", "text"),
              ("n", "bigint"))
ADD_COUNTS = f"""
INSERT INTO {{counts}} (owner_id, bucket, name, n)
SELECT owner_id, date_trunc('hour', at, 'UTC'), name, sum(n)
FROM {COUNTS.relation} AS counted
GROUP BY 1, 2, 3
ON CONFLICT (owner_id, bucket, name) DO UPDATE SET n = {{counts}}.n + EXCLUDED.n"""
OWNERS = Rows(("id", "uuid"), ("owner_id", "text"))
REMEMBER_OWNERS = f"""
INSERT INTO {{owners}} (id, owner_id)
SELECT id, owner_id FROM {OWNERS.relation} AS new
ON CONFLICT (id) DO NOTHING"""
SELECT_OWNER = "SELECT owner_id FROM {owners} WHERE id = %(id)s"
SELECT_ENTRY = """
SELECT id, user_id, type, description, metadata, created_at FROM {table} WHERE id = %(id)s"""
FORGET_LOG = "DELETE FROM {table} WHERE user_id = %(owner_id)s"
FORGET_COUNTS = "DELETE FROM {counts} WHERE owner_id = %(owner_id)s"
FORGET_OWNERS = "DELETE FROM {owners} WHERE owner_id = %(owner_id)s"


class ActivityView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.counts = f"{self.name}_counts"
        self.owners = f"{self.name}_owners"
        self.sql_create_statements.extend([
            self.sql(CREATE_LOG),
            self.sql(CREATE_LOG_USER_INDEX, index=f"{self.name}_user_idx"),
            self.sql(CREATE_LOG_TIME_INDEX, index=f"{self.name}_time_idx"),
            self.sql(CREATE_COUNTS),
            self.sql(CREATE_COUNTS_BUCKET_INDEX, index=f"{self.name}_bucket_idx"),
            self.sql(CREATE_OWNERS)])

    def sql(self, template: str, **names: str) -> Composed:
        """Its templates may also name {counts} and {owners}."""
        return super().sql(template, counts=self.counts, owners=self.owners, **names)

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.counts, self.owners]

    def entry(self, entry_id: str) -> dict | None:
        """One row of the activity log (its id: `<application>:<position>`)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.sql(SELECT_ENTRY), {"id": entry_id})
            return curs.fetchone()


def when(domain_event: Any) -> datetime:
    """When it happened, as the event says (else when it was recorded)."""
    return (getattr(domain_event, "at", None)
            or getattr(domain_event, "registered_at", None) or domain_event.timestamp)


class PendingActivity:
    """A batch's activity writes, kept until the batch ends (or must be read)."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.counts: list[dict] = []
        self.owners: dict[str, str] = {}


class ActivityProjection(BatchProjection):
    """What every activity projection does with an event: log it, count it, remember
    or forget owners. A batch's log entries, counts and owners are each written in one
    statement when the batch ends: three statements an event cost more than the rest of
    the projection."""

    view_class = ActivityView

    def apply_all(self, events: Sequence[tuple[Any, int]], curs: Cursor) -> None:
        self.pending = PendingActivity()
        super().apply_all(events, curs)
        self.flush(curs)

    def log(self, curs: Cursor, domain_event: Any, position: int, user_id: str,
            type: str, description: str, **metadata: Any) -> None:
        self.pending.entries.append({
            "id": f"{self.application.name}:{position}", "user_id": user_id, "type": type,
            "description": description, "metadata": metadata,
            "at": when(domain_event).isoformat(), "position": position})

    def count(self, curs: Cursor, owner_id: str, at: datetime, name: str,
              n: int = 1) -> None:
        self.pending.counts.append({"owner_id": owner_id, "at": at.isoformat(),
                                    "name": name, "n": n})

    def remember_owner(self, curs: Cursor, aggregate_id: Any, owner_id: str) -> None:
        self.pending.owners.setdefault(str(aggregate_id), owner_id)

    def owner_of(self, curs: Cursor, aggregate_id: Any) -> str | None:
        """The owner remembered for the aggregate; None for one it never saw created
        (its owner forgotten since)."""
        if (owner_id := self.pending.owners.get(str(aggregate_id))) is not None:
            return owner_id
        row = curs.execute(self.view.sql(SELECT_OWNER), {"id": aggregate_id}).fetchone()
        return row["owner_id"] if row else None

    def forget(self, curs: Cursor, owner_id: str) -> None:
        self.flush(curs)  # what the batch wrote of the owner goes too
        for statement in (FORGET_LOG, FORGET_COUNTS, FORGET_OWNERS):
            curs.execute(self.view.sql(statement), {"owner_id": owner_id})

    def flush(self, curs: Cursor) -> None:
        """Write what the batch holds so far."""
        pending, self.pending = self.pending, PendingActivity()
        owners = [{"id": aggregate_id, "owner_id": owner_id}
                  for aggregate_id, owner_id in pending.owners.items()]
        for shape, statement, rows in ((ENTRIES, INSERT_ACTIVITY, pending.entries),
                                       (OWNERS, REMEMBER_OWNERS, owners),
                                       (COUNTS, ADD_COUNTS, pending.counts)):
            shape.write(curs, self.view.sql(statement), rows)


class IdentityActivityProjection(ActivityProjection):
    name = "identity_activity"
    application = IdentityApplication

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other identity events are not activity."""

    @apply.register
    def _(self, domain_event: User.Registered, position: int, curs: Cursor) -> None:
        user_id = str(domain_event.originator_id)
        self.log(curs, domain_event, position, user_id, "user.registered",
                 "Registered an account")
        self.count(curs, user_id, domain_event.registered_at, "registrations")

    @apply.register
    def _(self, domain_event: User.PasswordChanged, position: int, curs: Cursor) -> None:
        self.log(curs, domain_event, position, str(domain_event.originator_id),
                 "user.password_changed", "Changed the password")

    @apply.register
    def _(self, domain_event: LoginSession.Started, position: int, curs: Cursor) -> None:
        session_id = str(domain_event.originator_id)
        self.remember_owner(curs, session_id, domain_event.user_id)
        self.log(curs, domain_event, position, domain_event.user_id, "auth.login",
                 "Logged in", session_id=session_id, remember_me=domain_event.remember_me)
        self.count(curs, domain_event.user_id, domain_event.at, "logins")

    @apply.register
    def _(self, domain_event: LoginSession.Ended, position: int, curs: Cursor) -> None:
        session_id = str(domain_event.originator_id)
        user_id = self.owner_of(curs, session_id)
        if user_id is None:
            return
        if domain_event.reason == "logout":
            kind, description = "auth.logout", "Logged out"
        else:
            kind, description = "auth.session_ended", "Login session ended"
        self.log(curs, domain_event, position, user_id, kind, description,
                 session_id=session_id, reason=domain_event.reason)

    @apply.register
    def _(self, domain_event: User.Deleted, position: int, curs: Cursor) -> None:
        self.forget(curs, str(domain_event.originator_id))


class MemoryActivityProjection(ActivityProjection):
    name = "memory_activity"
    application = MemoryApplication

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other memory events (contexts, vaults, working sets) are not counted here."""

    @apply.register
    def _(self, domain_event: MemoryItem.Upserted, position: int, curs: Cursor) -> None:
        memory_id = str(domain_event.originator_id)
        self.remember_owner(curs, memory_id, domain_event.owner_id)
        self.stored(curs, domain_event, position, domain_event.owner_id,
                    "Stored a memory", layer=domain_event.layer)

    @apply.register
    def _(self, domain_event: MemoryItem.Recreated, position: int, curs: Cursor) -> None:
        owner_id = self.owner_of(curs, domain_event.originator_id)
        if owner_id is not None:
            self.stored(curs, domain_event, position, owner_id, "Stored a memory",
                        layer=domain_event.layer)

    @apply.register
    def _(self, domain_event: MemoryItem.Revised, position: int, curs: Cursor) -> None:
        owner_id = self.owner_of(curs, domain_event.originator_id)
        if owner_id is not None:
            self.stored(curs, domain_event, position, owner_id, "Updated a memory")

    @apply.register
    def _(self, domain_event: MemoryItem.Promoted, position: int, curs: Cursor) -> None:
        owner_id = self.owner_of(curs, domain_event.originator_id)
        if owner_id is None:
            return
        self.log(curs, domain_event, position, owner_id, "memory.promoted",
                 f"Promoted a memory from {domain_event.from_layer} to "
                 f"{domain_event.to_layer}", memory_id=str(domain_event.originator_id),
                 from_layer=domain_event.from_layer, to_layer=domain_event.to_layer)
        self.count(curs, owner_id, domain_event.at, "memories_promoted")

    @apply.register
    def _(self, domain_event: MemoryItem.Deleted, position: int, curs: Cursor) -> None:
        self.ended(curs, domain_event, position, "memory.deleted", "Deleted a memory")

    @apply.register
    def _(self, domain_event: MemoryItem.Expired, position: int, curs: Cursor) -> None:
        self.ended(curs, domain_event, position, "memory.expired", "A memory expired")

    @apply.register
    def _(self, domain_event: MemoryOwner.Forgotten, position: int, curs: Cursor) -> None:
        self.forget(curs, domain_event.owner_id)

    def stored(self, curs: Cursor, domain_event: Any, position: int, owner_id: str,
               description: str, **metadata: Any) -> None:
        self.log(curs, domain_event, position, owner_id, "memory.stored", description,
                 memory_id=str(domain_event.originator_id), **metadata)
        self.count(curs, owner_id, domain_event.at, "memories_stored")

    def ended(self, curs: Cursor, domain_event: Any, position: int, kind: str,
              description: str) -> None:
        owner_id = self.owner_of(curs, domain_event.originator_id)
        if owner_id is None:
            return
        self.log(curs, domain_event, position, owner_id, kind, description,
                 memory_id=str(domain_event.originator_id))
        self.count(curs, owner_id, domain_event.at, "memories_deleted")


class LedgerActivityProjection(ActivityProjection):
    name = "ledger_activity"
    application = LedgerApplication

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Ledger digests are nobody's activity."""

    @apply.register
    def _(self, domain_event: LedgerObject.Created, position: int, curs: Cursor) -> None:
        object_id = str(domain_event.originator_id)
        self.remember_owner(curs, object_id, domain_event.owner_id)
        self.log(curs, domain_event, position, domain_event.owner_id,
                 "ledger.object_created",
                 f"Created a ledger object of type {domain_event.type_name}",
                 object_id=object_id, type_name=domain_event.type_name)
        self.count(curs, domain_event.owner_id, domain_event.at, "ledger_objects")

    @apply.register
    def _(self, domain_event: LedgerObject.Transacted, position: int, curs: Cursor
          ) -> None:
        owner_id = self.owner_of(curs, domain_event.originator_id)
        if owner_id is None:
            return
        self.log(curs, domain_event, position, owner_id, "ledger.transaction",
                 f"Recorded a '{domain_event.action}' transaction",
                 object_id=str(domain_event.originator_id),
                 transaction_id=str(domain_event.transaction_id),
                 action=domain_event.action)
        self.count(curs, owner_id, domain_event.at, "ledger_transactions")


SESSION_CHANGES = {
    ChatSession.Checkpointed: ("session.checkpointed", "Checkpointed a chat session"),
    ChatSession.Resumed: ("session.resumed", "Resumed a chat session"),
    ChatSession.Archived: ("session.archived", "Archived a chat session"),
    ChatSession.Deleted: ("session.deleted", "Deleted a chat session"),
}


class SessionsActivityProjection(ActivityProjection):
    name = "sessions_activity"
    application = SessionsApplication

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """A change of a session (checkpoint, resume, archive, delete), if it is one."""
        if type(domain_event) not in SESSION_CHANGES:
            return
        owner_id = self.owner_of(curs, domain_event.originator_id)
        if owner_id is not None:
            kind, description = SESSION_CHANGES[type(domain_event)]
            self.log(curs, domain_event, position, owner_id, kind, description,
                     session_id=str(domain_event.originator_id))

    @apply.register
    def _(self, domain_event: ChatSession.Created, position: int, curs: Cursor) -> None:
        session_id = str(domain_event.originator_id)
        self.remember_owner(curs, session_id, domain_event.owner_id)
        self.log(curs, domain_event, position, domain_event.owner_id, "session.created",
                 "Started a chat session", session_id=session_id)
        self.count(curs, domain_event.owner_id, domain_event.at, "chat_sessions")

    @apply.register
    def _(self, domain_event: ChatSession.MessageAppended, position: int, curs: Cursor
          ) -> None:
        owner_id = self.owner_of(curs, domain_event.originator_id)
        if owner_id is None:
            return
        self.count(curs, owner_id, domain_event.at, "chat_messages")
        tokens = shared_token_counter().count(domain_event.content)
        self.count(curs, owner_id, domain_event.at, "chat_tokens", tokens)

    @apply.register
    def _(self, domain_event: SessionsOwner.Forgotten, position: int, curs: Cursor
          ) -> None:
        self.forget(curs, domain_event.owner_id)


class TrackedEventsProjection(ActivityProjection):
    """Client-tracked events are counted by name; they are analytics, not activity."""

    name = "tracked_events"
    application = AnalyticsApplication

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Tracked events and forgotten owners are all there is."""

    @apply.register
    def _(self, domain_event: TrackedEvent.Tracked, position: int, curs: Cursor) -> None:
        self.count(curs, domain_event.owner_id, domain_event.occurred_at,
                   domain_event.name)

    @apply.register
    def _(self, domain_event: AnalyticsOwner.Forgotten, position: int, curs: Cursor
          ) -> None:
        self.forget(curs, domain_event.owner_id)


PROFILE_CHANGES = {
    ConfigProfiles.ProfileCreated: ("config.profile_created",
                                    "Saved a configuration profile"),
    ConfigProfiles.ProfileUpdated: ("config.profile_updated",
                                    "Changed a configuration profile"),
    ConfigProfiles.ProfileDeleted: ("config.profile_deleted",
                                    "Deleted a configuration profile"),
}
MODULE_CHANGES = {
    ModuleStates.ModuleInstalled: ("module.installed", "Installed module {}"),
    ModuleStates.ModuleUninstalled: ("module.uninstalled", "Uninstalled module {}"),
    ModuleStates.ModuleEnabled: ("module.enabled", "Enabled module {}"),
    ModuleStates.ModuleDisabled: ("module.disabled", "Disabled module {}"),
    ModuleStates.ModuleSettingsChanged: ("module.settings_changed",
                                         "Changed the settings of module {}"),
    ModuleStates.ModuleRated: ("module.rated", "Rated module {}"),
}


def acting_user(domain_event: Any) -> str:
    """Whose activity an event is: the user who acted (else the API key or worker)."""
    kind, _, user_id = domain_event.actor.partition(":")
    return user_id if kind == "user" and user_id else domain_event.actor


class PlatformActivityProjection(ActivityProjection):
    """Configuration and module changes: the activity of the user who made them."""

    name = "platform_activity"
    application = PlatformApplication

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """A profile or module change, if it is one."""
        if type(domain_event) in PROFILE_CHANGES:
            kind, description = PROFILE_CHANGES[type(domain_event)]
            self.log(curs, domain_event, position, acting_user(domain_event), kind,
                     description, profile_id=domain_event.profile_id)
        elif type(domain_event) in MODULE_CHANGES:
            kind, description = MODULE_CHANGES[type(domain_event)]
            self.log(curs, domain_event, position, acting_user(domain_event), kind,
                     description.format(domain_event.module_id),
                     module_id=domain_event.module_id, **module_details(domain_event))

    @apply.register
    def _(self, domain_event: PlatformConfig.ConfigUpdated, position: int, curs: Cursor
          ) -> None:
        self.log(curs, domain_event, position, acting_user(domain_event), "config.updated",
                 "Changed the system configuration", sections=sorted(domain_event.patch))


def module_details(domain_event: Any) -> dict[str, Any]:
    """What a module change's metadata adds: names and figures, never values."""
    if isinstance(domain_event, ModuleStates.ModuleSettingsChanged):
        return {"settings": sorted(domain_event.patch)}
    if isinstance(domain_event, ModuleStates.ModuleRated):
        return {"stars": domain_event.stars}
    if isinstance(domain_event, ModuleStates.ModuleInstalled):
        return {"version": domain_event.version}
    return {}


class UsageProjection(ActivityProjection):
    """Requests and searches API processes counted, per face: named `requests:<face>`
    and `searches:<face>` in its counts table (its log stays empty)."""

    name = "usage"
    application = AnalyticsApplication

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Tracked events are the other projection's."""

    @apply.register
    def _(self, domain_event: Usage.Recorded, position: int, curs: Cursor) -> None:
        for face, counts in domain_event.counts.items():
            for kind, n in counts.items():
                if n:
                    self.count(curs, domain_event.owner_id, domain_event.hour,
                               f"{kind}:{face}", n)

    @apply.register
    def _(self, domain_event: AnalyticsOwner.Forgotten, position: int, curs: Cursor
          ) -> None:
        self.forget(curs, domain_event.owner_id)


ACTIVITY_PROJECTIONS = (IdentityActivityProjection, MemoryActivityProjection,
                        LedgerActivityProjection, SessionsActivityProjection,
                        TrackedEventsProjection, PlatformActivityProjection,
                        UsageProjection)
