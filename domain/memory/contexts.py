"""Contexts: named JSON state a client keeps in sync, with optimistic concurrency."""

from datetime import datetime
from typing import Any

from eventsourcing.domain import event

from arqium.domain.shared import ArqiumAggregate, Conflict, Invalid, NotFound, merge_patch


class ContextNotFound(NotFound):
    pass


class StaleVersion(Conflict):
    pass


class ContextSyncConflict(Conflict):
    pass


class Context(ArqiumAggregate):
    @event("Created")
    def __init__(self, owner_id: str, name: str, state: dict, session_id: str | None,
                 at: datetime):
        self.owner_id = owner_id
        self.name = name
        self.state = state
        self.session_id = session_id
        self.created_at = self.updated_at = at
        self.deleted = False

    def replace(self, name: str | None, state: dict | None, expected_version: int | None,
                at: datetime) -> None:
        self.check_version(expected_version)
        self._replaced(name=self.name if name is None else name,
                       state=self.state if state is None else state, at=at)

    @event("Updated")
    def _replaced(self, name: str, state: dict, at: datetime) -> None:
        self.name, self.state, self.updated_at = name, state, at

    @event("Synced")
    def sync(self, changes: dict, base_version: int, at: datetime) -> None:
        """Apply a client's changes (a JSON merge patch) made from `base_version`."""
        self.state = merge_patch(self.state, changes)
        self.updated_at = at

    def delete(self, at: datetime) -> None:
        self._deleted(owner_id=self.owner_id, session_id=self.session_id, at=at)

    @event("Deleted")
    def _deleted(self, at: datetime, owner_id: str | None = None,
                 session_id: str | None = None) -> None:
        """It names whose context it was, and its session: once the context is gone from
        the read models, its event is all a consumer (a socket's push) can go by. Events
        stored before they named them have neither."""
        self.deleted = True

    def check_version(self, expected_version: int | None) -> None:
        if expected_version is not None and expected_version != self.version:
            raise StaleVersion(f"context is at version {self.version}, not {expected_version}",
                               current_version=self.version)

    def check_base_version(self, base_version: int) -> None:
        if not 1 <= base_version <= self.version:
            raise Invalid(f"base_version must be between 1 and {self.version}",
                          field="base_version")


def diff_patch(before: Any, after: Any) -> dict:
    """The JSON merge patch that turns `before` into `after` (objects at the top)."""
    patch: dict = {}
    before = before if isinstance(before, dict) else {}
    for key, value in after.items():
        if key not in before:
            patch[key] = value
        elif isinstance(value, dict) and isinstance(before[key], dict):
            nested = diff_patch(before[key], value)
            if nested:
                patch[key] = nested
        elif before[key] != value:
            patch[key] = value
    for key in before.keys() - after.keys():
        patch[key] = None
    return patch


def overlapping(ours: dict, theirs: dict) -> list[str]:
    """Paths both patches touch (a path and anything under it count as the same)."""
    paths = []
    for key in ours.keys() & theirs.keys():
        if isinstance(ours[key], dict) and isinstance(theirs[key], dict):
            paths += [f"{key}.{path}" for path in overlapping(ours[key], theirs[key])]
        else:
            paths.append(key)
    return paths
