"""The components context's service layer."""

import json
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application

from arqium.domain.components.domainmodel import (
    MERGE,
    Component,
    ComponentNotFound,
    ComponentsOwner,
    check_distinct,
    check_source_count,
    check_strategy,
    check_target_count,
    condensed_groups,
)
from arqium.domain.journal import Saved, remember
from arqium.domain.shared import Clock, command, get_aggregate, system_clock


def _condensed(app: Any, saved: Saved) -> tuple[list[tuple[Component, list[UUID]]], int]:
    """What `condense` returned, for a retry after a crash (domain/journal.py): the
    merged components as saved, the ones left alone as they are."""
    merged = iter(saved.aggregates)
    results = []
    for group in json.loads(saved.notes["groups"]):
        result = next(merged) if len(group) > 1 else app.repository.get(UUID(group[0]))
        results.append((result, [UUID(member) for member in group]))
    return results, saved.position


class ComponentsApplication(Application):
    name = "components"

    def __init__(self, env: Any = None, *, clock: Clock = system_clock,
                 new_id: Callable[[], UUID] = uuid4):
        super().__init__(env)
        self.clock = clock
        self.new_id = new_id

    @command
    def save_component(self, owner_id: str, draft: dict) -> tuple[Component, int]:
        """Save a component from {title, type, data, preview, tags}."""
        component = Component.save(self.new_id(), owner_id, draft, self.clock())
        return component, self.save(component)[-1].notification.id

    @command
    def delete_component(self, owner_id: str, component_id: Any) -> int:
        component = self.owned_component(owner_id, component_id)
        component.delete(self.clock())
        return self.save(component)[-1].notification.id

    @command
    def combine(self, owner_id: str, component_ids: Sequence[str], strategy: str
                ) -> tuple[Component, int]:
        """One new component holding the named ones (which stay)."""
        check_strategy(strategy)
        sources = self.owned_sources(owner_id, component_ids)
        combined = Component.combine(self.new_id(), sources, strategy, self.clock())
        return combined, self.save(combined)[-1].notification.id

    @command(replay=_condensed)
    def condense(self, owner_id: str, component_ids: Sequence[str], target_count: int
                 ) -> tuple[list[tuple[Component, list[UUID]]], int]:
        """The named components reduced to `target_count` by merging (condensed_groups):
        each result with the ids it came from; a component left alone is itself. The
        merged ones are saved together, in one transaction."""
        sources = self.owned_sources(owner_id, component_ids)
        check_target_count(target_count, len(sources))
        at = self.clock()
        results = [(group[0] if len(group) == 1 else
                    Component.combine(self.new_id(), group, MERGE, at),
                    [member.id for member in group])
                   for group in condensed_groups(sources, target_count)]
        remember("groups", json.dumps([[str(m) for m in group] for _, group in results]))
        combined = [result for result, group in results if len(group) > 1]
        return results, self.save(*combined)[-1].notification.id

    def owned_sources(self, owner_id: str, component_ids: Sequence[str]
                      ) -> list[Component]:
        check_source_count(len(component_ids))
        check_distinct(component_ids)
        return [self.owned_component(owner_id, component_id)
                for component_id in component_ids]

    def owned_component(self, owner_id: str, component_id: Any) -> Component:
        """The owner's component; anyone else's, a deleted or an unknown one is not
        found (and the error names the id)."""
        missing = ComponentNotFound(f"no component {component_id}", id=str(component_id))
        component = get_aggregate(self.repository, component_id, Component, missing)
        if component.owner_id != owner_id or component.deleted:
            raise missing
        return component

    @command
    def forget_owner(self, owner_id: str) -> int | None:
        """Remove the owner's components from every read model (their history stays)."""
        if ComponentsOwner.create_id(owner_id) in self.repository:
            return None
        owner = ComponentsOwner(owner_id=owner_id, at=self.clock())
        return self.save(owner)[-1].notification.id
